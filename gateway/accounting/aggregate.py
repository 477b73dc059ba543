"""Request counters for `/xx/stats`, `/metrics` and the dashboard header.

Rates come from per-second buckets over the last minute, so memory stays constant however
long the gateway runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from gateway.exchange import Exchange


class Stats:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.total = 0
        self.by_outcome: dict[str, int] = {"ok": 0, "error": 0, "aborted": 0}
        self.by_status: dict[int, int] = {}
        self.guards: dict[str, int] = {}  # guard actions (repair, block, broken, command, steer, stop)
        self._recent: deque[tuple[float, bool]] = deque(maxlen=100_000)  # (ended, failed)

    def add(self, ex: Exchange) -> None:
        self.total += 1
        self.by_outcome[ex.outcome] = self.by_outcome.get(ex.outcome, 0) + 1
        self.by_status[ex.status] = self.by_status.get(ex.status, 0) + 1
        self.count_guards(ex)
        self._recent.append((ex.ended or self.clock(), ex.outcome == "error"))

    def count_guards(self, ex: Exchange) -> None:
        """Also called on today's ledger rows at start, so the dashboard's guard counts are today's."""
        for note in ex.guards:
            self.guards[note["action"]] = self.guards.get(note["action"], 0) + 1

    def rates(self) -> tuple[float, int]:
        """(requests per second over the last 10 s, errors in the last 60 s)."""
        now = self.clock()
        while self._recent and self._recent[0][0] < now - 60:
            self._recent.popleft()
        last10 = sum(1 for t, _ in self._recent if t >= now - 10)
        errors = sum(1 for _, failed in self._recent if failed)
        return last10 / 10.0, errors

    def requests(self, in_flight: int) -> dict[str, Any]:
        rps, epm = self.rates()
        return {
            "total": self.total,
            "ok": self.by_outcome.get("ok", 0),
            "error": self.by_outcome.get("error", 0),
            "aborted": self.by_outcome.get("aborted", 0),
            "in_flight": in_flight,
            "rps": round(rps, 2),
            "errors_per_min": epm,
            "repairs": self.guards.get("repair", 0),
            "blocks": self.guards.get("block", 0),
            "guards": dict(self.guards),
        }
