// What is known about a run besides its signals: setup (editable), tags and notes,
// channels. Edits go through PATCH (202: ingest applies them within moments).
import { api } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { DASH, fmtCount, fmtDateTime } from "./format.js";

export const SETUP_FIELDS = [
  ["driver", "Driver"], ["track", "Track"], ["event_type", "Event"], ["car", "Car"],
  ["drivetrain", "Drivetrain"], ["mass", "Mass"], ["wheelbase", "Wheelbase"],
  ["firmware", "Firmware"], ["date", "Date"],
];

/** Wait until the run shows a change made by a command (updated_at moves), up to ~8 s. */
export async function waitForUpdate(runId, before, { include404 = false } = {}) {
  for (let i = 0; i < 32; i += 1) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      const run = await api(`/runs/${runId}`);
      if (run.updated_at !== before) return run;
    } catch (err) {
      if (include404 && err.status === 404) return null;
      throw err;
    }
  }
  throw new Error("the change was sent but has not shown yet; reload in a moment");
}

export function setupPanel(run, { editable, onChange }) {
  const body = h("div.setup");
  let editing = false;

  function show() {
    clear(body);
    const s = run.setup || {};
    const extra = Object.keys(s).filter((k) => !SETUP_FIELDS.some(([f]) => f === k));
    const rows = [...SETUP_FIELDS, ...extra.map((k) => [k, k])];
    const table = h("dl.kv");
    for (const [field, label] of rows) {
      const value = s[field];
      table.append(h("dt", label));
      if (editing && SETUP_FIELDS.some(([f]) => f === field)) {
        table.append(h("dd", h("input", { type: "text", name: field, value: value ?? "", maxlength: 200, dataset: { field }, "aria-label": label })));
      } else {
        table.append(h("dd", value === null || value === undefined || value === "" ? h("span.muted", DASH) : String(value)));
      }
    }
    body.append(table);
    if (editable) {
      body.append(editing
        ? h("div.row-actions",
          h("button.btn.primary.small", { type: "button", onclick: save }, "Save"),
          h("button.btn.small", { type: "button", onclick: () => { editing = false; show(); } }, "Cancel"))
        : h("div.row-actions", h("button.btn.small", { type: "button", onclick: () => { editing = true; show(); body.querySelector("input")?.focus(); } }, "Edit setup")));
    }
  }

  async function save() {
    const changes = {};
    for (const input of body.querySelectorAll("input[data-field]")) {
      const before = run.setup?.[input.dataset.field] ?? "";
      const now = input.value.trim();
      if (now !== String(before)) changes[input.dataset.field] = now === "" ? null : now;
    }
    if (!Object.keys(changes).length) { editing = false; show(); return; }
    for (const b of body.querySelectorAll("button")) b.disabled = true;
    try {
      await api(`/runs/${run.id}`, { method: "PATCH", body: { setup: changes } });
      run = await waitForUpdate(run.id, run.updated_at);
      editing = false;
      show();
      toast("Setup saved", "ok");
      onChange(run);
    } catch (err) {
      toast(err.message, "error", 7000);
      for (const b of body.querySelectorAll("button")) b.disabled = false;
    }
  }

  show();
  return body;
}

export function tagsNotesPanel(run, { editable, onChange }) {
  const body = h("div.tags-notes");

  async function patch(change, what) {
    try {
      await api(`/runs/${run.id}`, { method: "PATCH", body: change });
      run = await waitForUpdate(run.id, run.updated_at);
      toast(`${what} saved`, "ok");
      onChange(run);
      show();
    } catch (err) {
      toast(err.message, "error", 7000);
    }
  }

  function show() {
    clear(body);
    const tags = run.tags || [];
    const activity = historyList(run);
    const tagRow = h("div.tag-row", tags.length ? null : h("span.muted", "no tags"));
    for (const t of tags) {
      tagRow.append(h("span.chip", h("span.chip-text", t),
        editable ? h("button.chip-x", { type: "button", title: `remove tag ${t}`, onclick: () => patch({ tags: tags.filter((x) => x !== t) }, "Tags") }, "×") : null));
    }
    if (editable) {
      const input = h("input.tag-input", { type: "text", placeholder: "add tag ⏎", maxlength: 64, name: "tag", "aria-label": "Add a tag" });
      input.addEventListener("keydown", (e) => {
        if (e.key !== "Enter") return;
        e.preventDefault();
        const t = input.value.trim();
        if (t && !tags.includes(t)) patch({ tags: [...tags, t] }, "Tags");
      });
      tagRow.append(input);
    }
    body.append(h("div.opt-label", "Tags"), tagRow, h("div.opt-label", "Notes"));
    if (editable) {
      const notes = h("textarea.notes", { rows: 4, name: "notes", "aria-label": "Notes", placeholder: "What happened in this run: changes, issues, driver feedback…" }, run.notes || "");
      const save = h("button.btn.small", { type: "button", onclick: () => patch({ notes: notes.value }, "Notes") }, "Save notes");
      body.append(notes, h("div.row-actions", save));
    } else {
      body.append(run.notes ? h("p.notes-text", run.notes) : h("p.muted", "no notes"));
    }
    body.append(h("div.opt-label", "Activity"), activity);
  }

  show();
  return body;
}

