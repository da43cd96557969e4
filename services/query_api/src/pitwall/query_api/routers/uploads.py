"""Uploads from the web page, the CLI and scripts: the file becomes a run through ingest."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from pitwall.query_api.deps import Res, Uploader
from pitwall.query_api.domain import uploads as domain
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error
from pitwall.query_api.models import UploadAccepted

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
async def upload(request: Request, res: Res, who: Uploader) -> UploadAccepted:
    """Stored in S3 (hashed on the way), then announced to ingest; the run id is the SHA-256.

    `duplicate` is true when this content was uploaded before: no second run is made.
    """
    return await domain.upload(res, request, who)
