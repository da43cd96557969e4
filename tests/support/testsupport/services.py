"""The one way tests start a pitwall service: `pitwall service NAME` as a child process,
returned once it is ready to work, so a test never guesses with a sleep.

Ready means: query_api answers GET /readyz; ingest, converter and backup logged "ready" (they
consume from then on); the base station logged "station started".
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence
from pathlib import Path

from pitwall.devstack.services import ServiceProcess

# The log line each consuming service writes once it takes work (query_api: /readyz instead).
READY_LOG = {
    "ingest": '"ready"',
    "converter": '"ready"',
    "backup": '"ready"',
    "basestation": "station started",
}


def wait_until_ready(service: ServiceProcess, timeout: float = 60.0) -> ServiceProcess:
    """Until the service can work (see the module doc); fails at once if its process died."""
    if service.http_port is not None:
        service.wait_ready(timeout=timeout)
    else:
        service.wait_for_log(READY_LOG[service.name], timeout=timeout)
    return service


def start_service(
    name: str,
    env: Mapping[str, str],
    log_path: Path,
    *,
    http_port: int | None = None,
    wait: bool = True,
    timeout: float = 60.0,
    track: MutableSequence[ServiceProcess] | None = None,
) -> ServiceProcess:
    """`pitwall service NAME` with `env` (PITWALL_* included), its output appended to `log_path`.

    query_api needs `http_port` (and PITWALL_HTTP_PORT set to it in `env`). With `wait=False`
    it returns as soon as the process is started (a test of what happens before it is ready,
    or one that waits for its own sign of work). `track` is the caller's list of services to
    stop and report on: the service joins it before the wait, so one that never gets ready is
    still stopped and its log still shown.
    """
    service = ServiceProcess(name, env, log_path, http_port=http_port).start()
    if track is not None:
        track.append(service)
    if wait:
        wait_until_ready(service, timeout)
    return service
