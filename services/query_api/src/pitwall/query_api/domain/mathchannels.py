"""Math channels: definitions checked here (a bad expression is a 422 naming its position, and
nothing is sent), stored by ingest (`math.command`), read back from `math_channels`."""

from __future__ import annotations

from typing import Any

from pitwall.common.contracts import mongo
from pitwall.common.events import MathCommand
from pitwall.common.mathchannels import MATH_PREFIX, DefinitionError, Expression, MathError, check_definitions, parse
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.errors import ApiError, not_found, rule
from pitwall.query_api.mathchannel_models import (
    MathAccepted,
    MathChannel,
    MathCreate,
    MathDefinition,
    MathDeleted,
    MathHistory,
    MathList,
)
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources


async def _live(res: Resources) -> dict[str, dict[str, Any]]:
    found = readmodel.database(res)[mongo.MATH_CHANNELS].find({"deleted": {"$ne": True}})
    return {d["_id"]: d async for d in found}


def _parsed(name: str, body: MathDefinition, expr: Expression) -> dict[str, Any]:
    return {"name": name, "key": f"{MATH_PREFIX}{name}", "expression": body.expression, "canonical": expr.canonical,
            "references": list(expr.references), "functions": sorted(expr.functions), "unit": body.unit,
            "description": body.description}


async def _checked(res: Resources, name: str, body: MathDefinition) -> Expression:
    """The parsed expression, checked with every other live channel (cycles, unknown math:)."""
    try:
        expr = parse(body.expression)
        others = {n: parse(d["expression"]) for n, d in (await _live(res)).items() if n != name}
        check_definitions({**others, name: expr})
    except DefinitionError as exc:
        raise rule("expression", str(exc) if exc.definition == name else f"math:{exc.definition}: {exc}",
                   location="body", value=body.expression) from None
    except MathError as exc:
        raise rule("expression", str(exc), location="body", value=body.expression) from None
    return expr


async def create(res: Resources, body: MathCreate, who: Principal) -> MathAccepted:
    if body.name in await _live(res):
        raise ApiError(409, f"math:{body.name} exists: change it with PUT /api/v1/channels/math/{body.name}")
    expr = await _checked(res, body.name, body)
    cmd = MathCommand(action="create", channel=body.name, expression=body.expression, unit=body.unit,
                      description=body.description, actor=who.name)
    await publish(res, cmd)
    return MathAccepted(**_parsed(body.name, body, expr), command_id=cmd.event_id)


async def update(res: Resources, name: str, body: MathDefinition, who: Principal) -> MathAccepted:
    if name not in await _live(res):
        raise not_found(f"no math channel {name!r}")
    expr = await _checked(res, name, body)
    cmd = MathCommand(action="update", channel=name, expression=body.expression, unit=body.unit,
                      description=body.description, actor=who.name)
    await publish(res, cmd)
    return MathAccepted(**_parsed(name, body, expr), command_id=cmd.event_id)


async def delete(res: Resources, name: str, who: Principal) -> MathDeleted:
    live = await _live(res)
    if name not in live:
        raise not_found(f"no math channel {name!r}")
    users = [n for n, d in live.items() if n != name and f"{MATH_PREFIX}{name}" in parse(d["expression"]).references]
    if users:
        raise rule("name", f"math:{name} is used by {', '.join('math:' + u for u in sorted(users))}", location="path")
    cmd = MathCommand(action="delete", channel=name, actor=who.name)
    await publish(res, cmd)
    return MathDeleted(name=name, command_id=cmd.event_id)


def _view(doc: dict[str, Any], history: bool) -> MathChannel:
    name = doc["_id"]
    expr = parse(doc["expression"])
    body = MathDefinition(expression=doc["expression"], unit=doc.get("unit"), description=doc.get("description"))
    return MathChannel(
        **_parsed(name, body, expr), version=int(doc.get("version") or 1), created_at=doc.get("created_at"),
        created_by=doc.get("created_by"), updated_at=doc.get("updated_at"), updated_by=doc.get("updated_by"),
        history=[MathHistory.model_validate(h) for h in doc.get("history") or []] if history else None,
    )


async def listing(res: Resources) -> MathList:
    return MathList(items=[_view(d, False) for _, d in sorted((await _live(res)).items())])


async def one(res: Resources, name: str) -> MathChannel:
    doc = await readmodel.database(res)[mongo.MATH_CHANNELS].find_one({"_id": name, "deleted": {"$ne": True}})
    if doc is None:
        raise not_found(f"no math channel {name!r}")
    return _view(doc, True)

