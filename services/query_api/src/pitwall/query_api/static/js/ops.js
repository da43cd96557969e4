// Admin: is the system working? Which services are alive (and how we know), how full each
// queue is, what was given up on and why, with a button to send a dead letter back.
import { api } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { DASH, fmtAgo, fmtBytes, fmtDateTime } from "./format.js";

const POLL_MS = 5000;

function serviceCards(services) {
  return h("section.ops-services",
    services.map((s) => h(`div.ops-service.${s.status}`, { dataset: { service: s.name, status: s.status } },
      h("div.ops-service-head", h("span.dot"), h("strong", s.name), h(`span.badge.ops-${s.status}`, s.status)),
      h("p.ops-detail", s.detail),
      h("p.ops-source.muted", `from ${s.source}`))));
}

function sum(values) {
  return values.some((v) => v === null || v === undefined) ? null : values.reduce((a, b) => a + b, 0);
}

// One row per service: its queue, the retry ladder summed (messages waiting out a back-off),
// and its dead-letter queue.
function queueTable(queues) {
  const services = [...new Set(queues.map((q) => q.service))].sort();
  return h("table.compact.ops-queues",
    h("thead", h("tr", h("th", "Service"), h("th", "Queue"), h("th.num", "Waiting"), h("th.num", "Consumers"),
      h("th.num", "In retry"), h("th.num", "Dead letters"))),
    h("tbody", services.map((name) => {
      const mine = queues.filter((q) => q.service === name);
      const work = mine.find((q) => q.kind === "work") || {};
      const dead = mine.find((q) => q.kind === "dead") || {};
      const retry = mine.filter((q) => q.kind === "retry");
      const alarm = dead.messages > 0 || work.consumers === 0;
      return h(`tr${alarm ? ".alarm" : ""}`, { dataset: { service: name } },
        h("td", name), h("td.mono", work.queue || DASH),
        h("td.num.ops-waiting", work.messages ?? DASH), h("td.num.ops-consumers", work.consumers ?? DASH),
        h("td.num.ops-retrying", { title: retry.map((q) => `${q.queue}: ${q.messages ?? "?"}`).join("\n") },
          sum(retry.map((q) => q.messages)) ?? DASH),
        h("td.num.ops-dead", { title: dead.queue || "" }, dead.messages ?? DASH));
    })));
}

function letterTable(letters, onRetry) {
  return h("table.compact.ops-letters",
    h("thead", h("tr", h("th", "Parked"), h("th", "Service"), h("th", "Event"), h("th", "Reason"),
      h("th.num", "Tries"), h("th", "Message"), h("th", ""))),
    h("tbody", letters.map((d) => h("tr", { dataset: { letterId: d.id, service: d.service } },
      h("td", { title: d.dead_at ? fmtDateTime(d.dead_at) : "" }, d.dead_at ? fmtAgo(d.dead_at) : DASH),
      h("td", d.service),
      h("td.mono", d.routing_key),
      h("td.ops-reason", d.reason),
      h("td.num", { title: "retry-ladder trips, and times sent back from here" },
        d.ops_retries ? `${d.retries} + ${d.ops_retries} sent back` : d.retries),
      h("td.mono.ops-id", { title: `${d.preview}${d.size > d.preview.length ? "…" : ""}` },
        `${d.id.length > 28 ? `${d.id.slice(0, 28)}…` : d.id} · ${fmtBytes(d.size)}`),
      h("td", h("button.btn.small.ops-retry", { type: "button", onclick: (e) => onRetry(d, e.currentTarget) }, "Retry"))))));
}

function jobTable(jobs) {
  return h("table.compact.ops-jobs",
    h("thead", h("tr", h("th", "Failed"), h("th", "Job"), h("th", "Reason"), h("th", "Asked by"), h("th.num", "Runs"), h("th", "Format"))),
    h("tbody", jobs.map((j) => h("tr", { dataset: { jobId: j.id } },
      h("td", { title: fmtDateTime(j.finished_at || j.created_at) }, fmtAgo(j.finished_at || j.created_at)),
      h("td.mono", j.id),
      h("td.ops-reason", j.reason || DASH),
      h("td", j.requested_by || DASH),
      h("td.num", j.runs),
      h("td", j.format || DASH)))));
}

function section(title, note, ...body) {
  return h("section.ops-section", h("h2", title), note ? h("p.muted.ops-note", note) : null, ...body);
}

export async function mount(root) {
  const stamp = h("span.muted.ops-stamp");
  const body = h("div.ops-body");
  root.append(h("div.page-head", h("h1", "Operations"), stamp), body);
  let timer = null;
  let stopped = false;

  async function retry(letter, button) {
    button.disabled = true;
    try {
      await api(`/ops/dead-letters/${encodeURIComponent(letter.service)}/${encodeURIComponent(letter.id)}/retry`, { method: "POST" });
      toast(`Sent ${letter.routing_key} back to ${letter.service}`, "ok");
    } catch (err) {
      toast(`Not sent back: ${err.message}`, "error", 8000);
    }
    clearTimeout(timer);
    await poll();
  }

  async function load() {
    const o = await api("/ops");
    stamp.textContent = `checked ${fmtDateTime(o.checked_at)}${o.broker === "connected" ? "" : " · broker unreachable"}`;
    const parked = Object.entries(o.dead_letter_counts).map(([s, n]) => `${s} ${n ?? "?"}`).join(", ");
    clear(body).append(
      section("Services", "Alive means RabbitMQ counts a consumer on the service's queue (one per process), "
        + "or a heartbeat came in time; a connected but stuck process shows as a queue that does not drain.",
      serviceCards(o.services)),
      section("Dead letters", `Given up on, with the reason the consumer recorded (parked per service: ${parked}). `
        + "Retry sends one back to its service's queue under its original event name.",
      o.dead_letters.length ? letterTable(o.dead_letters, retry) : h("p.ops-empty", "No dead letters.")),
      section("Failed exports", "Export jobs that ended failed in the last 7 days.",
        o.failed_jobs.length ? jobTable(o.failed_jobs) : h("p.ops-empty", "No failed exports.")),
      section("Queues", "Ready messages and consumers as the broker counts them (a passive declare per queue).",
        o.queues.length ? queueTable(o.queues) : h("p.ops-empty", "The broker is not reachable from the API.")));
  }

  async function poll() {
    try {
      await load();
    } catch (err) {
      if (err.status === 403) {
        clear(body).append(h("div.empty.error-box", h("h2", "Admins only"), h("p", "Operations are shown to admin tokens.")));
        stopped = true;
      }
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  await poll();
  return { cleanup() { stopped = true; clearTimeout(timer); } };
}
