// Events on a run: the list (click: zoom the plot to it), bands on the plot, and marking a
// range dragged on the plot. Writes go through ingest (202), so a new or removed event is
// polled for until the list shows it.
import { api } from "./api.js";
import { clear, confirmDialog, h, toast } from "./dom.js";
import { fmtDateTime } from "./format.js";
import { keyboardRow } from "./rowkeys.js";

const POLL_MS = 300;
const POLL_FOR_MS = 15000;
const KIND_MAX = 40;
const NOTE_MAX = 500;

const fmtS = (s) => `${s.toFixed(2)} s`;

export class EventsPanel {
  /** run: the run document; plot: its PlotStack; editable: the user may mark and delete. */
  constructor(run, plot, editable) {
    this.run = run;
    this.plot = plot;
    this.editable = editable;
    this.events = [];
    this.list = h("div.events-list");
    this.form = h("form.event-form", { hidden: true, onsubmit: (e) => { e.preventDefault(); this.save(); } });
    this.el = h("div.events", this.form, this.list);
    this.draw();
  }

  async load() {
    try {
      const data = await api(`/runs/${this.run.id}/events`);
      this.show(data.events);
    } catch (err) {
      clear(this.list).append(h("p.error", { role: "alert" }, `Events could not be read: ${err.message}`));
    }
  }

  show(events) {
    this.events = events;
    this.plot.setEvents(events);
    this.draw();
  }

  draw() {
    clear(this.list);
    if (!this.events.length) {
      this.list.append(h("p.muted.events-none", this.editable
        ? "No events yet. “Mark event” on the plot, then drag across the range to mark it."
        : "No events on this run."));
      return;
    }
    const rows = this.events.map((e) => keyboardRow(h("tr.event-row", { dataset: { eventId: e.id }, title: "zoom the plot to this event", onclick: (ev) => { if (!ev.target.closest("button")) this.zoom(e); } },
      h("td", h(`span.event-kind.${e.source === "rule" ? "rule" : "user"}`, e.kind)),
      h("td.num.event-window", `${fmtS(e.start_s)} – ${fmtS(e.end_s)}`),
      h("td.event-note", e.note || ""),
      h("td.muted.event-who", e.source === "rule" ? `rule ${e.rule || ""}` : (e.created_by || ""),
        e.created_at ? h("div.sub", fmtDateTime(e.created_at)) : null),
      h("td", this.editable
        ? h("button.btn.small.danger-ghost.event-delete", { type: "button", title: "remove this event", "aria-label": `Delete event ${e.kind}`, onclick: () => this.remove(e) }, "Delete")
        : null)), `event ${e.kind}, ${fmtS(e.start_s)} to ${fmtS(e.end_s)}: zoom the plot to it`));
    this.list.append(h("div.table-wrap", h("table.compact.hover.events-table",
      h("thead", h("tr", h("th", "Kind"), h("th.num", "Window"), h("th", "Note"), h("th", "By"), h("th", ""))),
      h("tbody", rows))));
  }

  zoom(e) {
    // A little either side, so the start and end can be seen.
    const pad = Math.max(0.5, (e.end_s - e.start_s) * 0.15);
    this.plot.setView([e.start_s - pad, e.end_s + pad]);
  }

  /** A range dragged on the plot in marking mode: ask for its kind and note. */
  mark([t0, t1]) {
    this.pending = [Math.max(0, t0), Math.min(this.run.duration_s || t1, t1)];
    const kind = h("input", { type: "text", name: "kind", required: true, maxlength: KIND_MAX, placeholder: "lockup, cone, BMS fault…", autocomplete: "off" });
    const note = h("input", { type: "text", name: "note", maxlength: NOTE_MAX, placeholder: "optional: what happened (T3, front left…)", autocomplete: "off" });
    clear(this.form).append(
      h("span.event-form-window", `New event ${fmtS(this.pending[0])} – ${fmtS(this.pending[1])}`),
      h("label.field", h("span.field-label", "Kind"), kind),
      h("label.field.grow", h("span.field-label", "Note"), note),
      h("div.event-form-actions",
        h("button.btn.primary", { type: "submit" }, "Save event"),
        h("button.btn.ghost", { type: "button", onclick: () => this.cancel() }, "Cancel")));
    this.form.hidden = false;
    this.plot.setPendingEvent(this.pending);
    kind.focus();
  }

  cancel() {
    this.form.hidden = true;
    this.pending = null;
    this.plot.setPendingEvent(null);
  }

  async save() {
    const data = new FormData(this.form);
    const body = { kind: String(data.get("kind") || "").trim(), note: String(data.get("note") || "").trim(), start_s: this.pending[0], end_s: this.pending[1] };
    if (!body.kind) { toast("Give the event a kind", "error"); return; }
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const accepted = await api(`/runs/${this.run.id}/events`, { method: "POST", body });
      this.cancel();
      const ok = await this.until((events) => events.some((e) => e.id === accepted.event_id));
      toast(ok ? `Event “${body.kind}” marked` : "Marked; it will show in a moment", ok ? "ok" : "info");
    } catch (err) {
      toast(err.message, "error", 7000);
    } finally {
      button.disabled = false;
    }
  }

  async remove(e) {
    const ok = await confirmDialog("Remove this event?", `“${e.kind}” ${fmtS(e.start_s)} – ${fmtS(e.end_s)} will be removed (the run's history keeps it).`, "Remove", true);
    if (!ok) return;
    try {
      await api(`/runs/${this.run.id}/events/${e.id}`, { method: "DELETE" });
      await this.until((events) => !events.some((x) => x.id === e.id));
    } catch (err) { toast(err.message, "error", 7000); }
  }

  /** Poll the list until `done(events)` (ingest applies commands within moments). */
  async until(done) {
    const deadline = Date.now() + POLL_FOR_MS;
    while (Date.now() < deadline) {
      const data = await api(`/runs/${this.run.id}/events`);
      if (done(data.events)) { this.show(data.events); return true; }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await this.load();
    return false;
  }
}
