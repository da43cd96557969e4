"""What the MCAP core and the services promise for ANY input, checked per input.

Shared by the atheris harnesses (`fuzz_*.py`) and the unit test that replays the saved
regression inputs (`tests/unit/test_fuzz_regressions.py`), so a regression file is
judged by exactly the rule that found it. A check returns normally when the input was
handled as documented and raises `ContractBroken` (or lets the unexpected exception
escape) when it was not:

- reader (`read_recording`, `scan_summary`): a `Recording`/`McapInfo` whose shapes are
  consistent, or `McapReadError` (its subclass `NotMcapError` only when the magic is
  missing) with a one-line reason. Damage inside a file is reported in `skipped`.
- wire (the protobuf decode kernel behind `Decoder`): a message the reference parser
  (upb) accepts is kept with the reference's values; one it rejects is dropped.
- services: ingest's `digest_file` returns a `Digest` whose run document BSON can
  store, or raises `Rejected`; the converter's read of a selection (from the signal
  store ingest wrote, or ranged reads of the MCAP itself) plus the export returns a
  file or raises `ExportError`/`ConversionError`.

Inputs are small (the harnesses cap their length), so a reader that runs out of memory
on one ("not enough memory") broke the memory bound and counts as a finding too.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

HERE = Path(__file__).resolve().parent
UNIT = HERE.parent / "unit"
if str(UNIT) not in sys.path:
    sys.path.insert(0, str(UNIT))  # mcapread_fixtures: the schemas every field kind uses

HARNESSES = ("reader", "wire", "services")


class ContractBroken(AssertionError):
    """The input was handled in a way the core does not document."""


def _require(ok: bool, why: str) -> None:
    if not ok:
        raise ContractBroken(why)


# ---------------------------------------------------------------------------------------
# Inputs at the end of a page followed by an inaccessible one: a kernel reading even one
# byte past the input faults at once (the kernels are compiled without bounds checks).

_PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class GuardedBuffer:
    """One reusable mapping: `view(data)` returns `data` ending right at a guard page."""

    def __init__(self, capacity: int = 4 << 20) -> None:
        self.capacity = (capacity + _PAGE - 1) // _PAGE * _PAGE
        self._map = mmap.mmap(-1, self.capacity + _PAGE)
        self._anchor = ctypes.c_char.from_buffer(self._map)  # keeps the address fixed
        base = ctypes.addressof(self._anchor)
        if _libc.mprotect(base + self.capacity, _PAGE, 0) != 0:  # PROT_NONE
            raise OSError(ctypes.get_errno(), "mprotect failed")

    def view(self, data: bytes) -> memoryview | bytes:
        if len(data) > self.capacity:
            return data
        start = self.capacity - len(data)
        self._map[start : self.capacity] = data
        return memoryview(self._map)[start : self.capacity]


_guard: GuardedBuffer | None = None


def guarded(data: bytes) -> memoryview | bytes:
    global _guard
    if _guard is None:
        _guard = GuardedBuffer()
    return _guard.view(data)


# ---------------------------------------------------------------------------------------
# Reader.


def _one_line(exc: BaseException) -> None:
    text = str(exc)
    _require(bool(text) and "\n" not in text, f"{type(exc).__name__} reason is not one line: {text!r}")


def _check_skipped(skipped: list[Any]) -> None:
    for s in skipped:
        _require(s.count >= 0, f"negative count in {s}")
        _require("\n" not in s.reason, f"multi-line reason in {s}")
        _require("not enough memory" not in s.reason, f"a small input ran out of memory: {s}")


def check_recording(rec: Any) -> None:
    total = 0
    for key, tc in rec.topics.items():
        _require(tc.log_time_ns.dtype == np.int64, f"{key}: log times are {tc.log_time_ns.dtype}")
        for path, sig in tc.signals.items():
            _require(
                sig.values.shape[0] == tc.count,
                f"{key}:{path} has {sig.values.shape[0]} rows for {tc.count} messages",
            )
        total += tc.count
    _require(rec.message_count == total, f"message_count {rec.message_count} != rows {total}")
    _require(rec.lost_tail_bytes >= 0, f"lost_tail_bytes {rec.lost_tail_bytes}")
    _check_skipped(rec.skipped)


def _mcap_error(exc: BaseException, data: bytes) -> None:
    from pitwall.common.mcapread import NotMcapError

    _one_line(exc)
    _require("not enough memory" not in str(exc), f"a small input ran out of memory: {exc}")
    if isinstance(exc, NotMcapError):
        _require(data[:8] != b"\x89MCAP0\r\n", f"NotMcapError on a file with the magic: {exc}")


def _selections(data: bytes) -> list[Any]:
    """Selections that take the reader's indexed path (topics, signals, a window).

    Picked from the input's CRC so each input always gets the same ones."""
    from pitwall.common.selection import Selection

    k = zlib.crc32(data)
    choices = [
        Selection(topics="^(legacy|mc1_torque_command_data)$"),
        Selection(signals=("vehicle/telemetry:gps.*", "*:*TTPMS_P", "mouse:*")),
        Selection(start_s=0.05, end_s=0.3),
        Selection(topics="telemetry", signals=("*:d", "*:cells", "*:name"), end_s=1.0),
    ]
    return [choices[k % len(choices)]]


