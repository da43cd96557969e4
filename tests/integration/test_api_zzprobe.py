import pytest
import schemathesis
from helpers.api import start_api
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode


@pytest.fixture(scope="module")
def api(settings, service_env, tmp_path_factory):
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("probe"), "probe")

def test_probe(api):
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    op = schema["/api/v1/runs"]["GET"]
    seen = []
    @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        r = case.call(base_url=api.base_url, headers={"Authorization": f"Bearer {api.tokens['admin']}"})
        if r.status_code < 400:
            seen.append((case.query, getattr(case, "meta", None)))
    run()
    for q, m in seen[:5]:
        print("\nACCEPTED", q, "\n   ", m)
    print(len(seen))
