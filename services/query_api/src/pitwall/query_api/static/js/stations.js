// Base stations at the track: are they online, what is still on the car, what is stuck.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { fmtAgo as ago, fmtBytes } from "./format.js";

const POLL_MS = 5000;

function figure(label, value, key, warn = false) {
  return h(`div.st-fig${warn ? ".warn" : ""}`, { dataset: { key } },
    h("span.st-num", String(value)), h("span.st-label", label));
}

function card(st) {
  const states = st.states || {};
  const sources = (st.sources || []).map((s) =>
    h(`li.st-source${s.reachable ? "" : ".down"}`,
      h("span.dot", { title: s.reachable ? "reachable" : "unreachable" }),
      `${s.source_id} (${s.kind})`,
      s.reachable ? h("span.muted", ` · ${s.pending} on it`) : h("span.st-err", ` · ${s.last_error || "unreachable"}`)));
  return h(`article.station${st.online ? ".online" : ".offline"}`, { dataset: { stationId: st.station_id } },
    h("header.st-head",
      h("span.dot", { title: st.online ? "online" : "offline" }),
      h("strong", st.station_id),
      h("span.muted", st.online ? ` · seen ${ago(st.last_seen)}` : ` · offline, last seen ${ago(st.last_seen)}`),
      st.cloud_reachable ? null : h("span.badge.warn", "no uplink: storing")),
    h("div.st-figs",
      figure("pending on car", st.pending_on_car, "pending_on_car"),
      figure("on station", st.on_station, "on_station"),
      figure("uploading", st.uploading, "uploading"),
      figure("awaiting run", st.awaiting_confirmation, "awaiting_confirmation"),
      figure("confirmed", states.confirmed || 0, "confirmed"),
      figure("rejected", states.rejected || 0, "rejected", (states.rejected || 0) > 0)),
    st.bytes_to_upload ? h("p.muted.st-line", `${fmtBytes(st.bytes_to_upload)} waiting to upload`) : null,
    sources.length ? h("ul.st-sources", sources) : null,
    st.last_error ? h("p.st-err", { title: st.last_error_at || "" }, `Last error: ${st.last_error}`) : null);
}

/**
 * The stations panel: hidden while no station ever reported. `onConfirmed` runs when a
 * station's confirmed or rejected count grows (a new run is in the catalogue).
 */
export function stationsPanel({ onConfirmed = () => {} } = {}) {
  const body = h("div.stations");
  const box = h("section.stations-panel", { hidden: true, "aria-label": "Base stations" },
    h("h2.st-title", "Base stations"), body);
  let timer = null;
  let last = null;
  let stopped = false;

  async function poll() {
    try {
      const { stations } = await api("/stations", { redirect401: false });
      box.hidden = stations.length === 0;
      clear(body).append(...stations.map(card));
      const done = stations.reduce((n, s) => n + ((s.states || {}).confirmed || 0) + ((s.states || {}).rejected || 0), 0);
      if (last !== null && done > last) onConfirmed();
      last = done;
    } catch {
      // The panel is a convenience: the runs list stays usable when it fails.
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return {
    el: box,
    stop() { stopped = true; clearTimeout(timer); },
  };
}
