"""Free-tier quotas: requests per minute, per UTC day and tokens per minute.

Limits apply per model and per shared pool (OpenRouter's free limits are account-wide, so
every `:free` model draws from one pool). Checking *before* calling saves the request an
upstream 429 would burn. Counts are keyed by name so a hot config reload keeps them, and the
daily counts are rebuilt from the ledger at start so a restart never hands back a spent day.
Memory stays bounded: the minute windows are trimmed on every access and the day is a counter.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gateway.config import Config, Model
from gateway.routing.health import Unavailable

MINUTE = 60.0
DAY = 86400.0


def next_utc_midnight(now: float) -> float:
    return (now // DAY + 1) * DAY


@dataclass
class _Window:
    """One model's or one pool's usage: the last minute in detail, today as a count."""

    minute: deque[tuple[float, int]] = field(default_factory=deque)  # (at, tokens), sorted by at
    day: int = -1  # days since the epoch, UTC
    day_count: int = 0
    cool_until: float = 0.0
    cool_reason: str = ""

    def trim(self, now: float) -> None:
        while self.minute and self.minute[0][0] <= now - MINUTE:
            self.minute.popleft()
        today = int(now // DAY)
        if self.day != today:
            self.day, self.day_count = today, 0

    def add(self, at: float, tokens: int, now: float) -> None:
        self.trim(now)
        if at > now - MINUTE:
            if not self.minute or at >= self.minute[-1][0]:
                self.minute.append((at, tokens))
            else:  # restored or late rows: keep the window sorted
                self.minute.insert(bisect.bisect_right([a for a, _ in self.minute], at), (at, tokens))
        if int(at // DAY) == self.day:
            self.day_count += 1

    def tokens(self) -> int:
        return sum(t for _, t in self.minute)


@dataclass(frozen=True)
class _Limits:
    rpm: int | None
    rpd: int | None
    tpm: int | None


class Quotas:
    def __init__(self, config: Config, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._models: dict[str, _Window] = {}
        self._pools: dict[str, _Window] = {}

    def update_config(self, config: Config) -> None:
        """Swap limits on a hot reload; counts are keyed by name and carry over."""
        self.config = config

    # -- internals ---------------------------------------------------------------------

    def _buckets(self, model: Model) -> list[tuple[str, _Window, _Limits]]:
        """(label, window, limits) for the model and its pool, windows trimmed to now."""
        now = self.clock()
        out = []
        mw = self._models.setdefault(model.name, _Window())
        mw.trim(now)
        out.append((f"model {model.name!r}", mw, _Limits(model.rpm, model.rpd, model.tpm)))
        pool_name = self._pool_of(model)
        if pool_name is not None:
            pw = self._pools.setdefault(pool_name, _Window())
            pw.trim(now)
            pool = self.config.pools.get(pool_name)
            limits = _Limits(pool.rpm, pool.rpd, pool.tpm) if pool else _Limits(None, None, None)
            out.append((f"pool {pool_name!r}", pw, limits))
        return out

    def _pool_of(self, model: Model) -> str | None:
        if model.provider not in self.config.providers:
            return model.pool
        return self.config.pool_of(model)

    # -- public ------------------------------------------------------------------------

    def check(self, model: Model, tokens: int = 0) -> Unavailable | None:
        """None when one more request of `tokens` fits every limit of the model and its pool.

        When several limits are hit, `until` is the latest of their reset times: the model
        is usable again only when all of them have cleared.
        """
        now = self.clock()
        hits: list[Unavailable] = []
        for label, w, lim in self._buckets(model):
            if w.cool_until > now:
                hits.append(Unavailable(f"{label} cooling down ({w.cool_reason})", w.cool_until))
            if lim.rpm is not None and len(w.minute) >= lim.rpm:
                # The request that frees a slot is the one `limit` places from the end.
                frees = w.minute[len(w.minute) - lim.rpm][0] + MINUTE
                hits.append(Unavailable(f"{label}: {lim.rpm} requests per minute used", frees))
            if lim.rpd is not None and w.day_count >= lim.rpd:
                hits.append(Unavailable(f"{label}: {lim.rpd} requests per UTC day used", next_utc_midnight(now)))
            if lim.tpm is not None and w.minute and w.tokens() + tokens > lim.tpm:
                hits.append(Unavailable(f"{label}: {lim.tpm} tokens per minute used", _tpm_frees(w, tokens, lim.tpm)))
        if not hits:
            return None
        return max(hits, key=lambda u: u.until or 0.0)

    def record(self, model: Model, tokens: int = 0, at: float | None = None) -> None:
        """Count one request sent to `model` (call it when the attempt goes out)."""
        now = self.clock()
        at = now if at is None else at
        for _, w, _ in self._buckets(model):
            w.add(at, tokens, now)

    def cool_pool(self, pool: str, until: float, reason: str = "upstream said the pool is spent") -> None:
        """Skip every model of `pool` until `until` (e.g. OpenRouter's free daily limit hit early)."""
        w = self._pools.setdefault(pool, _Window())
        w.cool_until, w.cool_reason = until, reason

    def restore(self, rows: Iterable[tuple[str, float, int]]) -> None:
        """Rebuild counts from ledger rows (model name, epoch seconds, tokens) at start.

        Rows older than today only miss; rows of models no longer configured count for the
        model name alone.
        """
        now = self.clock()
        for name, at, tokens in rows:
            model = self.config.models.get(name)
            if model is None:
                w = self._models.setdefault(name, _Window())
                w.add(at, tokens, now)
            else:
                for _, w, _ in self._buckets(model):
                    w.add(at, tokens, now)

    def snapshot(self, model: Model) -> dict[str, object]:
        """Usage against the binding limit of each kind, model or pool, whichever is tighter."""
        now = self.clock()
        buckets = self._buckets(model)
        out: dict[str, object] = {}
        for kind in ("rpm", "rpd", "tpm"):
            best: tuple[float, dict[str, object]] | None = None
            for label, w, lim in buckets:
                used = {"rpm": len(w.minute), "rpd": w.day_count, "tpm": w.tokens()}[kind]
                limit = getattr(lim, kind)
                entry: dict[str, object] = {"used": used, "limit": limit, "scope": label}
                if kind == "rpd":
                    entry["reset_at"] = next_utc_midnight(now)
                tightness = used / limit if limit else -1.0
                if best is None or tightness > best[0]:
                    best = (tightness, entry)
            assert best is not None
            out[kind] = best[1]
        pool = self._pool_of(model)
        out["pool"] = pool
        cool = self._pools.get(pool) if pool else None
        out["pool_cooling_until"] = cool.cool_until if cool and cool.cool_until > now else None
        return out


def _tpm_frees(w: _Window, tokens: int, limit: int) -> float:
    """When enough of the minute's tokens expire for `tokens` more to fit."""
    total = w.tokens() + tokens
    for at, t in w.minute:
        total -= t
        if total <= limit:
            return at + MINUTE
    return w.minute[-1][0] + MINUTE
