// The runs list: filters kept in the URL, one page at a time ("Load more" follows next_cursor),
// in recording or upload order, grouped by the day of that order's time.
import { api, can, whoami } from "./api.js";
import { clear, debounce, h } from "./dom.js";
import { DASH, dayKey, fmtDateTime, fmtDay, fmtDuration, fmtLap, fmtSpeed } from "./format.js";
import { stationsPanel } from "./stations.js";
import { chipInput, statusBadge } from "./widgets.js";

const PAGE = 50;
const SINGLE = ["q", "event", "after", "before", "track", "driver", "event_type", "car", "tag", "status", "sort", "deleted", "limit"];
const MULTI = ["has_signal", "where"];
// `sort` in the address: "" is the API's default (-start); "oldest" is what older links say for "start".
const ORDERS = [
  ["", "Newest recording first"], ["start", "Oldest recording first"],
  ["-uploaded", "Latest upload first"], ["uploaded", "Earliest upload first"],
];
const COLUMNS = 11;

/** The API's sort for the address's `sort`. */
function apiSort(value) {
  if (value === "oldest") return "start";
  return ORDERS.some(([v]) => v && v === value) ? value : "-start";
}

/** The filters in the address bar, as {name: value} (MULTI names: arrays). */
function readFilters() {
  const q = new URLSearchParams(location.search);
  const f = {};
  for (const name of SINGLE) f[name] = q.get(name) || "";
  for (const name of MULTI) f[name] = q.getAll(name).filter(Boolean);
  return f;
}

function writeFilters(f) {
  const q = new URLSearchParams();
  for (const name of SINGLE) if (f[name]) q.set(name, f[name]);
  for (const name of MULTI) for (const v of f[name]) q.append(name, v);
  const text = q.toString();
  const url = location.pathname + (text ? `?${text}` : "");
  if (url !== location.pathname + location.search) history.replaceState(null, "", url);
}

