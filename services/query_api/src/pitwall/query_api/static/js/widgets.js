// Small pieces shared by the views.
import { clear, h } from "./dom.js";

/** A status pill: ready / recovered (file was cut off) / rejected / deleted. */
export function statusBadge(run) {
  if (run.deleted) return h("span.badge.deleted", { title: "deleted: an admin can restore it" }, "deleted");
  const titles = {
    ready: "complete file, fully read",
    recovered: "the file was cut off: everything written before the cut is here",
    rejected: run.reason ? `rejected: ${run.reason}` : "the file could not be read",
  };
  return h(`span.badge.${run.status}`, { title: titles[run.status] || "" }, run.status);
}

/**
 * Values as removable chips plus an input; Enter (or comma for plain words) adds one.
 * onChange(values) after each change.
 */
export function chipInput({ label, name, values, placeholder, onChange, normalise = (v) => v.trim(), separators = "Enter" }) {
  let current = [...values];
  const list = h("span.chips");
  const input = h("input", { type: "text", name, placeholder: current.length ? "" : placeholder, spellcheck: false, autocomplete: "off" });

  function draw() {
    clear(list);
    for (const value of current) {
      list.append(h("span.chip", h("span.chip-text", value),
        h("button.chip-x", { type: "button", title: `remove ${value}`, "aria-label": `remove ${value}`, onclick: () => remove(value) }, "×")));
    }
    input.placeholder = current.length ? "add another…" : placeholder;
  }
  function add(raw) {
    const value = normalise(raw);
    if (!value || current.includes(value)) return;
    current = [...current, value];
    draw();
    onChange(current);
  }
  function remove(value) {
    current = current.filter((v) => v !== value);
    draw();
    onChange(current);
  }
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || (separators.includes(",") && e.key === ",")) {
      e.preventDefault();
      add(input.value);
      input.value = "";
    } else if (e.key === "Backspace" && !input.value && current.length) {
      remove(current[current.length - 1]);
    }
  });
  input.addEventListener("blur", () => {
    if (input.value.trim()) { add(input.value); input.value = ""; }
  });
  draw();
  const box = h("div.chip-box", { onclick: () => input.focus() }, list, input);
  return h("label.field.grow", h("span.field-label", label), box);
}

/** Buttons acting as one radio group. */
export function segmented(name, options, value, onChange) {
  const box = h("div.segmented", { role: "radiogroup", "aria-label": name });
  const pick = (button) => {
    for (const b of box.children) {
      b.classList.toggle("on", b === button);
      b.setAttribute("aria-checked", String(b === button));
    }
    onChange(button.dataset.value);
  };
  for (const [v, text, title] of options) {
    const button = h("button", {
      type: "button", role: "radio", title: title || "", "aria-checked": String(v === value),
      dataset: { value: v }, class: v === value ? "on" : "",
    }, text);
    button.addEventListener("click", () => pick(button));
    box.append(button);
  }
  return box;
}

/** A titled card. */
export function panel(title, body, { actions = null, cls = "" } = {}) {
  return h(`section.panel${cls ? `.${cls}` : ""}`,
    h("header.panel-head", h("h2", title), actions ? h("div.panel-actions", actions) : null),
    h("div.panel-body", body));
}
