"""Where backups go: a bucket on this S3, a bucket on another S3, or a local folder.

Each target holds three things under its prefix: `mcap/<sha256>.mcap` (raw objects,
copied once, immutable), optionally `signals/...`, `manifests/<id>.json` (one per good
backup, written last: no manifest, no backup), and `restic/` (the encrypted restic
repository with the catalogue dumps).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, cast
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore

CHUNK = 8 * 1024 * 1024


class TargetError(RuntimeError):
    pass


class Area(Protocol):
    def keys(self, prefix: str) -> dict[str, int]: ...
    def read(self, key: str) -> Iterator[bytes]: ...
    def write(self, key: str, chunks: Iterator[bytes], size: int) -> None: ...
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def remove(self, key: str) -> None: ...
    def copy_in(self, key: str, store: ObjectStore, bucket: str, source_key: str) -> bool:
        """Server-side copy from `store` when possible; False: the caller streams it."""
        ...
    def describe(self) -> str: ...


def sha256_of(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    n = 0
    for c in chunks:
        digest.update(c)
        n += len(c)
    return digest.hexdigest(), n


@dataclass
class S3Area:
    client: Minio
    bucket: str
    prefix: str
    endpoint: str
    same_endpoint: bool

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def ensure(self) -> None:
        with self._errors("opening the bucket"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

    def keys(self, prefix: str) -> dict[str, int]:
        strip = len(self._k(""))
        with self._errors(f"listing {prefix}"):
            return {o.object_name[strip:]: int(o.size or 0)
                    for o in self.client.list_objects(self.bucket, prefix=self._k(prefix), recursive=True)
                    if o.object_name}

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """S3 and network failures as one-line TargetErrors (credentials, reachability, space)."""
        try:
            yield
        except S3Error as exc:
            raise TargetError(f"backup target {self.endpoint}/{self.bucket}: {what}: "
                              f"{exc.code} ({exc.message})") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TargetError(f"backup target {self.endpoint} unreachable while {what}: {exc}") from None

    def read(self, key: str) -> Iterator[bytes]:
        with self._errors(f"reading {key}"):
            resp = self.client.get_object(self.bucket, self._k(key))
        try:
            yield from resp.stream(CHUNK)
        finally:
            resp.close()
            resp.release_conn()

    def write(self, key: str, chunks: Iterator[bytes], size: int) -> None:
        with self._errors(f"writing {key}"):
            self.client.put_object(self.bucket, self._k(key), ChunkReader.file(chunks), size,
                                   part_size=16 * 1024 * 1024)

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors(f"writing {key}"):
            self.client.put_object(self.bucket, self._k(key), io.BytesIO(data), len(data))

    def remove(self, key: str) -> None:
        with self._errors(f"removing {key}"):
            self.client.remove_object(self.bucket, self._k(key))

    def copy_in(self, key: str, store: ObjectStore, bucket: str, source_key: str) -> bool:
        if not self.same_endpoint:
            return False
        with self._errors(f"copying {key}"):
            self.client.copy_object(self.bucket, self._k(key), CopySource(bucket, source_key))
        return True

    def describe(self) -> str:
        return f"s3://{self.endpoint}/{self.bucket}/{self.prefix}"


@dataclass
class FolderArea:
    root: Path

    def _p(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise TargetError(f"key {key!r} leaves the backup folder")
        return p

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def keys(self, prefix: str) -> dict[str, int]:
        base = self.root / prefix
        if not base.exists():
            return {}
        return {p.relative_to(self.root).as_posix(): p.stat().st_size
                for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp")}

    def read(self, key: str) -> Iterator[bytes]:
        try:
            f = open(self._p(key), "rb")
        except OSError as exc:
            raise TargetError(f"{key}: {exc.strerror}") from None
        with f:
            while block := f.read(CHUNK):
                yield block

    def write(self, key: str, chunks: Iterator[bytes], size: int) -> None:
        dest = self._p(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.write(key, iter([data]), len(data))

    def remove(self, key: str) -> None:
        self._p(key).unlink(missing_ok=True)

    def copy_in(self, key: str, store: ObjectStore, bucket: str, source_key: str) -> bool:
        return False

    def describe(self) -> str:
        return f"file://{self.root}"


class ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of chunks (for put_object)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    @classmethod
    def file(cls, chunks: Iterator[bytes]) -> BinaryIO:
        """The reader typed as minio's put_object wants it (it only calls read(n))."""
        return cast(BinaryIO, cls(chunks))

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


@dataclass
class Target:
    uri: str
    area: S3Area | FolderArea
    restic_repo: str
    restic_env: dict[str, str] = field(default_factory=dict)
    offsite: bool = False

    def describe(self) -> str:
        return self.area.describe()


def open_target(settings: Settings, uri: str | None = None) -> Target:
    """The target a URI names ("" / None: the backup bucket on this S3)."""
    uri = uri if uri is not None else settings.backup_target
    if not uri:
        uri = f"s3://{settings.bucket_backups}/pitwall"
    u = urlparse(uri)
    if u.scheme == "file":
        root = Path(u.path)
        return Target(uri, FolderArea(root), str(root / "restic"), offsite=True)
    if u.scheme == "s3":
        bucket, _, prefix = (u.netloc + u.path).partition("/")
        store = ObjectStore(settings)
        area = S3Area(store.client, bucket, prefix.strip("/"), settings.s3_endpoint, same_endpoint=True)
        scheme = "https" if settings.s3_secure else "http"
        env = {"AWS_ACCESS_KEY_ID": settings.s3_access_key, "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key}
        repo = f"s3:{scheme}://{settings.s3_endpoint}/{bucket}/{area.prefix}/restic".rstrip("/")
        return Target(uri, area, repo, env)
    if u.scheme in ("s3+http", "s3+https"):
        if not settings.backup_s3_access_key:
            raise TargetError("an offsite S3 target needs PITWALL_BACKUP_S3_ACCESS_KEY and _SECRET_KEY")
        secure = u.scheme == "s3+https"
        bucket, _, prefix = u.path.lstrip("/").partition("/")
        if not bucket:
            raise TargetError(f"{uri}: no bucket (s3+http://HOST:PORT/BUCKET/PREFIX)")
        client = Minio(u.netloc, access_key=settings.backup_s3_access_key, secret_key=settings.backup_s3_secret_key,
                       secure=secure, region=settings.s3_region)
        area = S3Area(client, bucket, prefix.strip("/"), u.netloc, same_endpoint=False)
        env = {"AWS_ACCESS_KEY_ID": settings.backup_s3_access_key,
               "AWS_SECRET_ACCESS_KEY": settings.backup_s3_secret_key}
        repo = f"s3:{'https' if secure else 'http'}://{u.netloc}/{bucket}/{area.prefix}/restic".rstrip("/")
        return Target(uri, area, repo, env, offsite=True)
    raise TargetError(f"backup target {uri!r}: use s3://BUCKET/PREFIX, "
                      "s3+http://HOST:PORT/BUCKET/PREFIX or file:///PATH")


def copy_object(target: Target, key: str, store: ObjectStore, bucket: str, source_key: str, size: int) -> None:
    """One immutable object into the target (server-side when it can), then its hash checked."""
    if not target.area.copy_in(key, store, bucket, source_key):
        target.area.write(key, store.iter_object(bucket, source_key), size)


def object_sha(target: Target, key: str) -> tuple[str, int]:
    return sha256_of(target.area.read(key))

