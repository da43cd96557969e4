// Runs before the first paint (a classic script in <head>, not a module): applies the theme
// the top bar's toggle chose, so a dark choice does not flash light. The system setting
// needs nothing here (app.css follows prefers-color-scheme); js/theme.js owns the choice.
try {
  const choice = localStorage.getItem("pitwall.theme");
  if (choice === "light" || choice === "dark") document.documentElement.dataset.theme = choice;
} catch (err) {
  // Storage blocked (a privacy setting): the system setting applies.
}
