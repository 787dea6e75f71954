"""The per-owner cap on active runs: how many runs one person may have queued or running at once."""

from __future__ import annotations

import sqlite3

ACTIVE = ("queued", "running")


class QuotaExceeded(ValueError):
    """An owner already has `max_active_per_owner` runs queued or running."""

    def __init__(self, owner: str, limit: int, active: list[str]):
        super().__init__(owner, limit, active)
        self.owner, self.limit, self.active = owner, limit, active

    def __str__(self) -> str:
        return (f"{self.owner!r} already has {len(self.active)} runs queued or running ({', '.join(self.active)}); "
                f"the limit is {self.limit} per person (max_active_per_owner). Fix: stop one of them (Stop on the "
                "Train page, or `python -m engine cancel RUN_ID`) or wait until one ends, then submit again")


def check_quota(db: sqlite3.Connection, owner: str | None, max_active: int | None) -> None:
    """Raise QuotaExceeded when `owner` has `max_active` runs queued or running (inside the caller's transaction)."""
    if owner is None or not max_active:
        return
    active = [r[0] for r in db.execute(
        f"SELECT id FROM runs WHERE owner = ? AND status IN ({','.join('?' * len(ACTIVE))}) ORDER BY created",
        (owner, *ACTIVE))]
    if len(active) >= max_active:
        raise QuotaExceeded(owner, max_active, active)
