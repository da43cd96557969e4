// The compare page's state and arithmetic, free of the DOM (so it can be checked on its own):
// the state <-> address bar, the diverging colour scale of the loss map, map distances.

export const MAX_LAPS = 8; // the API's limits
export const MAX_SIGNALS = 8;
export const LAP_COLOURS = ["#2563eb", "#e5484d", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d"];

const RUN = /^[0-9a-f]{64}$/;

/** The colour of the lap at position i of the list (stable when the reference changes). */
export function lapColour(i) {
  return LAP_COLOURS[i % LAP_COLOURS.length];
}

/**
 * {laps: [{run, lap}], signals: [key] | null (not given: the page picks), x, ref, zoom}
 * from a query string; what cannot be read is left out rather than failing the page.
 */
export function parseState(search) {
  const q = new URLSearchParams(search);
  const laps = [];
  for (const part of (q.get("laps") || "").split(",")) {
    const [run, lap, ...rest] = part.trim().split(":");
    const n = Number(lap);
    if (rest.length || !RUN.test(run || "") || !Number.isInteger(n) || lap.trim() === "") continue;
    if (laps.some((l) => l.run === run && l.lap === n)) continue;
    laps.push({ run, lap: n });
  }
  laps.splice(MAX_LAPS);
  const signals = q.has("signals")
    ? [...new Set(q.get("signals").split(",").map((s) => s.trim()).filter(Boolean))].slice(0, MAX_SIGNALS)
    : null;
  const x = q.get("x") === "time" ? "time" : "distance";
  const r = Number(q.get("ref") || 0);
  const ref = Number.isInteger(r) && r >= 0 && r < laps.length ? r : 0;
  const w = (q.get("w") || "").split(",").map(Number);
  const zoom = w.length === 2 && w.every(Number.isFinite) && w[1] > w[0] ? w : null;
  return { laps, signals, x, ref, zoom };
}

// Readable links: the separators of the lists and of signal keys stay as they are.
function enc(text) {
  return encodeURIComponent(text).replace(/%3A/gi, ":").replace(/%2C/gi, ",").replace(/%5B/gi, "[").replace(/%5D/gi, "]");
}

/** The query string ("?laps=...") of a state; parseState(stateQuery(s)) gives s back. */
export function stateQuery(state) {
  const parts = [`laps=${state.laps.map((l) => `${l.run}:${l.lap}`).join(",")}`];
  if (state.signals) parts.push(`signals=${state.signals.map(enc).join(",")}`);
  parts.push(`x=${state.x === "time" ? "time" : "distance"}`);
  if (state.ref) parts.push(`ref=${state.ref}`);
  if (state.zoom) parts.push(`w=${state.zoom.map((v) => Number(v.toFixed(3))).join(",")}`);
  return `?${parts.join("&")}`;
}

/** A compare link for these laps, the first the reference. */
export function compareUrl(laps, { x = "distance", signals = null } = {}) {
  return `/compare${stateQuery({ laps, signals, x, ref: 0, zoom: null })}`;
}

/** "+0.412 s" / "−0.138 s" / "reference". */
export function gapText(lapTime, refTime, isRef) {
  if (isRef) return "reference";
  if (!Number.isFinite(lapTime) || !Number.isFinite(refTime)) return "–";
  const d = lapTime - refTime;
  const sign = d > 0 ? "+" : d < 0 ? "−" : "±";
  return `${sign}${Math.abs(d).toFixed(3)} s`;
}

// Gained (blue) through neutral grey to lost (red): a diverging scale that reads without
// red/green vision.
export const LOSS_STOPS = [[-1, [33, 102, 172]], [-0.5, [103, 169, 207]], [0, [200, 203, 208]], [0.5, [239, 138, 98]], [1, [178, 24, 43]]];

/** The colour of a loss `v` (s/100 m) on a scale of ±`scale`; null values grey. */
export function lossColour(v, scale) {
  if (v === null || v === undefined || !Number.isFinite(v) || !(scale > 0)) return "rgb(200,203,208)";
  const f = Math.max(-1, Math.min(1, v / scale));
  let k = 1;
  while (k < LOSS_STOPS.length - 1 && LOSS_STOPS[k][0] < f) k += 1;
  const [x0, c0] = LOSS_STOPS[k - 1];
  const [x1, c1] = LOSS_STOPS[k];
  const u = (f - x0) / (x1 - x0);
  const c = c0.map((c, i) => Math.round(c + u * (c1[i] - c)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * The half-width of the loss scale: the 95th percentile of |loss|, so one spike (a spin,
 * a GPS jump) does not wash out the rest of the lap. At least 0.01 s/100 m: two nearly
 * equal laps show grey rather than noise at full colour.
 */
export function lossScale(loss) {
  const a = loss.filter((v) => v !== null && Number.isFinite(v)).map(Math.abs).sort((p, q) => p - q);
  if (!a.length) return 0.01;
  return Math.max(0.01, a[Math.min(a.length - 1, Math.floor(0.95 * (a.length - 1)))]);
}

/** Metres along a lat/lon path from its first point (flat earth: a track is small). */
export function pathDistance(lat, lon) {
  const out = new Float64Array(lat.length);
  for (let i = 1; i < lat.length; i += 1) {
    const kx = 111320 * Math.cos((((lat[i] + lat[i - 1]) / 2) * Math.PI) / 180);
    out[i] = out[i - 1] + Math.hypot((lon[i] - lon[i - 1]) * kx, (lat[i] - lat[i - 1]) * 110540);
  }
  return out;
}

/** The first index of ascending `values` (nulls skipped) at or past v, or -1. */
export function firstAtOrPast(values, v) {
  for (let i = 0; i < values.length; i += 1) if (values[i] !== null && values[i] >= v) return i;
  return -1;
}