def check_reader(data: bytes) -> None:
    """A whole read, a selected read (indexed when the summary allows) and the scan."""
    from pitwall.common.mcapread import McapReadError, read_recording, scan_summary

    src = guarded(data)
    runs: list[tuple[str, Callable[[], Any]]] = [("full read", lambda: read_recording(src, threads=1))]
    for sel in _selections(data):
        runs.append((f"read of {sel}", lambda sel=sel: read_recording(src, sel, threads=2)))
    runs.append(("scan_summary", lambda: scan_summary(src, threads=1, signals=True)))
    for _what, run in runs:
        try:
            got = run()
        except McapReadError as exc:
            _mcap_error(exc, data)
            continue
        if hasattr(got, "topics"):
            check_recording(got)
        else:
            _require(got.message_count >= 0, f"scan_summary message_count {got.message_count}")
            _require(
                sum(c.message_count for c in got.channels) <= max(got.message_count, 0)
                or got.from_summary,
                "channel counts exceed the message count",
            )
            _check_skipped(got.skipped)


# ---------------------------------------------------------------------------------------
# Wire: the protobuf decode kernel against the reference parser (upb), message by message.


def _wire_setup() -> dict[str, Any]:
    from mcapread_fixtures import JSON_SCHEMA, _fds, proto2_file, proto3_file

    from pitwall.common.mcapread.records import ChannelRecord, SchemaRecord

    schemas = {
        1: SchemaRecord(1, "pw.test.Telemetry", "protobuf", _fds(proto3_file())),
        2: SchemaRecord(2, "pw.legacy.Legacy", "protobuf", _fds(proto2_file())),
        3: SchemaRecord(3, "Mouse", "jsonschema", json.dumps(JSON_SCHEMA).encode()),
    }
    # Channel 3 (JSON) is for the property tests; fuzz inputs name channels 1 and 2.
    channels = {
        1: ChannelRecord(1, 1, "telemetry", "protobuf", {}),
        2: ChannelRecord(2, 2, "legacy", "protobuf", {}),
        3: ChannelRecord(3, 3, "mouse", "json", {}),
    }
    return {"schemas": schemas, "channels": channels, "classes": _oracle_classes()}


def _oracle_classes() -> dict[int, Any]:
    """The reference messages, with the fields the reader does not export made `bytes`.

    The kernel skips such a field (repeated message, map, repeated string) by its length
    without looking inside (`_kernels.decode_messages`: "skip by wire type"), so damage
    in there does not drop the message; upb would parse it and refuse the whole message.
    As bytes, upb treats them as the kernel does, and everything else is compared.
    """
    from google.protobuf import descriptor_pb2 as d
    from google.protobuf import descriptor_pool, message_factory
    from mcapread_fixtures import proto2_file, proto3_file

    F = d.FieldDescriptorProto
    pool = descriptor_pool.DescriptorPool()
    for fd in (proto3_file(), proto2_file()):
        for m in fd.message_type:
            for f in m.field:
                opaque = f.label == F.LABEL_REPEATED and f.type in (F.TYPE_MESSAGE, F.TYPE_STRING)
                if opaque:
                    f.type = F.TYPE_BYTES
                    f.ClearField("type_name")
        pool.Add(fd)
    return {
        1: message_factory.GetMessageClass(pool.FindMessageTypeByName("pw.test.Telemetry")),
        2: message_factory.GetMessageClass(pool.FindMessageTypeByName("pw.legacy.Legacy")),
    }


