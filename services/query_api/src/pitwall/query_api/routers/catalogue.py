"""The channel catalogue: CAN descriptions (sources), edits per signal key, search.

Sources and edits are stored by ingest (`catalogue.command` events): the answers are 202
and the change shows within moments.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from pydantic import WithJsonSchema

from pitwall.query_api.catalogue_models import (
    KEY_PATTERN,
    CatalogueEdit,
    CatalogueSearch,
    CatalogueSignal,
    EditAccepted,
    RenameList,
    SourceAdded,
    SourceDeleted,
    SourceList,
)
from pitwall.query_api.deps import Editor, Reader, Res
from pitwall.query_api.domain import catalogue
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"], responses=AUTH)

Key = Annotated[str, Path(pattern=KEY_PATTERN, max_length=500, description="`topic:path`")]


@router.get("/sources", response_model=SourceList, summary="CAN descriptions loaded")
async def list_sources(res: Res, who: Reader) -> SourceList:
    """Every CAN description loaded, newest upload first (deleted ones are listed as such)."""
    return await catalogue.sources(res)


@router.post(
    "/sources", response_model=SourceAdded, status_code=status.HTTP_202_ACCEPTED,
    responses={400: {"model": Error, "description": "the body is not a readable multipart form"},
               **INVALID, **UNAVAILABLE},
    summary="Load a CAN description (editor)",
)
async def add_source(
    res: Res, who: Editor,
    file: Annotated[UploadFile, File(description="a SYM, DBC, KCD or ARXML file")],
    # A multipart form has no null: the schema says "a date, or leave the field out".
    valid_from: Annotated[
        date | None, WithJsonSchema({"type": "string", "format": "date"}),
        Form(description="first recording day it applies to (ISO date); left out: always"),
    ] = None,
) -> SourceAdded:
    """A run takes, for each signal, the latest source whose `valid_from` is not after the
    run's recording start. The answer counts what the file holds and how many signal keys of
    existing runs it names (`matched`); `changed_keys` lists what it overrides in a source of
    the same date."""
    data = await file.read(catalogue.MAX_SOURCE_BYTES + 1)
    return await catalogue.add_source(res, data, file.filename or "upload", valid_from, who)


@router.delete(
    "/sources/{source_id}", response_model=SourceDeleted, status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"model": Error, "description": "no live source with this id"}, **UNAVAILABLE},
    summary="Delete a CAN description (editor)",
)
async def delete_source(
    res: Res, who: Editor, source_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
) -> SourceDeleted:
    """Runs stop taking facts from it; it stays listed as deleted."""
    return await catalogue.delete_source(res, source_id, who)


@router.get("/signals", response_model=CatalogueSearch, summary="Search the catalogue")
async def search_signals(
    res: Res, who: Reader,
    q: Annotated[str | None, Query(max_length=200, description="words of a key, display name or description")] = None,
) -> CatalogueSearch:
    """Signals of existing runs and edited keys, as the newest source describes them."""
    return await catalogue.search(res, q)


@router.get(
    "/signals/{key}", response_model=CatalogueSignal,
    responses={404: {"model": Error, "description": "a key no run has and nothing describes"}},
    summary="One signal key: what the catalogue says, and its edits",
)
async def get_signal(res: Res, who: Reader, key: Key) -> CatalogueSignal:
    return await catalogue.signal(res, key)


@router.put(
    "/signals/{key}", response_model=EditAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **UNAVAILABLE}, summary="Edit a signal's unit, description, name, states (editor)",
)
async def edit_signal(res: Res, who: Editor, key: Key, body: CatalogueEdit) -> EditAccepted:
    """An edit wins over every source; fields left out are kept, null clears. `renamed_to`
    declares that the key was renamed: either name then finds the signal in any run."""
    return await catalogue.edit(res, key, body, who)


@router.get("/renames", response_model=RenameList, summary="Declared renames (old key -> new key)")
async def list_renames(res: Res, who: Reader) -> RenameList:
    return await catalogue.renames(res)
