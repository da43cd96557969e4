"""One export spec: the API's request and the event share it, and the cache key is the old one.

The converter's cache key names objects already in S3: a key that changed would make every
earlier export miss (and be made again). The oracle below is the algorithm as it was before
the spec existed, written out here, not imported.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, get_args

import pytest

from pitwall.common.events import ConversionRequested, parse_event
from pitwall.common.exportformats import FORMATS, LABEL, SUFFIX, ExportFormat
from pitwall.common.exportspec import ExportSpec
from pitwall.converter.worker import request_key, result_object_key
from pitwall.query_api.models import ExportRequest

RUN_A, RUN_B = "a" * 64, "0123456789abcdef" * 4


def _old_key(event: dict[str, Any]) -> str:
    """The key before ExportSpec: these nine fields and the format version, as JSON."""
    fields = (
        "runs", "topics", "signals", "start_s", "end_s", "resample_hz", "interp", "format", "layout"
    )
    body = {k: event[k] for k in fields} | {"v": 1}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]


REQUESTS: list[dict[str, Any]] = [
    {"runs": [RUN_A]},
    {"runs": [RUN_A, RUN_B], "signals": ["VNData:vn_vel.*", "ACU_data:*"], "topics": "^(VN|ACU)"},
    {"runs": [RUN_B], "start_s": 2.5, "end_s": 20.0, "resample_hz": 50, "interp": "linear",
     "format": "mat73", "layout": "pairs"},
    {"runs": [RUN_A], "start_s": 0.0, "format": "parquet", "resample_hz": 0.5},
    {"runs": [RUN_A], "end_s": 7, "format": "csv", "run_event": "e" * 12},
]


@pytest.mark.parametrize("fields", REQUESTS, ids=range(len(REQUESTS)))
def test_the_cache_key_is_the_one_made_before_the_spec(fields: dict[str, Any]) -> None:
    event = ConversionRequested(
        job_id="j1", requested_by="x", filenames={RUN_A: "a.mcap"}, **fields
    )
    wire = json.loads(event.model_dump_json())
    assert request_key(event) == _old_key(wire)
    # Through the bus and back (what the converter computes it from): the same.
    parsed = parse_event(event.name, event.model_dump_json().encode())
    assert isinstance(parsed, ConversionRequested)
    assert request_key(parsed) == _old_key(wire)


def test_a_fixed_request_keeps_its_key() -> None:
    """Pinned: the value the converter computed for this request before the spec existed."""
    event = ConversionRequested(
        job_id="j1", runs=[RUN_B], signals=["VNData:vn_vel.*"], start_s=2.5, end_s=20.0,
        resample_hz=50.0, interp="linear", format="mat73", layout="pairs",
    )
    assert request_key(event) == _old_key(json.loads(event.model_dump_json()))
    assert request_key(event) == "ba8ba55a31d4fe8b00a2cc266bf268db"  # from the old worker, run on it


def test_job_names_and_requester_do_not_change_the_key() -> None:
    one = ConversionRequested(job_id="j1", runs=[RUN_A], requested_by="a", download_name="x")
    two = ConversionRequested(job_id="j2", runs=[RUN_A], requested_by="b", run_event="e" * 12)
    assert request_key(one) == request_key(two)


def test_the_event_is_the_request_spec_with_the_window() -> None:
    body = {"runs": [RUN_A, RUN_A], "signals": ["A:*"], "topics": "A", "start": 1.0, "end": 2.0,
            "resample_hz": 10, "interp": "linear", "format": "csv", "layout": "pairs"}
    req = ExportRequest.model_validate(body)
    event = ConversionRequested(
        **{**req.spec_fields(), "runs": [RUN_A]}, job_id="j", start_s=1.0, end_s=2.0
    )
    wire = json.loads(event.model_dump_json())
    for name in ExportSpec.model_fields:
        default = ExportSpec.model_fields[name].default
        expected = [RUN_A] if name == "runs" else body.get(name, default)
        assert wire[name] == expected, name
    assert (wire["start_s"], wire["end_s"]) == (1.0, 2.0)
    # The window's names stay outside the spec.
    assert not {"start", "end", "event", "start_s", "end_s", "run_event"} & set(ExportSpec.model_fields)


def test_formats_are_defined_once() -> None:
    assert FORMATS == ("mat", "mat73", "csv", "parquet")
    assert set(SUFFIX) == set(LABEL) == set(FORMATS)
    for model in (ExportSpec, ExportRequest, ConversionRequested):
        assert get_args(model.model_fields["format"].annotation) == get_args(ExportFormat)


@pytest.mark.parametrize(("fmt", "one", "several"), [
    ("mat", "run.mat", ".zip"), ("mat73", "run.mat", ".zip"),
    ("csv", "run.zip", ".zip"), ("parquet", "run.zip", ".zip"),
])
def test_the_download_suffix(fmt: ExportFormat, one: str, several: str) -> None:
    single = ConversionRequested(job_id="j", runs=[RUN_A], format=fmt, download_name="run")
    assert result_object_key(single).endswith("/" + one)
    many = ConversionRequested(job_id="j", runs=[RUN_A, RUN_B], format=fmt, download_name="runs")
    assert result_object_key(many).endswith("/runs" + several)
