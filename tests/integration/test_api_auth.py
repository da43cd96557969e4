"""Access control on the real query_api: tokens, roles, revocation, the web page's cookie."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.api import Api, insert_run, recording, require_ok, start_api, T0_NS
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-auth"), "auth")


def test_smoke(api: Api) -> None:
    insert_run(api, recording(T0_NS), "a.mcap")
    with api.client("viewer") as c:
        print(c.get("/api/v1/runs").json())
