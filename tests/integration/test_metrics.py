"""Every service as its own process answers /metrics on its metrics port with its own
metrics, and real work moves them: a file dropped for the base station is uploaded,
ingested and exported twice (the second from the cache); the backup service makes the
backup its schedule owes at start-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from testsupport.waiting import wait_for

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum over the samples of `name` whose labels include `labels` (None: no such sample)."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    return sum(found) if found else None


def eventually(port: int, check: Callable[[Samples], bool], what: str, timeout: float = 60) -> Samples:
    def scraped() -> Samples | None:
        try:
            samples = scrape(port)
        except httpx.ConnectError:  # the process is still importing
            return None
        return samples if samples and check(samples) else None

    return wait_for(scraped, what, timeout=timeout, every=0.2)


async def _tokens(settings: Settings) -> dict[str, str]:
    from pitwall.common import db
    from pitwall.common import tokenstore as tokens
    from pitwall.common.contracts import mongo
    from pitwall.ingest import repository

    client = db.make_client(settings)
    try:
        database = db.database(client, settings)
        await repository.ensure_indexes(database)
        return {role: (await tokens.create(database[mongo.TOKENS], role, f"metrics-{role}"))[1]
                for role in ("uploader", "admin")}
    finally:
        await client.close()


@pytest.fixture
def own_settings(settings: Settings, endpoints: Any) -> Iterator[Settings]:
    """Its own vhost and database: no other test's messages reach these consumers."""
    from pymongo import MongoClient

    vhost = settings.amqp_url.rsplit("/", 1)[-1] + "-metrics"
    endpoints.rabbit_admin.add_vhost(vhost, endpoints.amqp_user)
    s = settings.model_copy(update={"mongo_db": f"{settings.mongo_db}_metrics",
                                    "amqp_url": endpoints.amqp_url_for(vhost),
                                    "metrics_refresh_s": 0.3})
    try:
        yield s
    finally:
        mongo: MongoClient[dict[str, Any]] = MongoClient(s.mongo_url)
        mongo.drop_database(s.mongo_db)
        mongo.close()
        endpoints.rabbit_admin.delete_vhost(vhost)


def test_each_service_serves_its_own_metrics_and_work_moves_them(
    own_settings: Settings, pitwall_service: Any, tmp_path: Path,
) -> None:
    from pitwall.client import Client
    from pitwall.devstack.ports import free_port, release
    from pitwall.synth import write_synth

    s = own_settings
    tokens = asyncio.run(_tokens(s))
    ports = {name: free_port() for name in ("ingest", "converter", "query_api", "backup", "basestation")}
    try:
        def start(name: str, **env: str) -> Any:
            return pitwall_service(name, settings=s, env={"PITWALL_METRICS_PORT": str(ports[name]), **env})

        ingest, converter = start("ingest"), start("converter")
        api = start("query_api")
        start("backup", PITWALL_BACKUP_PASSWORD="metrics-test", PITWALL_BACKUP_TARGET=f"file://{tmp_path / 'backups'}",
              PITWALL_BACKUP_DRILL="false")
        watch = tmp_path / "car"
        watch.mkdir()
        start("basestation", PITWALL_BASESTATION_API_URL=api.base_url, PITWALL_BASESTATION_TOKEN=tokens["uploader"],
              PITWALL_BASESTATION_WATCH_DIR=str(watch), PITWALL_BASESTATION_SPOOL_DIR=str(tmp_path / "spool"),
              PITWALL_BASESTATION_STATION_ID="metrics", PITWALL_BASESTATION_SETTLE_S="0.5",
              PITWALL_BASESTATION_SCAN_INTERVAL_S="0.25", PITWALL_BASESTATION_CONFIRM_POLL_S="0.2")
        for proc in (ingest, converter):
            proc.wait_for_log("ready", timeout=60)

        # Each answers with its own name, and nothing of the work to come yet.
        for name, port in ports.items():
            samples = eventually(port, lambda x, n=name: value(x, "pitwall_service_info", service=n) == 1,
                                 f"{name} /metrics")
            assert value(samples, "process_resident_memory_bytes"), name
            others = {svc for (n, ls), _ in samples.items() if n.startswith("pitwall_")
                      for k, svc in ls if k == "service"}
            assert others == {name}, f"{name} serves metrics of {others - {name}}"
        assert value(scrape(ports["ingest"]), "pitwall_ingest_bytes_total") is None

        # A recording appears on the "car": station -> API upload -> ingest.
        recording = watch / "stint.mcap"
        write_synth(tmp_path / "stint.mcap", minutes=0.1, seed=77)
        size = (tmp_path / "stint.mcap").stat().st_size
        (tmp_path / "stint.mcap").rename(recording)
        # Counted when acked, so after the handler's own counters.
        got = eventually(ports["ingest"], lambda x: value(
            x, "pitwall_messages_consumed_total", event="file.uploaded", outcome="ok") == 1,
            "the station's file ingested")
        assert value(got, "pitwall_ingest_files_total", outcome="ingested") == 1
        assert value(got, "pitwall_ingest_bytes_total", outcome="ingested") == size
        assert value(got, "pitwall_ingest_seconds_count", outcome="ingested") == 1
        eventually(ports["basestation"], lambda x: value(x, "pitwall_station_cloud_reachable") == 1
                   and value(x, "pitwall_station_pending_files") == 0,
                   "the station's gauges: reachable, nothing pending")

        # An export, then the same one again: one conversion, one cache hit.
        with Client(api.base_url, tokens["admin"]) as pw:
            [run] = list(pw.runs())
            for _ in range(2):
                pw.export(run["id"], ["VNData:vn_vel.*"], dest=tmp_path / "out", progress=False, timeout=60)
        conv = eventually(ports["converter"], lambda x: value(
            x, "pitwall_messages_consumed_total", event="conversion.requested", outcome="ok") == 2,
            "both exports acked")
        assert value(conv, "pitwall_export_cache_hits_total", format="mat") == 1  # the second one
        assert value(conv, "pitwall_conversions_total", outcome="completed") == 1
        assert value(conv, "pitwall_conversion_seconds_count", outcome="completed") == 1
        assert (value(conv, "pitwall_conversion_bytes_total") or 0) > 0

        qa = eventually(ports["query_api"], lambda x: value(
            x, "pitwall_queue_consumers", queue=f"{s.exchange}.converter", kind="work") == 1, "queue gauges")
        assert value(qa, "pitwall_http_request_seconds_count", route="/api/v1/exports", method="POST",
                     status="202") == 2
        assert value(qa, "pitwall_http_request_seconds_count", route="/api/v1/exports/{job_id}", status="200")
        assert value(qa, "pitwall_queue_messages", queue=f"{s.exchange}.ingest.dead", kind="dead") == 0
        # Route templates, never raw paths: no run id or job id in any label.
        assert not any(run["id"] in v for (_n, ls), _ in qa.items() for _k, v in ls)

        # The backup its schedule owed at start-up, made and counted.
        done = eventually(ports["backup"], lambda x: value(
            x, "pitwall_messages_consumed_total", event="backup.due", outcome="ok") == 1, "the start-up backup",
            timeout=90)
        assert value(done, "pitwall_backups_total", outcome="completed") == 1
        assert (value(done, "pitwall_backup_last_success_timestamp_seconds") or 0) > time.time() - 300
    finally:
        release(*ports.values())
