"""One test run's own corner of shared servers: a vhost, a database, a bucket prefix.

A run may share RabbitMQ with the dev stack and with other runs (the machine's broker),
so everything it creates lives under names no one else uses, and is removed at the end.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from minio.deleteobjects import DeleteObject
from pymongo import MongoClient

from pitwall.common.settings import Settings
from pitwall.devstack.endpoints import Endpoints, settings_env
from pitwall.devstack.s3 import make_client

VHOST_PREFIX = "pitwall-test-"
_VHOST_RE = re.compile(rf"^{re.escape(VHOST_PREFIX)}(\d+)-[0-9a-f]+$")


@dataclass(frozen=True)
class Isolation:
    run_id: str  # "<pid>-<hex>": the pid lets a later run find leftovers of a dead one

    @classmethod
    def new(cls) -> Isolation:
        return cls(f"{os.getpid()}-{secrets.token_hex(3)}")

    @property
    def vhost(self) -> str:
        return f"{VHOST_PREFIX}{self.run_id}"

    @property
    def mongo_db(self) -> str:
        return f"pitwall_test_{self.run_id.replace('-', '_')}"

    @property
    def bucket_prefix(self) -> str:
        # Bucket names: lowercase letters, digits and hyphens, 3-63 characters.
        return f"t{self.run_id}-"

    def settings(self, endpoints: Endpoints, **overrides: Any) -> Settings:
        return endpoints.settings(
            vhost=self.vhost, mongo_db=self.mongo_db, bucket_prefix=self.bucket_prefix, **overrides
        )

    def env(self, endpoints: Endpoints, **overrides: Any) -> dict[str, str]:
        return settings_env(self.settings(endpoints, **overrides))


def provision(endpoints: Endpoints, iso: Isolation) -> None:
    """Create the run's vhost (the database and buckets appear on first use)."""
    endpoints.rabbit_admin.add_vhost(iso.vhost, endpoints.amqp_user)


def teardown(endpoints: Endpoints, iso: Isolation) -> None:
    """Remove the vhost (with its queues), the database and the buckets with their objects.

    Every step is tried; failures are reported together at the end.
    """
    errors: list[str] = []
    try:
        endpoints.rabbit_admin.delete_vhost(iso.vhost)
    except Exception as exc:
        errors.append(f"vhost {iso.vhost}: {exc}")
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(endpoints.mongo_url, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(iso.mongo_db)
        finally:
            client.close()
    except Exception as exc:
        errors.append(f"database {iso.mongo_db}: {exc}")
    try:
        remove_buckets(endpoints, iso.bucket_prefix)
    except Exception as exc:
        errors.append(f"buckets {iso.bucket_prefix}*: {exc}")
    if errors:
        raise RuntimeError("test-run clean-up incomplete: " + "; ".join(errors))


def remove_buckets(endpoints: Endpoints, prefix: str) -> list[str]:
    """Delete every bucket whose name starts with `prefix`, objects first (MinIO insists)."""
    if not prefix:
        raise ValueError("refusing to remove every bucket: empty prefix")
    client = make_client(endpoints.s3_endpoint, endpoints.s3_access_key, endpoints.s3_secret_key)
    removed = []
    for bucket in client.list_buckets():
        if not bucket.name.startswith(prefix):
            continue
        objects = (
            DeleteObject(o.object_name)
            for o in client.list_objects(bucket.name, recursive=True)
            if o.object_name is not None
        )
        failures = list(client.remove_objects(bucket.name, objects))
        if failures:
            raise RuntimeError(f"could not delete objects in {bucket.name}: {failures[:3]}")
        client.remove_bucket(bucket.name)
        removed.append(bucket.name)
    return removed


def sweep_stale_vhosts(endpoints: Endpoints) -> list[str]:
    """Delete test vhosts whose run died without cleaning up (its pid is gone).

    Only meaningful on a broker of this machine, where the pid in the name is ours to check.
    """
    removed = []
    for vhost in endpoints.rabbit_admin.list_vhosts():
        match = _VHOST_RE.match(vhost)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        try:
            endpoints.rabbit_admin.delete_vhost(vhost)
            removed.append(vhost)
        except Exception:  # another run swept it first
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
