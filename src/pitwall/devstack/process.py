"""Child processes that never outlive us.

Each child gets its own session (process group), so a stop reaches its grandchildren
and a Ctrl-C in the terminal reaches only the parent, which then stops children in the
order it wants. Three safety nets stand behind an orderly `stop()`: an `atexit` hook, a
SIGTERM/SIGHUP handler (when nobody else installed one), and PR_SET_PDEATHSIG, which
makes Linux send SIGTERM to the child even when the parent is SIGKILLed.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

_PR_SET_PDEATHSIG = 1
_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


class ManagedProcess:
    """One child process (and its process group) with an orderly, bounded stop.

    Output goes to `log_path` (appended), to `on_line` (one call per line, from a
    reader thread), or nowhere. `term_leader_only` sends SIGTERM to the leader alone,
    for wrappers such as `rabbitmq-server` that forward it themselves; whatever remains
    of the group after the leader exited is SIGKILLed either way.

    Popen must be called from a thread that lives as long as the child: PDEATHSIG fires
    when the *thread* that forked exits.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log_path: Path | None = None,
        on_line: Callable[[str], None] | None = None,
        term_leader_only: bool = False,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self.on_line = on_line
        self.term_leader_only = term_leader_only
        self.stop_timeout = stop_timeout
        self.started_at: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> ManagedProcess:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        stdout: int | IO[bytes] = subprocess.DEVNULL
        log_file: IO[bytes] | None = None
        if self.on_line is not None:
            stdout = subprocess.PIPE
        elif self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = open(self.log_path, "ab")
            stdout = log_file
        try:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        finally:
            if log_file is not None:
                log_file.close()
        self.started_at = time.monotonic()
        with _live_lock:
            _live.add(self)
        if self.on_line is not None:
            self._reader = threading.Thread(target=self._pump, name=f"{self.name}-output", daemon=True)
            self._reader.start()
        return self

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None and self.on_line is not None
        for raw in iter(self._proc.stdout.readline, b""):
            self.on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self._proc.stdout.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._leader_exited()

    def _leader_exited(self) -> bool:
        """Exited, but not reaped: while the leader is a zombie its pid (= the group id)
        cannot be reused, so signalling the group stays safe."""
        assert self._proc is not None
        if self._proc.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code (None if never started)."""
        if self._proc is None:
            return None
        if self._proc.returncode is None and not self._leader_exited():
            if self.term_leader_only:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.send_signal(signal.SIGTERM)
            else:
                self._signal_group(signal.SIGTERM)
            limit = self.stop_timeout if timeout is None else timeout
            deadline = time.monotonic() + limit
            while not self._leader_exited() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self._leader_exited():
                # Said, because every stop that runs into its limit costs the whole limit.
                print(f"{self.name} (pid {self.pid}) did not stop within {limit:g} s of SIGTERM: killed",
                      file=sys.stderr)
        return self._finish()

    def kill(self) -> int | None:
        """SIGKILL the whole group at once: no chance to clean up (what a crash looks like)."""
        if self._proc is None:
            return None
        return self._finish()

    def _finish(self) -> int:
        assert self._proc is not None
        if self._proc.returncode is None:
            # Grandchildren that ignored SIGTERM, or a leader that did not stop in time.
            self._signal_group(signal.SIGKILL)
        code = self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        with _live_lock:
            _live.discard(self)
        return code

    def wait(self, timeout: float | None = None) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def live_processes() -> list[ManagedProcess]:
    with _live_lock:
        return list(_live)


def stop_all(timeout: float = 10.0) -> None:
    """Stop every live child of this process, in parallel (the atexit/signal safety net)."""
    with _live_lock:
        procs = list(_live)
    threads = [threading.Thread(target=p.stop, args=(timeout,), daemon=True) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)


atexit.register(stop_all)


def install_signal_safety_net() -> None:
    """On SIGTERM/SIGHUP, stop our children, then die of the signal as we would have.

    Only replaces the default action: a program that handles these signals itself
    (the dev-stack supervisor, pytest plugins) keeps its own handler.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop_all(timeout=5.0)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, handler)
