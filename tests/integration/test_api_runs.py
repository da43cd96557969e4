"""Finding runs through the real query_api: every filter, predicates, order, pages, plans."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from helpers.api import T0_NS, Api, recording, require_ok, run_docs, save_run, sha_of, start_api
from helpers.plans import index_gives_order, plan_stages
from testsupport.waiting import wait_for

from pitwall.common.columns import Recording
from pitwall.common.contracts import mongo
from pitwall.common.contracts.searchwords import word_set as tokens
from pitwall.common.events import FileUploaded
from pitwall.common.settings import Settings
from pitwall.ingest import repository
from pitwall.ingest.documents import rejected_document
from pitwall.query_api.queries import Cursor, RunFilters, page_queries, sort_spec

pytestmark = pytest.mark.stack

HOUR_NS = 3600 * 10**9
TRACKS = ["Michigan International Speedway", "Ohio"]
DRIVERS = ["Alice", "Bob", "Carol"]
EVENTS = ["endurance", "autocross", "skidpad", "acceleration"]
CARS = ["HT07", "HT08"]


@dataclass
class Spec:
    sha: str
    filename: str
    start_ns: int | None
    status: str
    track: str | None = None
    driver: str | None = None
    event_type: str | None = None
    car: str | None = None
    tags: list[str] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    signal_keys: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    rec: Recording | None = None

    def stat(self, key: str, stat: str) -> float | None:
        if self.rec is None:
            return None
        topic, path = key.split(":", 1)
        tc = self.rec.topics.get(topic)
        if tc is None or path not in tc.signals:
            return None
        v = tc.signals[path].values.astype(np.float64)
        return float({"min": v.min, "max": v.max, "mean": v.mean}[stat]()) if stat != "count" else float(v.shape[0])


def _seed(api: Api) -> list[Spec]:
    specs: list[Spec] = []
    signals = api.db[mongo.SIGNALS]
    for i in range(30):
        # Runs 26-29 start at the same nanosecond as run 25: pages must break ties by id.
        start = T0_NS + min(i, 25) * HOUR_NS
        setup = {"driver": DRIVERS[i % 3], "trackName": TRACKS[i % 2], "eventType": EVENTS[i % 4].title(),
                 "car": CARS[(i // 2) % 2]}
        extra = "Extra" if i % 5 == 0 else None
        rec = recording(start, seconds=20 + 5 * (i % 3), rate_hz=20, speed_max=10.0 + i, temp_max=50.0 + 2 * i,
                        temp_min=20.0 + i % 5, setup=setup, seed=i, extra_topic=extra)
        filename = f"run_{i:02d}.mcap"
        tags = [t for t, on in (("wet", i % 4 == 1), ("baseline", i % 3 == 0)) if on]
        notes = "new rear wing" if i % 7 == 3 else ""
        status = "recovered" if i % 9 == 4 else "ready"
        doc, stats = run_docs(rec, filename, tags=tags, notes=notes, status=status)
        doc["search"] = tokens(filename, notes, *(v for v in doc["setup"].values() if isinstance(v, str)))
        save_run(api.db, doc)
        signals.insert_many(stats)
        specs.append(
            Spec(doc["_id"], filename, start, status, TRACKS[i % 2], DRIVERS[i % 3], EVENTS[i % 4], CARS[(i // 2) % 2],
                 tags, set(rec.topics), set(doc["signal_keys"]), set(doc["search"]), rec)
        )
    for name in ("garbage_1.mcap", "garbage_2.mcap"):
        sha = sha_of(name)
        event = FileUploaded(sha256=sha, object_key=f"mcap/{sha}.mcap", size=10, filename=name)
        save_run(api.db, rejected_document(event, "not an MCAP file"))
        specs.append(Spec(sha, name, None, "rejected", words=set(tokens(name))))
    # A deleted run must never show up (these callers are not admins).
    doc, _ = run_docs(recording(T0_NS + 7 * HOUR_NS), "deleted.mcap", deleted=True)
    save_run(api.db, doc)
    return specs


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-runs"), "runs")


@pytest.fixture(scope="module")
def specs(api: Api) -> list[Spec]:
    return _seed(api)


def ordered(specs: list[Spec], descending: bool = True) -> list[str]:
    dated = sorted((s for s in specs if s.start_ns is not None), key=lambda s: (s.start_ns, s.sha), reverse=descending)
    undated = sorted((s for s in specs if s.start_ns is None), key=lambda s: s.sha, reverse=descending)
    return [s.sha for s in dated + undated]


def list_ids(api: Api, params: dict[str, Any], role: str = "viewer") -> list[str]:
    with api.client(role) as c:
        page = require_ok(c.get("/api/v1/runs", params={**params, "limit": 500}))
    assert page["next_cursor"] is None
    return [r["id"] for r in page["items"]]


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


Case = tuple[dict[str, Any], Callable[[Spec], bool]]
CASES: dict[str, Case] = {
    "no filter": ({}, lambda s: True),
    "track": ({"track": "Ohio"}, lambda s: s.track == "Ohio"),
    "track any of two": ({"track": TRACKS}, lambda s: s.track in TRACKS),
    "driver": ({"driver": "Bob"}, lambda s: s.driver == "Bob"),
    "event type": ({"event_type": "skidpad"}, lambda s: s.event_type == "skidpad"),
    "car": ({"car": "HT07"}, lambda s: s.car == "HT07"),
    "status": ({"status": "recovered"}, lambda s: s.status == "recovered"),
    "status any of two": ({"status": ["rejected", "recovered"]}, lambda s: s.status in ("rejected", "recovered")),
    "tag": ({"tag": "wet"}, lambda s: "wet" in s.tags),
    "tags all": ({"tag": ["wet", "baseline"]}, lambda s: {"wet", "baseline"} <= set(s.tags)),
    "has topic": ({"has_topic": "Extra"}, lambda s: "Extra" in s.topics),
    "has signal": ({"has_signal": "Extra:value"}, lambda s: "Extra:value" in s.signal_keys),
    "has signal, repeated field": ({"has_signal": "BMS:cells.voltage"}, lambda s: "BMS:cells.voltage" in s.signal_keys),
    "recorded after": ({"recorded_after": iso(T0_NS + 20 * HOUR_NS)},
                       lambda s: s.start_ns is not None and s.start_ns >= T0_NS + 20 * HOUR_NS),
    "recorded before": ({"recorded_before": iso(T0_NS + 3 * HOUR_NS)},
                        lambda s: s.start_ns is not None and s.start_ns < T0_NS + 3 * HOUR_NS),
    "recorded between": (
        {"recorded_after": iso(T0_NS + 5 * HOUR_NS), "recorded_before": iso(T0_NS + 9 * HOUR_NS)},
        lambda s: s.start_ns is not None and T0_NS + 5 * HOUR_NS <= s.start_ns < T0_NS + 9 * HOUR_NS,
    ),
    "free text, one word": ({"q": "Carol"}, lambda s: "carol" in s.words),
    "free text, all words": ({"q": "ohio  CAROL"}, lambda s: {"ohio", "carol"} <= s.words),
    "free text in notes": ({"q": "rear wing"}, lambda s: {"rear", "wing"} <= s.words),
    "free text, file name": ({"q": "garbage"}, lambda s: "garbage" in s.words),
    "combined": ({"track": "Ohio", "driver": "Alice", "car": "HT08"},
                 lambda s: (s.track, s.driver, s.car) == ("Ohio", "Alice", "HT08")),
}
# (where, stat function) -> each predicate against numpy on the recorded values.
WHERE: dict[str, tuple[list[str], Callable[[Spec], bool]]] = {
    "max >": (["VNData:vn_vel.x.max>30"], lambda s: (s.stat("VNData:vn_vel.x", "max") or -1) > 30),
    "max >=": (["VNData:vn_vel.x.max>=30"], lambda s: (s.stat("VNData:vn_vel.x", "max") or -1) >= 30),
    "max <": (["VNData:vn_vel.x.max<15"], lambda s: s.rec is not None and s.stat("VNData:vn_vel.x", "max") < 15),  # type: ignore[operator]
    "max <=": (["VNData:vn_vel.x.max <= 15"], lambda s: s.rec is not None and s.stat("VNData:vn_vel.x", "max") <= 15),  # type: ignore[operator]
    "max =": (["VNData:vn_vel.x.max=22"], lambda s: s.stat("VNData:vn_vel.x", "max") == 22),
    "single float": (["MCUOutputData:motor_temp.max>=100"],
                     lambda s: (s.stat("MCUOutputData:motor_temp", "max") or -1) >= 100),
    "min": (["MCUOutputData:motor_temp.min=22"], lambda s: s.stat("MCUOutputData:motor_temp", "min") == 22),
    "mean": (["MCUOutputData:motor_temp.mean>60.5"],
             lambda s: (s.stat("MCUOutputData:motor_temp", "mean") or -1) > 60.5),
    "count": (["VNData:vn_vel.x.count=500"], lambda s: s.stat("VNData:vn_vel.x", "count") == 500),
    "repeated field": (["BMS:cells.voltage.max>0"], lambda s: s.rec is not None),
    "two predicates": (
        ["VNData:vn_vel.x.max>15", "MCUOutputData:motor_temp.max<90"],
        lambda s: ((s.stat("VNData:vn_vel.x", "max") or -1) > 15
                   and (s.stat("MCUOutputData:motor_temp", "max") or 1e9) < 90),
    ),
    "unknown signal": (["Nope:x.max>0"], lambda s: False),
    "scientific notation": (["VNData:vn_vel.x.max>2.5e1"], lambda s: (s.stat("VNData:vn_vel.x", "max") or -1) > 25),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_filter_returns_exactly_the_matching_runs_newest_first(api: Api, specs: list[Spec], name: str) -> None:
    params, match = CASES[name]
    expected = ordered([s for s in specs if match(s)])
    assert expected, f"case {name} selects nothing: a weak case"
    assert list_ids(api, params) == expected


@pytest.mark.parametrize("name", list(WHERE))
def test_signal_statistic_predicates(api: Api, specs: list[Spec], name: str) -> None:
    where, match = WHERE[name]
    expected = ordered([s for s in specs if match(s)])
    if name != "unknown signal":
        assert 0 < len(expected) < len(specs), f"case {name} does not discriminate"
    assert list_ids(api, {"where": where}) == expected


def test_predicate_combined_with_filters_and_oldest_first(api: Api, specs: list[Spec]) -> None:
    params = {"where": "VNData:vn_vel.x.max>12", "track": "Ohio", "recorded_after": iso(T0_NS + 4 * HOUR_NS),
              "sort": "start"}
    expected = ordered(
        [s for s in specs if s.track == "Ohio" and s.start_ns is not None and s.start_ns >= T0_NS + 4 * HOUR_NS
         and (s.stat("VNData:vn_vel.x", "max") or 0) > 12],
        descending=False,
    )
    assert expected and list_ids(api, params) == expected


def test_summaries_leave_the_big_fields_out(api: Api, specs: list[Spec]) -> None:
    with api.client("viewer") as c:
        item = require_ok(c.get("/api/v1/runs", params={"limit": 1}))["items"][0]
        full = require_ok(c.get(f"/api/v1/runs/{item['id']}"))
    for big in ("track", "signal_keys", "channels", "search", "laps"):
        assert big not in item
    assert "signal_keys" not in full and "search" not in full
    assert full["track"]["points"] and full["channels"] and full["laps"]
    assert item["setup"]["driver"] == full["setup"]["driver"] and item["lap_count"] == len(full["laps"])


def _walk(api: Api, params: dict[str, Any], limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor = None
    with api.client("viewer") as c:
        while True:
            page = require_ok(c.get("/api/v1/runs",
                                    params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}))
            pages += 1
            assert len(page["items"]) <= limit
            ids += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids, pages
            assert len(page["items"]) == limit, "a page before the last one is short"


@pytest.mark.parametrize("sort", ["-start", "start"])
@pytest.mark.parametrize("limit", [1, 4, 7, 32])
def test_pages_cover_everything_once_in_order(api: Api, specs: list[Spec], sort: str, limit: int) -> None:
    ids, pages = _walk(api, {"sort": sort}, limit)
    expected = ordered(specs, descending=sort == "-start")
    assert ids == expected  # includes the tie at run 25 and the undated runs last
    assert pages == -(-len(expected) // limit)


def test_pages_with_a_filter(api: Api, specs: list[Spec]) -> None:
    ids, _ = _walk(api, {"track": "Ohio", "status": "ready"}, 3)
    assert ids == ordered([s for s in specs if s.track == "Ohio" and s.status == "ready"])


def test_no_duplicates_or_gaps_while_runs_are_added(api: Api, specs: list[Spec]) -> None:
    before = set(list_ids(api, {}))
    stop = threading.Event()
    added: list[str] = []

    def writer() -> None:
        rng = random.Random(7)
        n = 0
        while not stop.is_set() and n < 40:
            # New runs land everywhere: before, inside and after the part already paged.
            start = T0_NS + rng.randrange(-5, 35) * HOUR_NS + rng.randrange(HOUR_NS)
            doc, _ = run_docs(recording(start, seconds=2, rate_hz=5), f"live_{n}.mcap")
            save_run(api.db, doc)
            added.append(doc["_id"])
            n += 1
            time.sleep(0.01)  # the writer's pace: its runs land between the reader's pages

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        ids, _ = _walk(api, {}, 3)
    finally:
        stop.set()
        thread.join()
        api.db[mongo.RUNS].delete_many({"_id": {"$in": added}})
        api.db[mongo.RUN_SUMMARIES].delete_many({"_id": {"$in": added}})
    assert added, "nothing was inserted during the walk"
    assert len(ids) == len(set(ids)), "a run was listed twice"
    assert before <= set(ids), f"runs missing: {before - set(ids)}"
    assert set(ids) <= before | set(added)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"where": "VNData:vn_vel.x.median>3"}, "where"),
        ({"where": "no predicate here"}, "where"),
        ({"where": "VNData:vn_vel.x.max>abc"}, "where"),
        ({"cursor": "definitely-not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"recorded_after": "yesterday"}, "recorded_after"),
        ({"recorded_after": "2024-05-01T00:00:00Z", "recorded_before": "2024-04-01T00:00:00Z"}, "recorded_before"),
        ({"status": "lost"}, "status"),
        ({"sort": "driver"}, "sort"),
        ({"track": "x" * 301}, "track"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(api: Api, specs: list[Spec], params: dict[str, Any],
                                                 field: str) -> None:
    with api.client("viewer") as c:
        r = c.get("/api/v1/runs", params=params)
    assert r.status_code == 422, r.text
    assert any(field in err["loc"] for err in r.json()["detail"]), r.text


def test_a_cursor_only_continues_its_own_query(api: Api, specs: list[Spec]) -> None:
    with api.client("viewer") as c:
        cursor = require_ok(c.get("/api/v1/runs", params={"limit": 2, "track": "Ohio"}))["next_cursor"]
        assert cursor
        r = c.get("/api/v1/runs", params={"limit": 2, "track": "Ohio", "sort": "start", "cursor": cursor})
        assert r.status_code == 422 and "cursor" in r.json()["detail"][0]["loc"]
        assert c.get("/api/v1/runs", params={"limit": 2, "track": "Ohio", "cursor": cursor}).status_code == 200


def test_facets_list_values_to_filter_by(api: Api, specs: list[Spec]) -> None:
    with api.client("viewer") as c:
        facets = require_ok(c.get("/api/v1/facets"))
    assert facets == {"track": sorted(TRACKS), "driver": DRIVERS, "event_type": sorted(EVENTS), "car": CARS,
                      "tags": ["baseline", "wet"]}


# -- query plans --------------------------------------------------------------------
PLAN_FILTERS: dict[str, tuple[RunFilters, str]] = {
    "none": (RunFilters(), "list"),
    "time range": (RunFilters(recorded_after=datetime(2023, 11, 15, tzinfo=UTC)), "list"),
    "track": (RunFilters(track=("Ohio",)), "by_setup.track"),
    "driver": (RunFilters(driver=("Bob",)), "by_setup.driver"),
    "event type": (RunFilters(event_type=("skidpad",)), "by_setup.event_type"),
    "car": (RunFilters(car=("HT07",)), "by_setup.car"),
    "status": (RunFilters(status=("ready",)), "by_status"),
    "tag": (RunFilters(tag=("wet",)), "by_tags"),
    "has topic": (RunFilters(has_topic=("Extra",)), "by_topics"),
    "one word": (RunFilters(q=("ohio",)), "by_search"),
    "oldest first": (RunFilters(track=("Ohio",), sort="start"), "by_setup.track"),
}


@pytest.mark.parametrize("name", list(PLAN_FILTERS))
def test_list_queries_walk_an_index_in_order(api: Api, specs: list[Spec], name: str) -> None:
    filters, index = PLAN_FILTERS[name]
    runs = api.db[mongo.RUN_SUMMARIES]
    key = [(f, d) for f, d in next(m.document["key"].items() for m in repository.INDEXES[mongo.RUN_SUMMARIES]
                                   if m.document["name"] == index)]
    real_mongodb = "secantusVersion" not in api.db.client.admin.command("buildInfo")
    sort = sort_spec(filters)
    some = runs.find_one({"start_ns": {"$ne": None}, "deleted": False})
    cursors = [None, Cursor(some["start_ns"], some["_id"], filters.fingerprint()),
               Cursor(None, sha_of("x"), filters.fingerprint())]
    for cursor in cursors:
        queries = page_queries(filters, filters.match(None), cursor)
        # A page reads its start-time range in windows: each is a closed range of the same shape.
        queries += [{**q, "start_ns": {"$gt": some["start_ns"] - HOUR_NS, "$lt": some["start_ns"]}}
                    for q in queries if isinstance(q["start_ns"], dict)]
        assert queries, f"no query for a page from cursor {cursor}"
        for query in queries:
            plan = runs.find(query).sort(sort).limit(51).explain()["queryPlanner"]["winningPlan"]
            stages = plan_stages(plan)
            names = [s["stage"] for s in stages]
            assert "COLLSCAN" not in names, (query, names)
            scans = [s for s in stages if s["stage"] == "IXSCAN"]
            assert [s["indexName"] for s in scans] == [index], (query, names)
            if real_mongodb:
                assert "SORT" not in names, (query, names)
            # SecantusDB's planner always adds a SORT after an index with an equality
            # prefix; MongoDB does not when this holds, which is what matters in production.
            assert index_gives_order(key, query, sort), (query, key)


def test_has_signal_candidates_come_from_a_signals_index(api: Api, specs: list[Spec]) -> None:
    """`has_signal` is answered by `signals` (summaries carry no signal keys): by an index."""
    found = api.db[mongo.SIGNALS].find({"key": "Extra:value"}, {"run_id": 1, "_id": 0})
    plan = found.explain()["queryPlanner"]["winningPlan"]
    stages = plan_stages(plan)
    assert "COLLSCAN" not in [s["stage"] for s in stages]
    scans = [s["indexName"] for s in stages if s["stage"] == "IXSCAN"]
    assert scans and all(name.startswith("key_") for name in scans), stages


def test_edits_deletes_and_restores_go_through_ingest(api: Api, specs: list[Spec], pitwall_service: Any) -> None:
    pitwall_service("ingest", settings=api.settings).wait_for_log('"ready"', timeout=60)
    rec = recording(T0_NS - 50 * HOUR_NS, setup={"driver": "Erin", "car": "HT08"})
    doc, _stats = run_docs(rec, "to_edit.mcap")
    save_run(api.db, doc)
    target = doc["_id"]
    with api.client("editor") as editor, api.client("viewer") as viewer, api.client("admin") as admin:
        patch = {"notes": "Brake bias moved forward", "tags": ["wet", "brakes"],
                 "setup": {"driver": "Dana", "car": None}}
        accepted = require_ok(editor.patch(f"/api/v1/runs/{target}", json=patch), 202)
        assert accepted["action"] == "update"

        def shown() -> dict[str, Any]:
            return require_ok(viewer.get(f"/api/v1/runs/{target}"))

        wait_for(lambda: shown()["notes"] == patch["notes"], "the edit to show", timeout=30, every=0.2)
        run = shown()
        assert run["tags"] == ["brakes", "wet"] and run["setup"]["driver"] == "Dana" and run["setup"]["car"] is None
        assert run["history"][-1]["actor"] == "test-editor"
        assert target in list_ids(api, {"q": "brake bias", "driver": "Dana"})
        assert target in list_ids(api, {"tag": "brakes"})

        require_ok(editor.delete(f"/api/v1/runs/{target}"), 202)
        wait_for(lambda: viewer.get(f"/api/v1/runs/{target}").status_code == 404, "the delete to show", timeout=30,
                 every=0.2)
        assert target not in list_ids(api, {})
        assert require_ok(admin.get(f"/api/v1/runs/{target}"))["deleted"] is True

        require_ok(admin.post(f"/api/v1/runs/{target}/restore"), 202)
        wait_for(lambda: viewer.get(f"/api/v1/runs/{target}").status_code == 200, "the restore to show", timeout=30,
                 every=0.2)
        assert target in list_ids(api, {})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"nickname": "x"}, "nickname"),
        ({"setup": {"colour": "red"}}, "colour"),
        ({"tags": "wet"}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"notes": 5}, "notes"),
    ],
)
def test_bad_edits_are_422(api: Api, specs: list[Spec], body: dict[str, Any], field: str) -> None:
    with api.client("editor") as c:
        r = c.patch(f"/api/v1/runs/{specs[0].sha}", json=body)
    assert r.status_code == 422, r.text
    assert any(field in err["loc"] for err in r.json()["detail"]), r.text


def test_unknown_runs_are_404(api: Api, specs: list[Spec]) -> None:
    with api.client("admin") as c:
        for method, suffix in [("GET", ""), ("GET", "/track"), ("GET", "/laps"), ("GET", "/signals"), ("GET", "/mcap"),
                               ("DELETE", ""), ("POST", "/restore")]:
            r = c.request(method, f"/api/v1/runs/{sha_of('never uploaded')}{suffix}")
            assert r.status_code == 404, (method, suffix, r.text)
        assert c.patch(f"/api/v1/runs/{sha_of('never uploaded')}", json={"notes": "x"}).status_code == 404


@pytest.mark.parametrize("walk", [True, False])
def test_predicates_page_the_same_whether_checked_in_the_query_or_while_walking(
    api: Api, specs: list[Spec], walk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many candidate runs are filtered while walking the index instead of an $in."""
    import asyncio

    from pitwall.common import db
    from pitwall.query_api import queries

    async def decide(*_args: Any) -> bool:
        return walk

    monkeypatch.setattr(queries, "_walk_is_cheaper", decide)
    filters = RunFilters(where=(queries.parse_where("VNData:vn_vel.x.max>14"),), track=("Ohio",))

    async def walk() -> list[str]:
        client = db.make_client(api.settings)
        try:
            database = db.database(client, api.settings)
            ids: list[str] = []
            cursor = None
            while True:
                items, cursor = await queries.list_runs(database[mongo.RUN_SUMMARIES],
                                                        database[mongo.SIGNALS], filters, 2, cursor)
                ids += [d["_id"] for d in items]
                if cursor is None:
                    return ids
        finally:
            await client.close()

    expected = ordered([s for s in specs if s.track == "Ohio" and (s.stat("VNData:vn_vel.x", "max") or 0) > 14])
    assert len(expected) > 4 and asyncio.run(walk()) == expected