/** A date picked in the page (local calendar day) as the instant the API wants. */
function dayStart(day, plusDays = 0) {
  const [y, m, d] = day.split("-").map(Number);
  if (!y || !m || !d) return undefined;
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/** Runs per page: 50, or `limit` from the address (1-500). */
function pageSize(f) {
  const n = Number.parseInt(f.limit, 10);
  return Number.isFinite(n) && n >= 1 && n <= 500 ? n : PAGE;
}

function apiQuery(f, cursor) {
  return {
    q: f.q,
    event: f.event,
    recorded_after: f.after ? dayStart(f.after) : undefined,
    // "Before" is inclusive on the page: runs of that whole day are listed.
    recorded_before: f.before ? dayStart(f.before, 1) : undefined,
    track: f.track, driver: f.driver, event_type: f.event_type, car: f.car, tag: f.tag,
    status: f.status, has_signal: f.has_signal, where: f.where,
    sort: apiSort(f.sort) === "-start" ? undefined : apiSort(f.sort),
    include_deleted: f.deleted === "1" ? "true" : undefined,
    limit: pageSize(f), cursor,
  };
}

function select(name, label, values, current, onChange) {
  const options = [...new Set([...(values || []), ...(current ? [current] : [])])];
  return h("label.field",
    h("span.field-label", label),
    h("select", { name, onchange: (e) => onChange(name, e.target.value) },
      h("option", { value: "" }, "Any"),
      options.map((v) => h("option", { value: v, selected: v === current }, v))));
}

/** A day's header line, "Sat, 4 May 2024 · Road Atlanta · 3 runs", kept up to date as
 * "Load more" adds runs of the same day. */
function dayGroup(key, when) {
  const cell = h("th", { colspan: COLUMNS, scope: "colgroup" });
  const row = h("tr.day-head", { dataset: { day: key || "none" } }, cell);
  const tracks = [];
  let count = 0;
  return {
    key,
    row,
    add(run) {
      const track = run.setup?.track;
      if (track && !tracks.includes(track)) tracks.push(track);
      count += 1;
      cell.textContent = [
        key ? fmtDay(when) : "No recorded time",
        tracks.length ? tracks.join(", ") : "no track",
        `${count} run${count === 1 ? "" : "s"}`,
      ].join(" · ");
    },
  };
}

function runRow(run) {
  const href = `/runs/${run.id}`;
  const s = run.setup || {};
  const cell = (v) => (v === null || v === undefined || v === "" ? h("span.muted", DASH) : String(v));
  const best = run.best_lap_s;
  return h("tr", { class: run.deleted ? "deleted" : "", dataset: { runId: run.id } },
    h("td.when",
      h("a.run-link", { href, "data-link": true }, fmtDateTime(run.start_time)),
      h("div.sub", run.filename || run.id.slice(0, 12),
        (run.tags || []).map((t) => h("span.tag", t)))),
    h("td.uploaded", fmtDateTime(run.ingested_at)),
    h("td.num", fmtDuration(run.duration_s)),
    h("td", cell(s.track)),
    h("td", cell(s.driver)),
    h("td", s.event_type ? h("span.event", String(s.event_type)) : h("span.muted", DASH)),
    h("td", cell(s.car)),
    h("td.num", run.lap_count ?? DASH),
    h("td.num", best ? h("span.best", fmtLap(best)) : h("span.muted", DASH)),
    h("td.num", fmtSpeed(run.top_speed_mps)),
    h("td", statusBadge(run)));
}

export async function mount(root) {
  const me = await whoami();
  let filters = readFilters();
  let cursor = null;
  let controller = null;
  let shown = 0;

  let group = null; // the day the last listed run belongs to
  const count = h("span.count");
  const errorBox = h("p.error", { role: "alert", hidden: true });
  const tbody = h("tbody");
  const headRow = h("tr");
  const table = h("table.runs", { "aria-busy": "true" }, h("thead", headRow), tbody);

  /** A column header that orders the list by its time: a click picks it newest first, a second click flips it. */
  function sortHeader(label, field) {
    const current = apiSort(filters.sort);
    const on = current.replace("-", "") === field;
    const descending = current.startsWith("-");
    const next = on && descending ? field : `-${field}`;
    const arrow = on ? (descending ? " ↓" : " ↑") : "";
    return h("th", { "aria-sort": on ? (descending ? "descending" : "ascending") : "none" },
      h("button.sort-head", {
        type: "button", dataset: { sort: field },
        title: `order by ${field === "start" ? "recording" : "upload"} time`,
        onclick: () => { update("sort", next === "-start" ? "" : next); buildHead(); buildForm(); },
      }, label, h("span.sort-arrow", { "aria-hidden": "true" }, arrow)));
  }

  function buildHead() {
    clear(headRow);
    headRow.append(
      sortHeader("Recorded", "start"), sortHeader("Uploaded", "uploaded"), h("th.num", "Duration"),
      h("th", "Track"), h("th", "Driver"), h("th", "Event type"), h("th", "Car"), h("th.num", "Laps"),
      h("th.num", "Best lap"), h("th.num", "Top speed"), h("th", "Status"));
  }

  /** Appends a run under its day's header line (a new one when the day changes). */
  function addRun(run) {
    const when = apiSort(filters.sort).endsWith("uploaded") ? run.ingested_at : run.start_time;
    const key = dayKey(when);
    if (!group || group.key !== key) {
      group = dayGroup(key, when);
      tbody.append(group.row);
    }
    group.add(run);
    tbody.append(runRow(run));
  }

  /** The search boxes hold more than the list was asked for: a newer request is on its way. */
  function typingAhead() {
    return ["q", "event"].some((name) => {
      const input = form.querySelector(`input[name="${name}"]`);
      return input && input.value.trim() !== (filters[name] || "");
    });
  }
  const moreButton = h("button.btn", { type: "button", onclick: () => load(false) }, "Load more");
  const footer = h("div.list-footer");
  const form = h("form.filters", { onsubmit: (e) => e.preventDefault() });
  const clearButton = h("button.btn.ghost", { type: "button", onclick: () => clearAll() }, "Clear filters");

  const update = (name, value) => {
    filters[name] = value;
    writeFilters(filters);
    load(true);
  };
  const typed = debounce(update, 250);

  let facets = { track: [], driver: [], event_type: [], car: [], tags: [] };
  try { facets = await api("/facets"); } catch (err) { if (err.status === 401) throw err; }

  function buildForm() {
    clear(form);
    const advancedOpen = filters.has_signal.length > 0 || filters.where.length > 0 || filters.deleted === "1";
    form.append(
      h("div.filter-row",
        h("label.field.grow",
          h("span.field-label", "Search"),
          h("input", {
            type: "search", name: "q", value: filters.q, placeholder: "file name, notes, setup… (every word, or its start, must match)",
            oninput: (e) => typed("q", e.target.value.trim()),
          })),
        h("label.field",
          h("span.field-label", "Marked event"),
          h("input", {
            type: "search", name: "event", value: filters.event, placeholder: "lockup, fault…",
            title: "runs with an event whose kind or note has these words (or words starting so)",
            oninput: (e) => typed("event", e.target.value.trim()),
          })),
        h("label.field",
          h("span.field-label", "Recorded from"),
          h("input", { type: "date", name: "after", value: filters.after, onchange: (e) => update("after", e.target.value) })),
        h("label.field",
          h("span.field-label", "to"),
          h("input", { type: "date", name: "before", value: filters.before, onchange: (e) => update("before", e.target.value) })),
        h("label.field",
          h("span.field-label", "Order"),
          h("select", { name: "sort", onchange: (e) => { update("sort", e.target.value); buildHead(); } },
            ORDERS.map(([value, label]) => h("option", { value, selected: value === (apiSort(filters.sort) === "-start" ? "" : apiSort(filters.sort)) }, label))))),
      h("div.filter-row",
        select("track", "Track", facets.track, filters.track, update),
        select("driver", "Driver", facets.driver, filters.driver, update),
        select("event_type", "Event type", facets.event_type, filters.event_type, update),
        select("car", "Car", facets.car, filters.car, update),
        select("tag", "Tag", facets.tags, filters.tag, update),
        select("status", "Status", ["ready", "recovered", "rejected"], filters.status, update)),
      h("details.advanced", { open: advancedOpen },
        h("summary", "Signals and statistics"),
        h("div.filter-row",
          chipInput({
            label: "Has signal", name: "has_signal", values: filters.has_signal,
            placeholder: "topic:path, e.g. VNData:vn_vel.x — Enter to add",
            onChange: (values) => update("has_signal", values),
          }),
          chipInput({
            label: "Where", name: "where", values: filters.where,
            placeholder: "VNData:vn_vel.x.max > 25 — stat min/max/mean/count; Enter to add",
            normalise: (v) => v.replace(/\s+/g, ""),
            onChange: (values) => update("where", values),
          })),
        can(me, "admin")
          ? h("label.check", h("input", { type: "checkbox", name: "deleted", checked: filters.deleted === "1", onchange: (e) => update("deleted", e.target.checked ? "1" : "") }), " Show deleted runs")
          : null),
      errorBox,
    );
  }

  function anyFilter() {
    return SINGLE.some((n) => n !== "sort" && n !== "limit" && filters[n]) || MULTI.some((n) => filters[n].length);
  }

  async function load(fresh) {
    if (controller) controller.abort();
    controller = new AbortController();
    if (fresh) {
      cursor = null;
      shown = 0;
      tbody.classList.add("stale");
    }
    table.setAttribute("aria-busy", "true");
    moreButton.disabled = true;
    errorBox.hidden = true;
    clearButton.hidden = !anyFilter();
    for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
    try {
      const page = await api("/runs", { query: apiQuery(filters, cursor), signal: controller.signal });
      // Nothing for a word still being typed: keep the last list (dimmed) for the request to come.
      if (fresh && !page.items.length && typingAhead()) return;
      if (fresh) {
        clear(tbody);
        group = null;
      }
      tbody.classList.remove("stale");
      for (const run of page.items) addRun(run);
      shown += page.items.length;
      cursor = page.next_cursor;
      clear(footer);
      if (!shown) {
        footer.append(h("div.empty",
          anyFilter()
            ? [h("p", "No run matches these filters."), h("button.btn", { type: "button", onclick: clearAll }, "Clear filters")]
            : [h("p", "No runs yet."), h("a.btn.primary", { href: "/upload", "data-link": true }, "Upload a recording")]));
      } else if (cursor) {
        moreButton.disabled = false;
        footer.append(moreButton);
      } else {
        footer.append(h("p.muted.end", `${shown} run${shown === 1 ? "" : "s"}, that is all`));
      }
      count.textContent = cursor ? `${shown}+ runs` : `${shown} run${shown === 1 ? "" : "s"}`;
      table.setAttribute("aria-busy", "false");
    } catch (err) {
      if (err.name === "AbortError") return;
      table.setAttribute("aria-busy", "false");
      tbody.classList.remove("stale");
      errorBox.textContent = err.message;
      errorBox.hidden = false;
      for (const field of Object.keys(err.fields || {})) {
        const input = form.querySelector(`[name="${CSS.escape(field === "recorded_after" ? "after" : field === "recorded_before" ? "before" : field)}"]`);
        if (input) input.classList.add("invalid");
      }
    }
  }

  function clearAll() {
    filters = readFilters();
    for (const n of SINGLE) if (n !== "sort" && n !== "limit") filters[n] = "";
    for (const n of MULTI) filters[n] = [];
    writeFilters(filters);
    buildForm();
    load(true);
  }

  buildForm();
  buildHead();
  // A run a station just delivered shows up without a reload (first page only: a
  // reader deep in "Load more" keeps their place).
  const stations = stationsPanel({ onConfirmed: () => { if (shown <= pageSize(filters)) load(true); } });
  root.append(
    stations.el,
    h("section.page-head",
      h("div", h("h1", "Runs"), count),
      h("div.head-actions",
        clearButton,
        can(me, "upload") ? h("a.btn.primary", { href: "/upload", "data-link": true }, "Upload") : null)),
    form,
    h("div.table-wrap", table),
    footer,
  );
  // A click anywhere on a row opens the run (the date is the real link, for new tabs).
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-run-id]");
    if (!tr || e.target.closest("a")) return;
    tr.querySelector("a.run-link").click();
  });
  await load(true);
  return {
    onQueryChange() {
      filters = readFilters();
      buildForm();
      buildHead();
      load(true);
    },
    cleanup() {
      stations.stop();
      typed.cancel();
      if (controller) controller.abort();
    },
  };
}
