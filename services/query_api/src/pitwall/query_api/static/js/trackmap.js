// The GPS track on a canvas: laps in colour, the part shown in the plot highlighted,
// the car where the plot cursor is. Hovering the map moves the plot cursor.
import { h } from "./dom.js";
import { onThemeChange } from "./theme.js";

export const LAP_COLOURS = ["#2563eb", "#e5484d", "#16a34a", "#d97706", "#0891b2", "#db2777", "#65a30d", "#7c3aed", "#ea580c", "#0f766e"];
export const BEST = "#9333ea";
const OUT_LAP = "#9aa3af";
const PAD = 18;

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

// Slow to fast, as track maps usually show speed.
const SPEED_STOPS = [[0, [44, 123, 182]], [0.25, [0, 166, 202]], [0.5, [120, 200, 120]], [0.75, [249, 180, 60]], [1, [215, 25, 28]]];

function speedColour(f) {
  const x = Math.min(1, Math.max(0, f));
  let k = 1;
  while (k < SPEED_STOPS.length - 1 && SPEED_STOPS[k][0] < x) k += 1;
  const [x0, c0] = SPEED_STOPS[k - 1];
  const [x1, c1] = SPEED_STOPS[k];
  const u = (x - x0) / (x1 - x0 || 1);
  const c = c0.map((v, i) => Math.round(v + u * (c1[i] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function niceLength(metres) {
  const steps = [5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000];
  return steps.find((s) => s >= metres) || steps[steps.length - 1];
}

/** Index of the last element of sorted `arr` <= x (0 when x is before the first). */
export function bisect(arr, x) {
  let lo = 0;
  let hi = arr.length - 1;
  if (hi < 0 || x <= arr[0]) return 0;
  if (x >= arr[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) lo = mid; else hi = mid;
  }
  return lo;
}

export class TrackMap {
  /** track: the /track answer; onHover(t|null) when the pointer moves over the map. */
  constructor(track, { onHover, bestLap } = {}) {
    this.onHover = onHover || (() => {});
    this.bestLap = bestLap;
    this.laps = track.laps || [];
    const pts = track.points || [];
    this.t = Float64Array.from(pts, (p) => p[0]);
    const lat0 = pts.reduce((a, p) => a + p[1], 0) / Math.max(1, pts.length);
    const lon0 = pts.reduce((a, p) => a + p[2], 0) / Math.max(1, pts.length);
    const kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
    // Local metres east/north of the track's centre: flat enough for a few kilometres.
    this.x = Float64Array.from(pts, (p) => (p[2] - lon0) * kx);
    this.y = Float64Array.from(pts, (p) => (p[1] - lat0) * 110540);
    this.lapOf = Int32Array.from(this.t, (t) => {
      const i = this.laps.findIndex((l) => t >= l.start_s && t < l.end_s);
      return i < 0 ? -1 : i;
    });
    this.speed = this.speeds();
    this.vmax = this.speed.reduce((a, v) => Math.max(a, v), 0);
    this.mode = this.laps.length ? "laps" : "speed";
    this.cursor = null;
    this.window = null;
    this.canvas = h("canvas.track-canvas", { "aria-label": "GPS track map" });
    this.el = h("div.track-map", this.canvas);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => this.onHover(null));
    this.resizer = new ResizeObserver(() => this.draw());
    this.resizer.observe(this.el);
    this.offTheme = onThemeChange(() => this.draw());
  }

  destroy() {
    this.resizer.disconnect();
    this.offTheme();
  }

  /** Speed at each point from its neighbours (m/s): the track carries positions only. */
  speeds() {
    const n = this.t.length;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i += 1) {
      const a = Math.max(0, i - 2);
      const b = Math.min(n - 1, i + 2);
      const dt = this.t[b] - this.t[a];
      let d = 0;
      for (let k = a; k < b; k += 1) d += Math.hypot(this.x[k + 1] - this.x[k], this.y[k + 1] - this.y[k]);
      out[i] = dt > 0 ? d / dt : 0;
    }
    return out;
  }

  /** "laps": a colour per lap; "speed": slow blue to fast red. */
  setMode(mode) {
    this.mode = mode;
    this.draw();
  }

  setCursor(t) {
    if (t === this.cursor) return;
    this.cursor = t;
    this.draw();
  }

  /** The time window shown in the plot ([t0, t1], or null for the whole run). */
  setWindow(win) {
    this.window = win;
    this.draw();
  }

  layout() {
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    let minX = Infinity; let maxX = -Infinity; let minY = Infinity; let maxY = -Infinity;
    for (let i = 0; i < this.x.length; i += 1) {
      minX = Math.min(minX, this.x[i]); maxX = Math.max(maxX, this.x[i]);
      minY = Math.min(minY, this.y[i]); maxY = Math.max(maxY, this.y[i]);
    }
    // Room at the top for a colour legend (speed, or the compare page's loss), at the bottom for the scale bar.
    const top = this.mode === "laps" ? PAD : 38;
    const bottom = 26;
    const scale = Math.min((w - 2 * PAD) / Math.max(maxX - minX, 1), (hgt - top - bottom) / Math.max(maxY - minY, 1));
    const ox = (w - (maxX - minX) * scale) / 2;
    const oy = bottom + (hgt - top - bottom - (maxY - minY) * scale) / 2;
    return { w, hgt, scale, px: (x) => ox + (x - minX) * scale, py: (y) => hgt - oy - (y - minY) * scale };
  }

  colourOf(lapIndex) {
    if (lapIndex < 0) return OUT_LAP;
    const lap = this.laps[lapIndex];
    if (this.bestLap && lap && lap.lap === this.bestLap) return BEST;
    return LAP_COLOURS[lapIndex % LAP_COLOURS.length];
  }

  /** The canvas sized to the element (device pixels) and cleared, and the layout; null when
   *  there is nothing to draw (`empty`) or no room. */
  frame(empty) {
    const dpr = window.devicePixelRatio || 1;
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    if (!w || !hgt || empty) return null;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    this.L = this.layout();
    return { ctx, w, hgt, L: this.L };
  }

  draw() {
    const frame = this.frame(!this.x.length);
    if (!frame) return;
    const { ctx, w, hgt, L } = frame;
    const win = this.window;
    const inWin = (t) => !win || (t >= win[0] && t <= win[1]);
    ctx.lineJoin = "round";
    ctx.lineCap = "round";

    // Underlay: the whole track, wide and pale, so the shape reads even when faded.
    ctx.strokeStyle = cssVar("--track-under", "#e7eaef");
    ctx.lineWidth = 9;
    ctx.beginPath();
    for (let i = 0; i < this.x.length; i += 1) {
      const X = L.px(this.x[i]); const Y = L.py(this.y[i]);
      if (i) ctx.lineTo(X, Y); else ctx.moveTo(X, Y);
    }
    ctx.stroke();

    // Outside the plot's window first, faded; then the window on top (laps overlap in space).
    for (const pass of win ? [false, true] : [true]) {
      ctx.globalAlpha = pass ? 1 : 0.22;
      ctx.lineWidth = win && pass ? 3.5 : 2.5;
      if (this.mode === "speed") {
        // One short segment per point pair, coloured by its speed.
        for (let k = 0; k < this.x.length - 1; k += 1) {
          if (inWin(this.t[k]) !== pass) continue;
          ctx.strokeStyle = speedColour(this.vmax ? this.speed[k] / this.vmax : 0);
          ctx.beginPath();
          ctx.moveTo(L.px(this.x[k]), L.py(this.y[k]));
          ctx.lineTo(L.px(this.x[k + 1]), L.py(this.y[k + 1]));
          ctx.stroke();
        }
        continue;
      }
      // Runs of points of one lap, each one path.
      let i = 0;
      while (i < this.x.length - 1) {
        const lap = this.lapOf[i];
        const on = inWin(this.t[i]);
        let j = i + 1;
        while (j < this.x.length - 1 && this.lapOf[j] === lap && inWin(this.t[j]) === on) j += 1;
        if (on === pass) {
          ctx.strokeStyle = this.colourOf(lap);
          ctx.beginPath();
          ctx.moveTo(L.px(this.x[i]), L.py(this.y[i]));
          for (let k = i + 1; k <= j; k += 1) ctx.lineTo(L.px(this.x[k]), L.py(this.y[k]));
          ctx.stroke();
        }
        i = j;
      }
    }
    ctx.globalAlpha = 1;

    // Start/finish: where lap 1 begins (else where the recording begins).
    const startT = this.laps.length ? this.laps[0].start_s : this.t[0];
    const s = bisect(this.t, startT);
    this.flag(ctx, L.px(this.x[s]), L.py(this.y[s]));

    if (this.cursor !== null && this.cursor !== undefined && this.cursor >= this.t[0] && this.cursor <= this.t[this.t.length - 1]) {
      const k = bisect(this.t, this.cursor);
      const k2 = Math.min(k + 1, this.t.length - 1);
      const f = k2 > k ? (this.cursor - this.t[k]) / (this.t[k2] - this.t[k]) : 0;
      const cx = L.px(this.x[k] + f * (this.x[k2] - this.x[k]));
      const cy = L.py(this.y[k] + f * (this.y[k2] - this.y[k]));
      ctx.fillStyle = cssVar("--map-paper", "#fff");
      ctx.beginPath(); ctx.arc(cx, cy, 7, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = cssVar("--map-ink", "#111827");
      ctx.beginPath(); ctx.arc(cx, cy, 4.5, 0, 2 * Math.PI); ctx.fill();
    }
    this.scaleBar(ctx, L);
    if (this.mode === "speed") this.speedLegend(ctx, L);
  }

  speedLegend(ctx, L) {
    const w = 110;
    const x0 = L.w - w - 14;
    const y0 = 14;
    const grad = ctx.createLinearGradient(x0, 0, x0 + w, 0);
    for (const [f] of SPEED_STOPS) grad.addColorStop(f, speedColour(f));
    ctx.fillStyle = grad;
    ctx.fillRect(x0, y0, w, 6);
    ctx.fillStyle = cssVar("--muted", "#6b7280");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.fillText("0", x0, y0 + 19);
    ctx.textAlign = "right";
    ctx.fillText(`${Math.round(this.vmax * 3.6)} km/h`, x0 + w, y0 + 19);
    ctx.textAlign = "left";
  }

  flag(ctx, x, y) {
    const s = 3.5;
    const ink = cssVar("--map-ink", "#111827");
    const paper = cssVar("--map-paper", "#fff");
    for (let r = 0; r < 2; r += 1) {
      for (let c = 0; c < 3; c += 1) {
        ctx.fillStyle = (r + c) % 2 ? paper : ink;
        ctx.fillRect(x - 1.5 * s + c * s, y - s + r * s, s, s);
      }
    }
    ctx.strokeStyle = ink;
    ctx.lineWidth = 1;
    ctx.strokeRect(x - 1.5 * s, y - s, 3 * s, 2 * s);
  }

  scaleBar(ctx, L) {
    const metres = niceLength(90 / L.scale);
    const len = metres * L.scale;
    const x0 = 12;
    const y0 = L.hgt - 12;
    ctx.strokeStyle = cssVar("--muted", "#6b7280");
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x0, y0 - 4); ctx.lineTo(x0, y0); ctx.lineTo(x0 + len, y0); ctx.lineTo(x0 + len, y0 - 4);
    ctx.stroke();
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, x0 + len + 6, y0 + 1);
  }

  hover(e) {
    if (!this.L || !this.x.length) return;
    const rect = this.canvas.getBoundingClientRect();
    const mx = e.clientX - rect.left;
    const my = e.clientY - rect.top;
    let best = -1;
    let bestD = 14 * 14; // only when the pointer is near the line
    for (let i = 0; i < this.x.length; i += 1) {
      const dx = this.L.px(this.x[i]) - mx;
      const dy = this.L.py(this.y[i]) - my;
      const d = dx * dx + dy * dy;
      // Prefer points inside the plot's window where the track overlaps itself.
      const penalty = this.window && (this.t[i] < this.window[0] || this.t[i] > this.window[1]) ? 60 : 0;
      if (d + penalty < bestD) { bestD = d + penalty; best = i; }
    }
    this.onHover(best < 0 ? null : this.t[best]);
  }
}
