// The page's router: one HTML shell, a view per path, links handled without reloads.
import { api, can, whoami } from "./api.js";
import { clear, h } from "./dom.js";
import { themeToggle } from "./theme.js";

const routes = [
  { pattern: /^\/$/, nav: "runs", load: () => import("./runs.js") },
  { pattern: /^\/runs\/([0-9a-f]{64})$/, nav: "runs", load: () => import("./run.js") },
  { pattern: /^\/compare$/, nav: "runs", load: () => import("./compare.js") },
  { pattern: /^\/upload$/, nav: "upload", load: () => import("./upload.js") },
  { pattern: /^\/admin\/backups$/, nav: "backups", load: () => import("./backups.js") },
  { pattern: /^\/admin\/ops$/, nav: "ops", load: () => import("./ops.js") },
  { pattern: /^\/admin\/tokens$/, nav: "tokens", load: () => import("./tokens.js") },
];

const root = document.getElementById("app");
let current = { path: null, cleanup: null };

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

async function render() {
  const path = location.pathname;
  // The runs list keeps its filters in the query string and updates it itself: a new
  // query string on the same path (back/forward) is handled by the view's own listener.
  if (current.path === path && current.view && current.view.onQueryChange) {
    current.view.onQueryChange();
    return;
  }
  if (current.cleanup) current.cleanup();
  current = { path, cleanup: null };
  const route = routes.find((r) => r.pattern.test(path));
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", Boolean(route) && a.dataset.nav === route.nav);
  }
  clear(root);
  if (!route) {
    root.append(h("div.empty", h("h2", "Nothing here"), h("p", "This page does not exist. ", h("a", { href: "/", "data-link": true }, "Back to the runs"))));
    return;
  }
  const params = path.match(route.pattern).slice(1);
  // Each page mounts into a box of its own: a page left while it was still loading
  // (its data arrives after the next page was drawn) fills a detached box, not this one.
  const mine = current;
  const box = h("div.view");
  root.append(box);
  try {
    const module = await route.load();
    const view = await module.mount(box, params);
    if (current === mine) {
      current.view = view || null;
      current.cleanup = view && view.cleanup ? view.cleanup : null;
    } else if (view && view.cleanup) view.cleanup();
  } catch (err) {
    if (err.status === 401 || current !== mine) return;
    clear(box);
    box.append(h("div.empty.error-box",
      h("h2", err.status === 404 ? "Not found" : "Something went wrong"),
      h("p", err.message),
      h("a.btn", { href: "/", "data-link": true }, "Back to the runs")));
  }
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  if (!routes.some((r) => r.pattern.test(a.pathname))) return;
  event.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) navigate(a.pathname + a.search);
});
window.addEventListener("popstate", render);

async function showWho() {
  const box = document.getElementById("who");
  try {
    const me = await whoami();
    // Links to pages the role cannot use are not shown (the API refuses them anyway).
    document.querySelector("[data-nav=upload]").hidden = !can(me, "upload");
    for (const name of ["backups", "ops", "tokens"]) document.querySelector(`[data-nav=${name}]`).hidden = !can(me, "admin");
    clear(box).append(
      h("span.who-name", me.name),
      h(`span.role.role-${me.role}`, me.role),
      h("button.btn.ghost.small", {
        type: "button",
        onclick: async () => {
          await api("/session", { method: "DELETE", redirect401: false }).catch(() => null);
          location.assign("/login");
        },
      }, "Log out"),
    );
  } catch {
    // A 401 already went to the login page; other errors show in the view.
  }
}

document.getElementById("who").before(themeToggle());
showWho();
render();
