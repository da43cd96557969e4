"""The web page: one HTML shell for every page of the app, the login page, static files.

The shell and the scripts carry no data and no secret, so they are served without a
token; the data comes from /api/v1 with the HttpOnly cookie set at log-in. A visit
without that cookie goes straight to /login (the scripts also send a 401 there), and
`next` brings the user back to the page they asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from pitwall.query_api.auth import COOKIE

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)
_files = StaticFiles(directory=STATIC)

# Everything the page loads comes from here: no inline script or style, no third party.
# Styles the scripts set through the CSSOM (el.style.width = ...) are not inline styles
# to CSP, so style-src needs no 'unsafe-inline'; tests/browser checks no violation.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Revalidated on every load (ETag): a new release shows at once, an unchanged one costs a 304.
    "Cache-Control": "no-cache",
}


# Swagger UI's stylesheet draws its icons as data: SVG images; nothing else differs.
_DOCS_HEADERS = _HEADERS | {"Content-Security-Policy": _CSP.replace("img-src 'self'", "img-src 'self' data:")}


def _page(name: str, headers: dict[str, str] = _HEADERS) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=headers)


def _shell(request: Request, token: str | None) -> Response:
    if not token:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _page("index.html")


Token = Annotated[str | None, Cookie(alias=COOKIE)]


# The app's pages: one shell each, the scripts pick the page from the path.
PAGES = ("/", "/runs/{run_id}", "/compare", "/upload", "/admin/backups", "/admin/tokens", "/admin/ops")


async def page_shell(request: Request, token: Token = None) -> Response:
    return _shell(request, token)


for _path in PAGES:
    router.add_api_route(_path, page_shell, methods=["GET"])


@router.get("/docs")
async def api_docs() -> Response:
    # Public like /openapi.json: the reference holds no data, and "Try it out" needs the cookie.
    return _page("docs.html", _DOCS_HEADERS)


@router.get("/login")
async def login_page() -> Response:
    return _page("login.html")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/static/{path:path}")
async def static_file(path: str, request: Request) -> Response:
    # StaticFiles refuses paths that leave the folder and answers If-None-Match with 304.
    response = await _files.get_response(path, request.scope)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["Cache-Control"] = "max-age=86400" if path.startswith("vendor/") else "no-cache"
    return response
