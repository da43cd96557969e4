// One run: facts, track map with laps, signal tree, time plot, export, setup, notes, channels.
import { api, can, whoami } from "./api.js";
import { navigate } from "./app.js";
import { confirmDialog, h, toast } from "./dom.js";
import { compareUrl } from "./comparestate.js";
import { EventsPanel } from "./events.js";
import { ExportBuilder } from "./export.js";
import { DASH, fmtBytes, fmtCount, fmtDateTime, fmtDistance, fmtDuration, fmtLap, fmtSpeed } from "./format.js";
import { PlotStack } from "./plot.js";
import { keyboardRow } from "./rowkeys.js";
import { channelsTable, setupPanel, tagsNotesPanel, waitForUpdate } from "./runmeta.js";
import { signalTree } from "./signaltree.js";
import { BEST, LAP_COLOURS, TrackMap } from "./trackmap.js";
import { panel, segmented, statusBadge } from "./widgets.js";

const MAX_PLOTTED = 32; // the API's limit per /series request

/** Signals worth seeing first: speed, then the driver's inputs (throttle, brake, steering). */
export function defaultSignals(tree, track) {
  const all = tree.topics.flatMap((t) => t.signals.filter((s) => !s.width && s.kind !== "string" && s.kind !== "bool"));
  const pick = [];
  const take = (...tests) => {
    for (const test of tests) {
      const s = all.find((x) => !pick.includes(x) && test(x));
      if (s) { pick.push(s); return; }
    }
  };
  take(
    (s) => Boolean(track && s.topic === track.topic && /vel.*\.x$|speed/i.test(s.path)),
    (s) => /speed/i.test(s.path) && !/wheel|rpm/i.test(s.path),
  );
  take((s) => /accel.*(percent|pct)|throttle/i.test(s.path), (s) => /accel.*pedal|pedal.*accel/i.test(s.path));
  take((s) => /brake.*(percent|pct)/i.test(s.path), (s) => /brake.*pressure/i.test(s.path));
  take((s) => /steer.*(angle|deg)/i.test(s.path), (s) => /steer/i.test(s.path));
  return pick;
}

function fact(label, value, cls = "") {
  return h(`div.fact${cls ? `.${cls}` : ""}`, h("div.fact-value", value), h("div.fact-label", label));
}

function lapsTable(laps, bestLap, onPick, runId) {
  if (!laps.length) return h("p.muted", "No complete lap detected (laps come from the GPS track crossing its start line).");
  const best = laps.find((l) => l.lap === bestLap);
  const tbody = h("tbody");
  const ticked = new Set();
  // The fastest ticked lap is the reference, as in the "vs best" links.
  const compareHref = (nums) => compareUrl(laps.filter((l) => nums.includes(l.lap))
    .sort((a, b) => a.time_s - b.time_s).map((l) => ({ run: runId, lap: l.lap })));
  const compareBtn = h("a.btn.small.primary.compare-selected", { href: "#", "data-link": true, "aria-disabled": "true" }, "Compare selected");
  const hint = h("span.muted", "tick two laps or more");
  const syncCompare = () => {
    const n = ticked.size;
    compareBtn.textContent = n ? `Compare selected (${n})` : "Compare selected";
    compareBtn.classList.toggle("disabled", n < 2);
    compareBtn.setAttribute("aria-disabled", String(n < 2));
    compareBtn.setAttribute("href", n >= 2 ? compareHref([...ticked]) : "#");
    hint.hidden = n >= 2;
  };
  compareBtn.addEventListener("click", (e) => { if (ticked.size < 2) e.preventDefault(); });
  laps.forEach((l, i) => {
    const isBest = l.lap === bestLap;
    const delta = best && !isBest ? `+${(l.time_s - best.time_s).toFixed(3)}` : "";
    const tick = h("input", {
      type: "checkbox", value: l.lap, title: "tick to compare", "aria-label": `compare lap ${l.lap}`,
      onchange: (e) => { if (e.target.checked) ticked.add(l.lap); else ticked.delete(l.lap); syncCompare(); },
    });
    const vs = best && !isBest
      ? h("a.vs-best", { href: compareHref([best.lap, l.lap]), "data-link": true, title: `compare lap ${l.lap} with the best lap (${best.lap})` }, "vs best")
      : null;
    const tr = h("tr.lap-row", { dataset: { lap: l.lap }, title: "show this lap in the plot" },
      h("td.cmp-tick", tick),
      h("td", h("span.lap-dot", { style: { background: isBest ? BEST : LAP_COLOURS[i % LAP_COLOURS.length] } }), `Lap ${l.lap}`),
      h(`td.num${isBest ? ".best" : ""}`, fmtLap(l.time_s)),
      h("td.num.muted", delta),
      h("td.num.muted", fmtDistance(l.distance_m)),
      h("td.cmp-vs", vs));
    tr.addEventListener("click", (e) => {
      if (e.target.closest("a, input")) return; // ticking or comparing is not picking
      for (const r of tbody.children) r.classList.toggle("picked", r === tr);
      onPick(l);
    });
    keyboardRow(tr, `lap ${l.lap}, ${fmtLap(l.time_s)}${isBest ? ", best" : ""}: show in the plot`);
    tbody.append(tr);
  });
  syncCompare();
  return h("div.laps-box",
    h("div.table-wrap.laps", h("table.compact.hover",
      h("thead", h("tr", h("th.cmp-tick", ""), h("th", "Lap"), h("th.num", "Time"), h("th.num", "Δ best"), h("th.num", "Distance"), h("th", ""))), tbody)),
    h("div.laps-compare", compareBtn, hint));
}

