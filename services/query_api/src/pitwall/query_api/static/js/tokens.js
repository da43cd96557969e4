// Admin: the API tokens. Who can get in, with which role, until when, and when each was
// last used; make one (its secret is shown this once, with a copy button) or revoke one.
import { api, whoami } from "./api.js";
import { clear, confirmDialog, copyText, h, toast } from "./dom.js";
import { DASH, fmtAgo, fmtDateTime } from "./format.js";

const ROLES = [
  ["viewer", "viewer: find, plot, export"],
  ["uploader", "uploader: + upload (base stations)"],
  ["editor", "editor: + edit and delete runs"],
  ["admin", "admin: everything, tokens and backups too"],
];
const EXPIRY = [["", "never"], ["1d", "1 day"], ["30d", "30 days"], ["90d", "90 days"], ["52w", "1 year"]];
const POLL_MS = 500;
const WAIT_MS = 15000;

function when(value) {
  return value ? h("span", { title: fmtDateTime(value) }, fmtAgo(value)) : DASH;
}

function stateBadge(t) {
  return h(`span.badge.tk-${t.state}`, t.state);
}

function table(tokens, me, onRevoke) {
  return h("table.compact.tk-table",
    h("thead", h("tr", h("th", "Name"), h("th", "Role"), h("th", "Created"), h("th", "Last used"),
      h("th", "Expires"), h("th", "State"), h("th", h("span.visually-hidden", "Actions")))),
    h("tbody", tokens.map((t) => h("tr", { dataset: { tokenId: t.id, state: t.state } },
      h("td", h("strong", t.name), h("span.muted.mono.tk-id", ` ${t.id}`), t.id === me.token_id ? h("span.muted", " (you)") : null),
      h("td", h(`span.role.role-${t.role}`, t.role)),
      h("td", when(t.created_at), t.created_by ? h("span.muted", ` by ${t.created_by}`) : null),
      h("td.tk-used", t.last_used_at ? when(t.last_used_at) : h("span.muted", "never")),
      h("td", t.expires_at ? h("span", { title: fmtDateTime(t.expires_at) }, fmtDateTime(t.expires_at)) : "never"),
      h("td", stateBadge(t), t.revoked_at ? h("span.muted", ` ${fmtAgo(t.revoked_at)}`) : null),
      h("td", t.state === "active"
        ? h("button.btn.small.danger-ghost.tk-revoke", { type: "button", "aria-label": `Revoke ${t.name}`, onclick: (e) => onRevoke(t, e.currentTarget) }, "Revoke")
        : null)))));
}

function createForm(onCreate) {
  const name = h("input", { id: "tk-name", name: "name", required: true, maxlength: 200, placeholder: "e.g. Ben's laptop", autocomplete: "off" });
  const role = h("select", { id: "tk-role", name: "role" }, ROLES.map(([v, label]) => h("option", { value: v }, label)));
  const expires = h("select", { id: "tk-expires", name: "expires_in" }, EXPIRY.map(([v, label]) => h("option", { value: v }, label)));
  const button = h("button.btn.primary", { type: "submit" }, "Create token");
  const form = h("form.tk-create",
    h("label.field", { for: "tk-name" }, h("span", "Name"), name),
    h("label.field", { for: "tk-role" }, h("span", "Role"), role),
    h("label.field", { for: "tk-expires" }, h("span", "Expires"), expires),
    button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await onCreate({ name: name.value.trim(), role: role.value, expires_in: expires.value || null });
      name.value = "";
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function secretPanel(made, onClose) {
  const copy = h("button.btn.small", { type: "button", onclick: (e) => copyText(made.secret, e.currentTarget) }, "Copy");
  return h("section.tk-secret", { role: "status" },
    h("h2", `Token “${made.name}” (${made.role})`),
    h("p", "Copy it now: it is shown only this once and stored nowhere (only its hash is kept)."),
    h("div.tk-secret-row", h("code.tk-secret-value", made.secret), copy),
    h("p.muted", made.expires_at ? `Expires ${fmtDateTime(made.expires_at)}.` : "Never expires; revoke it here when it is no longer needed."),
    h("button.btn.ghost.small", { type: "button", onclick: onClose }, "Done"));
}

export async function mount(root) {
  const me = await whoami();
  const top = h("div.tk-top");
  const list = h("div.tk-list", h("p.loading", "Loading…"));
  root.append(h("div.page-head", h("h1", "API tokens")),
    h("p.muted", "Tokens open the API and this page. Use one per person or machine, so that one can be revoked alone. ",
      "Last use is recorded to the minute."),
    top, list);
  let stopped = false;

  async function load() {
    const { items } = await api("/tokens");
    clear(list).append(items.length ? table(items, me, revoke) : h("p.muted", "No tokens."));
    return items;
  }

  // The API answers 202 (ingest stores the change): wait until the list shows it.
  async function until(test) {
    const deadline = Date.now() + WAIT_MS;
    while (!stopped && Date.now() < deadline) {
      if (test(await load())) return true;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return false;
  }

  async function create(body) {
    let made;
    try {
      made = await api("/tokens", { method: "POST", body });
    } catch (err) {
      toast(`Not created: ${err.message}`, "error", 8000);
      return;
    }
    clear(top).append(secretPanel(made, () => clear(top).append(createForm(create))));
    if (!(await until((items) => items.some((t) => t.id === made.id)))) {
      toast("The token is made but not listed yet; it will work once the catalogue stores it.", "error", 8000);
    }
  }

  async function revoke(t, button) {
    const self = t.id === me.token_id;
    const ok = await confirmDialog(`Revoke “${t.name}”?`,
      `${self ? "This is the token you are logged in with: this page will log you out. " : ""}`
      + `Requests with this ${t.role} token are refused within seconds. This cannot be undone; make a new token instead.`,
      "Revoke token", true);
    if (!ok) return;
    button.disabled = true;
    try {
      await api(`/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
    } catch (err) {
      toast(`Not revoked: ${err.message}`, "error", 8000);
      button.disabled = false;
      return;
    }
    if (await until((items) => items.some((x) => x.id === t.id && x.state === "revoked"))) toast(`Revoked ${t.name}`, "ok");
  }

  try {
    await load();
  } catch (err) {
    clear(root).append(h("div.empty.error-box", h("h2", err.status === 403 ? "Admins only" : "Could not load tokens"),
      h("p", err.status === 403 ? "Tokens are managed by admins." : err.message)));
    return { cleanup() { stopped = true; } };
  }
  top.append(createForm(create));
  return { cleanup() { stopped = true; } };
}
