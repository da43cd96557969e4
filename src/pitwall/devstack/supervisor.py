"""`pitwall dev up`: the servers, then the five services, each its own OS process.

Data lives under the data dir (default `.pitwall/`) and survives a restart; so do the
ports, remembered in `ports.json`. A service that dies is restarted with back-off
rather than taking the stack down. Ctrl-C or SIGTERM stops the services first, then
the servers, and leaves no process behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO

from pitwall.common.settings import Settings
from pitwall.devstack import layout
from pitwall.devstack.endpoints import env_file_text, settings_env
from pitwall.devstack.ports import claim, free_port
from pitwall.devstack.process import ManagedProcess, live_processes
from pitwall.devstack.s3 import DEFAULT_WEED_PORTS, WeedPorts
from pitwall.devstack.servers import PortPlan, RabbitChoice, Servers, start_local_servers
from pitwall.devstack.services import SERVICES, http_ok, pitwall_argv

DEFAULT_HTTP_PORT = 8000
DEFAULT_PLAN = PortPlan(mongo=27017, s3=DEFAULT_WEED_PORTS, amqp=5672)
READY_TIMEOUT_S = 120.0
BACKOFF_MAX_S = 30.0
# A service that ran this long before dying was healthy: its back-off starts over.
STABLE_AFTER_S = 60.0
_COLORS = ("36", "33", "35", "32", "34", "31")



def dev_vhost(data_dir: Path) -> str:
    """The RabbitMQ vhost of the dev stack that keeps its data in `data_dir`."""
    return "pitwall-dev-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]

class _Interrupted(Exception):
    pass


class StackError(RuntimeError):
    pass


@dataclass
class DevStackConfig:
    data_dir: Path = Path(layout.DEFAULT_DATA_DIR)
    http_port: int | None = None  # None: 8000, or a free port when 8000 is taken
    samples: bool = True
    services: tuple[str, ...] = SERVICES
    rabbit: RabbitChoice = "auto"
    car: bool = True  # a simulated car writing recordings for the base station


@dataclass
class _Service:
    name: str
    proc: ManagedProcess
    failures: int = 0
    restart_at: float | None = None
    held: bool = False  # started once the sample runs are in (see Supervisor._holds)
    log: IO[str] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, config: DevStackConfig, out: TextIO | None = None) -> None:
        self.config = config
        self.data_dir = config.data_dir.expanduser().resolve()
        self.out = out or sys.stdout
        self.color = self.out.isatty() and os.environ.get("NO_COLOR") is None
        # Reentrant: the signal handler prints too, possibly while the main thread holds it.
        self._print_lock = threading.RLock()
        self._stop = threading.Event()
        self._phase = "starting"
        self._services: list[_Service] = []
        self._servers: Servers | None = None
        self._lock_fd: int | None = None
        self.settings: Settings | None = None
        self._samples_in = threading.Event()

    # -- output ----------------------------------------------------------------------
    def say(self, message: str) -> None:
        self._line("pitwall", message, "1")

    def _line(self, name: str, text: str, color: str) -> None:
        prefix = f"{name:<11}|"
        if self.color:
            prefix = f"\x1b[{color}m{prefix}\x1b[0m"
        with self._print_lock, contextlib.suppress(OSError, ValueError):
            # A closed terminal or pipe must not stop the stack (or block its services).
            self.out.write(f"{prefix} {text}\n")
            self.out.flush()

    # -- the whole life ------------------------------------------------------------
    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self._start()
            self._phase = "running"
            self._supervise()
            return 0
        except _Interrupted:
            return 0
        except StackError as exc:
            self.say(f"error: {exc}")
            return 1
        finally:
            self._phase = "stopping"
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._phase == "starting":
            # Interrupts a blocking start-up step; `run` then stops what already started.
            self._phase = "stopping"
            raise _Interrupted(signum)
        if self._phase == "running":
            self._stop.set()
        else:
            self.say("still stopping (services get 10 s, servers 20 s)")

    def _start(self) -> None:
        t0 = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._kill_leftovers()
        http_port = self._http_port()
        self.say(f"starting servers, data in {self.data_dir}")
        self._servers = start_local_servers(
            self.data_dir, rabbit_choice=self.config.rabbit, preferred=self._remembered_ports()
        )
        self._record_children()
        for note in self._servers.notes:
            self.say(note)
        self.say("servers ready: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(self._servers.timings.items())))
        self._remember_ports()
        # Its own vhost per data dir: a test's stack or a second checkout's never shares
        # queues with this one on the machine's broker.
        vhost = dev_vhost(self.data_dir)
        endpoints = self._servers.endpoints
        endpoints.rabbit_admin.add_vhost(vhost, endpoints.amqp_user)
        settings = endpoints.settings(
            vhost=vhost, mongo_db="pitwall", bucket_prefix="",
            data_dir=self.data_dir, http_port=http_port, http_host="127.0.0.1", log_format="console",
        )
        self.settings = settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
        env |= settings_env(settings) | {"PYTHONUNBUFFERED": "1"}
        commands = {name: [*pitwall_argv(), "service", name] for name in self.config.services}
        station: dict[str, str] = {}
        if "backup" in self.config.services:
            env |= self._backup_env()
        if "basestation" in self.config.services:
            station = self._station_env(settings)
            env |= station
            if self.config.car:
                car_dir = env["PITWALL_BASESTATION_WATCH_DIR"]
                commands["car"] = [*pitwall_argv(), "dev", "car", car_dir]
        # What the CLI reads to talk to this stack (pitwall.cli.stack); the station's
        # settings too, so `pitwall basestation status` shows this station. Owner-only:
        # it holds the station's token.
        env_path = self.data_dir / layout.ENV_FILE
        fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(env_file_text(settings, extra=station))
        os.chmod(env_path, 0o600)  # a file from an older version may have been 0644
        for index, (name, argv) in enumerate(commands.items()):
            color = _COLORS[index % len(_COLORS)]
            proc = ManagedProcess(name, argv, env=env, cwd=Path.cwd(), on_line=self._printer(name, color))
            service = _Service(name, proc)
            (self.data_dir / "logs").mkdir(exist_ok=True)
            service.log = open(self.data_dir / "logs" / f"{name}.log", "a", buffering=1)
            self._services.append(service)
            service.held = self._holds(name)
            if not service.held:
                proc.start()
        self._record_children()
        started = [s for s in self._services if not s.held]
        self.say(f"{len(started)} services started in {time.monotonic() - t0:.1f} s; waiting for /readyz"
                 + "".join(f"; {s.name} starts once the sample runs are in" for s in self._services if s.held))

    def _holds(self, name: str) -> bool:
        """The backup service makes up the schedule's latest slot as soon as it starts;
        on a new stack that backup would hold no runs and, being that slot's backup, it
        is not made again until the next one (03:00 by default): a page saying "backed
        up" over an empty backup. So it starts once the samples are runs. Holding the
        process back keeps the service's own catch-up rule the only one, and nothing is
        published before its queue exists."""
        return name == "backup" and self.config.samples and "query_api" in self.config.services

    def _backup_env(self) -> dict[str, str]:
        """The dev stack's backup key: made once, kept in the data dir (a real deployment
        sets PITWALL_BACKUP_PASSWORD from the team's password manager, never beside the backup)."""
        if os.environ.get("PITWALL_BACKUP_PASSWORD"):
            return {"PITWALL_BACKUP_PASSWORD": os.environ["PITWALL_BACKUP_PASSWORD"]}
        path = self.data_dir / layout.BACKUP_KEY
        if not path.exists():
            import secrets

            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        return {"PITWALL_BACKUP_PASSWORD": path.read_text().strip()}

    def _station_env(self, settings: Settings) -> dict[str, str]:
        """The base station of the dev stack: an uploader token, watching the simulated car."""
        import asyncio

        from pitwall.common import db
        from pitwall.common.contracts.mongo import TOKENS
        from pitwall.common.tokenstore import ensure_token

        async def ensure() -> str:
            client = db.make_client(settings)
            try:
                tokens = db.database(client, settings)[TOKENS]
                secret, _ = await ensure_token(tokens, self.data_dir / layout.STATION_TOKEN,
                                               "uploader", "base station (make up)")
                return secret
            finally:
                await client.close()

        return {
            "PITWALL_BASESTATION_STATION_ID": "trackside-dev",
            "PITWALL_BASESTATION_API_URL": f"http://127.0.0.1:{settings.http_port}",
            "PITWALL_BASESTATION_TOKEN": asyncio.run(ensure()),
            "PITWALL_BASESTATION_SPOOL_DIR": str(self.data_dir / "basestation"),
            "PITWALL_BASESTATION_WATCH_DIR": str(self.data_dir / "car" / "logs"),
            "PITWALL_BASESTATION_SETTLE_S": "5",
            "PITWALL_BASESTATION_HEARTBEAT_S": "5",
        }

    def _printer(self, name: str, color: str) -> Any:
        def on_line(text: str) -> None:
            service = next((s for s in self._services if s.name == name), None)
            if service is not None and service.log is not None:
                with contextlib.suppress(ValueError):  # closed at shutdown
                    service.log.write(text + "\n")
            self._line(name, text, color)

        return on_line

    def _supervise(self) -> None:
        assert self.settings is not None
        url = f"http://127.0.0.1:{self.settings.http_port}"
        wants_ready = "query_api" in self.config.services
        ready = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._stop.wait(0.25):
            if self._samples_in.is_set():
                self._start_held()
            self._restart_dead()
            if wants_ready and not ready:
                if http_ok(f"{url}/readyz", timeout=1.0):
                    ready = True
                    self.say(f"pitwall is up: {url}   (Ctrl-C stops everything)")
                    self._announce_admin_token()
                    if self.config.samples:
                        self._load_samples_in_background()
                elif time.monotonic() > deadline:
                    self.say(f"{url}/readyz is still not 200 after {READY_TIMEOUT_S:.0f} s; "
                             "see the service output above")
                    deadline = float("inf")
                    self._samples_in.set()  # no samples before /readyz: backups need not wait for them

    def _start_held(self) -> None:
        # From this thread: a child dies with the thread that forked it (PDEATHSIG).
        for service in self._services:
            if service.held:
                service.held = False
                service.proc.start()
                self._record_children()

    def _restart_dead(self) -> None:
        now = time.monotonic()
        for service in self._services:
            if service.held:
                continue
            proc = service.proc
            if service.restart_at is not None:
                if now >= service.restart_at:
                    service.restart_at = None
                    proc.start()
                    self._record_children()
                continue
            if proc.alive:
                continue
            ran = now - (proc.started_at or now)
            code = proc.stop()  # reaps it and whatever it left in its process group
            if ran > STABLE_AFTER_S:
                service.failures = 0
            service.failures += 1
            delay = min(2.0 ** (service.failures - 1), BACKOFF_MAX_S)
            self.say(
                f"{service.name} exited with code {code} after {ran:.1f} s; "
                f"restarting in {delay:.0f} s (restart #{service.failures})"
            )
            service.restart_at = now + delay

    def _announce_admin_token(self) -> None:
        """The admin token to log in with: made on the first start, reused after."""
        import asyncio

        from pitwall.common import db
        from pitwall.common.contracts.mongo import TOKENS
        from pitwall.common.tokenstore import ensure_admin_token

        settings = self.settings
        assert settings is not None

        async def ensure() -> tuple[str, bool]:
            client = db.make_client(settings)
            try:
                return await ensure_admin_token(db.database(client, settings)[TOKENS], path)
            finally:
                await client.close()

        path = self.data_dir / layout.ADMIN_TOKEN
        try:
            secret, created = asyncio.run(ensure())
        except Exception as exc:  # the stack is still useful; tokens can be made by hand
            self.say(f"could not make the admin token ({exc}); try `pitwall token create --role admin`")
            return
        self.say(f"admin token{' (new)' if created else ''}: {secret}   (kept in {path})")

    def _load_samples_in_background(self) -> None:
        def load() -> None:
            from pitwall.devstack.samples import load_samples, wait_for_runs

            assert self.settings is not None
            # Before the samples are announced, so their runs have units from the start.
            self._add_can_description()
            try:
                t0 = time.monotonic()
                run_ids = load_samples(self.settings)
                made = wait_for_runs(self.settings, run_ids)
                self.say(f"sample runs loaded in {time.monotonic() - t0:.1f} s"
                         + ("" if made == len(run_ids) else f" ({made} of {len(run_ids)} are runs so far)"))
            except Exception as exc:  # the stack stays useful without samples
                self.say(f"loading sample runs failed: {type(exc).__name__}: {exc}")
            finally:
                self._samples_in.set()  # in or not: a backup of what there is beats none

        threading.Thread(target=load, name="samples", daemon=True).start()

    def _add_can_description(self) -> None:
        """The synth CAN description into the catalogue; a line either way, never an exception."""
        from pitwall.devstack.catalogue import add_synth_can_description

        assert self.settings is not None
        url = f"http://127.0.0.1:{self.settings.http_port}"
        try:
            token = (self.data_dir / layout.ADMIN_TOKEN).read_text().strip()
            self.say(add_synth_can_description(url, token, self.settings.data_dir / "samples"))
        except Exception as exc:  # the stack is useful without units; the team can upload one by hand
            first_line = (str(exc).splitlines() or [""])[0]  # httpx adds a line of advice
            self.say(f"adding the synth CAN description to the catalogue failed ({type(exc).__name__}: {first_line}); "
                     "sample runs show no units until one is uploaded (POST /api/v1/catalogue/sources)")

    def _shutdown(self) -> None:
        if self._services:
            self.say("stopping services")
            threads = [threading.Thread(target=s.proc.stop, args=(10.0,), daemon=True) for s in self._services]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            for service in self._services:
                if service.log is not None:
                    service.log.close()
        if self._servers is not None:
            self.say("stopping servers")
            self._servers.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "run" / "children.json").unlink()
        self._release_lock()
        if self._services or self._servers is not None:
            self.say("stopped")

    # -- state in the data dir -----------------------------------------------------
    def _take_lock(self) -> None:
        path = self.data_dir / "devstack.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StackError(f"another `pitwall dev up` (pid {holder}) is using {self.data_dir}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _http_port(self) -> int:
        wanted = self.config.http_port
        if wanted is not None:
            if not claim(wanted):
                raise StackError(f"port {wanted} is taken; pass another --port")
            return wanted
        port = free_port(DEFAULT_HTTP_PORT)
        if port != DEFAULT_HTTP_PORT:
            self.say(f"port {DEFAULT_HTTP_PORT} is taken by another program, the web UI uses {port}")
        return port

    def _remembered_ports(self) -> PortPlan:
        try:
            saved = json.loads((self.data_dir / "ports.json").read_text())
            return PortPlan(mongo=saved["mongo"], s3=WeedPorts(**saved["s3"]),
                            amqp=saved.get("amqp") or DEFAULT_PLAN.amqp)
        except (FileNotFoundError, KeyError, TypeError, ValueError):
            return DEFAULT_PLAN

    def _remember_ports(self) -> None:
        assert self._servers is not None
        ports = dict(self._servers.ports)
        ports["s3"] = asdict(ports["s3"])
        (self.data_dir / "ports.json").write_text(json.dumps(ports, indent=2) + "\n")

    def _record_children(self) -> None:
        """Who we started, so a later `dev up` can stop them if we die without cleaning up."""
        import psutil

        pids = [p.pid for p in live_processes() if p.pid is not None]
        entries = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                entries.append({"pid": pid, "create_time": psutil.Process(pid).create_time()})
        run_dir = self.data_dir / "run"
        run_dir.mkdir(exist_ok=True)
        (run_dir / "children.json").write_text(json.dumps(entries))

    def _kill_leftovers(self) -> None:
        import psutil

        path = self.data_dir / "run" / "children.json"
        try:
            entries = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return
        for entry in entries:
            with contextlib.suppress(psutil.Error, KeyError, TypeError):
                proc = psutil.Process(entry["pid"])
                # The start time tells our old child apart from a new process with a reused pid.
                if abs(proc.create_time() - entry["create_time"]) < 0.01:
                    self.say(f"stopping leftover process {entry['pid']} ({proc.name()}) of an earlier run")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(entry["pid"], signal.SIGKILL)
        path.unlink()

