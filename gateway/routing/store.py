"""Shared routing state behind one interface: quotas, breakers, cooldowns, probe leases, affinity.

Team mode runs several gateway instances that must agree on what a provider account has left
and which models are failing. `Store` is the contract; `MemoryStore` keeps it in this process
(the reference the Redis store is tested against, and the fallback while Redis is away) and
`gateway.routing.store_redis.RedisStore` keeps it in Redis, where one Lua script reserves a
request against every one of its limits at once on Redis's own clock.

The single-user gateway never touches this module: its in-process Health/Quotas/Affinity are
already this state, without an extra hop.

A quota *owner* is one account-shaped bucket (a pool under one key, a model under one key);
a request reserves one slot in each of its owners or in none of them.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

DAY = 86400.0


@dataclass(frozen=True)
class Limit:
    """One owner's limits; None means unlimited. `day_offset_s`: the provider's daily reset after UTC midnight."""

    owner: str
    rpm: int | None = None
    rpd: int | None = None
    tpm: int | None = None
    day_offset_s: float = 0.0

    def divided(self, n: int) -> Limit:
        """This instance's share while instances cannot coordinate: each limit over `n`, at least 1."""
        if n <= 1:
            return self

        def part(v: int | None) -> int | None:
            return None if v is None else max(1, v // n)

        return replace(self, rpm=part(self.rpm), rpd=part(self.rpd), tpm=part(self.tpm))


@dataclass(frozen=True)
class Reservation:
    """A granted request: one slot in each owner's windows, to release or reconcile later."""

    id: str
    owners: tuple[Limit, ...]
    tokens: int
    at: float
    local: bool = False  # granted by the in-process fallback (Redis was away)


@dataclass(frozen=True)
class Refusal:
    """Why a request may not go now, and when (epoch seconds) it could."""

    reason: str
    until: float | None


def next_reset(now: float, offset_s: float) -> float:
    """The next daily reset at `offset_s` after UTC midnight."""
    return (math.floor((now - offset_s) / DAY) + 1) * DAY + offset_s


class Store(Protocol):
    """Shared state verbs. Every method may be awaited from the hot path: keep each one round trip."""

    async def reserve(self, limits: Sequence[Limit], tokens: int = 0) -> Reservation | Refusal: ...
    async def release(self, res: Reservation) -> None: ...
    async def reconcile(self, res: Reservation, tokens: int) -> None: ...
    async def cool(self, owner: str, seconds: float, reason: str) -> None: ...
    async def open_breaker(self, model: str, until: float, reason: str) -> None: ...
    async def close_breaker(self, model: str) -> None: ...
    async def breakers(self) -> dict[str, tuple[float, str]]: ...
    async def claim_probe(self, model: str, holder: str, ttl_s: float) -> bool: ...
    async def release_probe(self, model: str, holder: str) -> None: ...
    async def affinity_get(self, session: str, role: str) -> str | None: ...
    async def affinity_set(self, session: str, role: str, model: str, ttl_s: float) -> None: ...
    async def usage(self, owner: str) -> dict[str, int]: ...


@dataclass
class _Owner:
    minute: deque[tuple[float, str, int]] = field(default_factory=deque)  # (at, id, tokens)
    day: int = -1
    day_count: int = 0
    cool_until: float = 0.0
    cool_reason: str = ""


class MemoryStore:
    """The Store in this process: exact, instant, and shared by nobody."""

    def __init__(self, clock: Callable[[], float] = time.time, minute_s: float = 60.0) -> None:
        self.clock = clock
        self.minute_s = minute_s
        self._owners: dict[str, _Owner] = {}
        self._breakers: dict[str, tuple[float, str]] = {}
        self._probes: dict[str, tuple[str, float]] = {}
        self._affinity: dict[tuple[str, str], tuple[str, float]] = {}

    def _owner(self, limit: Limit, now: float) -> _Owner:
        o = self._owners.setdefault(limit.owner, _Owner())
        while o.minute and o.minute[0][0] <= now - self.minute_s:
            o.minute.popleft()
        day = math.floor((now - limit.day_offset_s) / DAY)
        if o.day != day:
            o.day, o.day_count = day, 0
        return o

    def check(self, limits: Sequence[Limit], tokens: int, now: float) -> Refusal | None:
        """The latest-clearing limit that refuses one more request of `tokens`, or None."""
        worst: Refusal | None = None
        for lim in limits:
            o = self._owner(lim, now)
            hits: list[Refusal] = []
            if o.cool_until > now:
                hits.append(Refusal(f"{lim.owner} cooling down ({o.cool_reason})", o.cool_until))
            if lim.rpm is not None and len(o.minute) >= lim.rpm:
                hits.append(Refusal(f"{lim.owner}: {lim.rpm} requests per minute used",
                                    o.minute[len(o.minute) - lim.rpm][0] + self.minute_s))
            if lim.rpd is not None and o.day_count >= lim.rpd:
                hits.append(Refusal(f"{lim.owner}: {lim.rpd} requests per day used", next_reset(now, lim.day_offset_s)))
            if lim.tpm is not None and o.minute:
                total = sum(t for _, _, t in o.minute) + tokens
                if total > lim.tpm:
                    frees = o.minute[-1][0]
                    for at, _, t in o.minute:
                        total -= t
                        if total <= lim.tpm:
                            frees = at
                            break
                    hits.append(Refusal(f"{lim.owner}: {lim.tpm} tokens per minute used", frees + self.minute_s))
            for h in hits:
                if worst is None or (h.until or 0.0) > (worst.until or 0.0):
                    worst = h
        return worst

    async def reserve(self, limits: Sequence[Limit], tokens: int = 0) -> Reservation | Refusal:
        return self.reserve_now(limits, tokens)

    def reserve_now(self, limits: Sequence[Limit], tokens: int = 0, *, local: bool = False) -> Reservation | Refusal:
        """All-or-nothing, synchronously: nothing else runs between the check and the count."""
        now = self.clock()
        refused = self.check(limits, tokens, now)
        if refused is not None:
            return refused
        return self.add(limits, tokens, uuid.uuid4().hex[:16], now, local=local)

    def add(self, limits: Sequence[Limit], tokens: int, rid: str, now: float, *, local: bool = False) -> Reservation:
        """Count a request without checking (the Redis store mirrors its own grants here for degraded mode)."""
        for lim in limits:
            o = self._owner(lim, now)
            o.minute.append((now, rid, tokens))
            o.day_count += 1
        return Reservation(rid, tuple(limits), tokens, now, local)

    async def release(self, res: Reservation) -> None:
        for lim in res.owners:
            o = self._owners.get(lim.owner)
            if o is None:
                continue
            before = len(o.minute)
            o.minute = deque(e for e in o.minute if e[1] != res.id)
            if len(o.minute) < before and o.day_count > 0:
                o.day_count -= 1

    async def reconcile(self, res: Reservation, tokens: int) -> None:
        for lim in res.owners:
            o = self._owners.get(lim.owner)
            if o is not None:
                o.minute = deque((at, i, tokens if i == res.id else t) for at, i, t in o.minute)

    async def cool(self, owner: str, seconds: float, reason: str) -> None:
        o = self._owners.setdefault(owner, _Owner())
        o.cool_until, o.cool_reason = self.clock() + max(seconds, 0.0), reason

    async def open_breaker(self, model: str, until: float, reason: str) -> None:
        self._breakers[model] = (until, reason)

    async def close_breaker(self, model: str) -> None:
        self._breakers.pop(model, None)

    async def breakers(self) -> dict[str, tuple[float, str]]:
        now = self.clock()
        return {m: v for m, v in self._breakers.items() if v[0] > now}

    async def claim_probe(self, model: str, holder: str, ttl_s: float) -> bool:
        now = self.clock()
        held = self._probes.get(model)
        if held is not None and held[1] > now:
            return held[0] == holder
        self._probes[model] = (holder, now + ttl_s)
        return True

    async def release_probe(self, model: str, holder: str) -> None:
        held = self._probes.get(model)
        if held is not None and held[0] == holder:
            del self._probes[model]

    async def affinity_get(self, session: str, role: str) -> str | None:
        hit = self._affinity.get((session, role))
        if hit is None or hit[1] <= self.clock():
            return None
        return hit[0]

    async def affinity_set(self, session: str, role: str, model: str, ttl_s: float) -> None:
        self._affinity[(session, role)] = (model, self.clock() + ttl_s)

    async def usage(self, owner: str) -> dict[str, int]:
        o = self._owners.get(owner)
        if o is None:
            return {"rpm": 0, "rpd": 0, "tpm": 0}
        o = self._owner(Limit(owner), self.clock())
        return {"rpm": len(o.minute), "rpd": o.day_count, "tpm": sum(t for _, _, t in o.minute)}