_wire: dict[str, Any] | None = None


def wire_messages(data: bytes) -> list[tuple[int, bytes]]:
    """(channel, payload) pairs from a fuzz input: [channel byte, u16 length, payload]*."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 3 <= len(data) and len(out) < 64:
        cid = 1 + data[pos] % 2
        (n,) = struct.unpack_from("<H", data, pos + 1)
        payload = data[pos + 3 : pos + 3 + n]
        out.append((cid, payload))
        pos += 3 + len(payload)
    return out


def wire_input(messages: list[tuple[int, bytes]]) -> bytes:
    """The inverse of `wire_messages` (seeds and property tests build inputs with it)."""
    return b"".join(bytes([cid - 1]) + struct.pack("<H", len(p)) + p for cid, p in messages)


def decode_payloads(messages: list[tuple[int, bytes]], selection: Any = None) -> Any:
    """Run the real `Decoder` over the payloads (one batch, threads=1) into a `Recording`."""
    from pitwall.common.columns import Recording
    from pitwall.common.mcapread.container import Batch, Definitions, Messages
    from pitwall.common.mcapread.decode import Decoder
    from pitwall.common.selection import Selection

    global _wire
    if _wire is None:
        _wire = _wire_setup()
    defs = Definitions(schemas=dict(_wire["schemas"]), channels=dict(_wire["channels"]))
    arena = np.frombuffer(guarded(b"".join(p for _, p in messages)), np.uint8)
    lengths = np.array([len(p) for _, p in messages], np.int64)
    offsets = np.cumsum(lengths) - lengths
    msgs = Messages(
        np.array([c for c, _ in messages], np.uint16),
        np.arange(1, len(messages) + 1, dtype=np.int64),
        offsets.astype(np.int64),
        lengths,
    )
    skipped: list[Any] = []
    dec = Decoder(defs, selection or Selection(), skipped, None, 1, {})
    dec.feed(Batch(arena, msgs, [], [], 1.0))
    topics = dec.finish(1, None)
    rec = Recording(topics=topics, origin_ns=1, skipped=skipped,
                    message_count=sum(t.count for t in topics.values()))  # fmt: skip
    return rec


def reference(messages: list[tuple[int, bytes]]) -> Any:
    """The upb decode of the payloads it accepts, as `mcapread_fixtures.Official`."""
    from mcapread_fixtures import Official

    global _wire
    if _wire is None:
        _wire = _wire_setup()
    topics: dict[str, list[tuple[int, Any]]] = {}
    enc: dict[str, str] = {}
    for i, (cid, payload) in enumerate(messages, 1):
        channel = _wire["channels"][cid]
        try:
            if channel.message_encoding == "json":
                value = json.loads(payload)
                if not isinstance(value, dict):
                    continue
            else:
                value = _wire["classes"][cid].FromString(payload)
        except (DecodeError, ValueError, RecursionError):  # upb's refusal, bad JSON or UTF-8, deep nesting
            continue
        topics.setdefault(channel.topic, []).append((i, value))
        enc[channel.topic] = channel.message_encoding
    return Official(topics, enc, sum(len(v) for v in topics.values()), 1)


def check_wire(data: bytes) -> None:
    from mcapread_fixtures import assert_matches_official

    messages = wire_messages(data)
    if not messages:
        return
    rec = decode_payloads(messages)
    check_recording(rec)
    ref = reference(messages)
    for topic in set(rec.topics) | set(ref.topics):
        ours = rec.topics[topic].log_time_ns.tolist() if topic in rec.topics else []
        theirs = [t for t, _ in ref.topics.get(topic, [])]
        _require(
            ours == theirs,
            f"{topic}: kept messages {ours} but the reference parser accepts {theirs}",
        )
    ref.topics = {t: rows for t, rows in ref.topics.items() if rows}
    rec.topics = {t: tc for t, tc in rec.topics.items() if tc.count}
    try:
        assert_matches_official(rec, ref)
    except AssertionError as exc:
        raise ContractBroken(f"decoded values differ from the reference parser: {exc}") from exc


# ---------------------------------------------------------------------------------------
# Services: ingest's digest of an uploaded file, the converter's export of a selection.

_work: Path | None = None


def _workdir() -> Path:
    global _work
    if _work is None:
        _work = Path(tempfile.mkdtemp(prefix="pitwall-fuzz-"))
    return _work


class _BytesRange:
    """An object store's ranged GETs over bytes (the converter's S3RangeSource)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.name = "<fuzz-object>"

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


