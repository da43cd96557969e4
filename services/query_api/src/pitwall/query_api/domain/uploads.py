"""Uploads from the web page, the CLI and scripts: stored in S3 while it arrives (hashed on
the way, `pitwall.query_api.uploads`), then announced to ingest as `file.uploaded`."""

from __future__ import annotations

from fastapi import Request

from pitwall.common.events import FileUploaded
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain.runs import is_known
from pitwall.query_api.errors import ApiError, invalid
from pitwall.query_api.models import UploadAccepted
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources
from pitwall.query_api.uploads import UploadError, receive


async def upload(res: Resources, request: Request, who: Principal) -> UploadAccepted:
    """The request's file stored and announced; `duplicate` when the content was known."""
    try:
        received = await receive(request, res.store, res.settings.upload_max_bytes)
    except UploadError as exc:
        if exc.status == 422:
            raise invalid(exc.field, str(exc), location="body", code=exc.code) from None
        raise ApiError(exc.status, str(exc), exc.code) from None
    stored = received.stored
    known = await is_known(res, stored.sha256)
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
        id=stored.sha256, duplicate=stored.existed or known, size=stored.size,
        filename=received.filename, event_id=event.event_id,
    )
