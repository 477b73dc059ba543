"""One contract, two stores: the in-process MemoryStore and the RedisStore against a real redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from support.dbservers import RedisServer

from gateway.routing.store import Limit, MemoryStore, Refusal, Reservation
from gateway.routing.store_redis import RedisStore


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MemoryStore | RedisStore]:
    if request.param == "memory":
        yield MemoryStore(minute_s=2.0)
        return
    srv: RedisServer = request.getfixturevalue("redis_server")
    s = RedisStore(srv.url, minute_s=2.0)
    await s.start()
    yield s
    await s.close()


async def test_reserves_all_or_nothing_across_limits(store: MemoryStore | RedisStore) -> None:
    pool, model = Limit("pool:p", rpm=3), Limit("model:a", rpm=2)
    got = [await store.reserve([pool, model]) for _ in range(3)]
    assert [type(r) for r in got] == [Reservation, Reservation, Refusal]
    assert "model:a" in got[2].reason and got[2].until is not None
    # the model refused, so the pool was not charged: another model still has the pool's last slot
    assert isinstance(await store.reserve([pool, Limit("model:b", rpm=5)]), Reservation)
    assert isinstance(await store.reserve([pool, Limit("model:b", rpm=5)]), Refusal)


async def test_window_slides_and_release_gives_back(store: MemoryStore | RedisStore) -> None:
    lim = Limit("pool:w", rpm=1)
    first = await store.reserve([lim])
    assert isinstance(first, Reservation)
    refused = await store.reserve([lim])
    assert isinstance(refused, Refusal) and refused.until is not None
    assert 1.0 < refused.until - time.time() <= 2.1
    await store.release(first)
    assert isinstance(await store.reserve([lim]), Reservation)
    await asyncio.sleep(2.1)
    assert isinstance(await store.reserve([lim]), Reservation)


async def test_daily_limit_and_tokens(store: MemoryStore | RedisStore) -> None:
    day = Limit("pool:d", rpd=2)
    assert isinstance(await store.reserve([day]), Reservation)
    assert isinstance(await store.reserve([day]), Reservation)
    refused = await store.reserve([day])
    assert isinstance(refused, Refusal) and "per day" in refused.reason
    toks = Limit("pool:t", tpm=100)
    res = await store.reserve([toks], tokens=60)
    assert isinstance(res, Reservation)
    assert isinstance(await store.reserve([toks], tokens=60), Refusal)
    await store.reconcile(res, 10)  # the provider said it was small
    if isinstance(store, RedisStore):
        store._refused.clear()
    assert isinstance(await store.reserve([toks], tokens=60), Reservation)


async def test_cool_blocks_the_owner(store: MemoryStore | RedisStore) -> None:
    await store.cool("pool:c", 1.0, "429 retry-after 1s")
    refused = await store.reserve([Limit("pool:c", rpm=10)])
    assert isinstance(refused, Refusal) and "cool" in refused.reason


async def test_probe_lease_is_exclusive_and_expires(store: MemoryStore | RedisStore) -> None:
    assert await store.claim_probe("m", "a", 0.5)
    assert not await store.claim_probe("m", "b", 0.5)
    await store.release_probe("m", "b")  # not the holder: nothing happens
    assert not await store.claim_probe("m", "c", 0.5)
    await store.release_probe("m", "a")
    assert await store.claim_probe("m", "b", 0.3)
    await asyncio.sleep(0.4)
    assert await store.claim_probe("m", "c", 0.3)


async def test_affinity_expires(store: MemoryStore | RedisStore) -> None:
    await store.affinity_set("s1", "big", "kimi", 0.3)
    assert await store.affinity_get("s1", "big") == "kimi"
    assert await store.affinity_get("s1", "small") is None
    await asyncio.sleep(0.4)
    assert await store.affinity_get("s1", "big") is None


async def test_concurrent_reservations_never_exceed_the_limit(redis_server: RedisServer) -> None:
    """Three stores (three instances) race for 30 slots: exactly 30 are granted."""
    # The atomicity of the one Lua script is under test, not the degraded mode: a generous socket timeout keeps
    # a loaded CI machine from flipping a store to local state (0.25 s by default) mid-race.
    stores = [RedisStore(redis_server.url, minute_s=60, timeout_s=5.0) for _ in range(3)]
    for s in stores:
        await s.start()
    try:
        lim = [Limit("pool:race", rpm=30), Limit("model:x", rpm=1000)]
        results = await asyncio.gather(*(stores[i % 3].reserve(lim) for i in range(90)))
        assert sum(isinstance(r, Reservation) for r in results) == 30
    finally:
        for s in stores:
            await s.close()


async def test_breaker_reaches_other_instances_fast(redis_server: RedisServer) -> None:
    seen: list[float] = []
    a = RedisStore(redis_server.url)
    b = RedisStore(redis_server.url, on_event=lambda e: seen.append(time.monotonic()))
    await a.start()
    await b.start()
    try:
        await asyncio.sleep(0.2)  # b subscribed
        t0 = time.monotonic()
        await a.open_breaker("kimi", time.time() + 30, "3 consecutive failures")
        for _ in range(100):
            if "kimi" in await b.breakers():
                break
            await asyncio.sleep(0.01)
        assert "kimi" in await b.breakers()
        assert seen and seen[0] - t0 < 1.0
        await a.close_breaker("kimi")
        await asyncio.sleep(0.2)
        assert "kimi" not in await b.breakers()
    finally:
        await a.close()
        await b.close()


async def test_degraded_when_redis_stops_then_shared_again(redis_server: RedisServer) -> None:
    stores = [RedisStore(redis_server.url, minute_s=60) for _ in range(3)]
    for s in stores:
        await s.start()
    s = stores[0]
    try:
        await s._beat()
        assert s.live_instances == 3
        redis_server.stop()
        lim = [Limit("pool:deg", rpm=30)]
        results = [await s.reserve(lim) for _ in range(15)]
        assert s.degraded and s.status()["shared"] is False
        assert sum(isinstance(r, Reservation) for r in results) == 10  # 30 / 3 live instances
        redis_server.start()
        for _ in range(40):
            await asyncio.sleep(0.1)
            if not s.degraded:
                break
        assert not s.degraded, "did not return to shared state"
        res = await s.reserve(lim)
        assert isinstance(res, Reservation) and not res.local
    finally:
        for st in stores:
            await st.close()


async def test_grants_made_while_degraded_count_in_redis_once_it_is_back(redis_server: RedisServer) -> None:
    a, b = RedisStore(redis_server.url, minute_s=60), RedisStore(redis_server.url, minute_s=60)
    await a.start()
    await b.start()
    lim = [Limit("pool:settle", rpm=30, rpd=50)]
    try:
        await a._beat()
        redis_server.stop()
        local = [await a.reserve(lim) for _ in range(15)]
        assert a.degraded and sum(isinstance(r, Reservation) for r in local) == 15  # 30 / 2 instances
        await a.release(next(r for r in local if isinstance(r, Reservation)))  # never reached the provider
        redis_server.start()
        for _ in range(40):
            await asyncio.sleep(0.1)
            if not a.degraded and not a.owed.grants:
                break
        assert not a.degraded and not a.owed.grants, "did not settle"
        shared = [await b.reserve(lim) for _ in range(30)]
        assert sum(isinstance(r, Reservation) for r in shared) == 16  # 30 in the minute, 14 already spent
        refused = next(r for r in shared if not isinstance(r, Reservation))
        assert "per minute" in refused.reason or "rpm" in refused.reason, refused
        day = [k for k in await b.redis.keys("xx:q:pool:settle:d:*")]
        assert [int(await b.redis.get(k)) for k in day] == [30]  # 14 settled + 16 shared, counted once
    finally:
        await a.close()
        await b.close()


async def test_degraded_divisor_remembers_an_instance_that_just_left(redis_server: RedisServer) -> None:
    stores = [RedisStore(redis_server.url, minute_s=60) for _ in range(3)]
    for st in stores:
        await st.start()
    s = stores[0]
    try:
        await s._beat()
        assert s.live_instances == 3
        await stores[2].close()  # restarting, say: the registry no longer lists it
        await s._beat()
        assert s.live_instances == 2
        redis_server.stop()
        results = [await s.reserve([Limit("pool:left", rpm=30)]) for _ in range(15)]
        assert s.degraded and s.status()["divisor"] == 3
        assert sum(isinstance(r, Reservation) for r in results) == 10  # 30 / 3, not 30 / 2
    finally:
        for st in stores:
            await st.close()


async def test_degraded_share_counts_what_this_instance_already_spent(redis_server: RedisServer) -> None:
    s = RedisStore(redis_server.url, minute_s=60)
    await s.start()
    try:
        lim = [Limit("pool:spent", rpm=12)]
        granted = [await s.reserve(lim) for _ in range(8)]  # shared, one live instance
        assert all(isinstance(r, Reservation) for r in granted)
        redis_server.stop()
        local = [await s.reserve(lim) for _ in range(10)]
        assert s.degraded
        assert sum(isinstance(r, Reservation) for r in local) == 4  # 12 in the window, not 12 more
    finally:
        await s.close()
