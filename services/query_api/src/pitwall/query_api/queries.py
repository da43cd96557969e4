"""Finding runs: filters -> MongoDB queries that an index serves, keyset pages.

Lists read `run_summaries` (ingest's slim copy of each run, see
`pitwall.common.summaries`), never the big run documents. Every list query is
`deleted = false` + at most a few equality filters + a range on `start_ns`, sorted by
(start_ns, _id): ingest's `by_<field>` indexes are exactly (field, deleted, start_ns,
_id), so the index gives both the filter and the order and MongoDB stops after
`limit + 1` entries, whatever the number of runs.

Not every server stops early: SecantusDB (the local development server) fetches every
entry of the index range before it applies the limit. So the start-time range of a
page is read in windows (see `_take_range`): each window is a plain index range sized,
from what earlier pages of the same query found, to hold about one page, and the next
window is only read when the page is not full. On MongoDB this costs nothing (a window
is one more index seek, rarely needed); on a server without early stop it bounds a page
to about a page's worth of documents instead of the whole collection.

Runs whose start time is unknown (rejected files) have `start_ns: null`, which MongoDB
sorts before every number. They are listed after all the others in both directions:
the listing is a chain of plain index ranges (see `page_queries`).

The "uploaded" orders walk (uploaded_ns, _id) the same way, on ingest's `*_uploaded`
twins of those indexes: `uploaded_ns` is never null, and a start-time range becomes a
plain filter on `start_ns` (a file whose clock said 2000 is still the newest upload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import operator
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common.contracts.searchwords import words
from pitwall.common.summaries import EVENT_TOKENS, LIST_FIELDS, UPLOADED_NS

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
Sort = Literal["-start", "start", "-uploaded", "uploaded"]
SORTS: tuple[Sort, ...] = ("-start", "start", "-uploaded", "uploaded")
# The keyset field of each order (then `_id`).
SORT_KEYS: dict[str, str] = {"start": "start_ns", "uploaded": UPLOADED_NS}

# The fields of a list item (the summaries' filter fields, topics and tokens, stay out)
# and the keyset field of the uploaded orders, for the cursor.
SUMMARY_FIELDS = LIST_FIELDS
SUMMARY_PROJECTION = dict.fromkeys((*SUMMARY_FIELDS, UPLOADED_NS), 1)
# Filters matched by name: the exact value, else every value whose words start so.
NAME_FIELDS = {"track": "setup.track", "driver": "setup.driver", "car": "setup.car"}

STATS = ("min", "max", "mean", "count")
# Up to this many candidate runs always go into the query (see `_walk_is_cheaper`).
IN_QUERY_MAX = 100
_OPS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    ">=": ("$gte", operator.ge),
    "<=": ("$lte", operator.le),
    ">": ("$gt", operator.gt),
    "<": ("$lt", operator.lt),
    "=": ("$eq", operator.eq),
}
_WHERE = re.compile(
    r"^\s*(?P<key>[^:\s][^:]*:.+)\.(?P<stat>min|max|mean|count)\s*(?P<op>>=|<=|>|<|=)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


_WHERE_STATE = re.compile(r'^\s*(?P<key>[^:\s][^:]*:[^=<>!]+?)\s*==?\s*"(?P<state>[^"]{1,200})"\s*$')


class FilterError(ValueError):
    """A filter that can't be understood; `field` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Predicate:
    """`topic:path.stat OP value`, answered by ingest's `signals` statistics, or
    `topic:path == "STATE"`: the run's signal was in that named state at some time."""

    key: str
    stat: str
    op: str
    value: float
    state: str | None = None
    # Every name of the signal (catalogue renames), the key first.
    names: tuple[str, ...] = ()

    def mongo(self) -> dict[str, Any]:
        names = self.names or (self.key,)
        key: Any = names[0] if len(names) == 1 else {"$in": list(names)}
        return {"key": key, self.stat: {_OPS[self.op][0]: self.value}}


# A state lookup: the runs whose signal was in the predicate's named state (the catalogue's
# state names differ per run: the domain answers it).
StateLookup = Callable[[Predicate], Awaitable[set[str]]]


def parse_where(text: str) -> Predicate:
    m = _WHERE_STATE.match(text)
    if m is not None:
        return Predicate(m["key"].strip(), "state", "=", 0.0, state=m["state"])
    m = _WHERE.match(text)
    if m is None:
        raise FilterError(
            "where",
            f"cannot read {text!r}: expected `topic:path.stat OP number`, stat one of "
            f"{', '.join(STATS)}, OP one of >, >=, <, <=, = (e.g. `VNData:vn_vel.x.max>25`), "
            'or `topic:path == "STATE"` (a state name, e.g. `mcu_status_data:ecu_state == "READY_TO_DRIVE"`)',
        )
    value = float(m["value"])
    if not abs(value) < float("inf"):
        raise FilterError("where", f"{text!r}: the number is out of range")
    return Predicate(m["key"].strip(), m["stat"], m["op"], value)


