"""Laps of one or more runs, read from their signal stores and aligned (pitwall.common.lapcompare).

Each run is read once: the columns of the requested signals and of its distance source
(the GPS track ingest found, else the wheel speeds), over the span of the laps asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pitwall.common import lapcompare as lc
from pitwall.common.storage import ObjectStore
from pitwall.query_api.queries import FilterError
from pitwall.query_api.series import (
    ManifestCache,
    SignalRef,
    StoredRun,
    open_run,
    parse_refs,
    ref_values,
    stored_names,
)

STEP_KINDS = ("enum", "logical", "int32", "uint32", "int64", "uint64")
MAX_LAPS = 8


@dataclass(frozen=True, slots=True)
class LapPick:
    run_id: str
    lap: int


def parse_laps(text: str) -> list[LapPick]:
    """`RUN:LAP,RUN:LAP` (a run id is hex: the last `:` splits)."""
    picks = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        run_id, sep, lap = item.rpartition(":")
        if not sep or not run_id or not lap.isdigit():
            raise FilterError("laps", f"{item!r}: write RUN:LAP, e.g. 3fa1...:2")
        picks.append(LapPick(run_id, int(lap)))
    if not 2 <= len(picks) <= MAX_LAPS:
        raise FilterError("laps", f"name 2 to {MAX_LAPS} laps (got {len(picks)})")
    if len(set(picks)) != len(picks):
        raise FilterError("laps", "a lap is named twice")
    return picks


def _label(doc: dict[str, Any], lap: int) -> str:
    driver = (doc.get("setup") or {}).get("driver")
    name = doc.get("filename") or doc["_id"][:12]
    return f"{name} · lap {lap}" + (f" ({driver})" if driver else "")


def _floats(a: np.ndarray) -> list[float | None]:
    return [x if math.isfinite(x) else None for x in a.tolist()]


def _distance_refs(run: StoredRun, doc: dict[str, Any]) -> tuple[list[SignalRef], str, float | None]:
    track = doc.get("track") or {}
    if track.get("topic") and track.get("lat_path") and track.get("lon_path"):
        keys = [f"{track['topic']}:{track['lat_path']}", f"{track['topic']}:{track['lon_path']}"]
        return parse_refs(keys, run.manifest), "gps", None
    keys, rpm = lc.wheel_speed_keys(run.keys())
    if not keys:
        return [], "none", None
    return parse_refs(keys, run.manifest), "wheel_speed", rpm


def compare(
    store: ObjectStore,
    manifests: ManifestCache,
    docs: dict[str, dict[str, Any]],
    picks: list[LapPick],
    keys: list[str],
    x: str,
    points: int,
    reference: int,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The /compare answer. Blocking: run in a thread. `docs` are the runs, by id."""
    radius = store.settings.wheel_radius_m
    aliases = aliases or {}
    notes: list[str] = []
    laps_meta: list[dict[str, Any]] = []
    for pick in picks:
        doc = docs[pick.run_id]
        lap = next((lp for lp in doc.get("laps") or [] if lp.get("lap") == pick.lap), None)
        if lap is None:
            have = ", ".join(str(lp.get("lap")) for lp in doc.get("laps") or []) or "none"
            raise FilterError("laps", f"run {pick.run_id[:12]} has no lap {pick.lap} (its laps: {have})")
        laps_meta.append(lap)

    paths: list[lc.LapPath | None] = [None] * len(picks)
    values: list[dict[str, tuple[np.ndarray, np.ndarray, str]]] = [{} for _ in picks]
    kinds: dict[str, dict[str, Any]] = {}
    for run_id in dict.fromkeys(p.run_id for p in picks):
        doc = docs[run_id]
        run = open_run(store, manifests, run_id)
        mine = [i for i, p in enumerate(picks) if p.run_id == run_id]
        present = set(run.keys())
        wanted: list[SignalRef] = []
        for key in keys:
            try:
                # A renamed signal is read under the run's own name and labelled as asked.
                stored = stored_names([key], present, aliases)
                wanted += [replace(r, text=key) for r in parse_refs(stored, run.manifest)]
            except FilterError:
                if key.split("[")[0] in present:
                    raise  # a real mistake (text signal, repeated without index)
                notes.append(f"{doc.get('filename') or run_id[:12]} has no signal {key}")
        dist_refs, source, rpm = _distance_refs(run, doc)
        start = min(laps_meta[i]["start_s"] for i in mine) - 1.0
        end = max(laps_meta[i]["end_s"] for i in mine) + 1.0
        rec = run.read([*wanted, *dist_refs], start, end)
        for ref in wanted:
            t, v, sig = ref_values(rec, ref)
            enum_names = {str(k): n for k, n in sig.enum_names.items()} if sig.enum_names else None
            kinds.setdefault(ref.text, {"key": ref.text, "kind": sig.kind, "enum_names": enum_names})
            for i in mine:
                values[i][ref.text] = (t, v, sig.kind)
        for i in mine:
            lap = laps_meta[i]
            label = _label(doc, picks[i].lap)
            path: lc.LapPath | None = None
            if source == "gps":
                (t, lat, _), (_, lon, _) = ref_values(rec, dist_refs[0]), ref_values(rec, dist_refs[1])
                try:
                    path = lc.gps_path(t, lat, lon, lap["start_s"], lap["end_s"])
                except lc.CompareError:
                    path = None
            if path is None:
                wheel = dist_refs if source == "wheel_speed" else []
                if source == "gps":
                    keys_w, rpm = lc.wheel_speed_keys(run.keys())
                    wheel = parse_refs(keys_w, run.manifest) if keys_w else []
                    if wheel:
                        rec_w = run.read(wheel, start, end)
                        cols = [ref_values(rec_w, r) for r in wheel]
                    else:
                        cols = []
                else:
                    cols = [ref_values(rec, r) for r in wheel]
                if not cols:
                    raise FilterError("laps",
                                      f"{label}: no GPS fix and no wheel speed to measure distance along the lap")
                t_w = cols[0][0]
                speed = np.nanmean(np.column_stack([np.interp(t_w, c[0], c[1]) for c in cols]), axis=1)
                if rpm is not None:
                    speed = lc.rpm_to_mps(speed, radius)
                try:
                    path = lc.speed_path(t_w, speed, lap["start_s"], lap["end_s"])
                except lc.CompareError as exc:
                    raise FilterError("laps", f"{label}: {exc}") from None
                what = ", ".join(r.text for r in wheel)
                unit = f", wheel radius {radius} m" if rpm is not None else ""
                laps_meta[i] = {**lap,
                                "_note": f"no GPS fix in this lap: distance integrated from wheel speed ({what}{unit})"}
            paths[i] = path

    if keys and not kinds:
        missing = ", ".join(repr(k) for k in keys)
        raise FilterError("signals", f"none of these runs has {missing} (see /runs/{{id}}/signals)")
    done = [p for p in paths if p is not None]
    labels = [_label(docs[p.run_id], p.lap) for p in picks]
    try:
        aligned = lc.align(done, reference, x, points)
    except lc.CompareError as exc:
        raise FilterError("laps", str(exc)) from None
    notes += lc.mismatch_notes(done, labels, reference)

    laps_out = []
    for i, (pick, path) in enumerate(zip(picks, done, strict=True)):
        lap = laps_meta[i]
        doc = docs[pick.run_id]
        at = lap["start_s"] + aligned.time[i]  # run time at each grid point
        sig_out = {}
        for key in kinds:
            if key in values[i]:
                t, v, kind = values[i][key]
                sig_out[key] = _floats(lc.values_at(t, v, at, kind in STEP_KINDS))
            else:
                sig_out[key] = [None] * len(aligned.grid)
        laps_out.append(
            {
                "run_id": pick.run_id,
                "lap": pick.lap,
                "label": labels[i],
                "filename": doc.get("filename"),
                "driver": (doc.get("setup") or {}).get("driver"),
                "start_s": lap["start_s"],
                "end_s": lap["end_s"],
                "time_s": lap["time_s"],
                "distance_m": path.length_m,
                "distance_source": path.source,
                "lap_source": lap.get("source"),
                "note": lap.get("_note"),
                "time": _floats(aligned.time[i]),
                "distance": _floats(aligned.distance[i]),
                "signals": sig_out,
            }
        )
    map_out = None
    ref_path = done[reference]
    others = [i for i in range(len(done)) if i != reference]
    if ref_path.source == "gps" and others:
        m = lc.loss_map(ref_path, done[others[0]])
        map_out = {"lat": m.lat.tolist(), "lon": m.lon.tolist(), "loss": _floats(m.loss), "lap_index": others[0]}
    return {
        "x": x,
        "grid": aligned.grid.tolist(),
        "reference": reference,
        "laps": laps_out,
        "signals": [kinds[k] for k in kinds],
        "delta": [{"lap_index": i, "v": _floats(aligned.delta[i])} for i in others],
        "map": map_out,
        "notes": notes,
    }
