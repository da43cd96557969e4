// The time plot: one pane per signal (each its own y scale), all on one time axis with a
// shared cursor. Zooming asks the API again for that window, so detail appears as you zoom.
import { api } from "./api.js";
import { clear, debounce, h } from "./dom.js";
import { fmtValue } from "./format.js";
import { AXIS_FONT, axisGutter, factLines, factsOf, labelStateChanges, stateAxis, valueText } from "./signalinfo.js";
import { onThemeChange } from "./theme.js";

export const SERIES_COLOURS = ["#2563eb", "#e5484d", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];
const MIN_SPAN_S = 0.005;
const EVENT_BAND = "rgba(217, 119, 6, 0.14)";
const EVENT_EDGE = "rgba(180, 83, 9, 0.9)";

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Decimals that tell ticks `incr` apart: 0.5 -> 1, 0.25 -> 2, 5 -> 0. */
function decimalsOf(incr) {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(incr * 10 ** d) - incr * 10 ** d) > 1e-6) d += 1;
  return d;
}

export class PlotStack {
  /**
   * run: the run document; laps: [{lap, start_s, end_s}].
   * on.cursor(t|null), on.view([t0,t1]|null), on.exportWindow([t0,t1]), on.remove(key),
   * on.markEvent([t0,t1]) (optional: editors get a "Mark event" mode whose drag marks a range)
   */
  constructor(run, laps, on) {
    this.run = run;
    this.laps = laps || [];
    this.on = on;
    this.full = [0, Math.max(run.duration_s || 0, 0.001)];
    this.view = null; // null: the whole run
    this.exportWindow = null;
    this.signals = []; // [{key, kind, unit, states, description, display_name}]
    this.panes = []; // {key, u, value, colour, facts: {unit, states, ...}}
    this.lastSeries = null; // key -> the latest /series signal
    this.syncKey = `run-${run.id}`;
    this.seq = 0;
    this.shift = false;
    this.events = []; // [{id, kind, start_s, end_s}]: shaded bands
    this.pendingEvent = null; // [t0, t1] being named
    this.marking = false;
    this.markButton = on.markEvent
      ? h("button.btn.small.mark-event", { type: "button", "aria-pressed": "false", onclick: () => this.setMarking(!this.marking), title: "then drag across the plot to mark a range as an event" }, "Mark event")
      : null;

    this.timeReadout = h("span.t-readout", "t = –");
    this.windowReadout = h("span.win-readout");
    this.status = h("span.plot-status");
    this.panesEl = h("div.panes");
    this.el = h("div.plot",
      h("div.plot-toolbar",
        h("button.btn.small", { type: "button", onclick: () => this.setView(null), title: "Show the whole run (double-click on the plot)" }, "Whole run"),
        h("button.btn.small", { type: "button", onclick: () => this.zoomBy(0.5), title: "Zoom in", "aria-label": "Zoom in" }, "+"),
        h("button.btn.small", { type: "button", onclick: () => this.zoomBy(2), title: "Zoom out", "aria-label": "Zoom out" }, "−"),
        this.markButton,
        this.windowReadout,
        this.timeReadout,
        this.status,
        h("span.plot-hint", "drag: zoom · wheel: zoom · shift+wheel: pan · shift+drag: export window")),
      this.panesEl);
    this.refetch = debounce(() => this.fetch(), 180);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.panesEl);
    // Axis colours are read when drawing (below), so a new theme needs only a redraw.
    this.offTheme = onThemeChange(() => { for (const p of this.panes) p.u.redraw(false, true); });
    this.drawEmpty();
  }

  destroy() {
    this.resizer.disconnect();
    this.offTheme();
    for (const p of this.panes) p.u.destroy();
    this.panes = [];
  }

  drawEmpty() {
    if (!this.signals.length) {
      clear(this.panesEl).append(h("div.plot-empty", "Tick signals in the tree on the left to plot them."));
    }
  }

  currentView() {
    return this.view || this.full;
  }

  /** signals: [{key, kind, unit?, states?, description?, display_name?}] in display order. */
  setSignals(signals) {
    const plottable = signals.filter((s) => s.kind !== "string");
    const same = plottable.length === this.signals.length && plottable.every((s, i) => s.key === this.signals[i].key);
    if (same) return;
    this.signals = plottable.map((s) => ({ ...s }));
    this.lastSeries = null;
    this.build();
    if (plottable.length) this.fetch();
  }

  build() {
    for (const p of this.panes) p.u.destroy();
    this.panes = [];
    clear(this.panesEl);
    if (!this.signals.length) { this.drawEmpty(); return; }
    const width = Math.max(300, this.panesEl.clientWidth || 800);
    const n = this.signals.length;
    const height = n <= 1 ? 260 : n === 2 ? 170 : n <= 4 ? 135 : 110;
    const text = () => cssVar("--muted", "#6b7280");
    const grid = () => cssVar("--grid", "#eef0f3");
    const view = this.currentView();
    // One gutter for all panes, wide enough for the state names: the time axes line up.
    const gutter = axisGutter(this.signals.map((s) => factsOf(s).states));
    this.signals.forEach((sig, i) => {
      const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
      const last = i === n - 1;
      const facts = factsOf(sig);
      const value = h("span.pane-value", "");
      const head = h("div.pane-head",
        h("span.swatch", { style: { background: colour } }),
        h("span.pane-key", { title: [sig.key, ...factLines(sig)].join("\n") },
          facts.displayName ? [facts.displayName, " ", h("span.pane-sub", sig.key)] : sig.key),
        facts.unit ? h("span.pane-unit", `[${facts.unit}]`) : null,
        value,
        h("button.pane-x", { type: "button", title: "remove from the plot", "aria-label": `remove ${sig.key}`, onclick: () => this.on.remove(sig.key) }, "×"));
      const box = h("div.pane", { dataset: { key: sig.key } }, head);
      this.panesEl.append(box);
      const stepped = Boolean(facts.states) || sig.kind === "enum" || sig.kind === "bool";
      const pane = { key: sig.key, value, colour, facts, kind: sig.kind };
      const states = facts.states ? stateAxis(() => pane.facts.states, gutter) : null;
      const opts = {
        width,
        height: height + (last ? 28 : 0),
        padding: [6, 10, last ? 0 : 4, 0],
        legend: { show: false },
        scales: { x: { time: false, range: (u, lo, hi) => [lo, hi] }, ...(states ? { y: { range: states.range } } : {}) },
        series: [
          {},
          {
            stroke: colour, width: 1.4, spanGaps: false, points: { show: false },
            paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
          },
        ],
        axes: [
          {
            show: last, stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 },
            font: "11px system-ui, sans-serif", size: 28,
            values: (u, vals, axis, space, incr) => vals.map((v) => `${v.toFixed(decimalsOf(incr))} s`),
          },
          {
            stroke: text, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: gutter, gap: 4,
            font: AXIS_FONT,
            // The unit along the axis; an empty label on the others keeps every pane's gutter the same.
            label: facts.unit || "", labelSize: 15, labelGap: 0, labelFont: AXIS_FONT,
            ...(states ? { splits: states.splits, values: states.values } : { values: (u, vals) => vals.map((v) => fmtValue(v)) }),
          },
        ],
        cursor: {
          sync: { key: this.syncKey, setSeries: false },
          drag: { x: true, y: false, setScale: false },
          bind: { dblclick: () => () => { this.setView(null); return null; } },
          points: { size: 7, fill: colour },
          y: false,
        },
        hooks: {
          setCursor: [(u) => this.cursorMoved(u)],
          setSelect: [(u) => this.selected(u)],
          draw: [(u) => { this.decorate(u); if (pane.facts.states) labelStateChanges(u, pane.facts.states, cssVar("--heading", "#3b4150")); }],
        },
      };
      const u = new uPlot(opts, [[view[0], view[1]], [null, null]], box);
      u.setScale("x", { min: view[0], max: view[1] });
      u.over.addEventListener("mousedown", (e) => { this.shift = e.shiftKey; }, true);
      u.over.addEventListener("wheel", (e) => this.wheel(e, u), { passive: false });
      pane.u = u;
      this.panes.push(pane);
    });
    if (this.lastSeries) this.applySeries();
  }

  resize() {
    const width = this.panesEl.clientWidth;
    if (!width) return;
    for (const p of this.panes) {
      if (Math.abs(p.u.width - width) > 1) p.u.setSize({ width, height: p.u.height });
    }
  }

  async fetch() {
    if (!this.signals.length) return;
    const seq = ++this.seq;
    const view = this.currentView();
    const span = view[1] - view[0];
    // A margin on each side: a little panning shows data at once while the next fetch runs.
    const pad = this.view ? span * 0.25 : 0;
    const width = Math.max(300, this.panesEl.clientWidth || 800);
    const query = {
      signals: this.signals.map((s) => s.key),
      max_points: Math.min(8000, Math.round(width * 2 * (this.view ? 1.5 : 1))),
      start: this.view ? Math.max(0, view[0] - pad).toFixed(6) : undefined,
      end: this.view ? (view[1] + pad).toFixed(6) : undefined,
    };
    this.status.textContent = "loading…";
    this.status.classList.remove("error");
    try {
      const data = await api(`/runs/${this.run.id}/series`, { query });
      if (seq !== this.seq) return;
      this.lastSeries = new Map(data.signals.map((s) => [s.key, s]));
      if (this.learnFacts()) this.build(); // states the tree did not know: panes drawn as steps
      else this.applySeries();
      const dec = data.signals.some((s) => s.decimated);
      this.status.textContent = dec ? "min/max per pixel · zoom in for every sample" : "every sample";
    } catch (err) {
      if (seq !== this.seq) return;
      this.status.textContent = err.message;
      this.status.classList.add("error");
    }
  }

  /** Takes what the /series answer says of each signal (the catalogue's word now); true when the panes must be rebuilt. */
  learnFacts() {
    let rebuild = false;
    for (const sig of this.signals) {
      const s = this.lastSeries.get(sig.key);
      if (!s) continue;
      const before = JSON.stringify(factsOf(sig));
      Object.assign(sig, { unit: s.unit, states: s.states, enum_names: s.enum_names, description: s.description, display_name: s.display_name });
      if (JSON.stringify(factsOf(sig)) !== before) rebuild = true;
    }
    return rebuild;
  }

  applySeries() {
    for (const p of this.panes) {
      const s = this.lastSeries.get(p.key);
      if (!s) continue;
      p.decimated = s.decimated;
      p.points = s.points_in_window;
      // Reset scales so y fits the new values, then put x back on the view asked for.
      const v = this.currentView();
      p.u.batch(() => {
        p.u.setData([s.t, s.v]);
        p.u.setScale("x", { min: v[0], max: v[1] });
      });
    }
  }

  setView(win) {
    if (win) {
      let [a, b] = win;
      if (b - a < MIN_SPAN_S) { const c = (a + b) / 2; a = c - MIN_SPAN_S / 2; b = c + MIN_SPAN_S / 2; }
      const fullSpan = this.full[1] - this.full[0];
      if (b - a >= fullSpan) win = null;
      else {
        // Keep the window inside the run, sliding rather than shrinking it.
        if (a < this.full[0]) { b += this.full[0] - a; a = this.full[0]; }
        if (b > this.full[1]) { a -= b - this.full[1]; b = this.full[1]; }
        win = [a, b];
      }
    }
    this.view = win;
    const v = this.currentView();
    for (const p of this.panes) p.u.setScale("x", { min: v[0], max: v[1] });
    this.windowReadout.textContent = win ? `${v[0].toFixed(2)} – ${v[1].toFixed(2)} s` : "";
    this.on.view(win);
    this.refetch();
  }

  zoomBy(factor, centreFrac = 0.5) {
    const [a, b] = this.currentView();
    const span = b - a;
    const c = a + centreFrac * span;
    const next = span * factor;
    this.setView([c - centreFrac * next, c + (1 - centreFrac) * next]);
  }

  wheel(e, u) {
    e.preventDefault();
    const rect = u.over.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
    const [a, b] = this.currentView();
    const span = b - a;
    const horizontal = Math.abs(e.deltaX) > Math.abs(e.deltaY);
    if (e.shiftKey || horizontal) {
      const delta = (horizontal ? e.deltaX : e.deltaY) / rect.width * span;
      this.setView([a + delta, b + delta]);
    } else {
      this.zoomBy(e.deltaY > 0 ? 1.25 : 0.8, frac);
    }
  }

  selected(u) {
    const sel = u.select;
    if (sel.width < 4) return;
    const t0 = u.posToVal(sel.left, "x");
    const t1 = u.posToVal(sel.left + sel.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (this.marking) {
      // Every synced pane reports the same selection: the first one marks, the others
      // must not take it as a zoom; marking ends once they all have.
      if (!this.markTaken) {
        this.markTaken = true;
        this.on.markEvent([Math.max(0, t0), Math.min(this.full[1], t1)]);
        queueMicrotask(() => { this.markTaken = false; this.setMarking(false); });
      }
    } else if (this.shift) {
      this.setExportWindow([Math.max(0, t0), Math.min(this.full[1], t1)]);
      this.on.exportWindow(this.exportWindow);
    } else {
      this.setView([t0, t1]);
    }
  }

  setMarking(on) {
    this.marking = on;
    if (this.markButton) {
      this.markButton.classList.toggle("active", on);
      this.markButton.setAttribute("aria-pressed", String(on));
    }
    this.el.classList.toggle("marking", on);
  }

  setEvents(events) {
    this.events = events || [];
    for (const p of this.panes) p.u.redraw(false, false);
  }

  setPendingEvent(win) {
    this.pendingEvent = win;
    for (const p of this.panes) p.u.redraw(false, false);
  }

  setExportWindow(win) {
    this.exportWindow = win;
    for (const p of this.panes) p.u.redraw(false, false);
  }

  /** Move the cursor to time t from outside (the map). */
  showTime(t) {
    const p = this.panes[0];
    if (!p) return;
    if (t === null) { p.u.setCursor({ left: -10, top: -10 }); return; }
    const left = p.u.valToPos(t, "x");
    if (left < 0 || left > p.u.over.clientWidth) return;
    p.u.setCursor({ left, top: p.u.over.clientHeight / 2 });
  }

  cursorMoved(u) {
    const left = u.cursor.left;
    const visible = left !== null && left >= 0;
    const t = visible ? u.posToVal(left, "x") : null;
    if (u === (this.panes[0] && this.panes[0].u)) {
      this.timeReadout.textContent = t === null ? "t = –" : `t = ${t.toFixed(3)} s`;
      this.on.cursor(t);
    }
    const pane = this.panes.find((p) => p.u === u);
    if (!pane) return;
    const idx = u.cursor.idx;
    const v = visible && idx !== null && idx !== undefined ? u.data[1][idx] : null;
    pane.value.textContent = valueText(v, pane.facts);
  }

  decorate(u) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // Lap boundaries, as on a timing screen.
    const dpr = window.devicePixelRatio || 1;
    ctx.strokeStyle = cssVar("--lap-line", "#c7ccd4");
    ctx.lineWidth = dpr;
    ctx.setLineDash([4 * dpr, 4 * dpr]);
    ctx.fillStyle = cssVar("--muted", "#6b7280");
    ctx.font = `${10 * dpr}px system-ui, sans-serif`;
    for (const lap of this.laps) {
      const x = u.valToPos(lap.start_s, "x", true);
      if (x < left || x > left + width) continue;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
      if (u === this.panes[0]?.u) ctx.fillText(`L${lap.lap}`, x + 3 * dpr, top + 11 * dpr);
    }
    ctx.setLineDash([]);
    // Events: a band over each marked range, its kind on the top pane.
    const band = (a, b, fill, edge) => {
      const x0 = u.valToPos(a, "x", true);
      const x1 = Math.max(x0 + dpr, u.valToPos(b, "x", true));
      if (x1 < left || x0 > left + width) return null;
      ctx.fillStyle = fill;
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.fillStyle = edge;
      ctx.fillRect(x0, top, dpr, height);
      return x0;
    };
    for (const e of this.events) {
      const x0 = band(e.start_s, e.end_s, EVENT_BAND, EVENT_EDGE);
      if (x0 !== null && u === this.panes[0]?.u) {
        ctx.fillStyle = EVENT_EDGE;
        ctx.fillText(e.kind, Math.max(left, x0) + 3 * dpr, top + 23 * dpr);
      }
    }
    if (this.pendingEvent) band(this.pendingEvent[0], this.pendingEvent[1], "rgba(37, 99, 235, 0.12)", "rgba(37, 99, 235, 0.8)");
    if (this.exportWindow) {
      const x0 = u.valToPos(this.exportWindow[0], "x", true);
      const x1 = u.valToPos(this.exportWindow[1], "x", true);
      ctx.fillStyle = "rgba(229, 72, 77, 0.06)";
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.strokeStyle = "rgba(229, 72, 77, 0.7)";
      ctx.lineWidth = dpr;
      ctx.beginPath();
      ctx.moveTo(x0, top); ctx.lineTo(x0, top + height);
      ctx.moveTo(x1, top); ctx.lineTo(x1, top + height);
      ctx.stroke();
    }
    ctx.restore();
  }
}
