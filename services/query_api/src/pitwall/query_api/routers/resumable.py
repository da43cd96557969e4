"""The base station's upload protocol: which files are runs, and resumable uploads
(S3 multipart: the gateway holds nothing; see `pitwall.query_api.domain.resumable`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, status

from pitwall.query_api.deps import Res, Uploader
from pitwall.query_api.domain import resumable, runs
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error
from pitwall.query_api.models import (
    LookupRequest,
    LookupResponse,
    PartInfo,
    ResumableComplete,
    ResumableOpen,
    ResumableState,
    UploadAccepted,
    UploadId,
)

router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=AUTH)

ShaPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole file")]
MAX_PARTS = 10_000  # S3's limit

_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": Error, "description": "larger than the configured limit (or a part larger than `part_size`)"}
}
_UNKNOWN_UPLOAD: dict[int | str, dict[str, Any]] = {
    404: {"model": Error, "description": "S3 does not know this upload (finished, aborted or expired): open again"}
}
_STORAGE: dict[int | str, dict[str, Any]] = {
    503: {"model": Error, "description": "the object store or the message broker is not reachable; retry"}
}
_PART_BODY = {
    "required": True,
    "content": {
        "application/octet-stream": {
            "schema": {"type": "string", "format": "binary", "description": "the part's bytes"},
        },
    },
}


@router.post(
    "/runs/lookup", response_model=LookupResponse, responses=INVALID, tags=["runs"],
    summary="Which of these files are runs",
)
async def lookup(body: LookupRequest, res: Res, who: Uploader) -> LookupResponse:
    """One round trip for a station's whole journal: the state of every hash that is a
    run (`ready`, `recovered`, `rejected` with its reason), and the hashes that are not."""
    return await runs.lookup(res, body.sha256)


@router.post(
    "/uploads/resumable", response_model=ResumableState, responses={**INVALID, **_TOO_LARGE, **_STORAGE},
    summary="Open (or resume) a resumable upload",
)
async def open_upload(body: ResumableOpen, res: Res, who: Uploader) -> ResumableState:
    """The upload id to send parts to and the parts S3 holds already. A live `upload_id`
    from an earlier open is kept (send only what `parts` lacks); an unknown one is
    replaced by a new id. `stored: true`: the file is in the cloud already, call
    `complete` (with `upload_id: null`) to announce it."""
    return await resumable.open_upload(res, body)


@router.put(
    "/uploads/resumable/{sha256}/{upload_id}/{part}", response_model=PartInfo,
    responses={
        **INVALID, **_TOO_LARGE, **_UNKNOWN_UPLOAD, **_STORAGE,
        400: {"model": Error, "description": "the part was cut off"},
    },
    openapi_extra={"requestBody": _PART_BODY}, summary="Send one part",
)
async def put_part(
    request: Request,
    sha256: ShaPath,
    upload_id: Annotated[UploadId, Path(description="from open")],
    part: Annotated[int, Path(ge=1, le=MAX_PARTS, description="1-based part number")],
    res: Res,
    who: Uploader,
    x_part_sha256: Annotated[
        str | None,
        Header(alias="X-Part-SHA256", pattern=r"^[0-9a-fA-F]{64}$",
               description="SHA-256 of this part, checked when given"),
    ] = None,
) -> PartInfo:
    """`part_size` bytes (the last part shorter), raw (`application/octet-stream`).
    Part 1 must start with the MCAP magic bytes. Sending a part again is harmless."""
    data = await resumable.read_part(request)
    return await resumable.put_part(res, sha256, upload_id, part, data, x_part_sha256)


@router.post(
    "/uploads/resumable/{sha256}/complete", response_model=UploadAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **_TOO_LARGE, **_UNKNOWN_UPLOAD, **UNAVAILABLE, **_STORAGE},
    summary="Finish a resumable upload: check, store, announce",
)
async def complete(sha256: ShaPath, body: ResumableComplete, res: Res, who: Uploader) -> UploadAccepted:
    """S3 assembles the parts; the gateway reads them back and checks the SHA-256 (a
    mismatch discards the upload: 422), stores the file under its hash and announces it
    (`file.uploaded`, `source: basestation`). Repeating it once the file is stored only
    announces it again: with the same `event_id`, ingest drops the repeat (one run)."""
    return await resumable.complete(res, sha256, body, who)
