"""Fixtures for tests that talk to real servers.

Servers start only when a test asks for them (through `endpoints`, directly or via
`settings`/`service_env`/`pitwall_service`), once per session. Each run then works in
its own RabbitMQ vhost, MongoDB database and bucket prefix, all removed at the end.

Back-end: PITWALL_TEST_BACKEND=auto|local|docker (auto: docker when an engine answers).
PITWALL_TEST_RABBIT=auto|machine|private picks the local broker (auto: the machine's on
127.0.0.1:5672 when it answers, else a private node).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pitwall.common.settings import Settings
    from pitwall.devstack.endpoints import Endpoints
    from pitwall.devstack.isolation import Isolation
    from pitwall.devstack.services import ServiceProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
HYTECH_DIR = REPO_ROOT / ".." / "shared" / "data" / "hytech"

_server_report: list[str] = []
_SERVICES = pytest.StashKey[list["ServiceProcess"]]()


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Where MongoDB, S3 and RabbitMQ answer for this session (started on first use)."""
    from pitwall.devstack.servers import start_servers

    servers = start_servers(
        tmp_path_factory.mktemp("servers"),
        backend=os.environ.get("PITWALL_TEST_BACKEND", "auto"),
        rabbit_choice=os.environ.get("PITWALL_TEST_RABBIT", "auto"),
        repo_root=REPO_ROOT,
    )
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(servers.timings.items()))
    _server_report.append(f"servers ({servers.endpoints.backend}): ready after {timings}")
    _server_report.extend(servers.notes)
    try:
        yield servers.endpoints
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def run_isolation(endpoints: Endpoints) -> Iterator[Isolation]:
    """This run's vhost, database name and bucket prefix; removed with their content at the end."""
    from pitwall.devstack.isolation import Isolation, provision, sweep_stale_vhosts, teardown

    swept = sweep_stale_vhosts(endpoints)
    if swept:
        _server_report.append(f"removed {len(swept)} vhost(s) left by dead test runs")
    iso = Isolation.new()
    provision(endpoints, iso)
    try:
        yield iso
    finally:
        teardown(endpoints, iso)


@pytest.fixture(scope="session")
def settings(endpoints: Endpoints, run_isolation: Isolation) -> Settings:
    """Settings pointing at this run's vhost/database/buckets. Shared: derive with `model_copy`."""
    return run_isolation.settings(endpoints)


@pytest.fixture(scope="session")
def service_env(settings: Settings) -> dict[str, str]:
    """A complete environment for child processes: ours, with PITWALL_* set to `settings`.

    Shared by the session: extend it with `service_env | {...}`, never in place.
    """
    from pitwall.devstack.endpoints import settings_env

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    return inherited | settings_env(settings) | {"PYTHONUNBUFFERED": "1"}


@pytest.fixture
def pitwall_service(
    service_env: Mapping[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start `pitwall service NAME` as a child process; all are stopped after the test.

        api = pitwall_service("query_api")            # waits for /readyz, api.base_url
        ingest = pitwall_service("ingest", settings=s, env={"PITWALL_PREFETCH": "1"})
        ingest.kill(); wait_until_ready(ingest.restart())

    Returned ready (testsupport.services: /readyz, or the service's ready line), unless
    `wait=False`. `settings` replaces the PITWALL_* part of the environment, `env` is applied last.
    The end of each service's log is added to the report of a failed test.
    """
    from testsupport.services import start_service

    from pitwall.devstack.endpoints import settings_env
    from pitwall.devstack.ports import free_port, release

    started: list[ServiceProcess] = []
    request.node.stash[_SERVICES] = started  # for the failure report (pytest_runtest_makereport)

    def start(
        name: str, *, settings: Settings | None = None, env: Mapping[str, str] | None = None, wait: bool = True
    ) -> ServiceProcess:
        child_env = dict(service_env)
        if settings is not None:
            child_env |= settings_env(settings)
        child_env |= dict(env or {})
        http_port = None
        if name == "query_api":
            if "PITWALL_HTTP_PORT" not in (env or {}):
                child_env["PITWALL_HTTP_PORT"] = str(free_port())
            http_port = int(child_env["PITWALL_HTTP_PORT"])
        same = sum(1 for s in started if s.name == name)
        log_path = tmp_path / (f"{name}.log" if not same else f"{name}-{same + 1}.log")
        # Tracked before the wait: a service that never gets ready is stopped and reported too.
        return start_service(name, child_env, log_path, http_port=http_port, wait=wait, track=started)

    yield start
    for service in started:
        service.stop()
        if service.http_port is not None:
            release(service.http_port)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test shows the end of the log of every service it started."""
    report = yield
    if report.when == "call" and report.failed:
        for service in item.stash.get(_SERVICES, []):
            tail = "\n".join(service.log().splitlines()[-80:])
            report.sections.append((f"pitwall service {service.name} ({service.log_path})", tail))
    return report


@pytest.fixture(scope="session")
def hytech_dir() -> Path:
    """The team's real MCAP files (../shared/data/hytech), never copied into the repo."""
    path = HYTECH_DIR.resolve()
    if not path.is_dir() or not any(path.glob("*.mcap")):
        pytest.skip(f"the team's files are not here: {path}")
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _server_report:
        terminalreporter.write_line(line)


@pytest.fixture
def car_sshd(tmp_path: Path) -> Iterator[Any]:
    """A real OpenSSH sshd on a loopback port as "the car", with an empty log folder."""
    import subprocess

    from pitwall.devstack.sshd import SSHD, start_car_sshd

    if not Path(SSHD).exists():
        done = subprocess.run([str(REPO_ROOT / "scripts" / "ensure-sshd.sh")], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"sshd is needed for the base-station tests: {done.stderr.strip()}")
    car = start_car_sshd(tmp_path / "car")
    try:
        yield car
    finally:
        car.stop()
