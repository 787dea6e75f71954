"""The order in which queued runs start, and a queued run's place in line and estimated wait.

`fair_order` is the one ordering both supervisors use (the local one and the Ray Hub's dispatcher):
owners take turns, so a student who queued two runs does not make everyone else wait behind both.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable

from engine.jobs.store import RunStore


def _owner(run: dict) -> str:
    return run.get("owner") or ""  # runs without an owner (the command line) take turns as one owner


def fair_order(queued: Iterable[dict], running: Iterable[dict] = ()) -> list[dict]:
    """`queued` in the order they should start: round-robin over owners (an owner's k-th queued run comes
    in round k + the runs that owner already has running), first come first served within a round."""
    busy = Counter(_owner(r) for r in running)
    seen: Counter = Counter()
    keyed = []
    for run in sorted(queued, key=lambda r: r["created"]):
        owner = _owner(run)
        keyed.append((busy[owner] + seen[owner], run["created"], run))
        seen[owner] += 1
    return [run for _, _, run in sorted(keyed, key=lambda k: (k[0], k[1]))]


def estimate_wait(remaining: list[float], ahead: list[float], slots: int) -> float:
    """Seconds until a run can start: `slots` workers, busy for `remaining` seconds each (free ones count
    as 0), then taking the runs `ahead` (their durations) in turn as workers come free."""
    free = sorted(remaining)[:slots] + [0.0] * max(0, slots - len(remaining))
    heapq.heapify(free)
    for duration in ahead:
        heapq.heappush(free, heapq.heappop(free) + duration)
    return free[0] if free else 0.0


def queue_info(store: RunStore, run_id: str, slots: int) -> dict | None:
    """A queued run's `position` (1 = next to start) under `fair_order` and `wait_seconds` (None when no
    running run has finished an epoch to estimate from). None when the run is not queued."""
    running = store.list_runs(["running"])
    order = fair_order(store.list_runs(["queued"]), running)
    position = next((i + 1 for i, r in enumerate(order) if r["id"] == run_id), None)
    if position is None:
        return None
    per_epoch = {r["id"]: store.progress(r["id"])["epoch_seconds"] for r in running}
    known = [s for s in per_epoch.values() if s]
    if not known:  # nothing to estimate from: only a free worker says when
        return {"position": position, "wait_seconds": 0.0 if position <= slots - len(running) else None}
    mean = sum(known) / len(known)
    remaining = [(per_epoch[r["id"]] or mean) * max(0, r["max_epochs"] - r["epoch"]) for r in running]
    ahead = [mean * r["max_epochs"] for r in order[:position - 1]]
    return {"position": position, "wait_seconds": estimate_wait(remaining, ahead, slots)}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(info: dict | None) -> str:
    """"2nd in line, about 1 min" (or "next in line, starting soon"); "" when the run is not queued."""
    if not info:
        return ""
    place = "next in line" if info["position"] == 1 else f"{ordinal(info['position'])} in line"
    wait = info["wait_seconds"]
    if wait is None:
        return f"{place}, wait unknown until a running run finishes an epoch"
    if wait < 30:
        return f"{place}, starting soon"
    minutes = max(1, round(wait / 60))
    return f"{place}, about {minutes} min"
