"""Ingest's event rules: the file loads or says which rule is wrong; rules find ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.ingest.digest import Digest
from pitwall.ingest.eventrules import DEFAULT_FILE, RuleError, load_rules

T0 = 1_700_000_000_000_000_000


def _rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def _recording(values: np.ndarray, kind: str = "double", rate_hz: float = 10.0, first: int = 0,
               **extra: Signal) -> Recording:
    t = T0 + ((first + np.arange(values.shape[0])) * int(1e9 / rate_hz)).astype(np.int64)
    cols = TopicColumns("Thermal", "x.Thermal", "protobuf", t)
    cols.signals = {"motor_temp": Signal("motor_temp", kind, values, repeated=values.ndim == 2), **extra}  # type: ignore[arg-type]
    return Recording(topics={"Thermal": cols}, origin_ns=T0)


def test_the_shipped_rules_load() -> None:
    rules = load_rules(DEFAULT_FILE)
    assert {r.type for r in rules.rules} == {"state", "limit"} and rules.source == str(DEFAULT_FILE)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[rule]]\nname = "hot"\nkind = "overtemp"\ntype = "limit"\nsignal = "*:t"\n',
         "rule 1 ('hot'): a limit rule needs `above` or `below`"),
        ('[[rule]]\nname = "hot"\nkind = "x"\ntype = "limit"\nsignal = "*:t"\nabove = "warm"\n',
         "rule 1 ('hot'): above: Input should be a valid number"),
        ('[[rule]]\nname = "f"\nkind = "fault"\ntype = "state"\nsignal = "*:*state*"\n',
         "rule 1 ('f'): state: Field required"),
        ('[[rule]]\nname = "f"\nkind = "fault"\ntype = "edge"\nsignal = "*"\n', "rule 1 ('f'): type: Input tag 'edge'"),
        ('[[rule]]\nname = "f"\nkind = ""\ntype = "state"\nsignal = "*"\nstate = "*F*"\n',
         "rule 1 ('f'): kind: String should have at least 1 character"),
        ('[[rule]]\nname = "f"\nkind = "k"\ntype = "state"\nsignal = "*"\nstate = "*F*"\nnote = "{speed}"\n',
         "rule 1 ('f'): note '{speed}' cannot be filled in"),
        ('[[rule]]\nname = "a"\nkind = "k"\ntype = "limit"\nsignal = "*"\nabove = 1\n\n'
         '[[rule]]\nname = "a"\nkind = "k"\ntype = "limit"\nsignal = "*"\nbelow = 1\n',
         "rule 2 ('a'): a rule named 'a' comes earlier"),
        ('[[rule]]\nname = "a"\nkind = "k"\ntype = "limit"\nsignal = "*"\nabove = 1\nlimit = 3\n',
         "rule 1 ('a'): limit: Extra inputs are not permitted"),
        ("[rules]\nname = 1\n", "unknown top-level key(s) rules"),
        ("[[rule]\n", "not valid TOML"),
    ],
)
def test_a_bad_rule_is_named_with_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    path = _rules(tmp_path, text)
    with pytest.raises(RuleError) as err:
        load_rules(path)
    assert str(err.value).startswith(f"event rules {path}: ") and says in str(err.value), str(err.value)


def test_a_missing_rule_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"nope\.toml: cannot read it"):
        load_rules(tmp_path / "nope.toml")


LIMIT = '[[rule]]\nname = "hot"\nkind = "overtemp"\ntype = "limit"\nsignal = "Thermal:motor_temp"\nabove = 100\n'


def test_a_limit_rule_marks_each_range_above_it_with_its_peak(tmp_path: Path) -> None:
    values = np.full(100, 90.0)
    values[10:20] = 101.0
    values[15] = 130.0
    values[50:51] = 105.0  # one sample: a range of zero length
    values[70:90] = np.nan  # not past any limit
    rules = load_rules(_rules(tmp_path,
                              LIMIT + 'note = "{signal} above {limit} for {duration_s:.1f} s, peak {peak}"\n'))
    events = Digest.of(_recording(values), rules).rule_events
    assert [(e["start_s"], e["end_s"]) for e in events] == [(1.0, 1.9), (5.0, 5.0)]
    assert events[0]["note"] == "Thermal:motor_temp above 100.0 for 0.9 s, peak 130.0"
    assert {(e["kind"], e["rule"]) for e in events} == {("overtemp", "hot")}

    # A minimum duration drops the short one.
    longer = load_rules(_rules(tmp_path, LIMIT + "min_duration_s = 0.5\n"))
    assert [e["start_s"] for e in Digest.of(_recording(values), longer).rule_events] == [1.0]


def test_a_repeated_signal_counts_when_any_element_is_past_the_limit(tmp_path: Path) -> None:
    cells = np.full((30, 4), 50.0)
    cells[5:8, 2] = 140.0
    below = load_rules(_rules(tmp_path, LIMIT.replace("above = 100", "below = 10")))
    rules = load_rules(_rules(tmp_path, LIMIT))
    assert [(e["start_s"], e["end_s"]) for e in Digest.of(_recording(cells), rules).rule_events] == [(0.5, 0.7)]
    assert Digest.of(_recording(cells), below).rule_events == []


def test_a_state_rule_marks_the_ranges_in_a_matching_state(tmp_path: Path) -> None:
    names = {0: "ACU_STATE_IDLE", 1: "ACU_STATE_ACTIVE", 3: "ACU_STATE_FAULT"}
    state = np.array([0, 1, 1, 3, 3, 3, 1, 3, 1, 1], dtype=np.int32)
    rec = _recording(np.zeros(10), state=Signal("state", "enum", state, enum_names=names))
    rules = load_rules(_rules(tmp_path, '[[rule]]\nname = "f"\nkind = "fault"\ntype = "state"\nsignal = "*:*state*"\n'
                                        'state = "*fault*"\nnote = "{topic}: {path} entered {state}"\n'))
    events = Digest.of(rec, rules).rule_events
    assert [(e["start_s"], e["end_s"]) for e in events] == [(0.3, 0.5), (0.7, 0.7)]
    assert events[0]["note"] == "Thermal: state entered ACU_STATE_FAULT"


def test_a_rule_makes_at_most_its_cap_per_run_across_passes_and_says_so(tmp_path: Path) -> None:
    values = np.tile([0.0, 200.0], 40)  # 40 one-sample ranges
    rules = load_rules(_rules(tmp_path, LIMIT + "max_events = 5\n"))
    digest = Digest(rules=rules)
    digest.add(_recording(values[40:], first=40))  # passes need not come in time order
    digest.add(_recording(values[:40]))
    events = digest.rule_events
    assert len(events) == 5 and [e["start_s"] for e in events] == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert events[-1]["note"].endswith("(+35 more not marked: at most 5 per run)")
