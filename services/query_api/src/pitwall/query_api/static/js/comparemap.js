// The compare page's track map: the reference lap's path, each stretch coloured by the time
// the compared lap loses (red) or gains (blue) there, and where each lap is at the plot cursor.
// A TrackMap whose "time" axis is the distance along the reference lap.
import { LOSS_STOPS, lossColour, lossScale, pathDistance } from "./comparestate.js";
import { TrackMap } from "./trackmap.js";

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export class LossMap extends TrackMap {
  /**
   * map: the /compare answer's map {lat, lon, loss}; refDistance: the reference lap's length (m),
   * so the path's distances match the plots'; onHover(distance|null).
   */
  constructor(map, refDistance, { onHover, title = "" } = {}) {
    const along = pathDistance(map.lat, map.lon);
    const total = along[along.length - 1] || 1;
    const k = refDistance > 0 ? refDistance / total : 1;
    super({ points: map.lat.map((lat, i) => [along[i] * k, lat, map.lon[i]]), laps: [] }, { onHover });
    this.mode = "loss";
    this.loss = map.loss || [];
    this.scale = lossScale(this.loss);
    this.title = title;
    this.cursors = []; // [{d, colour}]
    this.canvas.setAttribute("aria-label", "track map coloured by time lost");
    this.canvas.classList.add("loss-canvas");
  }

  /** Where the laps are at the plot cursor: [{d: metres along the reference, colour}]. */
  setCursors(list) {
    this.cursors = list;
    this.draw();
  }

  at(d) {
    const t = this.t;
    if (!(d >= t[0] && d <= t[t.length - 1])) return null;
    let k = 0;
    while (k < t.length - 2 && t[k + 1] < d) k += 1;
    const f = t[k + 1] > t[k] ? (d - t[k]) / (t[k + 1] - t[k]) : 0;
    return [this.x[k] + f * (this.x[k + 1] - this.x[k]), this.y[k] + f * (this.y[k + 1] - this.y[k])];
  }

  draw() {
    const frame = this.frame(this.x.length < 2);
    if (!frame) return;
    const { ctx, w, hgt, L } = frame;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.strokeStyle = cssVar("--track-under", "#e7eaef");
    ctx.lineWidth = 11;
    ctx.beginPath();
    for (let i = 0; i < this.x.length; i += 1) {
      if (i) ctx.lineTo(L.px(this.x[i]), L.py(this.y[i])); else ctx.moveTo(L.px(this.x[i]), L.py(this.y[i]));
    }
    ctx.stroke();
    // A segment per point pair, coloured by the loss over it (the mean of its two ends).
    ctx.lineWidth = 5;
    for (let k = 0; k < this.x.length - 1; k += 1) {
      const a = this.loss[k];
      const b = this.loss[k + 1];
      const v = a === null || a === undefined ? b : b === null || b === undefined ? a : (a + b) / 2;
      ctx.strokeStyle = lossColour(v, this.scale);
      ctx.beginPath();
      ctx.moveTo(L.px(this.x[k]), L.py(this.y[k]));
      ctx.lineTo(L.px(this.x[k + 1]), L.py(this.y[k + 1]));
      ctx.stroke();
    }
    this.flag(ctx, L.px(this.x[0]), L.py(this.y[0]));
    for (const c of this.cursors) {
      const p = this.at(c.d);
      if (!p) continue;
      ctx.fillStyle = cssVar("--map-paper", "#fff");
      ctx.beginPath(); ctx.arc(L.px(p[0]), L.py(p[1]), 7, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = c.colour;
      ctx.beginPath(); ctx.arc(L.px(p[0]), L.py(p[1]), 4.5, 0, 2 * Math.PI); ctx.fill();
    }
    this.scaleBar(ctx, L);
    this.legend(ctx, L);
  }

  legend(ctx, L) {
    const w = 200;
    const x0 = L.w - w - 14;
    const y0 = 12;
    const grad = ctx.createLinearGradient(x0, 0, x0 + w, 0);
    for (const [f] of LOSS_STOPS) grad.addColorStop((f + 1) / 2, lossColour(f * this.scale, this.scale));
    ctx.fillStyle = grad;
    ctx.fillRect(x0, y0, w, 6);
    ctx.fillStyle = cssVar("--muted", "#6b7280");
    ctx.font = "11px system-ui, sans-serif";
    const s = this.scale < 0.1 ? this.scale.toFixed(3) : this.scale.toFixed(2);
    ctx.textAlign = "left";
    ctx.fillText(`gained −${s}`, x0, y0 + 19);
    ctx.textAlign = "center";
    ctx.fillText("s/100 m", x0 + w / 2, y0 + 19);
    ctx.textAlign = "right";
    ctx.fillText(`+${s} lost`, x0 + w, y0 + 19);
    if (this.title) {
      ctx.textAlign = "left";
      ctx.fillText(this.title, 12, y0 + 6);
    }
    ctx.textAlign = "left";
  }
}
