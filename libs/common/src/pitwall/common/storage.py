"""S3 (MinIO API) storage: content-addressed MCAP objects, exports, signal store, backups.

The minio SDK is synchronous; async callers wrap calls in `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, BinaryIO

import urllib3
from minio import Minio
from minio.error import S3Error

from pitwall.common.settings import Settings

CHUNK = 8 * 1024 * 1024


# Every object key is made by one of the functions below, from parts they validate:
# a key can never be steered by input (no "../", no "/" in a part, no other prefix).
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REQUEST_HASH = re.compile(r"[0-9a-f]{32}")
_EXPORT_NAME = re.compile(r"[\w.-]{1,255}")  # \w: letters and digits of any script, and _


class InvalidKey(ValueError):
    """A key part that is not what it must be (query_api answers 422 with this message)."""


def checked_sha256(value: object) -> str:
    """`value` when it is a SHA-256 as pitwall writes it (64 lowercase hex digits)."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InvalidKey(f"not a SHA-256 (64 lowercase hex digits): {str(value)[:80]!r}")
    return value


def mcap_key(sha256: str) -> str:
    """The original file of run `sha256` (content-addressed: the key is its hash)."""
    return f"mcap/{checked_sha256(sha256)}.mcap"


def staging_key(sha256: str) -> str:
    """Where a resumable upload is assembled before its hash is checked (never read by ingest)."""
    return f"incoming/{checked_sha256(sha256)}.mcap"


def signals_prefix(sha256: str) -> str:
    """The folder of run `sha256` in the signals bucket (`pitwall.common.signalstore` layout)."""
    return checked_sha256(sha256)


def export_key(request_hash: str, name: str) -> str:
    """An export's file: the request's hash (32 hex digits) and a plain file name."""
    if not isinstance(request_hash, str) or not _REQUEST_HASH.fullmatch(request_hash):
        raise InvalidKey(f"not an export request hash (32 lowercase hex digits): {str(request_hash)[:80]!r}")
    if not isinstance(name, str) or not _EXPORT_NAME.fullmatch(name) or not name.strip("."):
        raise InvalidKey(f"not a plain file name (letters, digits, '_', '-', '.'; not only dots): {str(name)[:80]!r}")
    return f"exports/{request_hash}/{name}"


# S3 needs every part but the last to be at least 5 MiB; 8 MiB is what a track-side
# link can resend in a few seconds when a part is cut off.
RESUMABLE_PART_SIZE = 8 * 1024 * 1024
# A single S3 copy takes up to 5 GiB; larger staged files are copied part by part.
_MAX_SINGLE_COPY = 5 * 1024**3


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    existed: bool


class TooLarge(ValueError):
    pass


