// The API reference (/docs): Swagger UI from the product's own files, started here
// because the page's CSP allows no inline script (FastAPI's stock page has one).
/* global SwaggerUIBundle */
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Same-origin requests carry the log-in cookie, so "Try it out" works when logged in.
    withCredentials: true,
    // The default asks validator.swagger.io for a badge: a request that leaves the stack.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
