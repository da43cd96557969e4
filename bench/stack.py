"""Real servers and pitwall services for the ingest and API sections, thrown away afterwards.

The servers start the way the tests start them (`pitwall.devstack.servers.start_servers`:
SecantusDB, SeaweedFS and the machine's RabbitMQ locally, the official images under
Docker), with their data in a temporary directory; the bench works in its own vhost,
database and bucket prefix, all removed at the end. Service logs stay in bench/out/logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import REPO


@dataclass(frozen=True)
class Ingested:
    run_id: str
    status: str
    message_count: int
    upload_seconds: float  # put_mcap_file: hash + multipart upload to S3
    ready_seconds: float  # `file.uploaded` published -> the run document is there
    service_seconds: float | None  # what ingest logged for its own handling of the file


@dataclass
class Stack:
    servers: Any
    isolation: Any
    settings: Any
    env: dict[str, str]
    root: Path
    logs: Path
    backend: str
    notes: list[str] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, backend: str, logs: Path) -> Stack:
        from pitwall.devstack.endpoints import settings_env
        from pitwall.devstack.isolation import Isolation, provision
        from pitwall.devstack.servers import start_servers

        root = Path(tempfile.mkdtemp(prefix="pitwall-bench-"))
        logs.mkdir(parents=True, exist_ok=True)
        try:
            servers = start_servers(root / "servers", backend=backend, repo_root=REPO)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        iso = Isolation.new()
        try:
            provision(servers.endpoints, iso)
            settings = iso.settings(servers.endpoints, data_dir=root / "data")
        except BaseException:
            servers.stop()
            shutil.rmtree(root, ignore_errors=True)
            raise
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
        env = inherited | settings_env(settings) | {"PYTHONUNBUFFERED": "1"}
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(servers.timings.items()))
        notes = [f"servers ({servers.endpoints.backend}): ready after {timings}", *servers.notes]
        return cls(servers, iso, settings, env, root, logs, servers.endpoints.backend, notes)

    # -- services -------------------------------------------------------------------------
    def service(self, name: str, replica: int = 1) -> Any:
        """`pitwall service NAME`, started once and kept until `stop()`; `replica` 2, 3...
        start further processes of the same service (kept as `NAME-2`, ...)."""
        from pitwall.devstack.ports import free_port
        from pitwall.devstack.services import ServiceProcess

        key = name if replica == 1 else f"{name}-{replica}"
        if key in self.services:
            return self.services[key]
        env = dict(self.env)
        port = None
        if name == "query_api":
            port = free_port()
            self.ports.append(port)
            env["PITWALL_HTTP_PORT"] = str(port)
        log = self.logs / f"{key}.log"
        log.unlink(missing_ok=True)
        proc = ServiceProcess(name, env, log, http_port=port).start()
        self.services[key] = proc
        if port is not None:
            proc.wait_ready(timeout=120)
        else:
            proc.wait_for_log("consuming", timeout=120)
        return proc

    def store(self) -> Any:
        from pitwall.common.storage import ObjectStore

        store = ObjectStore(self.settings)
        store.ensure_buckets()
        return store

    # -- ingest a file end to end ---------------------------------------------------------
    def ingest(self, path: Path, timeout: float = 900.0) -> Ingested:
        """Upload to S3, announce `file.uploaded`, wait until ingest has written the run."""
        ingest = self.service("ingest")
        t0 = time.perf_counter()
        stored = self.store().put_mcap_file(path)
        upload_s = time.perf_counter() - t0
        doc, ready_s = asyncio.run(self._announce_and_wait(stored, path.name, timeout))
        return Ingested(
            stored.sha256, doc["status"], int(doc.get("message_count") or 0), upload_s, ready_s,
            _logged_seconds(ingest.log(), stored.sha256),
        )

    async def _announce_and_wait(self, stored: Any, filename: str, timeout: float) -> tuple[dict[str, Any], float]:
        from pitwall.common import db
        from pitwall.common.broker import Publisher, connect
        from pitwall.common.events import FileUploaded

        event = FileUploaded(
            sha256=stored.sha256, object_key=stored.key, size=stored.size,
            filename=filename, source="cli", uploader="bench",
        )
        client = db.make_client(self.settings)
        conn = await connect(self.settings, name="bench")
        try:
            runs = db.database(client, self.settings)["runs"]
            publisher = await Publisher.open(conn, self.settings)
            query = {"_id": stored.sha256, "status": {"$in": ["ready", "recovered", "rejected"]}}
            start = time.perf_counter()
            await publisher.publish(event)
            while True:
                doc = await runs.find_one(query, {"status": 1, "message_count": 1})
                if doc is not None:
                    return doc, time.perf_counter() - start
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"no run for {filename} after {timeout:.0f} s (see {self.logs})")
                await asyncio.sleep(0.02)
        finally:
            await conn.close()
            await client.close()

    # -- tokens ---------------------------------------------------------------------------
    def token(self, role: str = "viewer") -> str:
        from pitwall.common import db
        from pitwall.common import tokenstore as tokens

        async def make() -> str:
            client = db.make_client(self.settings)
            try:
                coll = db.database(client, self.settings)["tokens"]
                _info, secret = await tokens.create(coll, role, f"bench-{role}")
                return secret
            finally:
                await client.close()

        return asyncio.run(make())

    def stop(self) -> None:
        from pitwall.devstack.isolation import teardown
        from pitwall.devstack.ports import release

        for proc in self.services.values():
            proc.stop()
        release(*self.ports)
        try:
            teardown(self.servers.endpoints, self.isolation)
        finally:
            self.servers.stop()
            shutil.rmtree(self.root, ignore_errors=True)


def _logged_seconds(log: str, run_id: str) -> float | None:
    """`seconds` of ingest's "run ingested" log line for this run (JSON logs)."""
    for line in log.splitlines():
        if "run ingested" not in line or run_id not in line:
            continue
        try:
            return float(json.loads(line[line.index("{"):])["seconds"])
        except (ValueError, KeyError):
            continue
    return None