def text_tokens(text: str) -> list[str]:
    """The words of a free-text query, cut like ingest cuts the `search` field (whose
    summary holds every word's starts too, so each may be the start of a word)."""
    return sorted(set(words(text)))


def name_matches(wanted: str, stored: str) -> bool:
    """Every word of `wanted` starts a word of `stored`, case ignored: `Michigan`
    matches "Michigan International Speedway - lot 5", `lot 5` too, `lot 7` not."""
    asked = words(wanted, 1)
    have = words(stored, 1)
    return bool(asked) and all(any(h.startswith(a) for h in have) for a in asked)


@dataclass(frozen=True)
class RunFilters:
    recorded_after: datetime | None = None
    recorded_before: datetime | None = None
    track: tuple[str, ...] = ()
    driver: tuple[str, ...] = ()
    event_type: tuple[str, ...] = ()
    car: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    has_topic: tuple[str, ...] = ()
    has_signal: tuple[str, ...] = ()
    where: tuple[Predicate, ...] = ()
    q: tuple[str, ...] = ()  # tokens
    event: tuple[str, ...] = ()  # tokens of an event's kind or note (words or their starts)
    include_deleted: bool = False
    sort: Sort = "-start"

    def fingerprint(self) -> str:
        body = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def key(self) -> str:
        """The field the listing is ordered by (then `_id`)."""
        return SORT_KEYS[self.sort.lstrip("-")]

    @property
    def by_start(self) -> bool:
        return self.key == "start_ns"

    def match(self, run_ids: set[str] | None, names: Mapping[str, tuple[Any, ...]] | None = None) -> dict[str, Any]:
        """Everything but the keyset bounds of a page. `names`: the stored values that
        the track/driver/car filters stand for (`resolve_names`); else taken as exact."""
        q: dict[str, Any] = {"deleted": {"$in": [False, True]} if self.include_deleted else False}
        for name, field_ in (
            ("track", "setup.track"), ("driver", "setup.driver"),
            ("event_type", "setup.event_type"), ("car", "setup.car"), ("status", "status"),
        ):
            values = names[name] if names is not None and name in names else getattr(self, name)
            if values:
                # One value of a field or another: an $in of points still walks the index in order.
                q[field_] = values[0] if len(values) == 1 else {"$in": list(values)}
        # has_signal is answered by `signals` (see `resolve_candidates`): summaries carry no signal keys.
        for name, field_ in (("tag", "tags"), ("has_topic", "topics"), ("q", "search"), ("event", EVENT_TOKENS)):
            values = getattr(self, name)
            if values:
                # Every one of them (all tags, all words): the first bounds the index scan.
                q[field_] = values[0] if len(values) == 1 else {"$all": list(values)}
        if run_ids is not None:
            q["_id"] = {"$in": sorted(run_ids)}
        if not self.by_start and self.has_time_range:
            # Ordered by upload: the recording time is a filter like any other.
            q["start_ns"] = self.start_bounds()
        return q

    def key_bounds(self) -> dict[str, Any]:
        """The range of the ordering field a listing covers."""
        return self.start_bounds() if self.by_start else {"$gt": INT64_MIN}

    def start_bounds(self) -> dict[str, Any]:
        # Start times are integers, so `>= x` is written `> x - 1`: SecantusDB (the
        # development server) drops the boundary of `$gte` on a descending index key
        # after an equality prefix; MongoDB answers both forms the same.
        bounds: dict[str, Any] = {"$gt": INT64_MIN}
        if self.recorded_after is not None:
            bounds["$gt"] = max(INT64_MIN, _ns(self.recorded_after) - 1)
        if self.recorded_before is not None:
            bounds["$lt"] = _ns(self.recorded_before)
        return bounds

    @property
    def has_time_range(self) -> bool:
        return self.recorded_after is not None or self.recorded_before is not None


