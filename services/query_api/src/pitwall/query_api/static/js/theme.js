// Light, dark or the system's setting: the choice is kept in localStorage and shown as
// data-theme on <html> (app.css has a colour set for each). Canvases listen for changes.
import { segmented } from "./widgets.js";

export const THEME_KEY = "pitwall.theme"; // also read by theme-boot.js before the first paint
const CHOICES = ["light", "dark", "system"];
const CHANGED = "pitwall:theme";
const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

export function themeChoice() {
  let stored = null;
  try { stored = localStorage.getItem(THEME_KEY); } catch { stored = null; }
  return CHOICES.includes(stored) ? stored : "system";
}

/** The theme in effect: "light" or "dark". */
export function currentTheme() {
  const choice = themeChoice();
  if (choice !== "system") return choice;
  return systemDark.matches ? "dark" : "light";
}

export function setTheme(choice) {
  if (!CHOICES.includes(choice)) throw new Error(`no theme ${choice}`);
  try { localStorage.setItem(THEME_KEY, choice); } catch { /* kept for this page only */ }
  document.documentElement.dataset.theme = currentTheme();
  document.dispatchEvent(new CustomEvent(CHANGED));
}

/** Call fn whenever the colours change (the toggle, or the system's setting); returns an unsubscribe. */
export function onThemeChange(fn) {
  document.addEventListener(CHANGED, fn);
  return () => document.removeEventListener(CHANGED, fn);
}

// theme-boot.js has already put the system's new setting on <html>; canvases redraw.
systemDark.addEventListener("change", () => {
  if (themeChoice() === "system") document.dispatchEvent(new CustomEvent(CHANGED));
});

/** The top bar's three-way switch. */
export function themeToggle() {
  const toggle = segmented("Colour theme", [
    ["light", "Light", "light colours"],
    ["dark", "Dark", "dark colours"],
    ["system", "Auto", "follow the system's light or dark setting"],
  ], themeChoice(), setTheme);
  toggle.classList.add("theme-toggle");
  return toggle;
}
