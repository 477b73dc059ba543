"""Free-tier quotas: requests per minute, per UTC day and tokens per minute.

Limits apply per model and per shared pool (OpenRouter's free limits are account-wide, so
every `:free` model draws from one pool), and both per API key: free limits belong to an
account, so each configured key (gateway.routing.keys) counts apart. Checking *before* calling saves the request an
upstream 429 would burn. Counts are keyed by name so a hot config reload keeps them, and the
daily counts are rebuilt from the ledger at start so a restart never hands back a spent day.
Memory stays bounded: the minute windows are trimmed on every access and the day is a counter.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from gateway.config import Config, Model
from gateway.routing.correction import apply_readings
from gateway.routing.health import Unavailable
from gateway.routing.keys import NO_KEY, Key, KeyRing, default_fp, keys_of, pick
from gateway.routing.ratelimit_headers import RateLimits

MINUTE = 60.0
DAY = 86400.0


def next_utc_midnight(now: float) -> float:
    return (now // DAY + 1) * DAY


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def day_bounds(now: float, tz: str = "UTC") -> tuple[float, float]:
    """Start and end of the provider's day around `now`: UTC midnights, or midnights in `tz` (Gemini: Pacific)."""
    if tz == "UTC":
        start = now // DAY * DAY
        return start, start + DAY
    zone = _zone(tz)
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    following = midnight.date() + timedelta(days=1)
    return midnight.timestamp(), datetime(following.year, following.month, following.day, tzinfo=zone).timestamp()


@dataclass
class _Window:
    """One model's or one pool's usage: the last minute in detail, today (the provider's day) as a count."""

    minute: deque[tuple[float, int]] = field(default_factory=deque)  # (at, tokens), sorted by at
    day_start: float = 0.0
    day_end: float = 0.0  # recomputed only when a day ends, so the zone lookup stays off the hot path
    day_count: int = 0
    cool_until: float = 0.0
    cool_reason: str = ""
    tz: str = "UTC"

    def trim(self, now: float) -> None:
        while self.minute and self.minute[0][0] <= now - MINUTE:
            self.minute.popleft()
        if not self.day_start <= now < self.day_end:
            self.day_start, self.day_end = day_bounds(now, self.tz)
            self.day_count = 0

    def add(self, at: float, tokens: int, now: float) -> None:
        self.trim(now)
        if at > now - MINUTE:
            if not self.minute or at >= self.minute[-1][0]:
                self.minute.append((at, tokens))
            else:  # restored or late rows: keep the window sorted
                self.minute.insert(bisect.bisect_right([a for a, _ in self.minute], at), (at, tokens))
        if self.day_start <= at < self.day_end:
            self.day_count += 1

    def tokens(self) -> int:
        return sum(t for _, t in self.minute)


@dataclass(frozen=True)
class _Limits:
    rpm: int | None
    rpd: int | None
    tpm: int | None