def as_utc(dt: datetime) -> datetime:
    """Aware, in UTC; a time without a zone is taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's ends
        return (datetime.min if dt.year < 5000 else datetime.max).replace(tzinfo=UTC)


def _ns(dt: datetime) -> int:
    delta = as_utc(dt) - datetime(1970, 1, 1, tzinfo=UTC)
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    # Outside 1677-2262 a nanosecond count leaves int64 (BSON's widest integer).
    return min(max(ns, INT64_MIN), INT64_MAX)


# -- cursors ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cursor:
    """The last run of a page: (its value of the order's key, _id); the value is None
    once past the runs without a start time."""

    value: int | None
    run_id: str
    fingerprint: str

    def encode(self) -> str:
        raw = json.dumps([self.value, self.run_id, self.fingerprint], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, filters: RunFilters) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            value, run_id, fp = json.loads(raw)
            ok = (value is None or type(value) is int) and isinstance(run_id, str) and isinstance(fp, str)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise FilterError("cursor", "not a cursor this API handed out")
        if fp != filters.fingerprint():
            raise FilterError("cursor", "this cursor belongs to a query with other filters or sort")
        return cls(value, run_id, fp)


def _id_after(base: dict[str, Any], op: str, run_id: str) -> dict[str, Any]:
    cond: dict[str, Any] = {op: run_id}
    if "_id" in base:
        cond["$in"] = base["_id"]["$in"]
    return cond


def page_queries(filters: RunFilters, base: dict[str, Any], cursor: Cursor | None) -> list[dict[str, Any]]:
    """The queries whose results, in order, continue the listing after `cursor`.

    The keyset condition (key, _id) < (k, id) is an OR; instead of one $or query it is
    split into queries that each are a plain index range: the runs sharing the cursor's
    key after its id, then the runs strictly before that key, then (ordered by start,
    when no time range is asked) the runs without a start time. Each is served in
    order by the same index, and a page rarely needs more than the first of them.
    """
    key = filters.key
    after = "$lt" if filters.descending else "$gt"
    queries: list[dict[str, Any]] = []
    if cursor is not None and cursor.value is None:
        return [{**base, key: None, "_id": _id_after(base, after, cursor.run_id)}]
    bounds = filters.key_bounds()
    if cursor is not None:
        assert cursor.value is not None
        queries.append({**base, key: cursor.value, "_id": _id_after(base, after, cursor.run_id)})
        if filters.descending:
            bounds["$lt"] = min(bounds.get("$lt", cursor.value), cursor.value)
        else:
            bounds["$gt"] = cursor.value
    queries.append({**base, key: bounds})
    if filters.by_start and not filters.has_time_range:
        # A time range excludes runs without a start time; every run has an upload time.
        queries.append({**base, key: None})
    return queries


def sort_spec(filters: RunFilters) -> list[tuple[str, int]]:
    d = -1 if filters.descending else 1
    return [(filters.key, d), ("_id", d)]


async def resolve_names(runs: AsyncCollection[dict[str, Any]], filters: RunFilters) -> dict[str, tuple[Any, ...]]:
    """The stored values each track/driver/car filter stands for: a value some run has
    exactly is itself; any other is every stored value it `name_matches` (an empty
    tuple: no run can match). The list then asks for an $in of them, which still walks
    the field's index in order. The cursor's fingerprint keeps the values as asked, so
    a run with a new matching name, uploaded between two pages, does not void it.

    Deliberately not cached: it costs, per page, one `find_one` per asked value (an
    index point lookup; at most 20 values a filter, the router's bound) and, only when a
    value is not a stored name exactly, one `distinct` of that field (as many values as
    there are distinct names: tens). A cache would let a run with a new name miss the
    pages of a listing for as long as it kept an answer; these reads are small beside
    the page itself."""
    out: dict[str, tuple[Any, ...]] = {}
    for name, field_ in NAME_FIELDS.items():
        asked: tuple[str, ...] = getattr(filters, name)
        if not asked:
            continue
        found: list[Any] = []
        stored: list[Any] | None = None
        for value in asked:
            if await runs.find_one({field_: value}, {"_id": 1}) is not None:
                found.append(value)
                continue
            if stored is None:
                stored = [v for v in await runs.distinct(field_) if isinstance(v, str | int | float) and v != ""]
            found += [v for v in stored if name_matches(value, str(v))]
        out[name] = tuple(dict.fromkeys(found))
    return out


async def resolve_where(
    signals: AsyncCollection[dict[str, Any]], predicates: tuple[Predicate, ...], states: StateLookup | None = None,
) -> set[str] | None:
    """Run ids matching every predicate (None when there is none to apply)."""
    result: set[str] | None = None
    for pred in predicates:
        if pred.state is not None:
            ids = await states(pred) if states is not None else set()
        else:
            ids = {d["run_id"] async for d in signals.find(pred.mongo(), {"run_id": 1, "_id": 0})}
        result = ids if result is None else result & ids
        if not result:
            return set()
    return result


async def resolve_candidates(
    signals: AsyncCollection[dict[str, Any]], filters: RunFilters, states: StateLookup | None = None,
) -> set[str] | None:
    """Run ids with every `has_signal` key and matching every predicate (None: no such filter).

    A run has a signal exactly when ingest wrote that signal's statistics, so the
    `signals` collection (its `key_*` indexes) answers `has_signal` like a predicate."""
    result = await resolve_where(signals, filters.where, states)
    for key in filters.has_signal:
        if result is not None and not result:
            break
        ids = {d["run_id"] async for d in signals.find({"key": key}, {"run_id": 1, "_id": 0})}
        result = ids if result is None else result & ids
    return result


async def _take(
    runs: AsyncCollection[dict[str, Any]],
    query: dict[str, Any],
    sort: list[tuple[str, int]],
    need: int,
    allowed: set[str] | None,
) -> list[dict[str, Any]]:
    if allowed is None:
        return await runs.find(query, SUMMARY_PROJECTION).sort(sort).limit(need).to_list()
    # Walk the index in order and keep the allowed runs: the walk stops after `need`
    # of them, and a large allowed set means they come often.
    out: list[dict[str, Any]] = []
    cursor = runs.find(query, SUMMARY_PROJECTION).sort(sort).batch_size(max(100, 4 * need))
    async for doc in cursor:
        if doc["_id"] in allowed:
            out.append(doc)
            if len(out) == need:
                break
    await cursor.close()
    return out


@dataclass(slots=True)
class _Learned:
    """What pages of one query found: where its first page starts, and a start-time
    span that held about a page. Only speed depends on it, never which runs come."""

    edge: int | None
    width: int


# What pages found, per (collection, query fingerprint) and per (collection, sort) for
# queries never seen. Safe to share and to lose: it only sizes the windows of `_take_range`,
# which together always cover the whole range, so a stale or missing entry costs time,
# never a run (and the event loop runs one request's read-modify-write at a time between
# awaits, each write replacing a whole entry). Bound: LEARNED_MAX entries, the least
# recently used dropped first; a process restart starts empty.
_LEARNED: OrderedDict[tuple[str, str], _Learned] = OrderedDict()
LEARNED_MAX = 512
MAX_WINDOWS = 6


def _learned(runs: AsyncCollection[dict[str, Any]], filters: RunFilters) -> _Learned | None:
    # A query never seen borrows what any query of the same order found: its edge is a
    # fine starting point (the first window is open on the outer side) and its width grows.
    for key in ((runs.full_name, filters.fingerprint()), (runs.full_name, filters.sort)):
        hit = _LEARNED.get(key)
        if hit is not None:
            return hit
    return None


def _learn(
    runs: AsyncCollection[dict[str, Any]], filters: RunFilters, items: list[dict[str, Any]], need: int,
    first_page: bool,
) -> None:
    starts = [d[filters.key] for d in items if d.get(filters.key) is not None]
    key = (runs.full_name, filters.fingerprint())
    old = _LEARNED.get(key)
    width = old.width if old else 0
    if starts and len(items) >= need:
        # The span that held this page, with room to spare: the next page of this query
        # usually needs one window.
        width = max(1, abs(starts[0] - starts[-1]) * 5 // 4 + 1)
    if width <= 0:
        return
    edge = (starts[0] if starts else None) if first_page else (old.edge if old else None)
    learned = _Learned(edge, width)
    for k in (key, (runs.full_name, filters.sort)):
        _LEARNED[k] = learned
        _LEARNED.move_to_end(k)
    while len(_LEARNED) > LEARNED_MAX:
        _LEARNED.popitem(last=False)


def _grow(width: int, found: int, missing: int) -> int:
    if found == 0:
        return width * 8
    return int(width * min(64.0, max(2.0, 1.5 * missing / found)))


async def _take_range(
    runs: AsyncCollection[dict[str, Any]],
    query: dict[str, Any],
    sort: list[tuple[str, int]],
    need: int,
    allowed: set[str] | None,
    filters: RunFilters,
    from_cursor: bool,
) -> list[dict[str, Any]]:
    """The runs of a range query on the order's key (`start_ns: {$gt[, $lt]}` or the
    same on `uploaded_ns`), in order, read window by window from the side the listing
    comes from. The windows are adjacent and together are the range, so the result is
    the range query's, whatever their size."""
    key = filters.key
    bounds = query[key]
    lo: int = bounds["$gt"]  # exclusive
    hi: int | None = bounds.get("$lt")  # exclusive; None: no upper bound
    learned = _learned(runs, filters)
    if learned is None or (not from_cursor and learned.edge is None):
        return await _take(runs, query, sort, need, allowed)
    width = learned.width
    out: list[dict[str, Any]] = []
    if filters.descending:
        upper = hi  # the first window is open above on a first page: runs newer than the edge
        anchor = hi if from_cursor or learned.edge is None else learned.edge + 1
        if hi is not None:
            anchor = hi if anchor is None else min(anchor, hi)
        assert anchor is not None
        for i in range(MAX_WINDOWS):
            gt = lo if i == MAX_WINDOWS - 1 else max(lo, anchor - width - 1)
            window = {"$gt": gt, **({"$lt": upper} if upper is not None else {})}
            got = await _take(runs, {**query, key: window}, sort, need - len(out), allowed)
            out += got
            if len(out) >= need or gt <= lo:
                break
            upper = anchor = gt + 1  # next: start_ns <= gt
            width = _grow(width, len(got), need - len(out))
    else:
        lower = lo  # the first window is open below on a first page: runs older than the edge
        anchor = lo + 1 if from_cursor or learned.edge is None else max(lo + 1, learned.edge)
        for i in range(MAX_WINDOWS):
            lt = anchor + width
            last = i == MAX_WINDOWS - 1 or lt >= (INT64_MAX if hi is None else hi)
            window = {"$gt": lower, **({"$lt": hi} if last and hi is not None else {} if last else {"$lt": lt})}
            got = await _take(runs, {**query, key: window}, sort, need - len(out), allowed)
            out += got
            if len(out) >= need or last:
                break
            lower, anchor = lt - 1, lt  # next: start_ns >= lt
            width = _grow(width, len(got), need - len(out))
    return out


async def _walk_is_cheaper(runs: AsyncCollection[dict[str, Any]], candidates: int, limit: int) -> bool:
    """Candidate runs (from signal predicates) as an `_id $in` cost about one fetch each
    plus a sort; checking them while walking the list index in order costs about
    (limit+1) * runs / candidates entries. The cheaper one wins: a selective predicate
    goes into the query, a loose one (a large share of all runs) is checked on the walk."""
    if candidates <= IN_QUERY_MAX:
        return False
    total = await _run_count(runs)
    return candidates * candidates > (limit + 1) * total


# The estimated number of runs per collection (its full name), kept COUNT_TTL_S seconds.
# It only chooses between two plans that give the same runs (see `_walk_is_cheaper`), so a
# stale count costs time at worst. Bound: one entry per collection this process lists
# (`run_summaries` of its database: one in practice).
_COUNTS: dict[str, tuple[float, int]] = {}
COUNT_TTL_S = 60.0


async def _run_count(runs: AsyncCollection[dict[str, Any]]) -> int:
    # An estimate is enough to pick a plan; refreshed once a minute.
    key = runs.full_name
    hit = _COUNTS.get(key)
    now = time.monotonic()
    if hit is None or hit[0] < now:
        _COUNTS[key] = hit = (now + COUNT_TTL_S, await runs.estimated_document_count())
    return hit[1]


async def list_runs(
    runs: AsyncCollection[dict[str, Any]],
    signals: AsyncCollection[dict[str, Any]],
    filters: RunFilters,
    limit: int,
    cursor_text: str | None,
    states: StateLookup | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of runs and the cursor of the next page (None on the last)."""
    cursor = Cursor.decode(cursor_text, filters) if cursor_text else None
    names = await resolve_names(runs, filters)
    if any(not values for values in names.values()):
        return [], None
    run_ids = await resolve_candidates(signals, filters, states)
    if run_ids is not None and not run_ids:
        return [], None
    in_query, allowed = run_ids, None
    if run_ids is not None and await _walk_is_cheaper(runs, len(run_ids), limit):
        in_query, allowed = None, run_ids
    base = filters.match(in_query, names)
    sort = sort_spec(filters)
    items: list[dict[str, Any]] = []
    # One more than the page tells whether a next page exists.
    for query in page_queries(filters, base, cursor):
        need = limit + 1 - len(items)
        if need <= 0:
            break
        if isinstance(query.get(filters.key), dict):
            got = await _take_range(runs, query, sort, need, allowed, filters, cursor is not None)
            _learn(runs, filters, got, need, cursor is None and not items)
            items += got
        else:
            items += await _take(runs, query, sort, need, allowed)
    if len(items) <= limit:
        return items, None
    last = items[limit - 1]
    return items[:limit], Cursor(last.get(filters.key), last["_id"], filters.fingerprint()).encode()
