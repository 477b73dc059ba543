"""Prompt-cache observability: classify each exchange, price it, and aggregate the results.

Pure and allocation-bounded. The proxy calls `classify` and `cost` when it finalizes an
Exchange, feeds the Exchange to one `Aggregate`, and serves `prometheus_lines` on /metrics.

Classes (every class is computed from the normalised `Usage`, where `input` counts ALL
prompt tokens, cached ones included):

    REPLAY   served by the exact replay cache: no upstream call at all
    NOUSAGE  the provider reported no usage, so nothing can be said
    HIT      cache_read / input >= HIT_RATIO (0.5): most of the prompt came from cache
    PARTIAL  0 < cache_read / input < HIT_RATIO: some of it did
    COLD     nothing read, something written: the first turn of a prefix (paid a write)
    MISS     nothing read and nothing written. Below the provider's minimum cacheable
             prompt (`MIN_CACHEABLE`, 1024 tokens) a miss is expected and `log_line` marks
             it "(small)"; above it, a MISS means the prefix changed or caching is off.

The 0.5 boundary is deliberate: an agent turn that resends a warm prefix reads 90 %+ from
cache, a turn whose system prompt changed reads a few %, so the two populations sit far
from 0.5 and the class is stable under small per-turn growth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.config import Price
from gateway.exchange import Exchange, Usage

HIT_RATIO = 0.5
MIN_CACHEABLE = 1024
SERIES_MINUTES = 60
MAX_KEYS = 64  # per dimension (model, agent, tier); the rest is folded into "other"
MAX_LABEL_SETS = 1024  # distinct (class, model, agent, tier) counters for Prometheus
OTHER = "other"
CLASSES = ("HIT", "PARTIAL", "MISS", "COLD", "NOUSAGE", "REPLAY")


def hit_ratio(usage: Usage) -> float:
    """Share of the prompt read from cache; 0 when nothing is known."""
    total = max(usage.input, usage.cache_read + usage.cache_write)
    return usage.cache_read / total if total else 0.0


def classify(usage: Usage, *, replay: bool = False) -> str:
    if replay:
        return "REPLAY"
    if not usage.reported:
        return "NOUSAGE"
    if usage.cache_read > 0:
        return "HIT" if hit_ratio(usage) >= HIT_RATIO else "PARTIAL"
    if usage.cache_write > 0:
        return "COLD"
    return "MISS"


def cost(usage: Usage, price: Price, *, replay: bool = False) -> tuple[float, float]:
    """(what the request cost, what prompt caching saved), in dollars.

    A cache price of 0 next to a non-zero input price means "not configured", not "free":
    reads are then billed at the input price and writes carry no premium, so an incomplete
    price table never invents savings. `saved` is negative when a write premium was paid
    and nothing read yet (a COLD turn). A replayed request cost nothing and saved what it
    would have cost.
    """
    read_price = price.cache_read if price.cache_read or not price.input else price.input
    write_price = price.cache_write if price.cache_write or not price.input else price.input
    fresh = max(usage.input - usage.cache_read - usage.cache_write, 0)
    full = (
        fresh * price.input
        + usage.cache_read * read_price
        + usage.cache_write * write_price
        + usage.output * price.output
    ) / 1e6
    saved = (
        usage.cache_read * (price.input - read_price) - usage.cache_write * (write_price - price.input)
    ) / 1e6
    if replay:
        return 0.0, full
    return full, saved


def annotate(ex: Exchange, price: Price | None, *, replay: bool = False) -> None:
    """Set an Exchange's cache class, cost and saving in one call when it is finalized.

    A turn the gateway answered itself (model "xx", no attempt: a command) has no cache class: "-".
    """
    local = ex.model == "xx" and not ex.attempts
    ex.cache_class = "-" if local else classify(ex.usage, replay=replay)
    ex.cost, ex.saved = cost(ex.usage, price or Price(), replay=replay)


LOG_REASON_MAX = 240  # characters of the error kept on a log line


def log_line(ex: Exchange) -> str:
    """One human line per request, e.g. `HIT 97% read 48640/50120 kimi-free [big] claude`."""
    u = ex.usage
    cls = ex.cache_class if ex.cache_class == "REPLAY" else classify(u)
    who = f"{ex.model or ex.requested_model or '-'} [{ex.role}] {ex.agent}"
    if cls == "NOUSAGE" or not u.reported:
        line = f"{cls} {who}"
    else:
        line = f"{cls} {round(hit_ratio(u) * 100)}% read {u.cache_read}/{u.input}"
        if u.cache_write:
            line += f" write {u.cache_write}"
        line += f" {who}"
        if cls == "MISS" and u.input < MIN_CACHEABLE:
            line += " (small)"
    if ex.saved > 0:
        line += f" saved ${ex.saved:.4f}"
    if ex.outcome == "error" or ex.status >= 400:
        line += f" ERROR {ex.status or ''}".rstrip()
        reason = ex.error or next((a.error for a in reversed(ex.attempts) if a.error), None)
        if reason:  # already scrubbed of secrets (Runtime._finish); one line, bounded
            reason = " ".join(str(reason).split())
            line += ": " + (reason if len(reason) <= LOG_REASON_MAX else reason[: LOG_REASON_MAX - 1] + "…")
    return line


@dataclass
class Counts:
    """Additive counters for one bucket (a dimension value, or one minute)."""

    requests: int = 0
    errors: int = 0
    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    classes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))

    def add(self, ex: Exchange, cls: str) -> None:
        self.requests += 1
        self.errors += _is_error(ex)
        self.classes[cls] = self.classes.get(cls, 0) + 1
        if cls != "REPLAY":  # replayed tokens were never sent upstream
            self.input += ex.usage.input
            self.cache_read += ex.usage.cache_read
            self.cache_write += ex.usage.cache_write
            self.output += ex.usage.output
        self.cost_usd += ex.cost
        self.saved_usd += ex.saved

    @property
    def hit_ratio(self) -> float:
        """Token-weighted: cache reads over all prompt tokens sent upstream."""
        return self.cache_read / self.input if self.input else 0.0

    @property
    def hit_rate(self) -> float:
        """Request-weighted: HIT (and REPLAY) over requests that reported usage."""
        known = self.requests - self.classes.get("NOUSAGE", 0)
        good = self.classes.get("HIT", 0) + self.classes.get("REPLAY", 0)
        return good / known if known else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "classes": dict(self.classes),
            "input_tokens": self.input,
            "cache_read_tokens": self.cache_read,
            "cache_write_tokens": self.cache_write,
            "output_tokens": self.output,
            "hit_ratio": round(self.hit_ratio, 4),
            "hit_rate": round(self.hit_rate, 4),
            "cost_usd": round(self.cost_usd, 6),
            "saved_usd": round(self.saved_usd, 6),
        }


def _is_error(ex: Exchange) -> bool:
    return ex.outcome == "error" or ex.status >= 400


@dataclass
class Stats:
    """Totals for one key plus its last SERIES_MINUTES minutes."""

    total: Counts = field(default_factory=Counts)
    minutes: dict[int, Counts] = field(default_factory=dict)

    def add(self, ex: Exchange, cls: str, minute: int) -> None:
        self.total.add(ex, cls)
        bucket = self.minutes.get(minute)
        if bucket is None:
            bucket = self.minutes[minute] = Counts()
            for old in [m for m in self.minutes if m <= minute - SERIES_MINUTES]:
                del self.minutes[old]
        bucket.add(ex, cls)

    def series(self, now_minute: int) -> list[dict[str, Any]]:
        out = []
        for m in range(now_minute - SERIES_MINUTES + 1, now_minute + 1):
            c = self.minutes.get(m) or Counts()
            out.append(
                {
                    "minute": m * 60,
                    "requests": c.requests,
                    "errors": c.errors,
                    "hits": c.classes.get("HIT", 0) + c.classes.get("REPLAY", 0),
                    "input_tokens": c.input,
                    "cache_read_tokens": c.cache_read,
                    "hit_ratio": round(c.hit_ratio, 4),
                    "saved_usd": round(c.saved_usd, 6),
                }
            )
        return out

    def to_dict(self, now_minute: int) -> dict[str, Any]:
        return {**self.total.to_dict(), "series": self.series(now_minute)}


class Aggregate:
    """Running cache statistics, overall and per model, agent and tier.

    Memory is bounded: at most MAX_KEYS values per dimension (later ones fold into
    "other"), SERIES_MINUTES minute buckets per key, MAX_LABEL_SETS Prometheus label sets.
    """

    DIMENSIONS = ("model", "agent", "tier")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.overall = Stats()
        self.by: dict[str, dict[str, Stats]] = {d: {} for d in self.DIMENSIONS}
        self.labelled: dict[tuple[str, str, str, str], Counts] = {}

    def _slot(self, dim: str, value: str) -> Stats:
        table = self.by[dim]
        if value not in table and len(table) >= MAX_KEYS:
            value = OTHER
        return table.setdefault(value, Stats())

    def add(self, ex: Exchange) -> None:
        cls = ex.cache_class if ex.cache_class == "REPLAY" else classify(ex.usage)
        when = ex.ended or ex.started or self.clock()
        minute = int(when // 60)
        labels = {"model": ex.model or "none", "agent": ex.agent or "unknown", "tier": ex.tier or "none"}
        self.overall.add(ex, cls, minute)
        for dim in self.DIMENSIONS:
            self._slot(dim, labels[dim]).add(ex, cls, minute)
        key = (cls, *(labels[d] if labels[d] in self.by[d] else OTHER for d in self.DIMENSIONS))
        if key not in self.labelled and len(self.labelled) >= MAX_LABEL_SETS:
            key = (cls, OTHER, OTHER, OTHER)
        self.labelled.setdefault(key, Counts()).add(ex, cls)

    def to_dict(self) -> dict[str, Any]:
        now_minute = int(self.clock() // 60)
        return {
            "overall": self.overall.to_dict(now_minute),
            **{
                f"by_{dim}": {k: s.to_dict(now_minute) for k, s in sorted(self.by[dim].items())}
                for dim in self.DIMENSIONS
            },
        }
