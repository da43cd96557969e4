"""The gateway says which dependency is down, and answers 503 rather than failing."""

from __future__ import annotations

from typing import Any

import httpx

from pitwall.devstack.ports import free_port


def test_readyz_names_the_dependency_that_is_down_and_api_answers_503(settings: Any, pitwall_service: Any) -> None:
    dead_mongo = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    api = pitwall_service("query_api", env={"PITWALL_MONGO_URL": dead_mongo}, wait=False)
    url = f"http://127.0.0.1:{api.http_port}"
    api.wait_for_log("broker connected", timeout=60)
    r = httpx.get(f"{url}/readyz", timeout=15)
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["mongodb"]["status"] == "down"
    assert checks["broker"]["status"] == "up" and checks["s3"]["status"] == "up"
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # alive all the same
    # a request that needs the database gets a clear 503, not a 500 or a dropped connection
    r = httpx.get(f"{url}/api/v1/runs", headers={"Authorization": "Bearer whatever"}, timeout=30)
    assert r.status_code == 503 and "database" in r.json()["detail"]
