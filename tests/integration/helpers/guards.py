"""Which role each route needs, read from the route itself, and a prober that checks a
running API answers accordingly.

`audit(app)` walks every route of the FastAPI app and finds the `Guard`
(pitwall.query_api.auth) among its dependencies: that is the permission the route
needs. A route without one is a problem unless it is on the short `PUBLIC` list. There
is no table of routes to keep: a new route is checked the moment it exists.

`probe(client, spec, needs, tokens)` sends each operation of an OpenAPI document,
without a token, with a wrong one, and with each role's token, and reports every answer
that disagrees: 401 without a valid token, 403 for a role without the permission, and
for a role with it anything but 401/403 (and no 5xx). Path parameters get plausible
values (unknown ids, so nothing is changed) and, once more without a token, hostile
ones: the guard must answer before path validation or a 404 does.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route

from pitwall.query_api.auth import ROLE_PERMISSIONS, Guard, Permission, authenticate

# (method, path) that answer without a token, each for a reason:
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness for a load balancer",
    ("GET", "/readyz"): "readiness for a load balancer (says which dependency is down, no data)",
    ("POST", "/api/v1/session"): "log-in: takes the token in its body",
    ("DELETE", "/api/v1/session"): "log-out: only clears the cookie",
    ("GET", "/login"): "the log-in page",
    # The page shells carry no data (it comes from /api/v1 with the cookie); without the
    # cookie they redirect to /login.
    ("GET", "/"): "web page shell",
    ("GET", "/runs/{run_id}"): "web page shell",
    ("GET", "/upload"): "web page shell",
    ("GET", "/admin/backups"): "web page shell",
    ("GET", "/admin/ops"): "web page shell",
    ("GET", "/admin/tokens"): "web page shell",
    ("GET", "/compare"): "web page shell",
    ("GET", "/favicon.ico"): "static",
    ("GET", "/static/{path:path}"): "static scripts and styles",
    ("GET", "/openapi.json"): "the API's description",
    ("HEAD", "/openapi.json"): "the API's description",
    ("GET", "/docs"): "the API reference page (Swagger UI from our own files; data needs the cookie)",
}

SHA = secrets.token_hex(32)  # no run has it: handlers answer 404 after the guard
_CANDIDATES = (SHA, SHA[:32], "probe-upload-id", "x")
# Values that match the path segment but fail its validation (an encoded "/" would match
# no route at all: a routing 404 that names nothing).
_HOSTILE_PATH = ("NOT-HEX", "%00", "-1", "%2E%2E", "x" * 300)


@dataclass(frozen=True, slots=True)
class Need:
    """What a route needs: these permissions; none at all only when it is on the public list."""

    permissions: frozenset[Permission]
    public: bool = False

    def roles_with(self) -> list[str]:
        return [r for r, perms in ROLE_PERMISSIONS.items() if self.permissions <= perms]

    def roles_without(self) -> list[str]:
        return [r for r, perms in ROLE_PERMISSIONS.items() if not self.permissions <= perms]


def _calls(dependant: Any) -> Iterable[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def flat_routes(app: FastAPI) -> list[BaseRoute]:
    """The routes requests are matched against, included routers expanded (FastAPI >=
    0.165 keeps an included router as one lazy entry of `app.routes`)."""
    from fastapi import routing

    expand = getattr(routing, "_iter_included_route_candidates", None)
    return list(expand(app.routes)) if expand is not None else list(app.routes)


def audit(
    app: FastAPI, public: Mapping[tuple[str, str], str] = PUBLIC
) -> tuple[dict[tuple[str, str], Need], list[str]]:
    """(what each (method, path) needs, the problems found) from the app's routes alone."""
    needs: dict[tuple[str, str], Need] = {}
    problems: list[str] = []
    for route in flat_routes(app):
        if isinstance(route, APIRoute):
            calls = list(_calls(route.dependant))
            perms = frozenset(c.permission for c in calls if isinstance(c, Guard))
            for method in sorted(route.methods):
                key = (method, route.path)
                needs[key] = Need(perms, public=not perms and key in public)
                if perms:
                    continue
                if authenticate in calls:
                    problems.append(f"{method} {route.path}: authenticates but needs no permission "
                                    "(use Reader/Editor/Admin...)")
                elif key not in public:
                    problems.append(f"{method} {route.path}: no guard (Reader, Exporter, Uploader, Editor, Admin) "
                                    "and not public")
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                needs[(method, route.path)] = Need(frozenset(), public=(method, route.path) in public)
                if (method, route.path) not in public:
                    problems.append(f"{method} {route.path}: a plain Starlette route (no FastAPI guard) and not public")
        elif isinstance(route, Mount):
            problems.append(f"{route.path}: a mounted app, whose routes this check cannot see")
        else:
            problems.append(f"{route!r}: a kind of route this check does not know")
    return needs, problems


