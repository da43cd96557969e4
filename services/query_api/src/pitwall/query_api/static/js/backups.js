// Admin: are we backed up? The latest good backup's age and drill verdict first, then
// how many runs it holds against the catalogue (and a warning naming the runs no backup
// holds), a bar per backup (what it copied, coloured by outcome) and the table behind it.
// "Back up now" asks the backup service; the backup shows as pending until it is listed.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { DASH, fmtAgo, fmtBytes, fmtDateTime, fmtDuration } from "./format.js";

const POLL_MS = 10000;
const POLL_PENDING_MS = 2000; // while a backup asked for here is not finished
const SVG = "http://www.w3.org/2000/svg";

function every(s) {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s <= 2 * 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

function verdictCard(v, latest) {
  const stale = v.status === "stale";
  const drillOk = v.drill === "passed";
  const headline = v.latest_good
    ? (stale ? `Stale: the latest good backup is ${fmtAgo(new Date(Date.now() - v.age_s * 1000))}`
      : `Backed up ${fmtAgo(new Date(Date.now() - v.age_s * 1000))}`)
    : "No completed backup yet";
  return h(`section.bk-verdict.${stale ? "stale" : "ok"}`, { dataset: { status: v.status } },
    h("div.bk-headline", h("span.dot"), h("strong", headline)),
    h("p.muted",
      `Schedule: every ${every(v.interval_s)}; stale after two intervals without a good backup.`,
      v.latest_good ? ` Latest good: ${v.latest_good}.` : ""),
    v.latest_good ? h(`p.bk-drill.${drillOk ? "ok" : "bad"}`,
      drillOk ? "Restore drill passed: the backup was restored into a scratch copy and matched its manifest."
        : `Restore drill: ${v.drill || "not run"}`) : null,
    latest && latest.status === "failed" ? h("p.bk-drill.bad", `Last attempt failed: ${latest.reason || "no reason given"}`) : null);
}

function runs(n) {
  return `${n} run${n === 1 ? "" : "s"}`;
}

function coverageCard(c) {
  const missing = c.runs_not_backed_up;
  const holds = c.latest_good
    ? `The latest good backup (${c.latest_good}) holds ${runs(c.backup_runs ?? 0)}; the catalogue has ${runs(c.catalogue_runs)}.`
    : `No backup holds any run yet; the catalogue has ${runs(c.catalogue_runs)}.`;
  const warning = !missing ? null
    : h("p.bk-warning", { role: "alert", dataset: { count: missing } },
      c.latest_good
        ? `${runs(missing)} ${missing === 1 ? "is" : "are"} in no backup: added since the latest good backup started `
          + `(${fmtDateTime(c.backup_started_at)}).`
        : `${runs(missing)} ${missing === 1 ? "is" : "are"} in no backup.`,
      ` Until a backup holds ${missing === 1 ? "it, it is" : "them, they are"} lost if this server is.`);
  return h(`section.bk-coverage.${missing ? "warn" : "ok"}`, { dataset: { status: missing ? "warn" : "ok" } },
    h("p.bk-holds", holds),
    warning || (c.catalogue_runs ? h("p.bk-covered", "Every run in the catalogue is in that backup.") : null));
}

function pendingRow(p) {
  return h("tr.bk-pending-row", { dataset: { backupId: p.id } },
    h("td.mono", p.id), h("td", fmtDateTime(p.at)),
    h("td", h("span.badge.bk-pending", { title: "asked for; the backup service has not taken it yet" }, "pending")),
    h("td.muted", { colSpan: 6 }, "waiting for the backup service to take it"));
}

function chart(backups) {
  const rows = backups.slice(0, 60).reverse();
  const w = 720, ht = 120, gap = 2;
  const bw = rows.length ? Math.max(3, Math.min(24, (w - gap * rows.length) / rows.length)) : 0;
  const max = Math.max(1, ...rows.map((b) => b.bytes || 0));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${ht + 18}`);
  svg.setAttribute("class", "bk-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Size of each backup, and what it copied");
  rows.forEach((b, i) => {
    const x = i * (bw + gap);
    const total = ((b.bytes || 0) / max) * ht;
    const copied = ((b.bytes_copied || 0) / max) * ht;
    for (const [height, cls] of [[Math.max(total, 2), `bk-bar ${b.status}`], [copied, "bk-bar copied"]]) {
      if (!height) continue;
      const r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", x); r.setAttribute("y", ht - height);
      r.setAttribute("width", bw); r.setAttribute("height", height);
      r.setAttribute("class", cls);
      const t = document.createElementNS(SVG, "title");
      t.textContent = `${b.id} · ${b.status} · ${fmtBytes(b.bytes || 0)}, ${fmtBytes(b.bytes_copied || 0)} copied`;
      r.append(t);
      svg.append(r);
    }
  });
  const legend = document.createElementNS(SVG, "text");
  legend.setAttribute("x", 0); legend.setAttribute("y", ht + 14);
  legend.setAttribute("class", "bk-legend");
  legend.textContent = rows.length ? `${rows.length} backups, oldest left · darker: bytes copied that time (new runs)` : "";
  svg.append(legend);
  return svg;
}

function drillCell(drill) {
  if (!drill) return h("td.muted", DASH);
  return h(`td.bk-drill-cell.${drill === "passed" ? "ok" : "bad"}`, { title: drill }, drill === "passed" ? "passed" : "failed");
}

function table(backups, pending) {
  return h("table.compact.bk-table",
    h("thead", h("tr", h("th", "Backup"), h("th", "Started"), h("th", "Status"), h("th.num", "Size"),
      h("th.num", "Runs"), h("th.num", "Objects"), h("th.num", "Copied"), h("th.num", "Took"), h("th", "Drill"))),
    h("tbody", pending ? pendingRow(pending) : null, backups.map((b) => h("tr", { dataset: { backupId: b.id } },
      h("td.mono", b.id),
      h("td", fmtDateTime(b.started_at)),
      h("td", h(`span.badge.bk-${b.status}`, { title: b.reason || "" }, b.status)),
      h("td.num", b.bytes != null ? fmtBytes(b.bytes) : DASH),
      h("td.num", b.runs ?? DASH),
      h("td.num", b.objects ?? DASH),
      h("td.num", b.objects_copied != null ? `${b.objects_copied} (${fmtBytes(b.bytes_copied || 0)})` : DASH),
      h("td.num", b.seconds != null ? fmtDuration(b.seconds) : DASH),
      drillCell(b.drill)))));
}

export async function mount(root) {
  const body = h("div.bk-body");
  const asked = h("p.bk-asked", { role: "status" });
  const button = h("button.btn.primary.bk-now", { type: "button", hidden: true, onclick: () => backUpNow() }, "Back up now");
  root.append(h("div.page-head", h("h1", "Backups"), h("div.bk-now-box", asked, button)), body);
  let timer = null;
  let stopped = false;
  let pending = null; // {id, at}: asked for here, not listed yet
  let busy = null; // id of the backup asked for here until it finished

  async function load() {
    const { backups, verdict, coverage } = await api("/backups");
    const mine = busy && backups.find((b) => b.id === busy);
    if (mine) pending = null;
    if (mine && mine.status !== "running") {
      asked.textContent = mine.status === "completed" ? `Backup ${mine.id} completed.`
        : `Backup ${mine.id} failed: ${mine.reason || "no reason given"}`;
      busy = null;
    }
    button.hidden = false;
    button.disabled = Boolean(busy);
    button.textContent = busy ? "Backing up…" : "Back up now";
    clear(body).append(
      verdictCard(verdict, backups[0]),
      coverageCard(coverage),
      backups.length || pending ? h("section.bk-history", chart(backups), table(backups, pending))
        : h("p.muted", "The backup service records every backup here: start it with `pitwall service backup`, "
          + "or make one now with the button above or `pitwall backup now`."));
  }

  async function backUpNow() {
    button.disabled = true;
    try {
      const { id } = await api("/backups", { method: "POST" });
      pending = { id, at: new Date() };
      busy = id;
      asked.textContent = `Backup ${id} asked for.`;
    } catch (err) {
      asked.textContent = `Could not ask for a backup: ${err.message}`;
      button.disabled = false;
      return;
    }
    clearTimeout(timer);
    await poll();
  }

  async function poll() {
    try {
      await load();
    } catch (err) {
      if (err.status === 403) {
        button.hidden = true;
        clear(body).append(h("div.empty.error-box", h("h2", "Admins only"), h("p", "Backups are shown to admin tokens.")));
        stopped = true;
      }
    }
    clearTimeout(timer); // a poll of the button's may have overlapped the timer's: one timer goes on
    if (!stopped) timer = setTimeout(poll, busy ? POLL_PENDING_MS : POLL_MS);
  }
  await poll();
  return { cleanup() { stopped = true; clearTimeout(timer); } };
}
