"""Reading MongoDB query plans in tests: the stages of an explain, and whether an index
gives a sort's order without a blocking SORT stage."""

from __future__ import annotations

from typing import Any


def plan_stages(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage and every stage below it, depth first."""
    out = [plan]
    for child in [plan.get("inputStage"), *(plan.get("inputStages") or [])]:
        if child:
            out += plan_stages(child)
    return out


def index_gives_order(key: list[tuple[str, int]], query: dict[str, Any], sort: list[tuple[str, int]]) -> bool:
    """MongoDB's rule: once the fields pinned to one value (or an $in of values, walked
    one by one and merged) are left out, the index keys start with the sort keys, all in
    the index's direction or all reversed; then no blocking SORT stage is needed."""
    pinned = {k for k, v in query.items() if not isinstance(v, dict) or set(v) == {"$in"}}
    want = [(f, d) for f, d in sort if f not in pinned]
    rest = [(f, d) for f, d in key if f not in pinned][: len(want)]
    return rest == want or rest == [(f, -d) for f, d in want]
