// Every call to /api/v1: the HttpOnly cookie authenticates, errors become readable messages.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, message, fields = {}) {
    super(message);
    this.status = status;
    this.fields = fields; // field name -> message, from a 422
  }
}

export function loginUrl() {
  const here = location.pathname + location.search;
  return `/login?next=${encodeURIComponent(here)}`;
}

/** A query string from an object; arrays repeat the key, empty values are left out. */
export function queryString(params = {}) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === undefined || v === null || v === "" || v === false) continue;
      q.append(key, String(v));
    }
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** FastAPI's error bodies: {detail: "text"} or {detail: [{loc, msg}]} (422). */
export function describeError(status, body) {
  const fields = {};
  let message = `${status}`;
  const detail = body && body.detail;
  if (typeof detail === "string") message = detail;
  else if (Array.isArray(detail)) {
    message = detail.map((d) => {
      const loc = (d.loc || []).filter((p) => !["query", "body", "path"].includes(p));
      const field = loc.join(".");
      if (field) fields[field] = d.msg;
      return field ? `${field}: ${d.msg}` : d.msg;
    }).join("; ");
  } else if (status === 403) message = "your token's role does not allow this";
  else if (status >= 500) message = "the server had a problem; try again in a moment";
  return { message, fields };
}

export async function api(path, { method = "GET", query, body, signal, redirect401 = true } = {}) {
  const init = { method, credentials: "same-origin", signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path + queryString(query), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "cannot reach the server (offline?)");
  }
  if (response.status === 401 && redirect401) {
    location.assign(loginUrl());
    throw new ApiError(401, "logged out");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const { message, fields } = describeError(response.status, data);
    throw new ApiError(response.status, message, fields);
  }
  return data;
}

let me = null;
/** Who is logged in (asked once per page load): {name, role, permissions}. */
export function whoami() {
  if (!me) {
    me = api("/me");
    me.catch(() => { me = null; });
  }
  return me;
}

export function can(who, permission) {
  return Boolean(who && who.permissions && who.permissions.includes(permission));
}
