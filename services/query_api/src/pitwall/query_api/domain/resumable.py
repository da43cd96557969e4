"""The base station's resumable uploads: S3 multipart uploads under `incoming/<sha256>.mcap`
(`pitwall.common.storage.ResumableStaging`).

S3 holds the parts, the gateway holds nothing, so a station cut off mid-file continues
from its last whole part on any replica. `complete` assembles the parts, reads them back
to check the SHA-256, moves the object to `mcap/<sha256>.mcap` and announces it like any
upload.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from fastapi import HTTPException, Request, status
from minio.error import S3Error
from starlette.requests import ClientDisconnect

from pitwall.common.contracts.errorcodes import ErrorCode
from pitwall.common.contracts.mcap import has_magic
from pitwall.common.events import FileUploaded
from pitwall.common.storage import (
    RESUMABLE_PART_SIZE,
    ConflictingParts,
    NoSuchUpload,
    ResumableStaging,
    StagedPart,
    mcap_key,
)
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain.runs import is_known
from pitwall.query_api.errors import ApiError, invalid, rule
from pitwall.query_api.models import (
    PartInfo,
    ResumableComplete,
    ResumableOpen,
    ResumableState,
    UploadAccepted,
)
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources
from pitwall.query_api.uploads import NOT_MCAP, _safe_filename

T = TypeVar("T")


async def _s3(fn: Callable[..., T], *args: Any) -> T:
    """A storage call in a worker thread (the minio SDK is synchronous); 503 when S3 is away."""
    try:
        return await asyncio.to_thread(fn, *args)
    except (NoSuchUpload, ConflictingParts):
        raise
    except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the object store did not answer ({type(exc).__name__}); try again",
            ErrorCode.STORAGE_UNAVAILABLE, headers={"Retry-After": "5"},
        ) from exc


def _stored_size(res: Resources, sha256: str) -> int | None:
    """Size of `mcap/<sha256>.mcap`, or None when it is not stored."""
    try:
        found = res.store.client.stat_object(res.settings.bucket_mcap, mcap_key(sha256))
        return int(found.size or 0)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"):
            return None
        raise


def _too_large(res: Resources, size: int) -> None:
    limit = res.settings.upload_max_bytes
    if size > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"the file is larger than the limit of {limit} bytes"
        )


def _unknown_upload(upload_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"unknown upload {upload_id!r} (finished, aborted or expired): open the upload again "
        "and send the parts it lists as missing",
    )


async def open_upload(res: Resources, body: ResumableOpen) -> ResumableState:
    """The live upload to send parts to and the parts S3 holds (or `stored`: no upload needed)."""
    _too_large(res, body.size)
    if await _s3(_stored_size, res, body.sha256) is not None:
        return ResumableState(upload_id=None, part_size=RESUMABLE_PART_SIZE, parts=[], stored=True)
    staging = ResumableStaging(res.store)
    upload_id = await _s3(staging.open, body.sha256, body.upload_id)
    try:
        parts = await _s3(staging.parts, body.sha256, upload_id)
    except (NoSuchUpload, ConflictingParts):  # aborted in between by another open: none held
        parts = []
    return ResumableState(
        upload_id=upload_id, part_size=RESUMABLE_PART_SIZE,
        parts=[PartInfo(number=p.number, size=p.size) for p in parts], stored=False,
    )


async def read_part(request: Request, limit: int = RESUMABLE_PART_SIZE) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (never buffered beyond)."""
    too_large = f"a part is at most {limit} bytes (part_size)"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    buf = bytearray()
    try:
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > limit:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    except ClientDisconnect:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the client went away before the part was sent"
        ) from None
    return bytes(buf)


async def put_part(
    res: Resources, sha256: str, upload_id: str, part: int, data: bytes, part_sha256: str | None
) -> PartInfo:
    """Store one part: never empty, part 1 starts with the MCAP magic, and it matches
    `part_sha256` when one is given."""
    if not data:
        raise invalid("body", "a part can't be empty", location="body")
    if part == 1 and not has_magic(data):
        raise invalid("body", NOT_MCAP, location="body", code=ErrorCode.NOT_MCAP)
    if part_sha256 is not None and hashlib.sha256(data).hexdigest() != part_sha256.lower():
        raise rule(
            "X-Part-SHA256",
            "the part does not match its SHA-256 (damaged on the way?): send it again",
            location="header",
        )
    staging = ResumableStaging(res.store)
    try:
        stored = await _s3(staging.put_part, sha256, upload_id, part, data)
    except NoSuchUpload:
        raise _unknown_upload(upload_id) from None
    return PartInfo(number=stored.number, size=stored.size)


