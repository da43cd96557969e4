"""Math channel definitions on the real stack (query_api and ingest on MongoDB and RabbitMQ):
defined, listed, changed (versioned, audited), deleted; bad expressions refused with their
position and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

BIAS = "[brakes:front] / ([brakes:front] + [brakes:rear])"


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints,
                                              tmp_path_factory.mktemp("math-logs"), "math"):
        yield api


def _names(api: Api) -> list[str]:
    with api.client("viewer") as c:
        return [m["name"] for m in require_ok(c.get("/api/v1/channels/math"))["items"]]


def _one(api: Api, name: str) -> dict[str, Any] | None:
    with api.client("viewer") as c:
        r = c.get(f"/api/v1/channels/math/{name}")
        return r.json() if r.status_code == 200 else None


def test_define_change_and_delete_a_channel(stack: Api) -> None:
    with stack.client("editor") as c:
        made = require_ok(c.post("/api/v1/channels/math", json={
            "name": "brake_bias", "expression": BIAS, "unit": "", "description": "front share of brake pressure"}), 201)
    assert made["key"] == "math:brake_bias" and made["references"] == ["brakes:front", "brakes:rear"]
    stored = wait_for(lambda: _one(stack, "brake_bias"), "the channel")
    assert (stored["expression"], stored["version"], stored["created_by"]) == (BIAS, 1, "test-editor")
    with stack.client("editor") as c:
        again = c.post("/api/v1/channels/math", json={"name": "brake_bias", "expression": "[a:b]"})
        assert again.status_code == 409
        require_ok(c.put("/api/v1/channels/math/brake_bias", json={"expression": f"100 * {BIAS}", "unit": "%"}), 202)
    changed = wait_for(lambda: (m := _one(stack, "brake_bias")) and m["version"] == 2 and m, "the change")
    assert changed["unit"] == "%" and [h["action"] for h in changed["history"]] == ["create", "update"]
    assert changed["history"][1]["before"]["expression"] == BIAS
    # A channel using another: the used one cannot go while it is used.
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": "bias_pct", "expression": "[math:brake_bias] * 2"}),
                   201)
        wait_for(lambda: "bias_pct" in _names(stack), "the second channel")
        used = c.delete("/api/v1/channels/math/brake_bias")
        assert used.status_code == 422 and "math:bias_pct" in used.text
        require_ok(c.delete("/api/v1/channels/math/bias_pct"), 202)
        wait_for(lambda: "bias_pct" not in _names(stack), "the delete")
        require_ok(c.delete("/api/v1/channels/math/brake_bias"), 202)
    wait_for(lambda: _names(stack) == [], "both gone")
    assert _one(stack, "brake_bias") is None


@pytest.mark.parametrize(("expression", "says", "position"), [
    ("[a:b] +", "", 7),
    ("nosuch([a:b])", "nosuch", 0),
    ("clip([a:b], 1)", "clip", 0),
    ("__import__('os')", "", 0),
    ("[a:b].__class__", "", 5),
    ("[math:missing] + 1", "missing", None),
])
def test_bad_expressions_are_refused_with_their_position_and_nothing_is_stored(
    stack: Api, expression: str, says: str, position: int | None
) -> None:
    with stack.client("editor") as c:
        r = c.post("/api/v1/channels/math", json={"name": "bad", "expression": expression})
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "expression"] and "\n" not in error["msg"] and says in error["msg"]
    if position is not None:
        assert f"position {position}" in error["msg"]
    assert "bad" not in _names(stack)


def test_a_cycle_is_refused_and_a_viewer_may_not_define(stack: Api) -> None:
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": "one", "expression": "[a:b] + 1"}), 201)
        wait_for(lambda: "one" in _names(stack), "the channel")
        require_ok(c.post("/api/v1/channels/math", json={"name": "two", "expression": "[math:one] * 2"}), 201)
        wait_for(lambda: "two" in _names(stack), "the second channel")
        cycle = c.put("/api/v1/channels/math/one", json={"expression": "[math:two] + 1"})
        assert cycle.status_code == 422 and "cycle" in cycle.text.lower()
    assert _one(stack, "one")["expression"] == "[a:b] + 1"  # type: ignore[index]
    with stack.client("viewer") as c:
        assert c.post("/api/v1/channels/math", json={"name": "x", "expression": "[a:b]"}).status_code == 403
