"""The Store in Redis: one set of quotas, breakers, probe leases and affinity for every instance.

Why Lua for quotas: a request spends a slot in several owners at once (model, pool, key);
checking them one by one from several instances would let two requests both see the last slot.
One script checks every owner and then counts in all of them, atomically, on Redis's own clock
(`TIME`), so instance clocks never matter. Why a lease for the half-open probe: `SET NX PX`
gives exactly one holder across instances, and the expiry frees it if the holder dies.

Redis away (stopped, restarted, unreachable): every verb falls back at once to an in-process
MemoryStore with each limit divided by the number of instances last seen alive in the heartbeat
registry, so the team as a whole stays within its limits; `status()` says so for /ready, and a
background ping returns to shared state on its own when Redis answers again. A verb waits up
to 1 s for an answer: with less, a busy machine's slow answer flipped an instance to its local
share while the others still granted from Redis, and the team overshot the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from gateway.routing.store import Limit, MemoryStore, Refusal, Reservation
from gateway.routing.store_lua import ADJUST, RELEASE_LEASE, RESERVE
from gateway.routing.store_settle import Owed, settle
from gateway.tasks import spawn

log = logging.getLogger("xx.gateway.state")

CHANNEL = "events"
HEARTBEAT_S = 1.0
HEARTBEAT_TTL_S = 3.5
TEAM_MEMORY_S = 600.0  # degraded limits divide by the largest team seen this long ago: one that just left may be back
STARTUP_BEATS = 12  # the first beats come every 0.25 s, so instances started together see each other within a second
REFUSAL_CACHE_S = 0.5  # a refused owner set is not asked again for this long (the hot path under overload)

def _unavailable_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError, asyncio.TimeoutError)


class RedisStore:
    """Store verbs on Redis, with a MemoryStore standing in (limits divided) while Redis is away."""

    def __init__(self, url: str, *, instance: str | None = None, prefix: str = "xx:", minute_s: float = 60.0,
                 clock: Callable[[], float] = time.time, timeout_s: float = 1.0,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.instance = instance or uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.minute_s = minute_s
        self.clock = clock
        self.on_event = on_event
        self.redis = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                             retry_on_timeout=False, health_check_interval=0)
        self._reserve = self.redis.register_script(RESERVE)
        self._adjust = self.redis.register_script(ADJUST)
        self._release_lease = self.redis.register_script(RELEASE_LEASE)
        self.local = MemoryStore(clock, minute_s)
        self.owed = Owed()  # grants made while degraded, written into Redis when it is back
        self.degraded_since: float | None = None
        self.degraded_reason = ""
        self.live_instances = 1
        self._team_seen: list[tuple[float, int]] = []  # (when, live count) over TEAM_MEMORY_S
        self._beats = 0
        self.breaker_cache: dict[str, tuple[float, str]] = {}
        self._refused: dict[tuple[str, ...], tuple[Refusal, float]] = {}
        self._errors = _unavailable_errors()
        self._tasks: list[asyncio.Task[Any]] = []

    # -- life --------------------------------------------------------------------------
    async def start(self) -> None:
        """Announce this instance and start the heartbeat and event listener (Redis may be down: degraded)."""
        await self._beat()
        self._tasks.append(spawn(self._heartbeat_loop(), name="xx-state-heartbeat"))
        self._tasks.append(spawn(self._listen_loop(), name="xx-state-events"))

    def stop(self) -> None:
        """Cancel the heartbeat and listener (sync: for shutdown paths that cannot await)."""
        for task in self._tasks:
            task.cancel()

    async def close(self) -> None:
        self.stop()
        with contextlib.suppress(*self._errors):
            await self.redis.zrem(self._k("instances"), self.instance)
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def degraded(self) -> bool:
        return self.degraded_since is not None

    @property
    def divisor(self) -> int:
        """Redis away: limits divide by the largest team of the last ten minutes (a restarting one may be back)."""
        return max([self.live_instances, *(n for _, n in self._team_seen)])

    def status(self) -> dict[str, Any]:
        """For /ready and /health: shared or degraded, since when, and the divisor in force."""
        return {"backend": "redis", "shared": not self.degraded, "degraded_since": self.degraded_since,
                "reason": self.degraded_reason or None, "live_instances": self.live_instances,
                "divisor": self.divisor,
                "instance": self.instance}

    def _lost(self, exc: BaseException) -> None:
        if self.degraded_since is None:
            self.degraded_since = self.clock()
            self.degraded_reason = f"Redis unreachable ({type(exc).__name__}); limits divided by {self.divisor}"
            log.warning("shared state: %s; serving on local state", self.degraded_reason)

    def _back(self) -> None:
        if self.degraded_since is not None:
            log.warning("shared state: Redis is back after %.1fs; shared limits resume",
                        self.clock() - self.degraded_since)
            self.degraded_since, self.degraded_reason = None, ""

    async def _beat(self) -> None:
        now = self.clock()
        key = self._k("instances")
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {self.instance: now})
                pipe.zremrangebyscore(key, "-inf", now - HEARTBEAT_TTL_S)
                pipe.zcard(key)
                pipe.hgetall(self._k("breakers"))
                res = await pipe.execute()
        except self._errors as exc:
            self._lost(exc)
            return
        self.live_instances = max(1, int(res[2]))
        self._team_seen = [(t, n) for t, n in self._team_seen if t > now - TEAM_MEMORY_S] + [(now, self.live_instances)]
        self._load_breakers(res[3])
        self._back()
        if self.owed.grants:
            await self._settle()

    async def _settle(self) -> None:
        grants = self.owed.take()
        try:
            await settle(self.redis, grants, self._keys, self.minute_s, self.clock())
        except self._errors as exc:
            self.owed.put_back(grants)
            self._lost(exc)

    def _local_reserve(self, limits: Sequence[Limit], tokens: int) -> Reservation | Refusal:
        res = self.local.reserve_now([lim.divided(self.divisor) for lim in limits], tokens, local=True)
        if isinstance(res, Reservation):
            self.owed.add(res)
        return res

    async def _heartbeat_loop(self) -> None:
        while True:
            self._beats += 1
            await asyncio.sleep(0.25 if self.degraded or self._beats <= STARTUP_BEATS else HEARTBEAT_S)
            await self._beat()

    async def _listen_loop(self) -> None:
        """Apply other instances' breaker and reload notices within milliseconds (the heartbeat re-syncs too)."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self._k(CHANNEL))
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None:
                        self._dispatch(msg.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection went away: resubscribe (the verbs and the heartbeat judge Redis's health)
                await asyncio.sleep(0.25)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, data: Any) -> None:
        try:
            event = json.loads(data)
        except (TypeError, ValueError):
            return
        if not isinstance(event, dict) or event.get("from") == self.instance:
            return
        if event.get("kind") == "breaker":
            self.breaker_cache[str(event["model"])] = (float(event["until"]), str(event.get("reason", "")))
        elif event.get("kind") == "breaker_close":
            self.breaker_cache.pop(str(event["model"]), None)
        if self.on_event is not None:
            self.on_event(event)

    def _load_breakers(self, raw: dict[Any, Any]) -> None:
        now, fresh = self.clock(), {}
        for model, value in raw.items():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                v = json.loads(value)
                if float(v["until"]) > now - 3600:
                    fresh[model.decode() if isinstance(model, bytes) else model] = (float(v["until"]), str(v["reason"]))
        self.breaker_cache = fresh

    async def publish(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(*self._errors):
            await self.redis.publish(self._k(CHANNEL), json.dumps({**event, "from": self.instance}))

    # -- quotas ------------------------------------------------------------------------
    def _keys(self, lim: Limit) -> list[str]:
        return [self._k("q", lim.owner, "m"), self._k("q", lim.owner, "d"), self._k("q", lim.owner, "cool")]

    async def reserve(self, limits: Sequence[Limit], tokens: int = 0) -> Reservation | Refusal:
        cache_key = tuple(lim.owner for lim in limits)
        cached = self._refused.get(cache_key)
        if cached is not None and cached[1] > self.clock():
            return cached[0]
        if self.degraded:
            return self._local_reserve(limits, tokens)
        rid = uuid.uuid4().hex[:16]
        keys = [k for lim in limits for k in self._keys(lim)]
        args: list[Any] = [rid, int(tokens), int(self.minute_s * 1000), len(limits)]
        for lim in limits:
            args += [-1 if lim.rpm is None else lim.rpm, -1 if lim.rpd is None else lim.rpd,
                     -1 if lim.tpm is None else lim.tpm, int(lim.day_offset_s * 1000)]
        try:
            ok, idx, kind, until_ms, now_ms = await self._reserve(keys=keys, args=args)
        except self._errors as exc:
            self._lost(exc)
            return self._local_reserve(limits, tokens)
        if ok:
            # Mirror this instance's own grants: if Redis goes away, its degraded share starts from what it spent.
            self.local.add(limits, int(tokens), rid, self.clock())
            return Reservation(rid, tuple(limits), int(tokens), float(now_ms) / 1000)
        refusal = _refusal(limits[int(idx) - 1], _text(kind), float(until_ms) / 1000, self.minute_s)
        self._refused[cache_key] = (refusal, min(refusal.until or 0.0, self.clock() + REFUSAL_CACHE_S))
        return refusal

    async def _adjust_call(self, res: Reservation, new_member: str) -> None:
        keys = [k for lim in res.owners for k in self._keys(lim)[:2]]
        args = [f"{res.id}:{res.tokens}", new_member, len(res.owners),
                *[int(lim.day_offset_s * 1000) for lim in res.owners]]
        with contextlib.suppress(*self._errors):
            await self._adjust(keys=keys, args=args)

    async def release(self, res: Reservation) -> None:
        """The attempt never reached the provider: give the slot back everywhere."""
        self._refused.clear()
        await self.local.release(res)
        self.owed.drop(res.id)
        if not res.local:
            await self._adjust_call(res, "")

    async def reconcile(self, res: Reservation, tokens: int) -> None:
        """Replace the reserved token estimate with what the provider reported."""
        if res.local:
            await self.local.reconcile(res, tokens)
            self.owed.retoken(res.id, tokens)
        elif tokens != res.tokens:
            await self._adjust_call(res, f"{res.id}:{int(tokens)}")

    async def cool(self, owner: str, seconds: float, reason: str) -> None:
        await self.local.cool(owner, seconds, reason)
        if seconds > 0:
            with contextlib.suppress(*self._errors):
                await self.redis.set(self._k("q", owner, "cool"), reason, px=max(1, int(seconds * 1000)))

    async def usage(self, owner: str) -> dict[str, int]:
        if self.degraded:
            return await self.local.usage(owner)
        try:
            members = await self.redis.zrangebyscore(self._k("q", owner, "m"), (self.clock() - self.minute_s) * 1000, "+inf")
        except self._errors:
            return await self.local.usage(owner)
        toks = sum(int(_text(m).rsplit(":", 1)[1]) for m in members)
        return {"rpm": len(members), "tpm": toks, "rpd": -1}

    # -- breakers, probes, affinity ------------------------------------------------------
    async def open_breaker(self, model: str, until: float, reason: str) -> None:
        self.breaker_cache[model] = (until, reason)
        value = json.dumps({"until": until, "reason": reason})
        with contextlib.suppress(*self._errors):
            await self.redis.hset(self._k("breakers"), model, value)
        await self.publish({"kind": "breaker", "model": model, "until": until, "reason": reason})

    async def close_breaker(self, model: str) -> None:
        self.breaker_cache.pop(model, None)
        with contextlib.suppress(*self._errors):
            await self.redis.hdel(self._k("breakers"), model)
        await self.publish({"kind": "breaker_close", "model": model})

    async def breakers(self) -> dict[str, tuple[float, str]]:
        now = self.clock()
        return {m: v for m, v in self.breaker_cache.items() if v[0] > now}

    async def claim_probe(self, model: str, holder: str, ttl_s: float) -> bool:
        """Exactly one holder across instances; while Redis is away, one per instance."""
        if self.degraded:
            return await self.local.claim_probe(model, holder, ttl_s)
        try:
            got = await self.redis.set(self._k("probe", model), holder, nx=True, px=max(1, int(ttl_s * 1000)))
        except self._errors as exc:
            self._lost(exc)
            return await self.local.claim_probe(model, holder, ttl_s)
        return bool(got)

    async def release_probe(self, model: str, holder: str) -> None:
        await self.local.release_probe(model, holder)
        with contextlib.suppress(*self._errors):
            await self._release_lease(keys=[self._k("probe", model)], args=[holder])

    async def affinity_get(self, session: str, role: str) -> str | None:
        if self.degraded:
            return await self.local.affinity_get(session, role)
        try:
            got = await self.redis.get(self._k("aff", session, role))
        except self._errors:
            return await self.local.affinity_get(session, role)
        return None if got is None else _text(got)

    async def affinity_set(self, session: str, role: str, model: str, ttl_s: float) -> None:
        await self.local.affinity_set(session, role, model, ttl_s)
        with contextlib.suppress(*self._errors):
            await self.redis.set(self._k("aff", session, role), model, px=max(1, int(ttl_s * 1000)))


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _refusal(lim: Limit, kind: str, until: float, minute_s: float) -> Refusal:
    what = {"rpm": f"{lim.rpm} requests per minute used", "rpd": f"{lim.rpd} requests per day used",
            "tpm": f"{lim.tpm} tokens per minute used", "cool": "cooling down"}.get(kind, kind)
    return Refusal(f"{lim.owner}: {what} (team)", until)