export function channelsTable(run) {
  const rows = (run.channels || []).slice().sort((a, b) => a.topic.localeCompare(b.topic));
  // Focusable: it scrolls, and keyboard users must be able to scroll it too.
  return h("div.table-wrap.channels", { tabindex: 0, role: "region", "aria-label": "Channels" },
    h("table.compact",
      h("thead", h("tr", h("th", "Topic"), h("th.num", "Messages"), h("th.num", "Rate"), h("th.num", "Signals"))),
      h("tbody", rows.map((c) => h("tr", { title: `schema ${c.schema_name || "?"} · ${c.encoding || "?"}` },
        h("td.mono", c.topic),
        h("td.num", fmtCount(c.message_count)), h("td.num", c.rate_hz ? `${c.rate_hz >= 9.95 ? Math.round(c.rate_hz) : c.rate_hz.toFixed(1)} Hz` : DASH),
        h("td.num", c.signal_count ?? DASH))))));
}

/** Who uploaded the file and who changed what, newest first, in words. */
export function historyList(run) {
  const items = [];
  for (const u of run.uploads || []) {
    items.push({ at: u.received_at, who: u.uploader, text: `uploaded ${u.filename || "the file"}${u.source ? ` (${u.source})` : ""}` });
  }
  for (const e of run.history || []) items.push({ at: e.at, who: e.actor, text: describeChange(e) });
  items.sort((a, b) => String(b.at).localeCompare(String(a.at)));
  if (!items.length) return h("p.muted", "nothing yet");
  return h("ul.activity", items.slice(0, 12).map((i) => h("li",
    h("span.when", fmtDateTime(i.at)), " ", h("span.actor", `${i.who || "someone"}:`), " ", i.text)));
}

// Seconds as people write them: 12.4, 13.05, 80.
const secs = (x) => (Number.isFinite(x) ? String(Number(x.toFixed(2))) : "?");
const shown = (v) => {
  if (v === null || v === undefined || v === "") return "(empty)";
  const text = String(v);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
};
const eventWords = (ev, verb) => (ev && ev.kind
  ? `event '${ev.kind}' ${verb}, ${secs(ev.start_s)}–${secs(ev.end_s)} s`
  : `an event ${verb}`);

/** One history entry as a sentence: "setup.driver: Adam → Ben; tags: +wet −dry". */
export function describeChange(entry) {
  const changes = entry.changes || {};
  const before = entry.before || {};
  switch (entry.action) {
    case "delete": return "deleted the run";
    case "restore": return "restored the run";
    case "add_event": return eventWords(changes, "added");
    case "remove_event": return eventWords(before.event, "removed");
    default: break;
  }
  const parts = [];
  for (const [field, value] of Object.entries(changes.setup || {})) {
    // Entries written before ingest kept the old value (`before`) say only the new one.
    parts.push(before.setup && field in before.setup
      ? `setup.${field}: ${shown(before.setup[field])} → ${shown(value)}`
      : `setup.${field} set to ${shown(value)}`);
  }
  if ("tags" in changes) {
    const now = changes.tags || [];
    if (Array.isArray(before.tags)) {
      const added = now.filter((t) => !before.tags.includes(t)).map((t) => `+${t}`);
      const removed = before.tags.filter((t) => !now.includes(t)).map((t) => `−${t}`);
      parts.push(added.length || removed.length ? `tags: ${[...added, ...removed].join(" ")}` : "tags unchanged");
    } else {
      parts.push(now.length ? `tags set to ${now.join(", ")}` : "tags cleared");
    }
  }
  if ("notes" in changes) parts.push(changes.notes ? "notes changed" : "notes cleared");
  return parts.length ? parts.join("; ") : "changed the run";
}