class Quotas:
    """Usage per (model, key) and per (pool, key): each key is its own quota owner.

    One object owns all quota state behind five verbs, so a shared store (team mode) can
    stand behind it: `choose` (reserve a key), `record` (an attempt reached the provider),
    `correct` (the provider's headers say where we really are), `cool` (one model, or its whole pool for an account-wide 429)
    (the provider said stop) and `retire` (the provider refused a key).
    """

    def __init__(self, config: Config, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._models: dict[tuple[str, str], _Window] = {}
        self._pools: dict[tuple[str, str], _Window] = {}
        self.keyring = KeyRing()

    def update_config(self, config: Config) -> None:
        """Swap limits on a hot reload; counts are keyed by name and key fingerprint and carry over."""
        self.config = config

    # -- internals ---------------------------------------------------------------------

    def _buckets(self, model: Model, fp: str) -> list[tuple[str, _Window, _Limits]]:
        """(label, window, limits) for the model and its pool under one key, windows trimmed to now."""
        now = self.clock()
        suffix = f" key {fp}" if fp else ""
        pool_name = self._pool_of(model)
        pool = self.config.pools.get(pool_name) if pool_name is not None else None
        tz = pool.day_tz if pool is not None else "UTC"  # a model's own day is its provider's
        mw = self._models.setdefault((model.name, fp), _Window())
        mw.tz = tz
        mw.trim(now)
        out = [(f"model {model.name!r}{suffix}", mw, _Limits(model.rpm, model.rpd, model.tpm))]
        if pool_name is not None:
            pw = self._pools.setdefault((pool_name, fp), _Window())
            pw.tz = tz
            pw.trim(now)
            limits = _Limits(pool.rpm, pool.rpd, pool.tpm) if pool else _Limits(None, None, None)
            out.append((f"pool {pool_name!r}{suffix}", pw, limits))
        return out

    def _pool_of(self, model: Model) -> str | None:
        if model.provider not in self.config.providers:
            return model.pool
        return self.config.pool_of(model)

    def _all_keys(self, model: Model) -> list[Key]:
        provider = self.config.providers.get(model.provider)
        return keys_of(provider) if provider is not None else [Key("", None, NO_KEY)]

    def _default_fp(self, model: Model) -> str:
        provider = self.config.providers.get(model.provider)
        return default_fp(provider) if provider is not None else NO_KEY

    def _check_key(self, model: Model, tokens: int, fp: str) -> Unavailable | None:
        now = self.clock()
        hits: list[Unavailable] = []
        for label, w, lim in self._buckets(model, fp):
            if w.cool_until > now:
                hits.append(Unavailable(f"{label} cooling down ({w.cool_reason})", w.cool_until))
            if lim.rpm is not None and len(w.minute) >= lim.rpm:
                # The request that frees a slot is the one `limit` places from the end.
                frees = w.minute[len(w.minute) - lim.rpm][0] + MINUTE
                hits.append(Unavailable(f"{label}: {lim.rpm} requests per minute used", frees))
            if lim.rpd is not None and w.day_count >= lim.rpd:
                day = "UTC day" if w.tz == "UTC" else f"day ({w.tz})"
                hits.append(Unavailable(f"{label}: {lim.rpd} requests per {day} used", w.day_end))
            if lim.tpm is not None and tokens > lim.tpm:  # the provider refuses it whatever the minute holds
                hits.append(Unavailable(f"{label}: a {tokens}-token request is over its {lim.tpm} tokens per minute"))
            elif lim.tpm is not None and w.minute and w.tokens() + tokens > lim.tpm:
                hits.append(Unavailable(f"{label}: {lim.tpm} tokens per minute used", _tpm_frees(w, tokens, lim.tpm)))
        if not hits:
            return None
        return max(hits, key=lambda u: u.until or 0.0)

    # -- keys --------------------------------------------------------------------------

    def active_keys(self, model: Model) -> list[Key]:
        return self.keyring.active(self._all_keys(model))

    def headroom(self, model: Model, fp: str, tokens: int = 0) -> float:
        """0 when the key cannot take the request now, else the smallest fraction left of any limit (1.0: none)."""
        if self._check_key(model, tokens, fp) is not None:
            return 0.0
        room = 1.0
        for _, w, lim in self._buckets(model, fp):
            if lim.rpm:
                room = min(room, 1 - len(w.minute) / lim.rpm)
            if lim.rpd:
                room = min(room, 1 - w.day_count / lim.rpd)
        return max(room, 1e-6)

    def left_today(self, model: Model) -> float:
        """Requests the model can still make today over all its live keys (a minute limit x 1440 when no day limit)."""
        total = 0.0
        for k in self.active_keys(model):
            if self._check_key(model, 0, k.fp) is not None:
                continue
            left = float("inf")
            for _, w, lim in self._buckets(model, k.fp):
                if lim.rpd:
                    left = min(left, lim.rpd - w.day_count)
                elif lim.rpm:
                    left = min(left, lim.rpm * 1440.0)
            total += left if left != float("inf") else 1e9
        return total

    def choose(self, model: Model, tokens: int = 0) -> Key | None:
        """Reserve a key for one attempt: the one with the most headroom, None when none can take it."""
        return pick(self.active_keys(model), lambda k: self.headroom(model, k.fp, tokens))

    def retire(self, fp: str, reason: str) -> None:
        """The provider refused this key (401/403): stop using it, keep the model's other keys."""
        self.keyring.retire(fp, reason)

    # -- public ------------------------------------------------------------------------

    def check(self, model: Model, tokens: int = 0, key: str | None = None) -> Unavailable | None:
        """None when one more request of `tokens` fits every limit of the model and its pool under some key.

        With several keys the model is usable while any key has room; when none has, `until`
        is the earliest time one of them comes back.
        """
        if key is not None:
            return self._check_key(model, tokens, key)
        keys = self.active_keys(model)
        if not keys:
            every = self._all_keys(model)
            if every and all(self.keyring.retired(k.fp) for k in every if k.usable):
                reasons = "; ".join(f"{k.ref} ({k.fp}): {self.keyring.retired(k.fp)}" for k in every if k.usable)
                return Unavailable(f"every key refused by the provider: {reasons}")
            return Unavailable("no API key set")
        hits = []
        for k in keys:
            why = self._check_key(model, tokens, k.fp)
            if why is None:
                return None
            hits.append(why)
        return min(hits, key=lambda u: u.until if u.until is not None else float("inf"))

    def record(self, model: Model, tokens: int = 0, at: float | None = None, key: str | None = None) -> None:
        """Count one request that reached the provider under `key` (default: the provider's first key)."""
        now = self.clock()
        at = now if at is None else at
        fp = self._default_fp(model) if key is None else key
        for _, w, _ in self._buckets(model, fp):
            w.add(at, tokens, now)

    def cool(self, model: Model, until: float, reason: str, key: str | None = None, whole_pool: bool = False) -> None:
        """Skip the model (or, account-wide, its whole pool) under one key until `until`."""
        fp = self._default_fp(model) if key is None else key
        buckets = self._buckets(model, fp)
        _, w, _ = buckets[-1] if whole_pool else buckets[0]
        if until > w.cool_until:
            w.cool_until, w.cool_reason = until, reason

    def correct(self, model: Model, key: str | None, limits: RateLimits) -> None:
        """Move the local counters to what the provider reports (see `gateway.routing.correction`)."""
        fp = self._default_fp(model) if key is None else key
        apply_readings(self._buckets(model, fp), limits, self.clock())

    def restore(self, rows: Iterable[tuple]) -> None:
        """Rebuild counts from ledger rows (model name, epoch seconds, tokens[, key fingerprint]) at start.

        Rows older than today only miss; rows without a fingerprint (older ledgers) count for the
        provider's first key; rows of models no longer configured count for the model name alone.
        """
        now = self.clock()
        for row in rows:
            name, at, tokens = row[0], row[1], row[2]
            model = self.config.models.get(name)
            fp = row[3] if len(row) > 3 and row[3] is not None else (self._default_fp(model) if model else NO_KEY)
            if model is None:
                self._models.setdefault((name, fp), _Window()).add(at, tokens, now)
            else:
                for _, w, _ in self._buckets(model, fp):
                    w.add(at, tokens, now)

    def snapshot(self, model: Model) -> dict[str, object]:
        """Usage against the binding limit of each kind, for the key the next request would use."""
        now = self.clock()
        chosen = self.choose(model)
        fp = chosen.fp if chosen else self._default_fp(model)
        buckets = self._buckets(model, fp)
        out: dict[str, object] = {}
        for kind in ("rpm", "rpd", "tpm"):
            best: tuple[float, dict[str, object]] | None = None
            for label, w, lim in buckets:
                used = {"rpm": len(w.minute), "rpd": w.day_count, "tpm": w.tokens()}[kind]
                limit = getattr(lim, kind)
                entry: dict[str, object] = {"used": used, "limit": limit, "scope": label}
                if kind == "rpd":
                    entry["reset_at"] = w.day_end
                tightness = used / limit if limit else -1.0
                if best is None or tightness > best[0]:
                    best = (tightness, entry)
            assert best is not None
            out[kind] = best[1]
        pool = self._pool_of(model)
        out["pool"] = pool
        cools = [w.cool_until for (name, _), w in self._pools.items() if name == pool and w.cool_until > now]
        out["pool_cooling_until"] = max(cools) if cools else None
        out["key"] = fp or None
        return out

    def key_rows(self, model: Model) -> list[dict[str, object]]:
        """One row per key of the model's provider: usage of its pool (or the model), why it is skipped."""
        now = self.clock()
        rows = []
        for k in self._all_keys(model):
            label, w, lim = self._buckets(model, k.fp)[-1]
            why = self.keyring.retired(k.fp)
            skip = f"refused by the provider: {why}" if why else (None if k.usable or not k.ref else f"{k.ref} unset")
            if skip is None and (u := self._check_key(model, 0, k.fp)) is not None:
                skip = u.reason
            rows.append({
                "ref": k.ref or None, "key": k.fp or None, "scope": label, "retired": why is not None,
                "rpm": {"used": len(w.minute), "limit": lim.rpm, "window_s": MINUTE},
                "rpd": {"used": w.day_count, "limit": lim.rpd, "reset_at": w.day_end},
                "cooling_until": w.cool_until if w.cool_until > now else None, "skip": skip,
            })
        return rows


def _tpm_frees(w: _Window, tokens: int, limit: int) -> float:
    """When enough of the minute's tokens expire for `tokens` more to fit."""
    total = w.tokens() + tokens
    for at, t in w.minute:
        total -= t
        if total <= limit:
            return at + MINUTE
    return w.minute[-1][0] + MINUTE
