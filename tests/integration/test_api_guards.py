"""Every route in the live OpenAPI document answers 401/403 as its guard in the code says,
so a route that forgets its guard (or gets a weaker one than its tokens need) fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from helpers.api import Api, start_api
from helpers.guards import PUBLIC, audit, operations, probe

from pitwall.common.settings import Settings
from pitwall.query_api.auth import Principal, authenticate
from pitwall.query_api.deps import Reader
from pitwall.query_api.main import create_app

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-guards"), "guards")


def test_every_route_in_the_openapi_document_is_guarded(api: Api) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        spec = client.get("/openapi.json").raise_for_status().json()
        needs, problems = audit(create_app(api.settings))
        found, sent = probe(client, spec, needs, api.tokens)
    assert not problems + found, "\n".join(problems + found)
    ops = operations(spec)
    guarded = [op for op in ops if not needs[(op.method, op.path)].public]
    # Each guarded operation was asked at least: no token, wrong token, and all four roles.
    assert sent >= 6 * len(guarded) and len(guarded) > len(ops) // 2
    # The code's own lattice: viewer < uploader/editor (neither above the other) < admin.
    patch = needs[("PATCH", "/api/v1/runs/{run_id}")]
    assert patch.roles_with() == ["editor", "admin"] and patch.roles_without() == ["viewer", "uploader"]


def test_the_public_list_names_only_routes_that_exist(api: Api) -> None:
    needs, _ = audit(create_app(api.settings))
    assert set(PUBLIC) <= set(needs), set(PUBLIC) - set(needs)


def test_the_check_finds_a_route_without_a_guard_or_with_a_weak_one(api: Api) -> None:
    app = create_app(api.settings)

    @app.get("/api/v1/leak")
    async def leak() -> dict[str, str]:
        return {"secret": "runs for anyone"}

    @app.post("/api/v1/weak")
    async def weak(who: Annotated[Principal, Depends(authenticate)]) -> dict[str, str]:
        return {"who": who.name}

    @app.get("/api/v1/guarded-late")
    async def guarded_late(who: Reader) -> dict[str, str]:
        return {"who": who.name}

    _, problems = audit(app)
    assert [p for p in problems if "/leak" in p] == [
        "GET /api/v1/leak: no guard (Reader, Exporter, Uploader, Editor, Admin) and not public"
    ]
    assert [p for p in problems if "/weak" in p] == [
        "POST /api/v1/weak: authenticates but needs no permission (use Reader/Editor/Admin...)"
    ]
    assert not [p for p in problems if "guarded-late" in p]
    assert len(problems) == 2

    # And on the wire (in-process, same real servers): the unguarded route answers
    # without a token, which the prober reports as well.
    needs, _ = audit(app)
    with TestClient(app) as client:
        spec = client.get("/openapi.json").json()
        spec["paths"] = {p: v for p, v in spec["paths"].items()
                         if p in ("/api/v1/leak", "/api/v1/weak", "/api/v1/guarded-late")}
        found, _ = probe(client, spec, needs, api.tokens)
    assert any(p.startswith("GET /api/v1/leak: no guard; with no token answered 200") for p in found), found
    assert any(p.startswith("GET /api/v1/leak: no guard; a viewer token answered 200") for p in found), found
    assert not [p for p in found if "guarded-late" in p], found