def _value(schema: Mapping[str, Any]) -> str:
    if schema.get("type") == "integer":
        return str(max(1, int(schema.get("minimum", 1))))
    pattern = schema.get("pattern")
    if pattern:
        for candidate in _CANDIDATES:
            if re.fullmatch(pattern, candidate):
                return candidate
    return _CANDIDATES[0]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    url: str
    body: dict[str, Any]
    hostile_urls: tuple[str, ...]


def operations(spec: Mapping[str, Any]) -> list[Operation]:
    """Every operation of the document, with a plausible request for each."""
    ops = []
    for path, items in spec["paths"].items():
        for method, op in items.items():
            params = [p for p in op.get("parameters", []) if p.get("in") == "path"]
            url = path
            for p in params:
                url = url.replace("{" + p["name"] + "}", _value(p.get("schema", {})))
            hostile = tuple(
                re.sub(r"\{[^}]+\}", bad, path) for bad in _HOSTILE_PATH
            ) if params else ()
            content = (op.get("requestBody") or {}).get("content", {})
            body: dict[str, Any] = {}
            if "application/json" in content:
                body = {"json": {}}
            elif "application/octet-stream" in content:
                body = {"content": b""}
            ops.append(Operation(method.upper(), path, url, body, hostile))
    return ops


def _say(r: httpx.Response) -> str:
    return f"{r.status_code} {r.text[:160]!r}"


def probe(client: httpx.Client, spec: Mapping[str, Any], needs: Mapping[tuple[str, str], Need],
          tokens: Mapping[str, str]) -> tuple[list[str], int]:
    """(problems, requests sent) for every operation of `spec` against `client`."""
    problems: list[str] = []
    sent = 0
    wrong = {"Authorization": "Bearer pw_" + secrets.token_urlsafe(32)}

    def send(op: Operation, url: str, headers: dict[str, str]) -> httpx.Response:
        nonlocal sent
        sent += 1
        # No cookies: each request carries only the credentials given here.
        client.cookies.clear()
        return client.request(op.method, url, headers=headers, **op.body)

    for op in operations(spec):
        where = f"{op.method} {op.path}"
        need = needs.get((op.method, op.path))
        if need is None:
            problems.append(f"{where}: in the OpenAPI document but no such route in the app")
            continue
        if need.public:
            r = send(op, op.url, {})
            if r.status_code in (401, 403):
                problems.append(f"{where}: public, but without a token answered {_say(r)}")
            continue
        if not need.permissions:
            # No guard (audit says so too): what does it give away?
            r = send(op, op.url, {})
            problems.append(f"{where}: no guard; with no token answered {_say(r)}")
            for role in ROLE_PERMISSIONS:
                r = send(op, op.url, {"Authorization": f"Bearer {tokens[role]}"})
                if r.status_code != 403:
                    problems.append(f"{where}: no guard; a {role} token answered {_say(r)}, not 403")
                    break
            continue
        for label, headers in (("no token", {}), ("a wrong token", wrong)):
            r = send(op, op.url, headers)
            if r.status_code != 401:
                problems.append(f"{where}: with {label} answered {_say(r)}, not 401")
        for url in op.hostile_urls:
            r = send(op, url, {})
            if r.status_code != 401:
                problems.append(f"{op.method} {url}: a hostile path without a token answered {_say(r)}, not 401")
        for role in need.roles_without():
            r = send(op, op.url, {"Authorization": f"Bearer {tokens[role]}"})
            if r.status_code != 403:
                problems.append(f"{where}: a {role} token (lacks {sorted(need.permissions)}) answered {_say(r)}, "
                                "not 403")
        for role in need.roles_with():
            r = send(op, op.url, {"Authorization": f"Bearer {tokens[role]}"})
            if r.status_code in (401, 403) or r.status_code >= 500:
                problems.append(f"{where}: a {role} token (has {sorted(need.permissions)}) answered {_say(r)}")
    return problems, sent
