"""Math channels: derived signals defined once for the team (README: the language).

Stored by ingest (`math.command`): a definition shows in the list within moments of its
answer. A bad expression is refused with its position and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from pitwall.query_api.deps import Editor, Reader, Res
from pitwall.query_api.domain import mathchannels
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error
from pitwall.query_api.mathchannel_models import (
    NAME_PATTERN,
    MathAccepted,
    MathChannel,
    MathCreate,
    MathDefinition,
    MathDeleted,
    MathList,
)

router = APIRouter(prefix="/api/v1/channels/math", tags=["math channels"], responses=AUTH)

Name = Annotated[str, Path(pattern=NAME_PATTERN, description="the channel's name (its key is `math:<name>`)")]
UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "no such math channel"}}


@router.get("", response_model=MathList, summary="Math channels")
async def list_channels(res: Res, who: Reader) -> MathList:
    return await mathchannels.listing(res)


@router.post(
    "", response_model=MathAccepted, status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Error, "description": "a channel of this name exists"}, **INVALID, **UNAVAILABLE},
    summary="Define a math channel (editor)",
)
async def create_channel(body: MathCreate, res: Res, who: Editor) -> MathAccepted:
    """The answer holds the parsed form; a syntax error, an unknown signal reference form or
    function, a wrong argument count or a cycle is a 422 naming the problem and its position."""
    return await mathchannels.create(res, body, who)


@router.get("/{name}", response_model=MathChannel, responses=UNKNOWN, summary="One math channel, with its history")
async def get_channel(name: Name, res: Res, who: Reader) -> MathChannel:
    return await mathchannels.one(res, name)


@router.put(
    "/{name}", response_model=MathAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**UNKNOWN, **INVALID, **UNAVAILABLE}, summary="Change a math channel (editor)",
)
async def update_channel(name: Name, body: MathDefinition, res: Res, who: Editor) -> MathAccepted:
    return await mathchannels.update(res, name, body, who)


@router.delete(
    "/{name}", response_model=MathDeleted, status_code=status.HTTP_202_ACCEPTED,
    responses={**UNKNOWN, **INVALID, **UNAVAILABLE}, summary="Delete a math channel (editor)",
)
async def delete_channel(name: Name, res: Res, who: Editor) -> MathDeleted:
    """Refused while another channel uses it; the history is kept."""
    return await mathchannels.delete(res, name, who)
