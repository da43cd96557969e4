// Lap comparison: laps of one run or several overlaid by distance (or lap time), the delta-time
// trace, the track map coloured by where time is lost. The whole view lives in the address
// (laps, signals, x, ref, zoom): a link shows a teammate the same thing, back/forward step
// through the changes. The alignment is computed by GET /api/v1/compare, not here.
import { api } from "./api.js";
import { navigate } from "./app.js";
import { ComparePlots } from "./compareplot.js";
import { LossMap } from "./comparemap.js";
import { MAX_LAPS, MAX_SIGNALS, firstAtOrPast, gapText, lapColour, parseState, stateQuery } from "./comparestate.js";
import { clear, copyText, debounce, h, toast } from "./dom.js";
import { DASH, fmtDateTime, fmtDistance, fmtLap } from "./format.js";
import { defaultSignals } from "./run.js";
import { signalTree } from "./signaltree.js";
import { panel, segmented } from "./widgets.js";

const SOURCES = { gps: "GPS", wheel_speed: "wheel speed" };

function shortRun(id) {
  return id.slice(0, 8);
}

/** File names break after _ . - when a cell is narrow, rather than widening the table. */
function breakable(text) {
  return text.split(/(?<=[_.-])/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

class ComparePage {
  constructor(root) {
    this.root = root;
    this.state = parseState(location.search);
    this.data = null;
    this.error = null;
    this.seq = 0;
    this.trees = new Map(); // run id -> /signals answer (a promise)
    this.treeRun = null;
    this.tree = null;
    this.map = null;

    this.headActions = h("div.head-actions");
    this.title = h("h1", "Compare laps");
    this.back = h("a.back", { href: "/", "data-link": true }, "← Runs");
    this.sub = h("div.run-sub");
    this.notes = h("div.cmp-notes");
    this.lapsBody = h("div.cmp-laps");
    this.picker = this.lapPicker();
    this.mapBody = h("div.cmp-map-body");
    this.treeBody = h("div.cmp-tree-body");
    this.status = h("span.plot-status");
    this.plots = new ComparePlots({
      cursor: (idx) => this.cursorAt(idx),
      zoom: (win) => this.zoomed(win),
      remove: (key) => this.toggleSignal(key, false),
    });
    this.plotPanel = panel("Delta and signals", this.plots.el, { cls: "plot-panel cmp-plot-panel", actions: this.status });
    // aria-busy until the answer is drawn: assistive tools (and the tests) know when to look.
    this.grid = h("div.run-grid.cmp-grid", { "aria-busy": "true" },
        h("aside.sidebar", panel(`Signals (up to ${MAX_SIGNALS})`, this.treeBody, { cls: "tree-panel" })),
        h("div.run-main",
          h("div.row-2.track-row",
            panel("Where time is lost", this.mapBody, { cls: "track-panel cmp-map-panel" }),
            panel("Laps", h("div", this.lapsBody, this.picker.el), { cls: "laps-panel cmp-laps-panel" })),
          this.plotPanel));
    root.append(h("section.run-head", h("div", this.back, this.title, this.sub), this.headActions), this.notes, this.grid);
  }

  destroy() {
    this.plots.destroy();
    if (this.map) this.map.destroy();
    document.title = "pitwall";
  }

  /** Go to another state: a new history entry (or the same one, replace) and a reload. */
  go(next, { replace = false } = {}) {
    navigate(`/compare${stateQuery(next)}`, { replace });
  }

  refRun() {
    const l = this.state.laps[this.state.ref];
    return l ? l.run : null;
  }

  treeOf(runId) {
    if (!this.trees.has(runId)) {
      const p = api(`/runs/${runId}/signals`);
      p.catch(() => this.trees.delete(runId));
      this.trees.set(runId, p);
    }
    return this.trees.get(runId);
  }

  async load() {
    this.state = parseState(location.search);
    const seq = ++this.seq;
    this.grid.setAttribute("aria-busy", "true");
    const { laps } = this.state;
    this.data = null;
    this.error = null;
    this.drawHead();
    this.drawLaps();
    const refRun = this.refRun();
    if (laps.length < 2) {
      this.status.textContent = "";
      this.plots.show(null, null);
      this.drawMap();
      clear(this.notes).append(h("div.banner.cmp-hint", laps.length
        ? "Add another lap to compare (below the laps table)."
        : "Pick laps to compare: tick them in a run's laps table, or add them below."));
      if (refRun) await this.drawTree(refRun).catch(() => null);
      if (seq === this.seq) this.grid.setAttribute("aria-busy", "false");
      return;
    }
    clear(this.notes);
    try {
      if (this.state.signals === null) {
        // No signals in the link: the run page's first choice (speed, pedals, steering).
        const [tree, track] = await Promise.all([this.treeOf(refRun), api(`/runs/${refRun}/track`)]);
        if (seq !== this.seq) return;
        const keys = defaultSignals(tree, track).map((s) => s.key).slice(0, MAX_SIGNALS);
        history.replaceState(null, "", `/compare${stateQuery({ ...this.state, signals: keys })}`);
        this.state = parseState(location.search);
      }
      this.drawTree(refRun).catch((err) => { clear(this.treeBody).append(h("p.error", err.message)); });
      this.status.textContent = "loading…";
      this.status.classList.remove("error");
      const width = this.plots.panesEl.clientWidth || 900;
      const data = await api("/compare", {
        query: {
          laps: laps.map((l) => `${l.run}:${l.lap}`).join(","),
          signals: this.state.signals.join(","),
          x: this.state.x,
          ref: this.state.ref || undefined,
          points: Math.max(400, Math.min(2000, Math.round(width * 1.25))),
        },
      });
      if (seq !== this.seq) return;
      this.data = data;
      this.status.textContent = `${data.grid.length} points · ${data.x === "time" ? "by lap time" : "by distance"}`;
    } catch (err) {
      if (seq !== this.seq || err.status === 401) return;
      this.error = err;
      this.status.textContent = "";
      this.notes.append(h("div.banner.rejected", `Cannot compare these laps: ${err.message}`));
    }
    this.drawHead();
    this.drawLaps();
    this.drawMap();
    if (this.data && this.data.notes && this.data.notes.length) {
      this.notes.append(h("ul.banner.recovered.cmp-note-list", this.data.notes.map((n) => h("li", n))));
    }
    // After layout, so the panes know their width.
    requestAnimationFrame(() => {
      if (seq !== this.seq) return;
      this.plots.show(this.data, this.state.zoom);
      if (this.map) this.map.draw();
      this.grid.setAttribute("aria-busy", "false");
    });
  }

  drawHead() {
    const { laps, x } = this.state;
    const refRun = this.refRun();
    this.back.setAttribute("href", refRun ? `/runs/${refRun}` : "/");
    this.back.textContent = refRun ? "← Reference run" : "← Runs";
    const runs = new Set(laps.map((l) => l.run));
    clear(this.sub).append(h("span", `${laps.length} lap${laps.length === 1 ? "" : "s"}`), h("span.sep", "·"),
      h("span", runs.size > 1 ? `${runs.size} runs` : "one run"), h("span.sep", "·"),
      h("span", x === "time" ? "against lap time" : "against distance along the lap"));
    document.title = `Compare ${laps.length} laps · pitwall`;
    const link = h("button.btn", { type: "button", title: "copy the address of this view", onclick: (e) => copyText(location.href, e.currentTarget) }, "Copy link");
    clear(this.headActions).append(
      segmented("x axis", [["distance", "Distance", "overlay by distance along the lap"], ["time", "Lap time", "overlay by time since the lap's start"]], x,
        (value) => { if (value !== this.state.x) this.go({ ...this.state, x: value, zoom: null }); }),
      link);
  }

  drawLaps() {
    const { laps, ref } = this.state;
    const data = this.data;
    if (!laps.length) { clear(this.lapsBody).append(h("p.muted.cmp-empty", "No laps yet.")); return; }
    const refLap = data ? data.laps[data.reference] : null;
    const tbody = h("tbody");
    laps.forEach((l, i) => {
      const d = data ? data.laps[i] : null;
      const isRef = i === ref;
      // The distance and where it comes from (GPS, or wheel speed when a run has no fix).
      const distance = d ? h("td.num.cmp-source",
        h("span", fmtDistance(d.distance_m)),
        h("div.muted.small", SOURCES[d.distance_source] || d.distance_source),
        d.note ? h("div.muted.small.cmp-note", d.note) : null) : h("td.num.muted", DASH);
      tbody.append(h(`tr.cmp-lap${isRef ? ".ref" : ""}`, { dataset: { run: l.run, lap: l.lap, index: i } },
        h("td.cmp-ref", h("input", {
          type: "radio", name: "cmp-ref", checked: isRef, title: "make this lap the reference",
          "aria-label": `lap ${l.lap} as the reference`,
          onchange: () => this.go({ ...this.state, ref: i, zoom: null }),
        })),
        h("td.cmp-label", h("div.cmp-label-in",
          h("span.lap-dot", { style: { background: lapColour(i) } }),
          h("a", { href: `/runs/${l.run}`, "data-link": true, title: l.run }, breakable(d ? d.label : `${shortRun(l.run)} · lap ${l.lap}`)))),
        h("td.num.cmp-time", d ? fmtLap(d.time_s) : DASH),
        h(`td.num.cmp-gap${!isRef && d && refLap ? (d.time_s > refLap.time_s ? ".slower" : ".faster") : ""}`,
          d && refLap ? gapText(d.time_s, refLap.time_s, isRef) : isRef ? "reference" : DASH),
        distance,
        h("td", h("button.pane-x", {
          type: "button", title: "remove this lap", "aria-label": `remove lap ${l.lap}`,
          onclick: () => this.removeLap(i),
        }, "×"))));
    });
    clear(this.lapsBody).append(h("div.table-wrap", h("table.compact.cmp-table",
      h("thead", h("tr", h("th", { title: "reference" }, "Ref"), h("th", "Lap"), h("th.num", "Time"), h("th.num", "Gap"),
        h("th.num", { title: "distance along the lap, and where it comes from" }, "Distance"), h("th"))), tbody)));
  }

  removeLap(i) {
    const laps = this.state.laps.filter((_, k) => k !== i);
    let ref = this.state.ref;
    if (i === ref) ref = 0; else if (i < ref) ref -= 1;
    this.go({ ...this.state, laps, ref, zoom: null });
  }

  addLap(run, lap) {
    const { laps } = this.state;
    if (laps.some((l) => l.run === run && l.lap === lap)) { toast("That lap is already in the comparison"); return; }
    if (laps.length >= MAX_LAPS) { toast(`At most ${MAX_LAPS} laps at once`, "error"); return; }
    this.go({ ...this.state, laps: [...laps, { run, lap }], zoom: null });
  }

  drawMap() {
    if (this.map) { this.map.destroy(); this.map = null; }
    const data = this.data;
    if (!data) {
      clear(this.mapBody).append(h("p.muted.track-none", this.error ? "No comparison." : this.state.laps.length < 2 ? "Two laps or more draw the map." : "Loading…"));
      return;
    }
    if (!data.map) {
      clear(this.mapBody).append(h("p.muted.track-none", "No GPS in the reference lap: no map (distance comes from wheel speed)."));
      return;
    }
    const ref = data.laps[data.reference];
    const of = data.laps[data.map.lap_index];
    this.map = new LossMap(data.map, ref.distance_m, {
      title: of ? `lap ${of.lap}${of.run_id !== ref.run_id ? ` (${shortRun(of.run_id)})` : ""} vs reference lap ${ref.lap}` : "",
      onHover: (d) => this.plots.showX(d === null ? null : this.xAtDistance(d)),
    });
    clear(this.mapBody).append(this.map.el);
  }

  /** The x value (distance, or the reference's lap time) where the reference is `d` metres in. */
  xAtDistance(d) {
    const data = this.data;
    if (data.x === "distance") return d;
    const i = firstAtOrPast(data.laps[data.reference].distance, d);
    return i < 0 ? null : data.grid[i];
  }

  cursorAt(idx) {
    if (!this.map || !this.data) return;
    const data = this.data;
    if (idx === null) { this.map.setCursors([]); return; }
    const dots = [];
    data.laps.forEach((lap, i) => {
      const d = data.x === "distance" ? data.grid[idx] : lap.distance[idx];
      if (d !== null && d !== undefined) dots.push({ d, colour: lapColour(i), ref: i === data.reference });
    });
    // The reference on top: where the laps are at one distance they share a place.
    dots.sort((a, b) => Number(a.ref) - Number(b.ref));
    this.map.setCursors(dots);
  }

  zoomed(win) {
    this.state = { ...this.state, zoom: win };
    history.replaceState(null, "", `/compare${stateQuery(this.state)}`);
  }

  async drawTree(runId) {
    if (this.treeRun === runId && this.tree) { this.tree.sync(); return; }
    this.treeRun = runId;
    clear(this.treeBody).append(h("p.muted", "Loading signals…"));
    const answer = await this.treeOf(runId);
    if (this.treeRun !== runId) return;
    this.tree = signalTree(answer, {
      isSelected: (key) => Boolean(this.state.signals && this.state.signals.includes(key)),
      onToggle: (key, on) => this.toggleSignal(key, on),
    });
    for (const key of this.state.signals || []) this.tree.reveal(key);
    clear(this.treeBody).append(h("p.muted.small.cmp-tree-hint", "Signals of the reference lap's run."), this.tree.el);
  }

  toggleSignal(key, on) {
    const signals = (this.state.signals || []).filter((k) => k !== key);
    if (on) {
      if (signals.length >= MAX_SIGNALS) {
        toast(`At most ${MAX_SIGNALS} signals at once`, "error");
        if (this.tree) this.tree.sync();
        return;
      }
      signals.push(key);
    }
    this.go({ ...this.state, signals });
  }

  /** Add a lap of any run: find the run, then pick one of its laps. */
  lapPicker() {
    const search = h("input.cmp-run-search", { type: "search", placeholder: "Find a run: file, driver, track…", spellcheck: false, autocomplete: "off" });
    const runsList = h("div.cmp-run-list");
    const lapsList = h("div.cmp-lap-list");
    const body = h("div.cmp-picker-body", search, runsList, lapsList);
    const details = h("details.cmp-picker", h("summary", "Add a lap…"), body);
    let seq = 0;
    const showLaps = async (run) => {
      clear(lapsList).append(h("p.muted.small", "Loading laps…"));
      try {
        const answer = await api(`/runs/${run.id}/laps`);
        const best = answer.laps.length ? answer.laps.reduce((a, b) => (b.time_s < a.time_s ? b : a)).lap : null;
        clear(lapsList).append(
          h("div.small.muted", `${run.filename || shortRun(run.id)}: pick a lap`),
          ...(answer.laps.length ? answer.laps.map((l) => h(`button.btn.small.cmp-add-lap${l.lap === best ? ".best" : ""}`, {
            type: "button", dataset: { lap: l.lap }, title: l.lap === best ? "the run's best lap" : "",
            onclick: () => { details.open = false; this.addLap(run.id, l.lap); },
          }, `Lap ${l.lap} · ${fmtLap(l.time_s)}`)) : [h("p.muted.small", "This run has no complete lap.")]));
      } catch (err) {
        clear(lapsList).append(h("p.error.small", err.message));
      }
    };
    const find = async () => {
      const mine = ++seq;
      try {
        const page = await api("/runs", { query: { q: search.value.trim() || undefined, limit: 8 } });
        if (mine !== seq) return;
        clear(runsList).append(...(page.items.length ? page.items.map((run) => {
          const s = run.setup || {};
          return h("button.cmp-run", { type: "button", dataset: { runId: run.id }, onclick: (e) => {
            for (const b of runsList.children) b.classList.toggle("picked", b === e.currentTarget);
            showLaps(run);
          } },
          h("span.cmp-run-name", run.filename || shortRun(run.id)),
          h("span.muted.small", [fmtDateTime(run.start_time), s.driver, s.track, run.lap_count ? `${run.lap_count} laps` : "no laps"].filter(Boolean).join(" · ")));
        }) : [h("p.muted.small", "No run matches.")]));
      } catch (err) {
        if (mine === seq) clear(runsList).append(h("p.error.small", err.message));
      }
    };
    search.addEventListener("input", debounce(find, 200));
    details.addEventListener("toggle", () => { if (details.open && !runsList.firstChild) find(); });
    return { el: details };
  }
}

export async function mount(root) {
  const page = new ComparePage(root);
  await page.load();
  return {
    cleanup: () => page.destroy(),
    onQueryChange: () => page.load(),
  };
}
