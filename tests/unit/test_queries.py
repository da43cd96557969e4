"""The run list's query planner (pitwall.query_api.queries) and the list's input checks
(pitwall.query_api.domain.runs.list_filters), without a server.

Every expected filter, sort, bound and cursor below is written out by hand from what the
planner promises (see the module docstring of `queries`): `deleted = false`, equality
filters, a range on the order's key, sorted by (key, _id), keyset pages split into plain
index ranges. Nothing here calls the planner to make an expectation.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError

from pitwall.query_api.auth import Principal
from pitwall.query_api.domain.runs import list_filters
from pitwall.query_api.queries import (
    Cursor,
    FilterError,
    Predicate,
    RunFilters,
    Sort,
    as_utc,
    name_matches,
    page_queries,
    parse_where,
    sort_spec,
    text_tokens,
)

I64_MIN = -9_223_372_036_854_775_808
I64_MAX = 9_223_372_036_854_775_807
NEW_YEAR_2024_NS = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z
A_DAY_NS = 86_400 * 10**9
RUN_A = "a" * 64
RUN_B = "b" * 64


# -- where-predicates ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VNData:vn_vel.x.max>25", Predicate("VNData:vn_vel.x", "max", ">", 25.0)),
        ("BMS:pack_v.min>=1.5", Predicate("BMS:pack_v", "min", ">=", 1.5)),
        ("  BMS:cells[3].mean <= -2e3  ", Predicate("BMS:cells[3]", "mean", "<=", -2000.0)),
        ("ACU:fault.count=3", Predicate("ACU:fault", "count", "=", 3.0)),
        ("ACU:t.max<.5", Predicate("ACU:t", "max", "<", 0.5)),
        # The last `.stat` is the statistic: a path may itself hold dots and colons.
        ("/can/bus:a.b.c.mean>+1", Predicate("/can/bus:a.b.c", "mean", ">", 1.0)),
    ],
)
def test_a_where_predicate_is_read(text: str, expected: Predicate) -> None:
    assert parse_where(text) == expected


@pytest.mark.parametrize(
    ("predicate", "mongo"),
    [
        (Predicate("VNData:vn_vel.x", "max", ">", 25.0), {"key": "VNData:vn_vel.x", "max": {"$gt": 25.0}}),
        (Predicate("k:p", "min", ">=", 1.0), {"key": "k:p", "min": {"$gte": 1.0}}),
        (Predicate("k:p", "mean", "<", -1.0), {"key": "k:p", "mean": {"$lt": -1.0}}),
        (Predicate("k:p", "count", "<=", 0.0), {"key": "k:p", "count": {"$lte": 0.0}}),
        (Predicate("k:p", "max", "=", 2.0), {"key": "k:p", "max": {"$eq": 2.0}}),
    ],
)
def test_a_predicate_asks_the_signal_statistics(predicate: Predicate, mongo: dict[str, object]) -> None:
    assert predicate.mongo() == mongo


@pytest.mark.parametrize(
    "text",
    [
        "VNData:vn_vel.x.median>25",  # not a statistic
        "vn_vel.x.max>25",  # no topic
        "VNData:vn_vel.x.max>fast",  # not a number
        "VNData:vn_vel.x.max=>25",  # not an operator
        "VNData:vn_vel.x.max",  # no comparison
        ":vn_vel.x.max>1",  # empty topic
        "",
    ],
)
def test_an_unreadable_predicate_names_the_where_parameter(text: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_where(text)
    assert caught.value.field == "where"
    assert "expected `topic:path.stat OP number`" in str(caught.value)


def test_a_number_beyond_a_float_is_refused() -> None:
    with pytest.raises(FilterError, match="out of range") as caught:
        parse_where("VNData:vn_vel.x.max>1e999")
    assert caught.value.field == "where"


# -- words and names -----------------------------------------------------------------
def test_free_text_becomes_its_distinct_words_in_order() -> None:
    # Lower case; words of one character (the "2") are not searchable.
    assert text_tokens("Endurance run, Lap-2 ENDURANCE") == ["endurance", "lap", "run"]
    assert text_tokens("  ") == []


@pytest.mark.parametrize(
    ("wanted", "matches"),
    [
        ("Michigan", True),
        ("lot 5", True),
        ("mich int", True),
        ("speedway MICHIGAN", True),  # order and case do not matter
        ("lot 7", False),
        ("igan", False),  # the start of a word, not any part
        ("", False),  # nothing asked matches nothing
    ],
)
def test_a_name_matches_when_each_word_starts_a_word(wanted: str, matches: bool) -> None:
    assert name_matches(wanted, "Michigan International Speedway - lot 5") is matches


# -- the filter --------------------------------------------------------------------
def test_no_filter_lists_the_live_runs() -> None:
    assert RunFilters().match(None) == {"deleted": False}


def test_admins_may_ask_for_deleted_runs_too() -> None:
    assert RunFilters(include_deleted=True).match(None) == {"deleted": {"$in": [False, True]}}


def test_one_value_is_an_equality_several_are_any_of_them() -> None:
    filters = RunFilters(track=("Ohio",), driver=("Ann", "Bob"), event_type=("skidpad",), car=("HT07",),
                         status=("ready", "recovered"))
    assert filters.match(None) == {
        "deleted": False,
        "setup.track": "Ohio",
        "setup.driver": {"$in": ["Ann", "Bob"]},
        "setup.event_type": "skidpad",
        "setup.car": "HT07",
        "status": {"$in": ["ready", "recovered"]},
    }


def test_tags_topics_and_words_must_all_be_there() -> None:
    filters = RunFilters(tag=("wet", "night"), has_topic=("VNData",), q=("endur",), event=("lock", "t3"))
    assert filters.match(None) == {
        "deleted": False,
        "tags": {"$all": ["wet", "night"]},
        "topics": "VNData",
        "search": "endur",
        "event_tokens": {"$all": ["lock", "t3"]},
    }


def test_signal_filters_become_candidate_run_ids() -> None:
    # has_signal and where are answered by `signals`: the summaries get the run ids.
    filters = RunFilters(has_signal=("VNData:vn_vel.x",), where=(Predicate("k:p", "max", ">", 1.0),))
    assert filters.match({RUN_B, RUN_A}) == {"deleted": False, "_id": {"$in": [RUN_A, RUN_B]}}


def test_resolved_names_replace_the_names_asked() -> None:
    filters = RunFilters(track=("ohio",), car=("HT07",))
    names = {"track": ("Ohio State", "Ohio Valley"), "car": ("HT07",)}
    assert filters.match(None, names) == {
        "deleted": False, "setup.track": {"$in": ["Ohio State", "Ohio Valley"]}, "setup.car": "HT07",
    }


def test_a_time_range_bounds_the_start_of_the_recording() -> None:
    after = datetime(2024, 1, 1, tzinfo=UTC)
    before = datetime(2024, 1, 2, tzinfo=UTC)
    by_start = RunFilters(recorded_after=after, recorded_before=before)
    # Ordered by start, the range is the walk's bounds, not part of the filter; `>= x` is
    # written `> x - 1` (start times are integers).
    assert by_start.match(None) == {"deleted": False}
    assert by_start.key_bounds() == {"$gt": NEW_YEAR_2024_NS - 1, "$lt": NEW_YEAR_2024_NS + A_DAY_NS}
    # Ordered by upload, the recording time is a plain filter and the walk covers every upload.
    by_upload = RunFilters(recorded_after=after, recorded_before=before, sort="-uploaded")
    assert by_upload.match(None) == {
        "deleted": False, "start_ns": {"$gt": NEW_YEAR_2024_NS - 1, "$lt": NEW_YEAR_2024_NS + A_DAY_NS},
    }
    assert by_upload.key_bounds() == {"$gt": I64_MIN}


def test_times_are_utc_whatever_zone_they_were_given_in() -> None:
    naive = RunFilters(recorded_after=datetime(2024, 1, 1))
    two_hours_east = RunFilters(recorded_after=datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))))
    assert naive.start_bounds() == two_hours_east.start_bounds() == {"$gt": NEW_YEAR_2024_NS - 1}


def test_times_outside_int64_nanoseconds_are_clamped() -> None:
    ancient = RunFilters(recorded_after=datetime(1, 1, 1, tzinfo=UTC),
                         recorded_before=datetime(9999, 12, 31, tzinfo=UTC))
    assert ancient.start_bounds() == {"$gt": I64_MIN, "$lt": I64_MAX}


def test_as_utc_keeps_the_instant() -> None:
    assert as_utc(datetime(2024, 1, 1, 12)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert as_utc(datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))).hour == 12
    # Shifting year 1 west of UTC leaves the calendar: the earliest instant stands in.
    assert as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime.min.replace(tzinfo=UTC)


# -- sort choices ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sort", "key", "descending", "spec"),
    [
        ("-start", "start_ns", True, [("start_ns", -1), ("_id", -1)]),
        ("start", "start_ns", False, [("start_ns", 1), ("_id", 1)]),
        ("-uploaded", "uploaded_ns", True, [("uploaded_ns", -1), ("_id", -1)]),
        ("uploaded", "uploaded_ns", False, [("uploaded_ns", 1), ("_id", 1)]),
    ],
)
def test_each_sort_walks_its_key_then_the_id(sort: str, key: str, descending: bool,
                                             spec: list[tuple[str, int]]) -> None:
    filters = RunFilters(sort=cast(Sort, sort))
    assert (filters.key, filters.descending, filters.by_start) == (key, descending, key == "start_ns")
    assert sort_spec(filters) == spec


def test_the_default_order_is_newest_recording_first() -> None:
    assert RunFilters().sort == "-start"


# -- keyset pages --------------------------------------------------------------------
BASE = {"deleted": False}


def test_a_first_page_by_start_ends_with_the_runs_without_a_start() -> None:
    assert page_queries(RunFilters(), BASE, None) == [
        {"deleted": False, "start_ns": {"$gt": I64_MIN}},
        {"deleted": False, "start_ns": None},
    ]


def test_a_time_range_leaves_out_the_runs_without_a_start() -> None:
    filters = RunFilters(recorded_before=datetime(2024, 1, 1, tzinfo=UTC))
    assert page_queries(filters, BASE, None) == [
        {"deleted": False, "start_ns": {"$gt": I64_MIN, "$lt": NEW_YEAR_2024_NS}},
    ]


def test_the_upload_orders_have_no_runs_without_a_key() -> None:
    assert page_queries(RunFilters(sort="uploaded"), BASE, None) == [
        {"deleted": False, "uploaded_ns": {"$gt": I64_MIN}},
    ]


def test_newest_first_continues_after_the_cursor() -> None:
    filters = RunFilters()
    cursor = Cursor(500, RUN_B, filters.fingerprint())
    assert page_queries(filters, BASE, cursor) == [
        {"deleted": False, "start_ns": 500, "_id": {"$lt": RUN_B}},  # the same start, smaller ids
        {"deleted": False, "start_ns": {"$gt": I64_MIN, "$lt": 500}},  # then older starts
        {"deleted": False, "start_ns": None},  # then the runs without a start
    ]


def test_oldest_first_continues_after_the_cursor() -> None:
    filters = RunFilters(sort="start")
    cursor = Cursor(500, RUN_B, filters.fingerprint())
    assert page_queries(filters, BASE, cursor) == [
        {"deleted": False, "start_ns": 500, "_id": {"$gt": RUN_B}},
        {"deleted": False, "start_ns": {"$gt": 500}},
        {"deleted": False, "start_ns": None},
    ]


def test_a_cursor_keeps_the_tighter_of_its_key_and_the_range() -> None:
    before = RunFilters(recorded_before=datetime(2024, 1, 1, tzinfo=UTC))
    late = Cursor(NEW_YEAR_2024_NS + 7, RUN_A, before.fingerprint())  # cannot happen, but must not widen
    assert page_queries(before, BASE, late)[1] == {"deleted": False,
                                                   "start_ns": {"$gt": I64_MIN, "$lt": NEW_YEAR_2024_NS}}
    early = Cursor(7, RUN_A, before.fingerprint())
    assert page_queries(before, BASE, early)[1] == {"deleted": False, "start_ns": {"$gt": I64_MIN, "$lt": 7}}


def test_past_the_runs_with_a_start_only_the_rest_of_those_without_remain() -> None:
    filters = RunFilters()
    cursor = Cursor(None, RUN_B, filters.fingerprint())
    assert page_queries(filters, BASE, cursor) == [{"deleted": False, "start_ns": None, "_id": {"$lt": RUN_B}}]


def test_candidate_ids_stay_beside_the_cursor_id() -> None:
    filters = RunFilters(sort="-uploaded")
    base = {"deleted": False, "_id": {"$in": [RUN_A, RUN_B]}}
    cursor = Cursor(500, RUN_B, filters.fingerprint())
    assert page_queries(filters, base, cursor) == [
        {"deleted": False, "_id": {"$lt": RUN_B, "$in": [RUN_A, RUN_B]}, "uploaded_ns": 500},
        {"deleted": False, "_id": {"$in": [RUN_A, RUN_B]}, "uploaded_ns": {"$gt": I64_MIN, "$lt": 500}},
    ]


# -- cursors -------------------------------------------------------------------------
def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_is_url_safe_json_without_padding() -> None:
    filters = RunFilters(track=("Ohio",))
    fp = filters.fingerprint()
    text = _token(f'[500,"{RUN_A}","{fp}"]'.encode())
    assert Cursor.decode(text, filters) == Cursor(500, RUN_A, fp)
    assert Cursor(500, RUN_A, fp).encode() == text
    assert Cursor.decode(_token(f'[null,"{RUN_A}","{fp}"]'.encode()), filters) == Cursor(None, RUN_A, fp)


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'[1.5,"r","fp"]', b'[true,"r","fp"]', b'[1,2,"fp"]', b'[1,"r"]', b"{}", b"\xff\xfe"],
)
def test_a_cursor_not_handed_out_is_refused(raw: bytes) -> None:
    filters = RunFilters()
    raw = raw.replace(b'"fp"', f'"{filters.fingerprint()}"'.encode())
    with pytest.raises(FilterError, match="not a cursor this API handed out") as caught:
        Cursor.decode(_token(raw), filters)
    assert caught.value.field == "cursor"


def test_text_that_is_not_base64_is_refused() -> None:
    with pytest.raises(FilterError, match="not a cursor"):
        Cursor.decode("%%%", RunFilters())


def test_a_cursor_of_another_query_is_refused() -> None:
    text = Cursor(500, RUN_A, RunFilters(track=("Ohio",)).fingerprint()).encode()
    for other in (RunFilters(track=("Utah",)), RunFilters(track=("Ohio",), sort="start"), RunFilters()):
        with pytest.raises(FilterError, match="other filters or sort") as caught:
            Cursor.decode(text, other)
        assert caught.value.field == "cursor"


def test_the_fingerprint_is_the_query_as_asked() -> None:
    one = RunFilters(track=("Ohio",), q=("endur",))
    assert one.fingerprint() == RunFilters(track=("Ohio",), q=("endur",)).fingerprint()
    assert len(one.fingerprint()) == 16 and int(one.fingerprint(), 16) >= 0
    assert one.fingerprint() != RunFilters(track=("Ohio",), q=("endurance",)).fingerprint()
    assert one.fingerprint() != RunFilters(track=("Ohio",), q=("endur",), sort="uploaded").fingerprint()


# -- the list's input checks (domain.runs.list_filters) ----------------------------------
VIEWER = Principal("t1", "viewer", "viewer")
ADMIN = Principal("t2", "admin", "admin")
NO_VALUES: dict[str, list[str]] = {
    name: [] for name in ("track", "driver", "event_type", "car", "tag", "has_topic", "has_signal", "where")
}


def _filters(
    who: Principal = VIEWER,
    *,
    status: list[str] | None = None,
    recorded_after: datetime | None = None,
    recorded_before: datetime | None = None,
    q: str | None = None,
    event: str | None = None,
    include_deleted: bool = False,
    sort: Sort = "-start",
    **values: list[str],
) -> RunFilters:
    return list_filters(who, {**NO_VALUES, **values}, status or [], recorded_after, recorded_before,
                        q, event, include_deleted, sort)


def _refusal(**given: Any) -> tuple[tuple[str, ...], str]:
    with pytest.raises(RequestValidationError) as caught:
        _filters(**given)
    (error,) = caught.value.errors()
    return tuple(error["loc"]), str(error["msg"])


def test_the_parameters_become_the_planners_filters() -> None:
    filters = _filters(
        track=["Ohio"], status=["ready", "ready", "recovered"], where=["VNData:vn_vel.x.max>25"],
        q="Endurance run", event="Lock-up T3", sort="uploaded",
        recorded_after=datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
    )
    assert filters == RunFilters(
        recorded_after=datetime(2024, 1, 1, tzinfo=UTC), track=("Ohio",), status=("ready", "recovered"),
        where=(Predicate("VNData:vn_vel.x", "max", ">", 25.0),), q=("endurance", "run"),
        event=("lock", "t3", "up"), sort="uploaded",
    )


def test_a_value_longer_than_300_characters_is_refused_by_name() -> None:
    assert _refusal(has_signal=["x" * 301]) == (("query", "has_signal"), "a value is longer than 300 characters")
    assert _filters(has_signal=["x" * 300]).has_signal == ("x" * 300,)


def test_an_unreadable_predicate_is_a_422_on_where() -> None:
    loc, msg = _refusal(where=["VNData:vn_vel.x.median>1"])
    assert loc == ("query", "where") and "cannot read" in msg


def test_an_event_search_needs_a_word() -> None:
    assert _refusal(event="a - b") == (("query", "event"), "search for words of at least 2 letters or digits")
    assert _filters(event="   ").event == ()  # blank: no event filter at all


def test_the_range_must_end_after_it_starts() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    assert _refusal(recorded_after=t, recorded_before=t) == (("query", "recorded_before"),
                                                             "must be after recorded_after")


def test_only_admins_list_deleted_runs() -> None:
    with pytest.raises(HTTPException) as caught:
        _filters(include_deleted=True)
    assert caught.value.status_code == 403
    assert _filters(ADMIN, include_deleted=True).include_deleted is True
