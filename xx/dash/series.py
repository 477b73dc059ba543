"""The last hour per minute, per model and overall, accumulated from the exchanges the dashboard sees.

The gateway's /xx/stats series covers request counts, errors and cache share for the whole
hour (even from before the dashboard started); latency percentiles per minute and anything
per model exist only here. Bounded: at most `minutes` buckets per key, at most `LAT_MAX`
latencies per bucket (the median of a capped sample), ids remembered for de-duplication in a ring.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALL = "*"
LAT_MAX = 256
SEEN_MAX = 4096
METRICS = ("rate", "p50", "cache", "errors")


@dataclass
class Bucket:
    requests: int = 0
    errors: int = 0
    input: float = 0.0
    cache_read: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, ex: Mapping[str, Any]) -> None:
        self.requests += 1
        if ex.get("outcome") not in ("ok", "aborted", "pending"):
            self.errors += 1
        usage = ex.get("usage") or {}
        self.input += float(usage.get("input") or 0)
        self.cache_read += float(usage.get("cache_read") or 0)
        lat = ex.get("latency_ms")
        if lat is not None and len(self.latencies) < LAT_MAX:
            self.latencies.append(float(lat))

    def value(self, metric: str) -> float | None:
        if metric == "rate":
            return float(self.requests)
        if metric == "errors":
            return float(self.errors)
        if metric == "cache":
            return self.cache_read / self.input if self.input > 0 else None
        return statistics.median(self.latencies) if self.latencies else None


class MinuteSeries:
    def __init__(self, minutes: int = 60) -> None:
        self.minutes = minutes
        self.keys: dict[str, dict[int, Bucket]] = {}
        self._seen: set[str] = set()
        self._order: deque[str] = deque()

    def add(self, exchanges: Iterable[Mapping[str, Any]]) -> None:
        for ex in exchanges:
            rid = str(ex.get("id"))
            if rid in self._seen:
                continue
            self._seen.add(rid)
            self._order.append(rid)
            if len(self._order) > SEEN_MAX:
                self._seen.discard(self._order.popleft())
            t = ex.get("ended") or ex.get("started")
            if t is None:
                continue
            minute = int(float(t) // 60) * 60
            for key in (ALL, str(ex.get("model") or ex.get("requested_model") or "?")):
                buckets = self.keys.setdefault(key, {})
                buckets.setdefault(minute, Bucket()).add(ex)
                if len(buckets) > self.minutes + 1:
                    del buckets[min(buckets)]

    def points(self, key: str, metric: str, now: float, minutes: int = 60) -> list[float | None]:
        """One value per minute, oldest first, ending at the current minute; None for a quiet minute.

        Counts (rate, errors) are 0 rather than None in a quiet minute: nothing happened.
        """
        end = int(now // 60) * 60
        buckets = self.keys.get(key, {})
        out: list[float | None] = []
        for i in range(minutes - 1, -1, -1):
            b = buckets.get(end - i * 60)
            if b is None:
                out.append(0.0 if metric in ("rate", "errors") else None)
            else:
                out.append(b.value(metric))
        return out


def feed_series(series: MinuteSeries, batch: Iterable[Any]) -> None:
    """Add the exchanges of a batch of dashboard events (live ones and a backfill's rows)."""
    for ev in batch:
        if ev.kind == "exchange" and isinstance(ev.data, Mapping):
            series.add((ev.data,))
        elif ev.kind == "requests" and isinstance(ev.data, Mapping):
            series.add(r for r in ev.data.get("requests") or () if isinstance(r, Mapping))


def from_stats(stats: Mapping[str, Any] | None, metric: str, now: float, minutes: int) -> list[float | None] | None:
    """The gateway's own per-minute series for the overall rate, errors and cache share, when it has one."""
    series = ((stats or {}).get("cache") or {}).get("series")
    if not series or metric == "p50":
        return None
    end = int(now // 60) * 60
    by_t = {int(float(b.get("t") or 0) // 60) * 60: b for b in series}
    out: list[float | None] = []
    for i in range(minutes - 1, -1, -1):
        b = by_t.get(end - i * 60)
        if b is None:
            out.append(0.0 if metric != "cache" else None)
        elif metric == "cache":
            total = float(b.get("input") or 0)
            out.append(float(b.get("cache_read") or 0) / total if total > 0 else None)
        else:
            out.append(float(b.get("requests" if metric == "rate" else "errors") or 0))
    return out