WINDOW_FILTERS: dict[str, tuple[RunFilters, Callable[[Spec], bool]]] = {
    "none": (RunFilters(), lambda s: True),
    "track and time range": (
        RunFilters(track=("Ohio",), recorded_after=datetime.fromtimestamp((T0_NS + 3 * HOUR_NS) / 1e9, UTC),
                   recorded_before=datetime.fromtimestamp((T0_NS + 24 * HOUR_NS) / 1e9, UTC)),
        lambda s: (s.track == "Ohio" and s.start_ns is not None
                   and T0_NS + 3 * HOUR_NS <= s.start_ns < T0_NS + 24 * HOUR_NS),
    ),
}


@pytest.mark.parametrize("filter_name", list(WINDOW_FILTERS))
@pytest.mark.parametrize("sort", ["-start", "start"])
@pytest.mark.parametrize(("edge_h", "width_h"), [(0, 1), (-40, 0.01), (60, 1000), (12, 0.5)])
def test_pages_are_the_same_whatever_windows_earlier_pages_suggest(
    api: Api, specs: list[Spec], filter_name: str, sort: str, edge_h: float, width_h: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows far too small, far too big, from an edge before, inside or after the runs:
    they change how many queries a page takes, never which runs it lists."""
    import asyncio
    from dataclasses import replace

    from pitwall.common import db
    from pitwall.query_api import queries

    learned: list[Any] = [None]  # what `_learned` answers: None is one plain query per range
    monkeypatch.setattr(queries, "_learned", lambda *_a: learned[0])
    monkeypatch.setattr(queries, "_learn", lambda *_a: None)
    base, match = WINDOW_FILTERS[filter_name]
    filters = replace(base, sort=sort)  # type: ignore[arg-type]

    async def walk() -> list[str]:
        client = db.make_client(api.settings)
        try:
            database = db.database(client, api.settings)
            ids: list[str] = []
            cursor = None
            while True:
                items, cursor = await queries.list_runs(database[mongo.RUN_SUMMARIES],
                                                        database[mongo.SIGNALS], filters, 3, cursor)
                ids += [d["_id"] for d in items]
                if cursor is None:
                    return ids
        finally:
            await client.close()

    plain = asyncio.run(walk())
    learned[0] = queries._Learned(T0_NS + int(edge_h * HOUR_NS), max(1, int(width_h * HOUR_NS)))
    windowed = asyncio.run(walk())
    # Other tests of this module add runs of their own: the seeded ones come in order among them.
    expected = ordered([s for s in specs if match(s)], descending=sort == "-start")
    assert len(expected) > 3 and [i for i in plain if i in set(expected)] == expected
    assert windowed == plain
