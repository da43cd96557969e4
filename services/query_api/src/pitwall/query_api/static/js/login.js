// The login page: the token goes to POST /api/v1/session, which sets the HttpOnly cookie.
import { describeError } from "./api.js";

const form = document.getElementById("login");
const error = document.getElementById("error");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  // Only a path on this site: never an open redirect to somewhere else.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: form.token.value.trim() }),
    });
    if (response.ok) {
      location.replace(nextPage());
      return;
    }
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    // An expired token says when it expired; any other 401 stays vague on purpose.
    const expired = response.status === 401 && body && typeof body.detail === "string" && body.detail.startsWith("token expired");
    error.textContent = response.status === 401 && !expired
      ? "That token is not valid (or was revoked)."
      : describeError(response.status, body).message;
    error.hidden = false;
  } catch {
    error.textContent = "Cannot reach the server.";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
