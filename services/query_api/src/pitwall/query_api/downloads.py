"""Stored objects streamed through the API (the original MCAP, an export's file): for
clients that cannot reach S3 directly."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from pitwall.query_api.resources import Resources

CHUNK = 1024 * 1024


def content_disposition(filename: str) -> str:
    # Header values are latin-1: an ASCII fallback plus the RFC 5987 UTF-8 form.
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def stream_object(
    res: Resources, bucket: str, key: str, filename: str, media_type: str
) -> StreamingResponse:
    size = await asyncio.to_thread(res.store.size, bucket, key)
    return StreamingResponse(
        res.store.iter_object(bucket, key, chunk=CHUNK),
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename), "Content-Length": str(size)},
    )
