"""Receiving an upload: the multipart body streamed into S3 while it is hashed.

Starlette's own form parsing writes the whole file to a temporary file before the
handler runs; here the `file` part is parsed as it arrives and handed to
`ObjectStore.put_mcap_stream` in a worker thread through a small bounded pipe, so the
upload is hashed and stored while the client is still sending, memory stays at a few
MiB whatever the file size, and a non-MCAP or oversized upload is refused as soon as it
shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import queue
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO, cast

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from pitwall.common.contracts.errorcodes import ErrorCode, code_for_status
from pitwall.common.contracts.mcap import MAGIC
from pitwall.common.storage import ObjectStore, StoredObject, TooLarge

FIELD = "file"
# Room for the multipart framing around the file when comparing Content-Length.
_ENVELOPE = 64 * 1024


class UploadError(Exception):
    """A refused upload: its status, its code (default: from the status) and the field to name."""

    def __init__(self, status: int, message: str, field: str = FIELD, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.code = code or code_for_status(status)


NOT_MCAP = "not an MCAP file (it does not start with the MCAP magic bytes)"


class _Aborted(Exception):
    pass


class Pipe(io.RawIOBase):
    """Bytes put by the event loop, read by one worker thread.

    Bounded by bytes, not chunks (a socket read can be 256 KiB): the writer waits
    while more than `max_buffered` bytes are in flight, which also slows the client
    down to the speed of the S3 side instead of buffering its upload.
    """

    _EOF = b""

    def __init__(self, max_buffered: int = 2 * 1024 * 1024) -> None:
        super().__init__()
        self.max_buffered = max_buffered
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._buffered = 0
        self._lock = threading.Lock()
        self._left = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._left:
            if self._eof:
                return 0
            item = self._queue.get()
            if item is None:
                raise _Aborted("upload aborted")
            if item == self._EOF:
                self._eof = True
                return 0
            self._left = memoryview(item)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        with self._lock:
            self._buffered -= n
        return n

    async def put(self, data: bytes, worker: asyncio.Future[StoredObject]) -> None:
        while self._buffered > self.max_buffered:
            if worker.done():
                worker.result()  # re-raise what stopped the reader
                return
            await asyncio.sleep(0.001)
        with self._lock:
            self._buffered += len(data)
        self._queue.put(data)

    def abort(self) -> None:
        # The reader must see the abort even behind data it will never read.
        self._queue.put(None)
        with self._lock:
            self._buffered = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break


@dataclass(slots=True)
class Received:
    stored: StoredObject
    filename: str


def _safe_filename(raw: str | None) -> str:
    name = PureWindowsPath(PurePosixPath(raw or "").name).name.strip()
    name = "".join(c for c in name if c.isprintable())[:255]
    return name or "upload.mcap"


class _PartState:
    def __init__(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.is_file = False
        self.done_file = False
        self.filename: str | None = None
        self.pending: list[bytes] = []


async def receive(request: Request, store: ObjectStore, max_bytes: int) -> Received:
    ctype, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(422, "send the file as multipart/form-data with the field `file`")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + _ENVELOPE:
        raise UploadError(413, f"the file is larger than the limit of {max_bytes} bytes")

    state = _PartState()
    seen_files = 0

    def on_part_begin() -> None:
        state.disposition = b""

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        if state.header_name.strip().lower() == b"content-disposition":
            state.disposition = state.header_value
        state.header_name = state.header_value = b""

    def on_headers_finished() -> None:
        nonlocal seen_files
        _, opts = parse_options_header(state.disposition)
        state.is_file = opts.get(b"name") == FIELD.encode() and seen_files == 0
        if state.is_file:
            seen_files += 1
            state.filename = opts.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.is_file:
            state.pending.append(bytes(data[start:end]))

    def on_part_end() -> None:
        if state.is_file:
            state.is_file = False
            state.done_file = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    pipe = Pipe()
    worker: asyncio.Future[StoredObject] | None = None
    head = b""
    size = 0
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own error types
                raise UploadError(422, f"malformed multipart body: {exc}") from exc
            for piece in state.pending:
                size += len(piece)
                if size > max_bytes:
                    raise UploadError(413, f"the file is larger than the limit of {max_bytes} bytes")
                if len(head) < len(MAGIC):
                    head += piece[: len(MAGIC) - len(head)]
                    if len(head) == len(MAGIC) and head != MAGIC:
                        raise UploadError(422, NOT_MCAP, code=ErrorCode.NOT_MCAP)
                if worker is None:
                    storing = asyncio.to_thread(store.put_mcap_stream, cast(IO[bytes], pipe), max_bytes=max_bytes)
                    worker = asyncio.ensure_future(storing)
                await pipe.put(piece, worker)
            state.pending.clear()
        parser.finalize()
        if not state.done_file and seen_files == 0:
            raise UploadError(422, "the form has no `file` field")
        if head != MAGIC:
            raise UploadError(422, NOT_MCAP, code=ErrorCode.NOT_MCAP)
        assert worker is not None
        await pipe.put(Pipe._EOF, worker)
        stored = await worker
        return Received(stored, _safe_filename(state.filename))
    except ClientDisconnect:
        raise UploadError(400, "the client went away before the upload finished", code=ErrorCode.CLIENT_GONE) from None
    except TooLarge as exc:
        raise UploadError(413, str(exc)) from None
    finally:
        if worker is not None and not worker.done():
            pipe.abort()
            with contextlib.suppress(Exception):
                await worker
