"""Where the running servers are, as `Settings` for code and `PITWALL_*` for processes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pitwall.common.settings import Settings
from pitwall.devstack.rabbit import RabbitAdmin


@dataclass(frozen=True)
class Endpoints:
    backend: str  # "local" or "docker"
    amqp_host: str
    amqp_port: int
    mongo_url: str
    s3_endpoint: str  # host:port, as the minio SDK wants it
    s3_access_key: str
    s3_secret_key: str
    rabbit_admin: RabbitAdmin = field(compare=False, repr=False)
    amqp_user: str = "guest"
    amqp_password: str = "guest"

    @property
    def amqp_url(self) -> str:
        """URL of the default vhost `/`."""
        return self.amqp_url_for("/")

    def amqp_url_for(self, vhost: str) -> str:
        return (
            f"amqp://{quote(self.amqp_user, safe='')}:{quote(self.amqp_password, safe='')}"
            f"@{self.amqp_host}:{self.amqp_port}/{quote(vhost, safe='')}"
        )

    def settings(
        self, *, vhost: str = "/", mongo_db: str = "pitwall", bucket_prefix: str = "", **overrides: Any
    ) -> Settings:
        values: dict[str, Any] = {
            "amqp_url": self.amqp_url_for(vhost),
            "mongo_url": self.mongo_url,
            "mongo_db": mongo_db,
            "s3_endpoint": self.s3_endpoint,
            "s3_access_key": self.s3_access_key,
            "s3_secret_key": self.s3_secret_key,
            "s3_secure": False,
            "bucket_prefix": bucket_prefix,
        }
        values.update(overrides)
        return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every field of `settings` as the `PITWALL_*` variable that reproduces it in a child.

    All fields, not only the connection ones: a test that tweaks, say, the retry
    schedule with `model_copy` gets the same schedule in the service it starts.
    """
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        key = f"PITWALL_{name.upper()}"
        if isinstance(value, str):
            env[key] = value
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            env[key] = str(value)
        else:  # lists and dicts: pydantic-settings parses complex fields as JSON
            env[key] = json.dumps(value)
    return env


def env_file_text(settings: Settings, extra: dict[str, str] | None = None) -> str:
    """A file `set -a; . FILE` can load, to point pitwall commands at a running stack."""
    lines = ["# Written by `pitwall dev up`: PITWALL_* for commands run against the dev stack."]
    for key, value in sorted((settings_env(settings) | (extra or {})).items()):
        lines.append(f"{key}={_shell_quote(value)}")
    return "\n".join(lines) + "\n"


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
