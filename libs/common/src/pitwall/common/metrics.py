"""Prometheus metrics of every pitwall process, defined once.

Every family starts with `pitwall_` and carries a `service` label, so a process shows
only what it touched (a labelled family without samples is two comment lines) and a
scrape that lands on the wrong port says so. Labels take values from small fixed sets:
event names, queue names, route templates (never raw paths), formats, outcomes.

Non-HTTP services serve the default registry with `serve(settings, service)` on
`PITWALL_METRICS_PORT` (0, the default: no server) and `PITWALL_METRICS_HOST`
(127.0.0.1: metrics are for the internal network); query_api serves the same on its
own port that way and, for admins, at GET /metrics of the API. prometheus-client's own
`process_*` families (RSS, CPU seconds, open files) come with every scrape.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from pitwall.common.logging import get_logger
from pitwall.common.settings import Settings

log = get_logger(__name__)

# Seconds: a heartbeat's handling (ms) up to a 30-minute file's ingest.
_SLOW = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_HTTP = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

SERVICE_INFO = Gauge("pitwall_service_info", "1 per running pitwall process", ["service"])

# -- every consumer (pitwall.common.broker.consumer) ----------------------------------------
MESSAGES_CONSUMED = Counter(
    "pitwall_messages_consumed", "Deliveries handled and acked (outcome ok, or duplicate skipped)",
    ["service", "queue", "event", "outcome"],
)
MESSAGES_FAILED = Counter(
    "pitwall_messages_failed", "Deliveries whose handling failed (sent to a retry queue or dead-lettered)",
    ["service", "queue", "event"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "pitwall_messages_dead_lettered", "Deliveries parked in the service's dead-letter queue",
    ["service", "queue", "event"],
)
MESSAGE_SECONDS = Histogram(
    "pitwall_message_seconds", "Time from delivery to ack/retry/dead-letter", ["service", "queue"], buckets=_SLOW,
)

# -- the queues as the broker counts them (query_api, at each refresh) ----------------------
# `service` is the reporter (query_api), `consumer` the service whose queue it is.
QUEUE_MESSAGES = Gauge(
    "pitwall_queue_messages", "Messages in a queue (ready, not yet delivered)",
    ["service", "consumer", "queue", "kind"],
)
QUEUE_CONSUMERS = Gauge("pitwall_queue_consumers", "Consumers on a queue", ["service", "consumer", "queue", "kind"])

# -- ingest ---------------------------------------------------------------------------------
INGEST_SECONDS = Histogram(
    "pitwall_ingest_seconds", "An uploaded file from delivery to its run document", ["service", "outcome"],
    buckets=_SLOW,
)
INGEST_BYTES = Counter("pitwall_ingest_bytes", "Bytes of uploaded files ingested", ["service", "outcome"])
INGEST_FILES = Counter("pitwall_ingest_files", "Uploaded files by outcome", ["service", "outcome"])
OUTBOX_BACKLOG = Gauge("pitwall_outbox_backlog", "Outbox events written but not yet published", ["service"])
OUTBOX_OLDEST_SECONDS = Gauge(
    "pitwall_outbox_oldest_seconds", "Age of the oldest unpublished outbox event (0: none)", ["service"],
)

# -- converter ------------------------------------------------------------------------------
CONVERSION_SECONDS = Histogram(
    "pitwall_conversion_seconds", "An export from delivery to its file in S3 (cache hits excluded)",
    ["service", "format", "outcome"], buckets=_SLOW,
)
CONVERSION_BYTES = Counter("pitwall_conversion_bytes", "Bytes of export files written", ["service", "format"])
CONVERSIONS = Counter("pitwall_conversions", "Export jobs by outcome", ["service", "format", "outcome"])
EXPORT_CACHE_HITS = Counter(
    "pitwall_export_cache_hits", "Exports served from an identical earlier export (no conversion)",
    ["service", "format"],
)

# -- query_api ------------------------------------------------------------------------------
HTTP_SECONDS = Histogram(
    "pitwall_http_request_seconds", "HTTP requests by route template", ["service", "method", "route", "status"],
    buckets=_HTTP,
)

# -- backup ---------------------------------------------------------------------------------
BACKUP_LAST_SUCCESS = Gauge(
    "pitwall_backup_last_success_timestamp_seconds", "Unix time the latest completed backup finished", ["service"],
)
BACKUP_LAST_SECONDS = Gauge(
    "pitwall_backup_last_duration_seconds", "How long the latest backup took", ["service", "outcome"]
)
BACKUPS = Counter("pitwall_backups", "Backups made by this process, by outcome", ["service", "outcome"])

# -- basestation ----------------------------------------------------------------------------
STATION_PENDING_FILES = Gauge(
    "pitwall_station_pending_files", "Files not yet confirmed as runs, by where they are", ["service", "where"],
)
STATION_PENDING_BYTES = Gauge(
    "pitwall_station_pending_bytes", "Bytes copied off the car, not yet uploaded", ["service"]
)
STATION_CLOUD_REACHABLE = Gauge("pitwall_station_cloud_reachable", "1 while the cloud answers the station", ["service"])


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[dict[str, str]]:
    """Observe the block's duration; the block may fill in labels it learns late (outcome)."""
    late: dict[str, str] = {}
    start = time.perf_counter()
    try:
        yield late
    finally:
        histogram.labels(**(labels | late)).observe(time.perf_counter() - start)


def serve(settings: Settings, service: str) -> Any:
    """Serve /metrics on the metrics port in a thread; None when off or the port is taken.

    A taken port is logged, not fatal: a service without metrics still does its work,
    and a crash loop over a port would stop it doing that too.
    """
    SERVICE_INFO.labels(service=service).set(1)
    if not settings.metrics_port:
        return None
    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        log.error("metrics not served", port=settings.metrics_port, host=settings.metrics_host, error=str(exc))
        return None
    log.info("metrics served", url=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    return server


def exposition() -> tuple[bytes, str]:
    """The text format of every metric in this process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
