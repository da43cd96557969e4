// The compare page's plots: the delta-time trace on top (as MoTeC i2 draws it: zero is the
// reference, above zero the lap is behind), then one pane per signal with every lap overlaid.
// All share the x axis (distance or lap time), the cursor and the zoom.
import { clear, h } from "./dom.js";
import { fmtValue } from "./format.js";
import { AXIS_FONT, axisGutter, factLines, factsOf, stateAxis, valueText } from "./signalinfo.js";
import { onThemeChange } from "./theme.js";
import { lapColour } from "./comparestate.js";

const DELTA_KEY = "__delta__";
let seq = 0;

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function decimalsOf(incr) {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(incr * 10 ** d) - incr * 10 ** d) > 1e-6) d += 1;
  return d;
}

export class ComparePlots {
  /** on.cursor(idx|null): the grid index under the pointer; on.zoom([a,b]|null); on.remove(key). */
  constructor(on) {
    this.on = on;
    this.data = null;
    this.panes = []; // {key, u, values: [span per lap]}
    this.zoom = null;
    this.syncKey = `compare-${(seq += 1)}`;
    this.readout = h("span.t-readout", "");
    this.panesEl = h("div.panes.compare-panes");
    this.el = h("div.plot",
      h("div.plot-toolbar",
        h("button.btn.small", { type: "button", onclick: () => this.setZoom(null), title: "Show the whole lap (double-click on the plot)" }, "Whole lap"),
        this.readout,
        h("span.plot-hint", "drag: zoom · double-click: whole lap · hover the map: move the cursor")),
      this.panesEl);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.panesEl);
    // Axis colours are read when drawing (below), so a new theme needs only a redraw.
    this.offTheme = onThemeChange(() => { for (const p of this.panes) p.u.redraw(false, true); });
  }

  destroy() {
    this.resizer.disconnect();
    this.offTheme();
    for (const p of this.panes) p.u.destroy();
    this.panes = [];
  }

  /** data: the /compare answer. */
  show(data, zoom) {
    this.data = data;
    this.zoom = zoom;
    this.build();
  }

  unit() {
    return this.data && this.data.x === "time" ? "s" : "m";
  }

  build() {
    for (const p of this.panes) p.u.destroy();
    this.panes = [];
    clear(this.panesEl);
    const data = this.data;
    if (!data) return;
    const width = Math.max(300, this.panesEl.clientWidth || 800);
    const n = data.signals.length;
    const paneHeight = n <= 1 ? 220 : n <= 3 ? 160 : 125;
    const ref = data.reference;
    // One gutter for all panes, wide enough for the state names: the x axes line up.
    const gutter = axisGutter(data.signals.map((s) => factsOf(s).states));
    const deltaSeries = data.delta.map((d) => ({
      label: data.laps[d.lap_index].label, colour: lapColour(d.lap_index), values: d.v, lapIndex: d.lap_index,
    }));
    this.pane(DELTA_KEY, "Δ time vs reference", deltaSeries, { width, height: 190, last: n === 0, delta: true, refColour: lapColour(ref), gutter });
    data.signals.forEach((sig, i) => {
      const series = data.laps.map((lap, k) => ({ label: lap.label, colour: lapColour(k), values: lap.signals[sig.key] || [], lapIndex: k }));
      this.pane(sig.key, sig.key, series, { width, height: paneHeight, last: i === n - 1, kind: sig.kind, sig, gutter });
    });
    this.applyZoom();
  }

  pane(key, title, series, { width, height, last, delta = false, kind = "float", sig = null, refColour = "#111827", gutter = 62 }) {
    const text = () => cssVar("--muted", "#6b7280");
    const grid = () => cssVar("--grid", "#eef0f3");
    const unit = this.unit();
    const facts = factsOf(sig);
    const values = series.map((s) => h("span.cmp-value", { style: { color: s.colour } }, ""));
    const head = h("div.pane-head",
      delta ? h("span.pane-key.delta-key", title)
        : h("span.pane-key", { title: [key, ...factLines(sig)].join("\n") },
          facts.displayName ? [facts.displayName, " ", h("span.pane-sub", key)] : title),
      facts.unit ? h("span.pane-unit", `[${facts.unit}]`) : null,
      h("span.cmp-values", values),
      delta ? null : h("button.pane-x", { type: "button", title: "remove from the plots", "aria-label": `remove ${key}`, onclick: () => this.on.remove(key) }, "×"));
    const box = h(`div.pane${delta ? ".delta-pane" : ""}`, { dataset: { key: delta ? "delta" : key } }, head);
    this.panesEl.append(box);
    const stepped = Boolean(facts.states) || kind === "enum" || kind === "bool";
    const states = facts.states ? stateAxis(() => facts.states, gutter) : null;
    const single = delta && series.length === 1;
    const opts = {
      width,
      height: height + (last ? 28 : 0),
      padding: [6, 10, last ? 0 : 4, 0],
      legend: { show: false },
      scales: { x: { time: false } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label, stroke: s.colour, width: delta ? 1.8 : 1.4, spanGaps: false, points: { show: false },
          // One compared lap: shaded to zero as i2 does, so lost and gained stretches read at a glance.
          fill: single ? `${s.colour}26` : undefined, fillTo: single ? 0 : undefined,
          paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        })),
      ],
      axes: [
        {
          show: last, stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 },
          font: "11px system-ui, sans-serif", size: 28,
          values: (u, vals, axis, space, incr) => vals.map((v) => `${v.toFixed(decimalsOf(incr))} ${unit}`),
        },
        {
          stroke: text, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: gutter, gap: 4,
          font: AXIS_FONT,
          // The unit along the axis; an empty label on the others keeps every pane's gutter the same.
          label: facts.unit || "", labelSize: 15, labelGap: 0, labelFont: AXIS_FONT,
          ...(states ? { splits: states.splits } : {}),
          values: delta
            ? (u, vals, axis, space, incr) => vals.map((v) => `${v > 0 ? "+" : ""}${v.toFixed(decimalsOf(incr))} s`)
            : states ? states.values : (u, vals) => vals.map((v) => fmtValue(v)),
        },
      ],
      cursor: {
        sync: { key: this.syncKey, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => () => { this.setZoom(null); return null; } },
        points: { size: 6 },
        y: false,
      },
      hooks: {
        setCursor: [(u) => this.cursorMoved(u)],
        setSelect: [(u) => this.selected(u)],
        // Under the traces: a lap level with the reference stays visible on it.
        drawAxes: delta ? [(u) => this.zeroLine(u, refColour)] : [],
      },
    };
    const grid0 = this.data.grid;
    const u = new uPlot(opts, [grid0, ...series.map((s) => s.values)], box);
    this.panes.push({ key, u, values, series, facts, delta });
  }

  zeroLine(u, colour) {
    const y = u.valToPos(0, "y", true);
    const { left, top, width, height } = u.bbox;
    if (!(y >= top && y <= top + height)) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
    ctx.restore();
  }

  resize() {
    const width = this.panesEl.clientWidth;
    if (!width) return;
    for (const p of this.panes) if (Math.abs(p.u.width - width) > 1) p.u.setSize({ width, height: p.u.height });
  }

  selected(u) {
    const sel = u.select;
    if (sel.width < 4) return;
    const a = u.posToVal(sel.left, "x");
    const b = u.posToVal(sel.left + sel.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.setZoom([a, b]);
  }

  setZoom(win) {
    const g = this.data ? this.data.grid : [];
    if (win && g.length && win[0] <= g[0] && win[1] >= g[g.length - 1]) win = null;
    this.zoom = win;
    this.applyZoom();
    this.on.zoom(win);
  }

  applyZoom() {
    const g = this.data ? this.data.grid : [];
    if (!g.length) return;
    const [a, b] = this.zoom || [g[0], g[g.length - 1]];
    for (const p of this.panes) {
      p.u.setScale("x", { min: a, max: b });
      // y fits what is visible: a corner's detail is not flattened by the rest of the lap.
      this.fitY(p, a, b);
    }
  }

  fitY(p, a, b) {
    let lo = Infinity;
    let hi = -Infinity;
    const g = this.data.grid;
    for (let i = 0; i < g.length; i += 1) {
      if (g[i] < a || g[i] > b) continue;
      for (let s = 1; s < p.u.data.length; s += 1) {
        const v = p.u.data[s][i];
        if (v === null || v === undefined) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (p.delta) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (!Number.isFinite(lo)) return;
    if (p.facts.states) {
      // Whole codes, half a step of room: each state's level sits on its named tick.
      p.u.setScale("y", { min: Math.floor(lo) - 0.5, max: Math.ceil(hi) + 0.5 });
      return;
    }
    const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
    p.u.setScale("y", { min: lo - pad, max: hi + pad });
  }

  /** Put the cursor at x (metres or seconds) from outside (the map); null hides it. */
  showX(x) {
    const p = this.panes[0];
    if (!p) return;
    if (x === null) { p.u.setCursor({ left: -10, top: -10 }); return; }
    const left = p.u.valToPos(x, "x");
    if (left < 0 || left > p.u.over.clientWidth) return;
    p.u.setCursor({ left, top: p.u.over.clientHeight / 2 });
  }

  cursorMoved(u) {
    const pane = this.panes.find((p) => p.u === u);
    if (!pane) return;
    const idx = u.cursor.left !== null && u.cursor.left >= 0 ? u.cursor.idx : null;
    const has = idx !== null && idx !== undefined;
    pane.series.forEach((s, k) => {
      const v = has ? u.data[k + 1][idx] : null;
      let text = "";
      if (v !== null && v !== undefined) {
        if (pane.delta) text = `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v).toFixed(3)} s`;
        else text = valueText(v, pane.facts);
      }
      pane.values[k].textContent = text;
    });
    if (pane === this.panes[0]) {
      const x = has ? this.data.grid[idx] : null;
      this.readout.textContent = x === null ? "" : this.data.x === "time" ? `t = ${x.toFixed(2)} s` : `d = ${Math.round(x)} m`;
      this.on.cursor(has ? idx : null);
    }
  }
}