def check_services(data: bytes) -> None:
    import bson

    from pitwall.common import signalstore
    from pitwall.common.events import FileUploaded
    from pitwall.common.mcapread import McapReadError, read_recording
    from pitwall.export import resample
    from pitwall.export.recording import ExportError, ExportParams, export_recording
    from pitwall.ingest.documents import run_document
    from pitwall.ingest.ingestor import Rejected, digest_file

    # Inputs run under an address-space cap of 1.5 GB over the baseline: the converter's
    # resampling budget is scaled down to fit inside it, so a grid over budget must be
    # refused by the budget (ExportError), never by a MemoryError.
    resample.MAX_RESAMPLED_BYTES = 256 * 1024**2
    work = _workdir()
    path = work / "upload.mcap"
    path.write_bytes(data)
    k = zlib.crc32(data)
    store: dict[str, bytes] = {}
    # A budget below the file's size makes ingest plan passes over groups of topics.
    budget = 256 << 20 if k & 1 else max(len(data), 1)
    digest = None
    try:
        digest = digest_file(str(path), store.__setitem__, "run", budget)
    except Rejected as exc:
        # the reason quotes topic names from the file, which may hold newlines
        _one_line(exc)
    if digest is not None:
        sha = "0" * 64
        event = FileUploaded(sha256=sha, object_key=f"mcap/{sha}", size=len(data), filename="f.mcap")
        doc = run_document(digest, event)
        try:
            bson.encode(doc)
            for s in digest.stats:
                bson.encode({"run_id": sha, **s})
        except Exception as exc:  # bson's own errors (e.g. an int past 64 bits)
            raise ContractBroken(f"the run document cannot be stored: {exc!r}") from exc
        json.dumps(signalstore.manifest(digest.file, []))
    sel = _selections(data)[0]
    fmt = ("mat", "csv", "parquet", "mat73")[(k >> 1) % 4]
    out = work / f"export.{ {'mat73': 'mat'}.get(fmt, fmt)}"
    params = ExportParams(format=fmt, resample_hz=10.0 if k & 8 else None, topics=sel.topics,
                          signals=sel.signals, start_s=sel.start_s, end_s=sel.end_s)  # fmt: skip
    recs = []
    if digest is not None:
        # The converter reads the signal store ingest wrote when there is one ...
        recs.append(signalstore.read_recording(store.__getitem__, "run", sel))
    try:
        # ... and the MCAP object itself (ranged reads) when there is not.
        recs.append(read_recording(_BytesRange(data), sel))
    except McapReadError as exc:
        _mcap_error(exc, data)
    for rec in recs:
        check_recording(rec)
        if not any(t.signals for t in rec.topics.values()):
            continue  # the converter fails such a job with ConversionError itself
        try:
            export_recording(rec, out, params, source_name="f.mcap", source_sha256=None)
        except ExportError as exc:
            _one_line(exc)


CHECKS: dict[str, Callable[[bytes], None]] = {
    "reader": check_reader,
    "wire": check_wire,
    "services": check_services,
}
