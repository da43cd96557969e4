"""The station's side of the API: lookup, resumable upload, heartbeat. Uploader token only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


class CloudUnavailable(Exception):
    """The link or the cloud is down (connect error, timeout, 5xx): retry later, all files."""


class CloudRefused(Exception):
    """The cloud answered no for this file (4xx): the reason is kept in the journal.

    `code` is the answer's machine-readable reason (ErrorCode): the station decides on it,
    never on the sentence in `message`.
    """

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Known:
    status: str
    reason: str | None
    filenames: list[str]


@dataclass(frozen=True, slots=True)
class OpenUpload:
    upload_id: str | None
    part_size: int
    parts: dict[int, int]  # number -> size already stored
    stored: bool


class RateLimit:
    """A token bucket over the upload bytes (a shared track-side uplink)."""

    def __init__(self, bytes_per_s: int) -> None:
        self.rate = bytes_per_s
        self._allowance = float(bytes_per_s)
        self._at = time.monotonic()

    async def take(self, n: int) -> None:
        if self.rate <= 0:
            return
        while True:
            now = time.monotonic()
            self._allowance = min(float(self.rate), self._allowance + (now - self._at) * self.rate)
            self._at = now
            if self._allowance >= min(n, self.rate):
                self._allowance -= n
                return
            await asyncio.sleep((min(n, self.rate) - self._allowance) / self.rate)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(str(d.get("msg", d)) for d in detail if isinstance(d, dict))[:300]
    return str(detail)[:300]


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


class Cloud:
    def __init__(self, api_url: str, token: str, timeout_s: float, bandwidth_bps: int = 0) -> None:
        self.http = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "pitwall-basestation"},
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        )
        self.limit = RateLimit(bandwidth_bps)

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise CloudUnavailable(f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise CloudUnavailable(f"{response.status_code}: {_detail(response)}")
        if response.status_code in (401, 403):
            # Every file would fail the same way: it is the station that is wrong.
            raise CloudUnavailable(f"{response.status_code}: the station's token was refused ({_detail(response)})")
        if response.status_code >= 400:
            raise CloudRefused(response.status_code, _detail(response), _code(response))
        return response

    async def lookup(self, shas: list[str]) -> tuple[dict[str, Known], set[str]]:
        known: dict[str, Known] = {}
        missing: set[str] = set()
        for i in range(0, len(shas), 1000):
            body = (await self._call("POST", "/api/v1/runs/lookup", json={"sha256": shas[i : i + 1000]})).json()
            for sha, run in body.get("runs", {}).items():
                known[sha] = Known(run.get("status", ""), run.get("reason"), list(run.get("filenames") or []))
            missing.update(body.get("missing", []))
        return known, missing

    async def open_upload(self, sha256: str, size: int, filename: str, upload_id: str | None) -> OpenUpload:
        body = (
            await self._call(
                "POST", "/api/v1/uploads/resumable",
                json={"sha256": sha256, "size": size, "filename": filename, "upload_id": upload_id},
            )
        ).json()
        return OpenUpload(
            body.get("upload_id"), int(body["part_size"]),
            {int(p["number"]): int(p["size"]) for p in body.get("parts", [])}, bool(body.get("stored")),
        )

    async def put_part(self, sha256: str, upload_id: str, number: int, data: bytes) -> None:
        import hashlib

        async def body() -> AsyncIterator[bytes]:
            step = 256 * 1024
            for i in range(0, len(data), step):
                await self.limit.take(min(step, len(data) - i))
                yield data[i : i + step]

        await self._call(
            "PUT", f"/api/v1/uploads/resumable/{sha256}/{upload_id}/{number}",
            content=body() if self.limit.rate else data,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(data)),
                "X-Part-SHA256": hashlib.sha256(data).hexdigest(),
            },
        )

    async def complete(
        self, sha256: str, upload_id: str | None, size: int, filename: str, source_id: str, event_id: str
    ) -> dict[str, Any]:
        response = await self._call(
            "POST", f"/api/v1/uploads/resumable/{sha256}/complete",
            json={"upload_id": upload_id, "size": size, "filename": filename, "source_id": source_id,
                  "event_id": event_id},
        )
        return dict(response.json())

    async def report(self, status: dict[str, Any]) -> None:
        await self._call("POST", "/api/v1/stations/status", json=status)


def read_part(path: Path, number: int, part_size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek((number - 1) * part_size)
        return f.read(part_size)