def _check_parts(parts: list[StagedPart], size: int) -> list[StagedPart]:
    """The parts 1..n that make a file of `size` bytes, or a 422 saying what is wrong."""
    n = -(-size // RESUMABLE_PART_SIZE)
    by_number = {p.number: p for p in parts}
    missing = [i for i in range(1, n + 1) if i not in by_number]
    if missing:
        more = f" … ({len(missing)} in all)" if len(missing) > 20 else ""
        shown = ", ".join(map(str, missing[:20])) + more
        raise rule("parts", f"parts missing: {shown} (of {n} for {size} bytes)", location="body")
    wrong = []
    for i in range(1, n + 1):
        expected = RESUMABLE_PART_SIZE if i < n else size - (n - 1) * RESUMABLE_PART_SIZE
        if by_number[i].size != expected:
            wrong.append(f"part {i} has {by_number[i].size} bytes, expected {expected}")
    if wrong:
        again = ": open a new upload (no upload_id) and send every part again"
        raise rule("parts", "; ".join(wrong[:5]) + again, location="body")
    # Parts past the end (a wrong size sent earlier) are left out of the object.
    return [by_number[i] for i in range(1, n + 1)]


async def _assemble(res: Resources, sha256: str, body: ResumableComplete) -> None:
    """Assemble the upload's parts (or take an already assembled staging object), check
    the SHA-256 of what S3 holds, and move it to `mcap/<sha256>.mcap`."""
    staging = ResumableStaging(res.store)
    parts: list[StagedPart] | None = None
    if body.upload_id is not None:
        try:
            parts = await _s3(staging.parts, sha256, body.upload_id)
        except NoSuchUpload:
            # Finished already? A crash between assembling and moving leaves the staging object.
            parts = None
        except ConflictingParts as exc:
            await _s3(staging.discard, sha256, body.upload_id)
            raise rule(
                "parts",
                f"{exc}: the upload was discarded; open a new one (no upload_id) "
                "and send every part again",
                location="body",
            ) from None
    if parts is not None:
        assert body.upload_id is not None
        use = _check_parts(parts, body.size)
        try:
            await _s3(staging.assemble, sha256, body.upload_id, use)
        except NoSuchUpload:
            pass  # a concurrent complete assembled it: check what is staged
        except HTTPException as exc:
            cause = exc.__cause__
            refused = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall")
            if isinstance(cause, S3Error) and cause.code in refused:
                await _s3(staging.discard, sha256, body.upload_id)
                raise rule(
                    "parts",
                    f"S3 refused the parts ({cause.code}): "
                    "open a new upload and send every part again",
                    location="body",
                ) from None
            raise
    if not await _s3(staging.staged_exists, sha256):
        if body.upload_id is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                "nothing was uploaded under this SHA-256: open an upload first",
            )
        raise _unknown_upload(body.upload_id)
    size, digest = await _s3(staging.staged_sha256, sha256)
    if (size, digest) != (body.size, sha256):
        await _s3(staging.discard, sha256)
        raise rule(
            "sha256",
            f"content does not match its SHA-256: got {digest[:12]}… for {size} bytes "
            f"(expected {body.size}); "
            "the upload was discarded, open a new one and send every part again",
            location="path",
        )
    await _s3(staging.promote, sha256, size)


async def complete(
    res: Resources, sha256: str, body: ResumableComplete, who: Principal
) -> UploadAccepted:
    """Assemble and check the file unless it is stored already, then announce it
    (`file.uploaded`, `source: basestation`, with the station's `event_id` when given)."""
    _too_large(res, body.size)
    filename = _safe_filename(body.filename)
    stored_size = await _s3(_stored_size, res, sha256)
    existed = stored_size is not None
    if stored_size is None:
        await _assemble(res, sha256, body)
    elif stored_size != body.size:
        raise rule(
            "size",
            f"the file with this SHA-256 is stored with {stored_size} bytes, not {body.size}",
            location="body",
        )
    known = await is_known(res, sha256)
    event = FileUploaded(
        sha256=sha256, object_key=mcap_key(sha256), size=body.size, filename=filename,
        source="basestation", source_id=body.source_id, uploader=who.name,
        **({"event_id": body.event_id} if body.event_id else {}),
    )
    await publish(res, event)
    return UploadAccepted(id=sha256, duplicate=existed or known, size=body.size, filename=filename,
                          event_id=event.event_id)
