"""One governor for scarce quota: pool concurrency, account-wide refusals, plentiful pools first.

Free tiers fail in bursts: a sub-agent fan-out sends five calls at once into an account that
allows a few, and a 429 on one model means the whole account is spent. Three policies,
each pure or nearly so (the attempt's hooks in `gateway.routing.attempt_hooks` apply them):

- `Gates`: at most `max_concurrency` requests in flight per (pool, key); a burst waits its
  turn in FIFO order for a bounded time, then the attempt moves to the next model instead
  of meeting a 429.
- `refusal`: what a 401/403/429 means: retire the key, cool the model, or cool the account
  (every model of the pool under that key) for as long as the provider said.
- `prefer_plentiful`: `small` turns and side calls go to the candidates with the most
  requests left today, keeping the scarce pools for `big` turns.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.routing.ratelimit_headers import RateLimits

T = TypeVar("T")
DEFAULT_WAIT_S = 8.0  # a burst may wait this long for a pool slot before the next model is tried
DEFAULT_COOL_S = 60.0  # an account-wide 429 that says nothing about when: one minute
# Words by which a 429 says the account's own limit is spent (OpenRouter: "free-models-per-day"), as
# opposed to one model's limit or an upstream provider's capacity.
_ACCOUNT_WORDS = ("free-models-per", "per-day", "per day", "per-min", "per minute", "quota", "resource_exhausted")
_NOT_ACCOUNT = ("upstream", "provider returned", "temporarily rate-limited", "overloaded", "capacity")
_MODEL_403 = ("not available", "region", "moderation", "flagged", "not supported", "no endpoints")


class Gates:
    """Per-key concurrency counters with FIFO waiters; `waits` keeps recent queueing delays (bounded)."""

    def __init__(self, clock: Callable[[], float] | None = None, scale: float = 1.0) -> None:
        self._clock = clock
        self.scale = scale  # real seconds per configured second (a compressed clock in benchmarks)
        self._busy: dict[tuple[str, str], int] = {}
        self._waiters: dict[tuple[str, str], deque[asyncio.Future[None]]] = {}
        self.waits: deque[float] = deque(maxlen=10_000)  # seconds each capped acquire waited (0: at once)
        self.timeouts = 0

    def in_flight(self, gate: tuple[str, str]) -> int:
        return self._busy.get(gate, 0)

    def free(self, gate: tuple[str, str], limit: int | None) -> bool:
        return limit is None or self._busy.get(gate, 0) < limit

    async def acquire(self, gate: tuple[str, str], limit: int | None, max_wait: float = DEFAULT_WAIT_S) -> bool:
        """Take a slot; wait up to `max_wait` (config seconds) in line; False when none came in time."""
        if limit is None:
            self._busy[gate] = self._busy.get(gate, 0) + 1
            return True
        queue = self._waiters.setdefault(gate, deque())
        if self._busy.get(gate, 0) < limit and not queue:
            self._busy[gate] = self._busy.get(gate, 0) + 1
            self.waits.append(0.0)
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(fut)
        t0 = self._now()
        try:
            await asyncio.wait_for(asyncio.shield(fut), max_wait * self.scale)
        except TimeoutError:
            if fut.done() and not fut.cancelled():  # the slot arrived as the wait ended: hand it on
                self.release(gate)
            else:
                fut.cancel()
            self.timeouts += 1
            self.waits.append(self._now() - t0)
            return False
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release(gate)
            else:
                fut.cancel()
            raise
        self.waits.append(self._now() - t0)
        return True  # the releaser handed its slot over: the count already includes us

    def release(self, gate: tuple[str, str]) -> None:
        """Give the slot to the first live waiter, else free it."""
        queue = self._waiters.get(gate)
        while queue:
            fut = queue.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        n = self._busy.get(gate, 0) - 1
        if n > 0:
            self._busy[gate] = n
        else:
            self._busy.pop(gate, None)
            self._waiters.pop(gate, None)

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time() / self.scale


@dataclass(frozen=True)
class Refusal:
    scope: str  # "key" (retire it) | "pool" (cool the account) | "model" (cool this model under the key)
    until: float | None
    reason: str


def refusal(status: int, limits: RateLimits, body: bytes, now: float, pooled: bool, day_ends: float) -> Refusal | None:
    """What a refusal means for the key, the model and its account; None for anything else.

    401 always, and 403 unless it names the model (region, moderation), mean the key is
    refused. A 429 cools for as long as the provider said (retry-after, or the reset of the
    limit at 0; the end of the day when the daily count is spent). It cools the whole pool
    when `pooled` (the pool carries account-wide limits) and the provider says the account is
    spent (an account reading at 0, or words such as OpenRouter's "free-models-per-day"),
    unless the text blames an upstream provider's capacity; otherwise only the model.
    """
    text = body[:4096].decode(errors="replace").lower()
    if status == 401 or (status == 403 and not any(w in text for w in _MODEL_403)):
        return Refusal("key", None, f"HTTP {status} from the provider")
    if status != 429:
        return None
    until = limits.exhausted_until()
    if until is None:
        until = day_ends if limits.daily_exhausted() or "per-day" in text or "per day" in text else now + DEFAULT_COOL_S
    upstream_busy = any(w in text for w in _NOT_ACCOUNT)
    account_spent = any(r.scope == "account" and r.remaining == 0 for r in limits.readings)
    account = pooled and not upstream_busy and (account_spent or any(w in text for w in _ACCOUNT_WORDS))
    wait = max(0, math.ceil(until - now))
    if account:
        return Refusal("pool", until, f"account rate limit (HTTP 429), back in {wait}s")
    return Refusal("model", until, f"HTTP 429, back in {wait}s")


def prefer_plentiful(candidates: Sequence[T], role: str, plenty: Callable[[T], float],
                     roles: tuple[str, ...] = ("small",)) -> list[T]:
    """For `roles`, order candidates by requests left today, most first (stable: config order breaks ties).

    `big` (and `middle`, a tool-result turn of the main conversation) keep the tier's order,
    so the scarce pools that lead a cascade stay free for the turns that need them. A sticky
    candidate (conversation affinity) is not moved: its prefix cache is worth more.
    """
    if role not in roles or len(candidates) < 2:
        return list(candidates)
    first = [c for c in candidates if getattr(c, "sticky", False)]
    rest = [c for c in candidates if not getattr(c, "sticky", False)]
    return first + sorted(rest, key=lambda c: -plenty(c))
