// How numbers, times and names look on the page.

const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

export const DASH = "–";

function asDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });

/** A calendar day in the browser's time zone: "Sat, 6 Jan 2024" (– when unknown). */
export function fmtDay(value) {
  const d = asDate(value);
  return d ? day.format(d) : DASH;
}

/** Which local calendar day a time falls on, as "2024-01-06" ("" when unknown): runs group by it. */
export function dayKey(value) {
  const d = asDate(value);
  if (!d) return "";
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Recording start in the browser's time zone: "Sat, 6 Jan 2024, 16:37". */
export function fmtDateTime(value) {
  const d = asDate(value);
  return d ? dateTime.format(d) : DASH;
}

/** 29.9 s, 4:05, 1:02:03 */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** Lap times as timing screens show them: 1:16.997 */
export function fmtLap(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const m = Math.floor(seconds / 60);
  const rest = seconds - m * 60;
  return m ? `${m}:${rest.toFixed(3).padStart(6, "0")}` : rest.toFixed(3);
}

export function fmtSpeed(mps) {
  if (mps === null || mps === undefined || !Number.isFinite(mps)) return DASH;
  return `${(mps * 3.6).toFixed(1)} km/h`;
}

export function fmtDistance(m) {
  if (m === null || m === undefined || !Number.isFinite(m)) return DASH;
  return m >= 1000 ? `${(m / 1000).toFixed(2)} km` : `${Math.round(m)} m`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtCount(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return n.toLocaleString();
}

/** A signal value with as many digits as it deserves: 12.35, 0.0012, 4.71e+6. */
export function fmtValue(v) {
  if (v === null || v === undefined) return DASH;
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(a >= 1000 ? 7 : 5)));
}

// The MAT contract's naming rule (pitwall.export.naming), for the snippets.
const KEYWORDS = new Set(["break", "case", "catch", "classdef", "continue", "else", "elseif", "end", "for",
  "function", "global", "if", "otherwise", "parfor", "persistent", "return", "spmd", "switch", "try",
  "while", "arguments"]);

export function matlabName(name) {
  let out = name.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z]/.test(out) || KEYWORDS.has(out)) out = `x${out}`;
  // Over 63 characters the converter appends a hash; the signal_map in the file has the exact name.
  return out.length > 63 ? `${out.slice(0, 54)}_…` : out;
}

/** How long ago a time was: "40 s ago", "12 min ago", "3.5 h ago", "9 d ago". */
export function fmtAgo(value) {
  const d = asDate(value);
  if (!d) return DASH;
  const s = Math.max(0, (Date.now() - d.getTime()) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