class ObjectStore:
    def __init__(self, settings: Settings, client: Minio | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def ensure_buckets(self) -> None:
        for bucket in self.settings.buckets:
            if not self.client.bucket_exists(bucket):
                try:
                    self.client.make_bucket(bucket)
                except S3Error as exc:  # another service created it first
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    def ping(self) -> None:
        self.client.bucket_exists(self.settings.bucket_mcap)

    # -- MCAP, content addressed ---------------------------------------------------
    def put_mcap_stream(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StoredObject:
        """Store an MCAP from a stream under `mcap/<sha256>.mcap`.

        The hash is computed while streaming into a spooled temporary file (memory up to
        8 MiB, disk beyond), because the key depends on the hash and is only known at
        the end; the object is then uploaded in parts. Never the whole file in memory.
        """
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=CHUNK, dir=_tmp_dir(self.settings)) as spool:
            while True:
                block = stream.read(CHUNK)
                if not block:
                    break
                size += len(block)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(f"file is larger than the limit of {max_bytes} bytes")
                digest.update(block)
                spool.write(block)
            sha = digest.hexdigest()
            key = mcap_key(sha)
            if self.exists(self.settings.bucket_mcap, key):
                return StoredObject(key, sha, size, existed=True)
            spool.seek(0)
            self.client.put_object(
                self.settings.bucket_mcap, key, spool, length=size,  # type: ignore[arg-type]
                # One 8 MiB part in flight: uploads stay small in memory (the 1 GB
                # instance), and the network is the limit anyway.
                content_type="application/x-mcap", part_size=8 * 1024 * 1024, num_parallel_uploads=1,
                metadata={"sha256": sha},
            )
        return StoredObject(key, sha, size, existed=False)

    def put_mcap_file(self, path: str | os.PathLike[str]) -> StoredObject:
        with open(path, "rb") as fh:
            return self.put_mcap_stream(fh)

    # -- generic -------------------------------------------------------------------
    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.client.stat_object(bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"):
                return False
            raise

    def size(self, bucket: str, key: str) -> int:
        return int(self.client.stat_object(bucket, key).size or 0)

    def put_file(
        self, bucket: str, key: str, path: str | os.PathLike[str], content_type: str = "application/octet-stream"
    ) -> int:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            self.client.put_object(bucket, key, fh, length=size, content_type=content_type, part_size=16 * 1024 * 1024)
        return size

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        import io

        self.client.put_object(bucket, key, io.BytesIO(data), length=len(data), content_type=content_type)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        resp = self.client.get_object(bucket, key)
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def read_range(self, bucket: str, key: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        resp = self.client.get_object(bucket, key, offset=offset, length=length)
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def iter_object(self, bucket: str, key: str, chunk: int = CHUNK) -> Iterator[bytes]:
        resp = self.client.get_object(bucket, key)
        try:
            yield from resp.stream(chunk)
        finally:
            resp.close()
            resp.release_conn()

    def download(self, bucket: str, key: str, dest: BinaryIO) -> tuple[int, str]:
        """Copy an object into a file, returning (size, sha256) computed on the way."""
        digest = hashlib.sha256()
        size = 0
        for block in self.iter_object(bucket, key):
            digest.update(block)
            dest.write(block)
            size += len(block)
        return size, digest.hexdigest()

    def presigned_get(self, bucket: str, key: str, filename: str | None = None) -> str:
        headers: dict[str, str | list[str] | tuple[str]] | None = (
            {"response-content-disposition": f'attachment; filename="{filename}"'} if filename else None
        )
        return self.client.presigned_get_object(
            bucket, key, expires=timedelta(seconds=self.settings.presign_expiry_s), response_headers=headers
        )

    def delete_bucket_recursive(self, bucket: str) -> None:
        if not self.client.bucket_exists(bucket):
            return
        for obj in self.client.list_objects(bucket, recursive=True):
            if obj.object_name:
                self.client.remove_object(bucket, obj.object_name)
        self.client.remove_bucket(bucket)


@dataclass(frozen=True, slots=True)
class StagedPart:
    number: int
    size: int
    etag: str


class NoSuchUpload(LookupError):
    pass


class ConflictingParts(ValueError):
    """A part number was uploaded twice with different bytes (see `ResumableStaging.parts`)."""

    def __init__(self, numbers: list[int]) -> None:
        super().__init__(f"part(s) {', '.join(map(str, numbers[:10]))} sent twice with different content")
        self.numbers = numbers


_NO_UPLOAD = ("NoSuchUpload", "NoSuchKey", "NotFound")


class ResumableStaging:
    """Resumable uploads as S3 multipart uploads under `incoming/<sha256>.mcap`.

    The state of an upload is S3's own (its parts): the gateway keeps nothing, and any
    gateway replica can take the next part. Only `promote` makes a content-addressed
    object, after reading the assembled bytes back and checking their SHA-256.
    Uses the minio SDK's low-level multipart calls (public ones take a whole stream).
    """

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.client = store.client
        self.bucket = store.settings.bucket_mcap

    def open(self, sha256: str, upload_id: str | None) -> str:
        """The upload id to send parts to: `upload_id` while S3 still knows it, else a new one."""
        key = staging_key(sha256)
        if upload_id:
            try:
                self.parts(sha256, upload_id)
                return upload_id
            except NoSuchUpload:
                pass
            except ConflictingParts:
                self.discard(sha256, upload_id)
        return self.client._create_multipart_upload(self.bucket, key, {"Content-Type": "application/x-mcap"})

    def parts(self, sha256: str, upload_id: str) -> list[StagedPart]:
        """The parts S3 holds, one per number, in order.

        SeaweedFS keeps every upload of a part number as its own file and lists each
        (S3 and MinIO keep only the last): a part sent again with the same bytes is
        listed twice with the same ETag, and is one part here. Sent again with other
        bytes, SeaweedFS still assembles the first copy, so the upload can't be trusted
        any more: `ConflictingParts`.
        """
        key = staging_key(sha256)
        by_number: dict[int, StagedPart] = {}
        conflicts: set[int] = set()
        marker: str | None = None
        while True:
            try:
                result = self.client._list_parts(self.bucket, key, upload_id, max_parts=1000, part_number_marker=marker)
            except S3Error as exc:
                if exc.code in _NO_UPLOAD:
                    raise NoSuchUpload(upload_id) from exc
                raise
            for p in result.parts:
                part = StagedPart(p.part_number, int(p.size or 0), p.etag.strip('"'))
                seen = by_number.get(part.number)
                if seen is not None and seen.etag != part.etag:
                    conflicts.add(part.number)
                by_number[part.number] = part
            if not result.is_truncated or not result.parts:
                break
            marker = result.next_part_number_marker
        if conflicts:
            raise ConflictingParts(sorted(conflicts))
        return [by_number[n] for n in sorted(by_number)]

    def put_part(self, sha256: str, upload_id: str, number: int, data: bytes) -> StagedPart:
        try:
            etag = self.client._upload_part(self.bucket, staging_key(sha256), data, None, upload_id, number)
        except S3Error as exc:
            if exc.code in _NO_UPLOAD:
                raise NoSuchUpload(upload_id) from exc
            raise
        return StagedPart(number, len(data), etag.strip('"'))

    def assemble(self, sha256: str, upload_id: str, parts: list[StagedPart]) -> None:
        """Complete the upload with `parts` (from `parts()`: one per number, in order;
        a number listed twice makes SeaweedFS write an object whose copy fails)."""
        from minio.datatypes import Part

        try:
            self.client._complete_multipart_upload(
                self.bucket, staging_key(sha256), upload_id, [Part(p.number, p.etag) for p in parts]
            )
        except S3Error as exc:
            if exc.code in _NO_UPLOAD:
                raise NoSuchUpload(upload_id) from exc
            raise

    def staged_exists(self, sha256: str) -> bool:
        return self.store.exists(self.bucket, staging_key(sha256))

    def staged_sha256(self, sha256: str) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        for block in self.store.iter_object(self.bucket, staging_key(sha256)):
            digest.update(block)
            size += len(block)
        return size, digest.hexdigest()

    def promote(self, sha256: str, size: int) -> str:
        """Copy the checked staging object to its content-addressed key; drop the staging one."""
        from minio.commonconfig import ComposeSource, CopySource

        key = mcap_key(sha256)
        src = staging_key(sha256)
        meta: dict[str, str | list[str] | tuple[str]] = {"Content-Type": "application/x-mcap", "sha256": sha256}
        if size <= _MAX_SINGLE_COPY:
            self.client.copy_object(self.bucket, key, CopySource(self.bucket, src), metadata=meta,
                                    metadata_directive="REPLACE")
        else:
            self.client.compose_object(self.bucket, key, [ComposeSource(self.bucket, src)], metadata=meta)
        self.discard(sha256)
        return key

    def discard(self, sha256: str, upload_id: str | None = None) -> None:
        if upload_id:
            with _suppress_s3():
                self.client._abort_multipart_upload(self.bucket, staging_key(sha256), upload_id)
        with _suppress_s3():
            self.client.remove_object(self.bucket, staging_key(sha256))


class _suppress_s3:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        return isinstance(exc, S3Error)


class S3RangeSource:
    """A byte source over one S3 object read by ranges (for indexed partial reads)."""

    def __init__(self, store: ObjectStore, bucket: str, key: str) -> None:
        self.store = store
        self.bucket = bucket
        self.key = key
        self.size = store.size(bucket, key)
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        data = self.store.read_range(self.bucket, self.key, offset, length)
        self.bytes_read += len(data)
        return data


def make_client(settings: Settings) -> Minio:
    # Short timeouts and few retries: a dead S3 must show up in /readyz quickly.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=3.0, read=60.0),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        maxsize=16,
    )
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


def _tmp_dir(settings: Settings) -> str | None:
    d = settings.data_dir / "tmp"
    try:
        d.mkdir(parents=True, exist_ok=True)
        return str(d)
    except OSError:
        return None
