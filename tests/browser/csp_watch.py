"""Content-Security-Policy violations a page reports, collected for the browser tests.

The page's CSP (query_api routers/web.py) allows nothing inline and nothing from
elsewhere; a script or style that breaks that rule is silently blocked by the browser,
so the tests listen for the `securitypolicyviolation` event (and Chromium's console
line about it) on every page they open and fail when one is seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page

# Installed through the DevTools protocol, so CSP does not apply to this script itself.
LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} ` +
                `at ${e.sourceFile || "?"}:${e.lineNumber}`);
});
"""


def watch(context: BrowserContext, page: Page) -> list[str]:
    """A list that fills with every violation `page` reports (install before navigating)."""
    context.add_init_script(LISTENER)
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", on_console)
    return seen
