// The run's signals by topic, searchable, with statistics; checking one plots it (and
// puts it in the export).
import { append, clear, debounce, h } from "./dom.js";
import { fmtCount, fmtValue } from "./format.js";
import { factLines, factsOf, stateName } from "./signalinfo.js";

function statsLine(s) {
  if (s.kind === "string") return "text";
  const { states } = factsOf(s);
  const seen = states && s.distinct ? s.distinct.map((c) => stateName(states, c)).filter((n) => n !== undefined) : [];
  if (seen.length) return seen.slice(0, 3).join(" · ") + (seen.length > 3 ? " …" : "");
  if (s.distinct_names && s.distinct_names.length) return s.distinct_names.slice(0, 3).join(" · ") + (s.distinct_names.length > 3 ? " …" : "");
  if (s.min === null || s.min === undefined) return s.count ? "" : "empty";
  return s.min === s.max ? `= ${fmtValue(s.min)}` : `${fmtValue(s.min)} … ${fmtValue(s.max)}`;
}

function statsTitle(s) {
  const parts = [`${s.key}`, ...factLines(s), `${s.kind}${s.width ? ` × ${s.width}` : ""}`, `${fmtCount(s.count)} samples`];
  if (s.min !== null && s.min !== undefined) parts.push(`min ${fmtValue(s.min)}`, `max ${fmtValue(s.max)}`, `mean ${fmtValue(s.mean)}`);
  if (s.distinct_names && s.distinct_names.length) parts.push(`values: ${s.distinct_names.join(", ")}`);
  return parts.join("\n");
}

/** The words the filter looks in: the key, and what the catalogue calls and says of it. */
function searchText(s) {
  return [s.key, s.display_name, s.description, s.unit].filter(Boolean).join(" ").toLowerCase();
}

/**
 * A signal's name (its display name when it has one, else `label`), its unit, and a muted
 * second line: the path under a display name, the description.
 */
function nameParts(s, label) {
  const f = factsOf(s);
  const name = h("span.sig-name",
    f.displayName ? h("span.sig-path.sig-display", f.displayName) : h("span.sig-path", label),
    f.unit ? h("span.sig-unit", `[${f.unit}]`) : null);
  const second = [f.displayName ? h("span.sig-desc-path", label) : null, f.description].filter(Boolean);
  const desc = second.length ? h("span.sig-desc", second.flatMap((x, i) => (i ? [" · ", x] : [x]))) : null;
  return { name, desc };
}

/**
 * tree: the /signals answer. isSelected(key) -> bool; onToggle(key, on, info) when a box changes.
 * Returns {el, sync()} — sync() redraws the check boxes from isSelected.
 */
export function signalTree(tree, { isSelected, onToggle }) {
  const total = tree.topics.reduce((n, t) => n + t.signals.length, 0);
  const list = h("div.tree-list");
  const summary = h("div.tree-summary");
  const boxes = new Map(); // key -> checkbox
  const rows = []; // {el, text, topicEl}
  const topicEls = [];

  function signalRow(key, label, s, extraTitle = "") {
    const box = h("input", {
      type: "checkbox", value: key,
      onchange: (e) => onToggle(key, e.target.checked, s),
    });
    box.checked = isSelected(key);
    boxes.set(key, box);
    // Elements of a repeated field: the field's row above says the rest.
    const { name, desc } = extraTitle ? { name: h("span.sig-path", label), desc: null } : nameParts(s, label);
    return h(`label.sig${desc ? ".has-desc" : ""}`, { title: statsTitle(s) + extraTitle, dataset: { key } },
      box,
      name,
      h(`span.sig-kind.k-${s.kind}`, s.kind === "string" ? "txt" : s.kind === "enum" ? "enum" : s.kind === "bool" ? "bool" : ""),
      h("span.sig-stats", statsLine(s)),
      desc);
  }

  for (const topic of tree.topics) {
    const body = h("div.topic-body");
    const details = h("details.topic",
      h("summary",
        h("span.topic-name", topic.topic),
        h("span.topic-meta", [topic.rate_hz ? `${Math.round(topic.rate_hz)} Hz` : null, `${topic.signals.length}`].filter(Boolean).join(" · "))),
      body);
    topicEls.push({ el: details, name: topic.topic.toLowerCase() });
    for (const s of topic.signals) {
      if (s.width) {
        // A repeated field: one row per element, built when first opened (126 cells add up).
        const inner = h("div.rep-body");
        const { name, desc } = nameParts(s, `${s.path}`);
        const rep = h("details.rep",
          h(`summary${desc ? ".has-desc" : ""}`, { title: statsTitle(s) }, name, h("span.sig-kind", `×${s.width}`), h("span.sig-stats", statsLine(s)), desc),
          inner);
        let built = false;
        const build = () => {
          if (built) return;
          built = true;
          for (let i = 0; i < s.width; i += 1) inner.append(signalRow(`${s.key}[${i}]`, `[${i}]`, s, `\nelement ${i}`));
        };
        rep.addEventListener("toggle", build);
        body.append(rep);
        rows.push({ el: rep, text: searchText(s), topic: details, build });
      } else {
        const row = signalRow(s.key, s.path, s);
        body.append(row);
        rows.push({ el: row, text: searchText(s), topic: details });
      }
    }
    list.append(details);
  }

  const search = h("input.tree-search", {
    type: "search", placeholder: `Filter ${fmtCount(total)} signals…  (name, description, unit)`, spellcheck: false, "aria-label": "Filter signals",
  });
  const applyFilter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = new Map();
    for (const r of rows) {
      const ok = words.every((w) => r.text.includes(w));
      r.el.hidden = !ok;
      if (ok) hits.set(r.topic, (hits.get(r.topic) || 0) + 1);
    }
    for (const t of topicEls) {
      const n = hits.get(t.el) || 0;
      t.el.hidden = words.length > 0 && n === 0;
      // Searching opens the topics that match, as long as that stays readable.
      if (words.length) t.el.open = n > 0 && hits.size <= 12;
    }
    drawSummary(words.length ? [...hits.values()].reduce((a, b) => a + b, 0) : null);
  };
  search.addEventListener("input", debounce(applyFilter, 120));

  function drawSummary(matching) {
    const selected = [...boxes.entries()].filter(([, b]) => b.checked).length;
    // dom.js's append, not the element's: Element.append(null) writes the text "null".
    append(clear(summary), [
      h("span", matching === null ? `${tree.topics.length} topics · ${fmtCount(total)} signals` : `${fmtCount(matching)} matching`),
      selected ? h("span.sel-count", `${selected} selected`) : null,
    ]);
  }
  drawSummary(null);

  return {
    el: h("div.signal-tree", search, summary, list),
    sync() {
      for (const [key, box] of boxes) box.checked = isSelected(key);
      drawSummary(search.value.trim() ? rows.filter((r) => !r.el.hidden).length : null);
    },
    reveal(key) {
      const box = boxes.get(key);
      if (box) {
        const topic = box.closest("details.topic");
        if (topic) topic.open = true;
      }
    },
  };
}
