"""A query_api and an ingest process on their own vhost and database, for tests that
need uploads to become runs (and heartbeats to be kept) on the real stack."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testsupport.services import start_service, wait_until_ready
from testsupport.waiting import wait_for

from helpers.api import Api, start_api
from pitwall.common.events import Event
from pitwall.common.settings import Settings
from pitwall.devstack.services import ServiceProcess

__all__ = ["publish", "start_api_with_ingest", "start_api_with_ingest_and_converter", "wait_for"]


def start_api_with_ingest(
    settings: Settings, service_env: dict[str, str], endpoints: Any, log_dir: Path, tag: str, **overrides: Any
) -> Iterator[tuple[Api, ServiceProcess]]:
    """Its own vhost: events other tests' gateways left in the session's ingest queue
    must not feed this ingest (nor this gateway's feed theirs)."""
    from pitwall.devstack.endpoints import settings_env

    vhost = settings.amqp_url.rsplit("/", 1)[-1] + f"-{tag}"
    endpoints.rabbit_admin.add_vhost(vhost, endpoints.amqp_user)
    try:
        for api in start_api(settings, dict(service_env), log_dir, tag, amqp_url=endpoints.amqp_url_for(vhost),
                             **overrides):
            env = dict(service_env) | settings_env(api.settings)
            ingest = start_service("ingest", env, log_dir / f"ingest-{tag}.log", wait=False)
            try:
                wait_until_ready(ingest)
                yield api, ingest
            finally:
                ingest.stop()
                if ingest.returncode not in (0, None, -15):
                    print(ingest.log()[-4000:])
    finally:
        endpoints.rabbit_admin.delete_vhost(vhost)


def publish(settings: Settings, *events: Event) -> None:
    """Publish events straight on the broker (confirmed), as a redelivery would bring them."""
    from pitwall.common.broker import Publisher, connect

    async def go() -> None:
        conn = await connect(settings, name="test-publish")
        try:
            publisher = await Publisher.open(conn, settings)
            for event in events:
                await publisher.publish(event)
        finally:
            await conn.close()

    asyncio.run(go())


def start_api_with_ingest_and_converter(
    settings: Settings, service_env: dict[str, str], endpoints: Any, log_dir: Path, tag: str
) -> Iterator[Api]:
    """`start_api_with_ingest` plus one converter on the same vhost: uploads become runs
    and exports get made."""
    from pitwall.devstack.endpoints import settings_env

    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints, log_dir, tag):
        env = dict(service_env) | settings_env(api.settings)
        converter = start_service("converter", env, log_dir / f"converter-{tag}.log", wait=False)
        try:
            wait_until_ready(converter)
            yield api
        finally:
            converter.stop()
