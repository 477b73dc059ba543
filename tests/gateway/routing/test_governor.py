"""The governor's policies: a burst of 20 against max_concurrency, account-wide 429s, plentiful pools first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from gateway.config import parse as parse_config
from gateway.routing.governor import Gates, prefer_plentiful, refusal
from gateway.routing.quotas import Quotas
from gateway.routing.ratelimit_headers import RateLimits, parse

NOW = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2027, 3, 11, 0, 0, 0, tzinfo=UTC).timestamp()


def test_a_burst_of_20_never_exceeds_the_cap_and_is_served_in_order() -> None:
    async def main() -> tuple[int, list[int], int]:
        gates = Gates()
        gate = ("free", "k1")
        peak, order = 0, []

        async def call(i: int) -> None:
            nonlocal peak
            assert await gates.acquire(gate, 4, max_wait=5.0)
            try:
                peak = max(peak, gates.in_flight(gate))
                order.append(i)
                await asyncio.sleep(0.01)
            finally:
                gates.release(gate)

        await asyncio.gather(*(call(i) for i in range(20)))
        return peak, order, gates.in_flight(gate)

    peak, order, left = asyncio.run(main())
    assert peak == 4
    assert order == list(range(20))  # FIFO: the burst's first calls go first
    assert left == 0


def test_the_wait_is_bounded_then_the_caller_moves_on() -> None:
    async def main() -> tuple[list[bool], int, int]:
        gates = Gates()
        gate = ("free", "")
        assert await gates.acquire(gate, 1)
        got = await asyncio.gather(*(gates.acquire(gate, 1, max_wait=0.05) for _ in range(3)))
        gates.release(gate)
        return list(got), gates.timeouts, gates.in_flight(gate)

    got, timeouts, left = asyncio.run(main())
    assert got == [False, False, False] and timeouts == 3 and left == 0


def test_a_cancelled_waiter_does_not_leak_its_slot() -> None:
    async def main() -> int:
        gates = Gates()
        gate = ("p", "")
        await gates.acquire(gate, 1)
        waiter = asyncio.ensure_future(gates.acquire(gate, 1, max_wait=5))
        await asyncio.sleep(0.01)
        waiter.cancel()
        gates.release(gate)  # handed to the cancelled waiter before it ran: it must hand it on
        await asyncio.gather(waiter, return_exceptions=True)
        return gates.in_flight(gate)

    assert asyncio.run(main()) == 0


@pytest.mark.parametrize(
    ("status", "headers", "body", "pooled", "scope", "until"),
    [
        (401, {}, b'{"error": {"message": "No auth credentials found"}}', True, "key", None),
        (403, {}, b'{"error": {"message": "Key disabled"}}', False, "key", None),
        (403, {}, b'{"error": {"message": "This model is not available in your region"}}', True, None, None),
        # OpenRouter's free daily limit: the account is spent until UTC midnight.
        (429, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(MIDNIGHT * 1000))},
         b'{"error": {"message": "Rate limit exceeded: free-models-per-day"}}', True, "pool", MIDNIGHT),
        (429, {"retry-after": "20"}, b'{"error": {"message": "Rate limit exceeded: free-models-per-min"}}', True, "pool",
         NOW + 20),
        # A provider behind OpenRouter is busy: that model only.
        (429, {}, b'{"error": {"message": "Provider returned error: temporarily rate-limited upstream"}}', True, "model",
         NOW + 60),
        (429, {"retry-after": "5"}, b"", False, "model", NOW + 5),
        (500, {}, b"", True, None, None),
    ],
)
def test_refusal_policy(status: int, headers: dict[str, str], body: bytes, pooled: bool, scope: str | None,
                        until: float | None) -> None:
    got = refusal(status, parse(headers, NOW, "openrouter", body), body, NOW, pooled, MIDNIGHT)
    assert (got.scope if got else None) == scope
    if got is not None and until is not None:
        assert got.until == pytest.approx(until)


TOML = """
[providers.or]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
api_keys = ["$K1", "$K2"]
pool = "free"

[providers.groq]
protocol = "openai"
base_url = "https://api.groq.com/openai/v1"
api_key = "$G"

[pools.free]
rpm = 20
rpd = 50
max_concurrency = 4

[models.a]
provider = "or"
id = "a:free"

[models.b]
provider = "or"
id = "b:free"

[models.g]
provider = "groq"
id = "llama"
rpd = 1000

[tiers.t]
letter = "t"
big = ["a", "b", "g"]
small = ["a", "g"]
"""


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def test_an_account_wide_429_cools_every_model_of_that_key_only() -> None:
    cfg = parse_config(TOML, env={"K1": "key-one", "K2": "key-two", "G": "g"})
    clock = Clock()
    q = Quotas(cfg, clock)
    a, b, g = cfg.models["a"], cfg.models["b"], cfg.models["g"]
    k1 = q.choose(a)
    assert k1 is not None
    what = refusal(429, RateLimits(retry_at=NOW + 30), b"Rate limit exceeded: free-models-per-min", NOW, True, MIDNIGHT)
    assert what is not None and what.scope == "pool"
    q.cool(a, what.until or NOW, what.reason, key=k1.fp, whole_pool=True)
    assert q.check(b, key=k1.fp) is not None  # the account's other model is cooled too
    k2 = q.choose(b)
    assert k2 is not None and k2.fp != k1.fp  # the other account still serves
    assert q.check(g) is None  # another provider is untouched
    q.cool(b, NOW + 60, "free-models-per-min", key=k2.fp, whole_pool=True)  # now both accounts are spent
    why = q.check(a)
    assert why is not None and why.until == NOW + 30 and "cooling" in why.reason  # back with the first account
    clock.t = NOW + 61
    assert q.check(a) is None and q.check(b) is None


def test_small_goes_to_the_most_plentiful_pool_first() -> None:
    cfg = parse_config(TOML, env={"K1": "key-one", "K2": "key-two", "G": "g"})
    q = Quotas(cfg, Clock())
    a, g = cfg.models["a"], cfg.models["g"]
    assert q.left_today(a) == 100 and q.left_today(g) == 1000
    assert prefer_plentiful([a, g], "small", q.left_today) == [g, a]
    assert prefer_plentiful([a, g], "big", q.left_today) == [a, g]
