"""A run's catalogue: which source applies per signal, what wins (edit > CAN > schema),
renames as name groups, and what ingest's state rules and JSON schemas contribute."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from pitwall.common.catalogue import CanMessage, CanSignal, CanSource, Catalogue, name_groups
from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.common.mcapread.jsonchan import schema_facts
from pitwall.common.mcapread.records import SchemaRecord
from pitwall.ingest.digest import Digest
from pitwall.ingest.eventrules import load_rules

T0 = 1_715_000_000_000_000_000  # 2024-05-06


def _source(
    name: str, valid_from: date | None, version: int, **signals: tuple[str | None, dict[int, str]]
) -> CanSource:
    sigs = tuple(CanSignal(n, unit, None, 1.0, 0.0, states) for n, (unit, states) in signals.items())
    return CanSource(name, "dbc", (CanMessage("CAR", 1, None, sigs),), valid_from, version)


TOPICS = {"car_data": "hytech.car"}


def test_the_latest_valid_source_that_names_a_signal_gives_it() -> None:
    old = _source("old.dbc", date(2024, 1, 1), 1, speed=("km/h", {}), state=(None, {1: "GO"}))
    new = _source("new.dbc", date(2024, 5, 1), 2, speed=("m/s", {}))
    later = _source("later.dbc", date(2030, 1, 1), 3, speed=("mph", {}), state=(None, {1: "RUN"}))
    cat = Catalogue(sources=(old, new, later))
    info = cat.for_run(date(2024, 6, 1), TOPICS, ["car_data:speed", "car_data:state", "car_data:other"])
    # speed from the newest valid source; state only the older one names; `later` not valid yet.
    assert info["car_data:speed"]["unit"] == "m/s" and info["car_data:speed"]["origins"]["unit"] == "can:new.dbc#2"
    assert info["car_data:state"]["states"] == {"1": "GO"}
    assert "car_data:other" not in info
    # A run before every date takes nothing; an unknown start takes the newest.
    assert cat.for_run(date(2023, 1, 1), TOPICS, ["car_data:speed"]) == {}
    assert cat.for_run(None, TOPICS, ["car_data:speed"])["car_data:speed"]["unit"] == "mph"


def test_an_edit_wins_over_the_source_which_wins_over_the_schema() -> None:
    cat = Catalogue(sources=(_source("a.dbc", None, 1, speed=("m/s", {}), gear=(None, {})),),
                    edits={"car_data:speed": {"unit": "km/h", "display_name": "Speed"}})
    schema = {"car_data:speed": {"description": "from the schema", "unit": "ft/s"},
              "car_data:gear": {"states": {"0": "N", "1": "FIRST"}}}
    info = cat.for_run(None, TOPICS, ["car_data:speed", "car_data:gear"], schema)
    speed = info["car_data:speed"]
    assert (speed["unit"], speed["display_name"], speed["description"]) == ("km/h", "Speed", "from the schema")
    assert speed["origins"] == {"unit": "edit", "display_name": "edit", "description": "schema"}
    assert info["car_data:gear"]["states"] == {"0": "N", "1": "FIRST"}  # the source says nothing of them


def test_renames_join_every_name_of_a_signal_and_edits_follow_them() -> None:
    groups = name_groups({"a:x": "b:x", "b:x": "c:x", "d:y": "e:y"})
    assert set(groups["a:x"]) == set(groups["c:x"]) == {"a:x", "b:x", "c:x"} and groups["c:x"][0] == "c:x"
    assert set(groups["e:y"]) == {"d:y", "e:y"}
    cat = Catalogue(renames={"a:x": "c:x"}, edits={"c:x": {"unit": "bar"}})
    assert cat.aliases(["a:x", "z:z"]) == {"a:x": ["c:x"]}
    assert cat.for_run(None, {}, ["a:x"])["a:x"]["unit"] == "bar"


def _state_recording(codes: list[int]) -> Recording:
    t = T0 + np.arange(len(codes), dtype=np.int64) * 100_000_000
    cols = TopicColumns("car_data", "hytech.car", "protobuf", t)
    cols.signals = {"state": Signal("state", "int32", np.array(codes, dtype=np.int32))}
    return Recording(topics={"car_data": cols}, origin_ns=T0)


def test_a_state_rule_matches_the_catalogue_state_names_of_a_plain_integer(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[[rule]]\nname = "r"\nkind = "fault"\ntype = "state"\nsignal = "car_data:state"\n'
                          'state = "FAULT"\nnote = "{signal} in {state}"\n')
    rules = load_rules(rules_file)
    rec = _state_recording([0, 0, 2, 2, 0, 2])
    assert Digest.of(rec, rules).rule_events == []  # an int32 without names: nothing to match
    # 2024's description names code 2 FAULT; the run (2024-05) takes it, not 2030's.
    cat = Catalogue(sources=(_source("a.dbc", date(2024, 1, 1), 1, state=(None, {0: "OK", 2: "FAULT"})),
                             _source("b.dbc", date(2030, 1, 1), 2, state=(None, {0: "FAULT", 2: "OK"}))))
    digest = Digest(rules=rules, catalogue=cat)
    digest.add(rec)
    events = digest.rule_events
    assert [(e["start_s"], e["end_s"]) for e in events] == [(0.2, 0.3), (0.5, 0.5)]
    assert events[0]["note"] == "car_data:state in FAULT"


def test_a_json_schema_gives_units_and_descriptions_by_path() -> None:
    doc = {"type": "object", "properties": {
        "speed": {"type": "number", "unit": "m/s", "description": "ground speed"},
        "imu": {"type": "object", "properties": {"ax": {"type": "number", "unit": " m/s^2 "}}},
        "label": {"type": "string"},
    }}
    schema = SchemaRecord(id=1, name="car", encoding="jsonschema", data=json.dumps(doc).encode())
    assert schema_facts(schema) == {"speed": {"unit": "m/s", "description": "ground speed"},
                                    "imu.ax": {"unit": "m/s^2"}}
    assert schema_facts(SchemaRecord(id=1, name="car", encoding="jsonschema", data=b"{not json")) == {}
