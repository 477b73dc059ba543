"""Grants made on local state while Redis was away, written into Redis when it comes back.

Why: while degraded, each instance counts its share only in its own memory. Without settling,
the shared windows forget that share once Redis answers again: the other instances grant it a
second time within the same minute, and the day's count (the scarce one on a free tier, often
50 a day) stays short for the rest of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.routing.store import Limit, Reservation

MAX_OWED = 10_000  # grants kept for settling; beyond this (a very long outage) the oldest are settled first
DAY_MS = 86_400_000


class Owed:
    """Local grants not yet in Redis, by reservation id (released ones leave, reconciled ones change tokens)."""

    def __init__(self) -> None:
        self.grants: dict[str, Reservation] = {}

    def add(self, res: Reservation) -> None:
        if len(self.grants) < MAX_OWED:
            self.grants[res.id] = res

    def drop(self, rid: str) -> None:
        self.grants.pop(rid, None)

    def retoken(self, rid: str, tokens: int) -> None:
        res = self.grants.get(rid)
        if res is not None:
            self.grants[rid] = Reservation(res.id, res.owners, int(tokens), res.at, res.local)

    def take(self) -> list[Reservation]:
        out = list(self.grants.values())
        self.grants.clear()
        return out

    def put_back(self, grants: list[Reservation]) -> None:
        for res in grants:
            self.add(res)


async def settle(redis: Any, grants: list[Reservation], keys: Callable[[Limit], list[str]], minute_s: float,
                 now: float) -> int:
    """Add each grant to its owners' minute windows (while still inside them) and day counters, as RESERVE does."""
    if not grants:
        return 0
    win_ms = int(minute_s * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        for res in grants:
            at_ms = int(res.at * 1000)
            for lim in res.owners:
                minute, day_base = keys(lim)[:2]
                if res.at > now - minute_s:
                    pipe.zadd(minute, {f"{res.id}:{res.tokens}": at_ms})
                    pipe.pexpire(minute, win_ms + 1000)
                day_key = f"{day_base}:{(at_ms - int(lim.day_offset_s * 1000)) // DAY_MS}"
                pipe.incr(day_key)
                pipe.pexpire(day_key, 2 * DAY_MS)
        await pipe.execute()
    return len(grants)
