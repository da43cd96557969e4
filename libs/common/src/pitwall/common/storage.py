"""S3 (MinIO API) storage: content-addressed MCAP objects, exports, signal store, backups.

The minio SDK is synchronous; async callers wrap calls in `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import os
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


def mcap_key(sha256: str) -> str:
    return f"mcap/{sha256}.mcap"


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

    def put_file(self, bucket: str, key: str, path: str | os.PathLike[str], content_type: str = "application/octet-stream") -> int:
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
