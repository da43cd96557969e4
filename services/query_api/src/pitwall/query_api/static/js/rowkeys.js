// Table rows that act on a click, usable by keyboard too: Tab reaches each row, Enter or
// Space does what a click does, the arrow keys move between the rows.

/** Make `row` focusable and keyboard-activated; `label` is what a screen reader announces. */
export function keyboardRow(row, label) {
  row.tabIndex = 0;
  if (label) row.setAttribute("aria-label", label);
  row.addEventListener("keydown", (e) => {
    // Keys inside the row's own controls (a checkbox, a link, a button) are theirs.
    if (e.target !== row || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault(); // Space would scroll the page
      row.click();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.tabIndex >= 0) {
        e.preventDefault();
        next.focus();
      }
    }
  });
  return row;
}
