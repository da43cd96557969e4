"""Uploads from the web page, the CLI and scripts: the file becomes a run through ingest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from pitwall.common.events import FileUploaded
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Uploader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error, invalid
from pitwall.query_api.models import UploadAccepted
from pitwall.query_api.publishing import publish
from pitwall.query_api.uploads import UploadError, receive

router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=AUTH)

_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary", "description": "an MCAP file"}},
                "required": ["file"],
            }
        }
    },
}


@router.post(
    "/uploads",
    response_model=UploadAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **UNAVAILABLE,
        **INVALID,
        400: {"model": Error, "description": "the upload was cut off"},
        413: {"model": Error, "description": "larger than the configured limit"},
    },
    openapi_extra={"requestBody": _BODY},
    summary="Upload an MCAP file",
)
async def upload(request: Request, res: Annotated[Resources, Depends(resources)], who: Uploader) -> UploadAccepted:
    """Stored in S3 (hashed on the way), then announced to ingest; the run id is the SHA-256.

    `duplicate` is true when this content was uploaded before: no second run is made.
    """
    try:
        received = await receive(request, res.store, res.settings.upload_max_bytes)
    except UploadError as exc:
        if exc.status == 422:
            raise invalid(exc.field, str(exc), location="body") from None
        raise HTTPException(exc.status, str(exc)) from None
    stored = received.stored
    known = await readmodel.runs(res).find_one({"_id": stored.sha256}, {"_id": 1})
    event = FileUploaded(
        sha256=stored.sha256,
        object_key=stored.key,
        size=stored.size,
        filename=received.filename,
        source="web",
        source_id=who.token_id,
        uploader=who.name,
    )
    await publish(res, event)
    return UploadAccepted(
        id=stored.sha256, duplicate=stored.existed or known is not None, size=stored.size,
        filename=received.filename, event_id=event.event_id,
    )