export async function mount(root, [runId]) {
  const [me, run] = await Promise.all([whoami(), api(`/runs/${runId}`)]);
  document.title = `${run.filename || run.id.slice(0, 12)} · pitwall`;
  const s = run.setup || {};
  const editable = can(me, "edit") && !run.deleted;
  const usable = run.status !== "rejected";
  const [tree, track] = usable
    ? await Promise.all([api(`/runs/${runId}/signals`), api(`/runs/${runId}/track`)])
    : [{ topics: [] }, { available: false, laps: [], points: [] }];
  const laps = track.laps || run.laps || [];
  const bestLap = laps.length ? laps.reduce((a, b) => (b.time_s < a.time_s ? b : a)).lap : null;

  // --- header -------------------------------------------------------------------
  const actions = h("div.head-actions", statusBadge(run));
  if (run.object_key) {
    actions.append(h("a.btn", { href: `/api/v1/runs/${run.id}/mcap/file`, download: run.filename || `${run.id}.mcap`, title: "the original file, for Foxglove or the mcap CLI" }, "Original MCAP"));
  }
  if (can(me, "edit") && !run.deleted) {
    actions.append(h("button.btn.danger-ghost", {
      type: "button",
      onclick: async () => {
        const ok = await confirmDialog("Delete this run?", `${run.filename || run.id} will be hidden from everyone. Its file and data are kept and an admin can restore it.`, "Delete run", true);
        if (!ok) return;
        try {
          await api(`/runs/${run.id}`, { method: "DELETE" });
          await waitForUpdate(run.id, run.updated_at, { include404: true });
          toast("Run deleted", "ok");
          navigate("/");
        } catch (err) { toast(err.message, "error", 7000); }
      },
    }, "Delete"));
  }
  if (run.deleted && can(me, "admin")) {
    actions.append(h("button.btn.primary", {
      type: "button",
      onclick: async () => {
        try {
          await api(`/runs/${run.id}/restore`, { method: "POST" });
          await waitForUpdate(run.id, run.updated_at);
          toast("Run restored", "ok");
          navigate(location.pathname, { replace: true });
        } catch (err) { toast(err.message, "error", 7000); }
      },
    }, "Restore"));
  }
  const subtitle = [s.track, s.driver, s.event_type, s.car].filter((v) => v !== null && v !== undefined && v !== "").map(String);
  root.append(
    h("section.run-head",
      h("div",
        h("a.back", { href: "/", "data-link": true }, "← Runs"),
        h("h1", run.filename || run.id.slice(0, 16)),
        h("div.run-sub", h("span", fmtDateTime(run.start_time)), subtitle.map((x) => [h("span.sep", "·"), h("span", x)]))),
      actions));
  if (run.deleted) root.append(h("div.banner.deleted", `Deleted${run.deleted_at ? ` on ${fmtDateTime(run.deleted_at)}` : ""}: only admins see this run.`));
  if (run.status === "recovered") {
    const r = run.recovery || {};
    const lost = r.lost_messages || r.lost_tail_bytes
      ? ` Lost after the cut: ${fmtCount(r.lost_messages || 0)} messages, ${fmtBytes(r.lost_tail_bytes || 0)}.`
      : "";
    root.append(h("div.banner.recovered", `The file was cut off (the logger lost power): everything written before the cut is here.${lost}`));
  }
  if (run.status === "rejected") {
    root.append(h("div.banner.rejected", `This file could not be read: ${run.reason || "unknown reason"}.`));
    return {};
  }

  root.append(h("div.facts",
    fact("Duration", fmtDuration(run.duration_s)),
    fact("Laps", run.lap_count ?? laps.length ?? DASH),
    fact("Best lap", fmtLap(run.best_lap_s), run.best_lap_s ? "best" : ""),
    fact("Distance", fmtDistance(run.distance_m)),
    fact("Top speed", fmtSpeed(run.top_speed_mps)),
    fact("Messages", fmtCount(run.message_count)),
    fact("Topics", fmtCount((run.channels || []).length)),
    fact("File", fmtBytes(run.size))));

  // --- shared state ---------------------------------------------------------------
  const info = new Map(); // key -> signal stats (the tree's rows)
  for (const t of tree.topics) for (const sig of t.signals) info.set(sig.key, sig);
  const selected = new Map(); // key -> {key, topic, path, kind, unit, states, ...}
  const describe = (key, sig) => {
    const element = key !== sig.key ? key.slice(sig.key.length) : "";
    return {
      key, topic: sig.topic, path: sig.path + element, kind: sig.kind,
      // What the catalogue says of it: the plot's axis, read-out and state names.
      unit: sig.unit, states: sig.states, enum_names: sig.enum_names, description: sig.description,
      display_name: sig.display_name,
    };
  };

  // The plotted signals and the zoom live in the address: a link shows a colleague the same plot.
  function remember() {
    const q = new URLSearchParams();
    for (const key of selected.keys()) q.append("s", key);
    if (plot.view) q.set("w", `${plot.view[0].toFixed(3)},${plot.view[1].toFixed(3)}`);
    const text = q.toString();
    history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
  }

  let map = null;
  const plot = new PlotStack(run, laps, {
    cursor: (t) => map && map.setCursor(t),
    view: (win) => { if (map) map.setWindow(win); remember(); },
    exportWindow: (win) => exporter.setWindow(win),
    remove: (key) => toggle(key, false),
    markEvent: editable ? (win) => events.mark(win) : null,
  });
  const events = new EventsPanel(run, plot, editable);
  const exporter = new ExportBuilder({
    run, plot,
    selected: () => [...selected.values()],
    view: () => plot.view,
  });

  function toggle(key, on, sig = null) {
    if (on) {
      if (selected.size >= MAX_PLOTTED) {
        toast(`At most ${MAX_PLOTTED} signals at once`, "error");
        treeView.sync();
        return;
      }
      const base = sig || info.get(key) || info.get(key.replace(/\[\d+\]$/, ""));
      if (base) selected.set(key, describe(key, base));
    } else {
      selected.delete(key);
    }
    treeView.sync();
    plot.setSignals([...selected.values()]);
    exporter.refreshSelected();
    remember();
  }

  const treeView = signalTree(tree, { isSelected: (key) => selected.has(key), onToggle: (key, on, sig) => toggle(key, on, sig) });

  // --- layout ---------------------------------------------------------------------
  let trackBody;
  let trackActions = null;
  if (track.available) {
    map = new TrackMap(track, { bestLap, onHover: (t) => plot.showTime(t) });
    trackBody = map.el;
    trackActions = segmented("track colour", [["laps", "Laps"], ["speed", "Speed"]], map.mode, (m) => map.setMode(m));
  } else {
    trackBody = h("p.muted.track-none", "No GPS track in this run.");
  }
  const lapList = lapsTable(laps, bestLap, (l) => plot.setView([l.start_s, l.end_s]), run.id);
  const editableMeta = { editable, onChange: () => {} };

  // The plot first, so a laptop's first screen shows it; the map, laps and setup below it.
  root.append(h("div.run-grid",
    h("aside.sidebar", panel("Signals", treeView.el, { cls: "tree-panel" })),
    h("div.run-main",
      panel("Plot", plot.el, { cls: "plot-panel" }),
      h("div.row-2.track-row",
        panel("Track", trackBody, { cls: "track-panel", actions: trackActions }),
        h("div.stack",
          laps.length ? panel(`Laps (${laps.length})`, lapList, { cls: "laps-panel" }) : null,
          panel("Setup", setupPanel(run, editableMeta), { cls: "setup-panel" }))),
      panel("Events", events.el, { cls: "events-panel" }),
      panel("Export", exporter.el, { cls: "export-panel" }),
      h("div.row-2.meta-row",
        panel("Tags and notes", tagsNotesPanel(run, editableMeta)),
        panel(`Channels (${(run.channels || []).length})`, channelsTable(run), { cls: "channels-panel" })))));

  const asked = new URLSearchParams(location.search);
  const fromUrl = asked.getAll("s")
    .map((key) => [key, info.get(key) || info.get(key.replace(/\[\d+\]$/, ""))])
    .filter(([, sig]) => sig)
    .slice(0, MAX_PLOTTED);
  const initial = fromUrl.length ? fromUrl : defaultSignals(tree, track).map((sig) => [sig.key, sig]);
  for (const [key, sig] of initial) {
    selected.set(key, describe(key, sig));
    treeView.reveal(key);
  }
  treeView.sync();
  exporter.refreshSelected();
  const win = (asked.get("w") || "").split(",").map(Number);
  // After layout, so the panes know their width.
  requestAnimationFrame(() => {
    plot.setSignals([...selected.values()]);
    if (win.length === 2 && win.every(Number.isFinite) && win[1] > win[0]) plot.setView(win);
    if (map) map.draw();
  });
  events.load();

  return {
    cleanup() {
      plot.destroy();
      exporter.destroy();
      if (map) map.destroy();
      document.title = "pitwall";
    },
  };
}
