"""restic, the proven tool for the catalogue dumps: encrypted, deduplicated, checkable.

A thin wrapper over the `restic` command (Debian's package; scripts/ensure-restic.sh).
The repository key comes from PITWALL_BACKUP_PASSWORD and is passed to restic in its
environment only: it is never written next to the backup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any


class ResticError(RuntimeError):
    pass


LOCK_WAIT_S = 300.0
LOCK_POLL_S = 2.0


class WrongKey(ResticError):
    pass


class Restic:
    def __init__(self, repo: str, password: str, env: dict[str, str] | None = None) -> None:
        if not password:
            raise ResticError("PITWALL_BACKUP_PASSWORD is not set: the backup is encrypted with it (keep it "
                              "outside the backup, e.g. in the team's password manager)")
        if shutil.which("restic") is None:
            raise ResticError("restic is not installed: run scripts/ensure-restic.sh (Debian package restic)")
        self.repo = repo
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("RESTIC_")}, **(env or {}),
                    "RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": password, "RESTIC_CACHE_DIR": _cache_dir()}

    def run(self, *args: str, timeout: float = 3600) -> str:
        # restic 0.14 (Debian 12) has no --retry-lock: a verify or restore that meets the
        # service's prune (an exclusive lock, seconds) waits for it instead of failing.
        waited = 0.0
        while True:
            done = subprocess.run(["restic", "--no-lock" if args[0] in ("snapshots", "cat") else "-q", *args],
                                  env=self.env, capture_output=True, text=True, timeout=timeout)
            if done.returncode == 0 or "already locked" not in done.stderr or waited >= LOCK_WAIT_S:
                break
            time.sleep(LOCK_POLL_S)
            waited += LOCK_POLL_S
        if done.returncode != 0:
            err = (done.stderr or done.stdout).strip().splitlines()
            last = next((line for line in reversed(err) if line.strip()), f"exit {done.returncode}")
            if "wrong password" in done.stderr or "no key found" in done.stderr:
                raise WrongKey("the backup key (PITWALL_BACKUP_PASSWORD) does not open this backup")
            raise ResticError(f"restic {args[0]}: {last[:300]}")
        return done.stdout

    def exists(self) -> bool:
        try:
            self.run("cat", "config")
            return True
        except WrongKey:
            raise
        except ResticError:
            return False

    def ensure(self) -> None:
        if not self.exists():
            self.run("init", "--repository-version", "2")

    def backup(self, folder: Path, tags: list[str]) -> str:
        args = ["backup", "--json", "--host", "pitwall", "--compression", "auto"]
        for t in tags:
            args += ["--tag", t]
        out = subprocess.run(["restic", *args, "."], env=self.env, cwd=folder, capture_output=True, text=True,
                             timeout=3600)
        if out.returncode != 0:
            raise ResticError(f"restic backup: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        for line in out.stdout.splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("message_type") == "summary":
                return str(msg["snapshot_id"])
        raise ResticError("restic backup printed no snapshot id")

    def snapshots(self) -> list[dict[str, Any]]:
        return list(json.loads(self.run("snapshots", "--json") or "[]"))

    def restore(self, snapshot: str, into: Path) -> None:
        self.run("restore", snapshot, "--target", str(into))

    def check(self, read_data: bool = True) -> None:
        self.run("check", *(["--read-data"] if read_data else []))

    def forget(self, snapshots: list[str]) -> None:
        if snapshots:
            self.run("forget", "--prune", *snapshots)


def _cache_dir() -> str:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pitwall-restic"
    base.mkdir(parents=True, exist_ok=True)
    return str(base)
