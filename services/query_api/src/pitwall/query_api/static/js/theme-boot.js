// Runs before the first paint (a classic script in <head>, not a module): puts the theme in
// effect on <html> as data-theme, "light" or "dark", so that a dark page never flashes light.
// With the Auto choice (nothing stored) that is the system's setting, followed when it
// changes; app.css then has one dark colour set, keyed on data-theme. js/theme.js owns the choice.
(() => {
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  const stored = () => {
    try { return localStorage.getItem("pitwall.theme"); } catch (err) { return null; } // storage blocked
  };
  const apply = () => {
    const choice = stored();
    document.documentElement.dataset.theme = choice === "light" || choice === "dark" ? choice : system.matches ? "dark" : "light";
  };
  apply();
  system.addEventListener("change", apply);
})();
