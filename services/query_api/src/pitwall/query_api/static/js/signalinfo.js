// What a signal is, as the channel catalogue tells the page (unit, description, display
// name, state names), and how the plots show it: values with their unit, state codes by name.
import { fmtValue } from "./format.js";

export const AXIS_FONT = "11px system-ui, sans-serif";
const AXIS_MIN = 62; // px: the y-axis gutter of a plot without state names
const AXIS_MAX = 170; // px: longer state names are shortened rather than squeezing the plot
const TICK_ROW = 13; // px a state name needs on the axis

/** Code (decimal string) -> state name: the catalogue's states, else the protobuf enum names; null when none. */
export function statesOf(sig) {
  const states = sig && (sig.states || sig.enum_names);
  return states && Object.keys(states).length ? states : null;
}

/** The facts a plot needs of a signal (from a /signals, /series or /compare answer). */
export function factsOf(sig) {
  return {
    unit: (sig && sig.unit) || null,
    states: statesOf(sig),
    description: (sig && sig.description) || null,
    displayName: (sig && sig.display_name) || null,
  };
}

/** The name of state code `v`, or undefined (not a code, or a code the description does not name). */
export function stateName(states, v) {
  if (!states || typeof v !== "number" || !Number.isInteger(v)) return undefined;
  return states[String(v)];
}

/** What a read-out shows for value `v`: "READY_TO_DRIVE (5)", "1013 mbar", "0.25" ("" for no value). */
export function valueText(v, { unit = null, states = null } = {}) {
  if (v === null || v === undefined) return "";
  const name = stateName(states, v);
  if (name !== undefined) return `${name} (${v})`;
  const text = fmtValue(v);
  return unit ? `${text} ${unit}` : text;
}

/** The tooltip lines of a signal: who it is and what it means. */
export function factLines(sig) {
  const f = factsOf(sig);
  const lines = [];
  if (f.displayName) lines.push(f.displayName);
  if (f.description) lines.push(f.description);
  if (f.unit) lines.push(`unit: ${f.unit}`);
  if (f.states) {
    const names = Object.entries(f.states).map(([code, name]) => `${code} ${name}`);
    lines.push(`states: ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", …" : ""}`);
  }
  return lines;
}

/** Shortened to `chars` characters with an ellipsis. */
function shorten(text, chars) {
  return text.length > chars ? `${text.slice(0, Math.max(1, chars - 1))}…` : text;
}

let measureCtx = null;
function textWidth(text, font = AXIS_FONT) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/**
 * The y-axis gutter (px) that shows every pane's state names, the same for all panes of a
 * stack so their time axes line up: the plain width unless a pane has states.
 */
export function axisGutter(statesList) {
  let widest = 0;
  for (const states of statesList) {
    for (const name of Object.values(states || {})) widest = Math.max(widest, textWidth(name));
  }
  return Math.round(Math.min(AXIS_MAX, Math.max(AXIS_MIN, widest + 14)));
}

function plotHeight(u) {
  const h = u.bbox && u.bbox.height ? u.bbox.height / (window.devicePixelRatio || 1) : 0;
  return h || (u.height || 120) - 30;
}

/**
 * uPlot y-axis and scale options for a state signal: ticks at the codes in view, each
 * labelled with its name (thinned when the pane is too short for all of them).
 * `getStates()` is read at each draw: the names may arrive with the data.
 */
export function stateAxis(getStates, gutter) {
  const chars = Math.max(6, Math.floor((gutter - 12) / 6.2));
  return {
    range: (u, lo, hi) => {
      if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [-0.5, 1.5];
      return [Math.floor(lo) - 0.5, Math.ceil(hi) + 0.5];
    },
    splits: (u, axisIdx, lo, hi) => {
      const states = getStates() || {};
      const room = Math.max(1, Math.floor(plotHeight(u) / TICK_ROW));
      let codes = Object.keys(states).map(Number).filter((c) => Number.isInteger(c) && c >= lo && c <= hi).sort((a, b) => a - b);
      if (!codes.length) {
        // No named code in view: plain whole numbers, spaced to fit.
        const every = Math.max(1, Math.ceil((Math.floor(hi) - Math.ceil(lo) + 1) / room));
        for (let c = Math.ceil(lo); c <= Math.floor(hi); c += every) codes.push(c);
      }
      if (codes.length > room) {
        const step = Math.ceil(codes.length / room);
        codes = codes.filter((_, i) => i % step === 0);
      }
      return codes;
    },
    values: (u, vals) => vals.map((v) => {
      const name = stateName(getStates(), v);
      return name === undefined ? fmtValue(v) : shorten(name, chars);
    }),
  };
}

/**
 * Names each state where the signal enters it, above its step, where the step is wide
 * enough for the name (a uPlot draw hook; series 1 of `u`).
 */
export function labelStateChanges(u, states, colour) {
  if (!states) return;
  const xs = u.data[0];
  const vs = u.data[1];
  if (!xs || !vs || !xs.length) return;
  const dpr = window.devicePixelRatio || 1;
  const { left, top, width, height } = u.bbox;
  const ctx = u.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = `600 ${10.5 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = colour;
  ctx.textAlign = "left"; // the axes leave it right-aligned
  let drawn = 0;
  let i = 0;
  while (i < vs.length && drawn < 80) {
    const v = vs[i];
    let j = i + 1;
    while (j < vs.length && vs[j] === v) j += 1;
    const name = stateName(states, v);
    if (name !== undefined) {
      const x0 = Math.max(left, u.valToPos(xs[i], "x", true));
      const x1 = Math.min(left + width, j < xs.length ? u.valToPos(xs[j], "x", true) : left + width);
      const w = ctx.measureText(name).width;
      if (x1 - x0 >= w + 8 * dpr && x1 > left && x0 < left + width) {
        const y = u.valToPos(v, "y", true);
        const above = y - 3 * dpr - 11 * dpr >= top;
        ctx.textBaseline = above ? "bottom" : "top";
        ctx.fillText(name, x0 + 4 * dpr, above ? y - 3 * dpr : y + 3 * dpr);
        drawn += 1;
      }
    }
    i = j;
  }
  ctx.restore();
}
