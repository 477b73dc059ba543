"""Team mode: this instance's Health, Quotas and Affinity kept in step with the shared store.

Installed only when `[state] url` is set; the single-user gateway never imports it. It works
through the attempt hooks (gateway.attempt), so the request path is unchanged:

- before_send: reserve the attempt in every one of its quota owners at once (model and pool,
  under the chosen key) in the shared store, and, when this attempt is a half-open probe,
  take the team-wide probe lease; a refusal skips the candidate with nothing spent;
- on_finish: give the reservation back if the provider never saw the request, or correct its
  tokens to the reported usage; publish a breaker this attempt opened or closed; release the
  lease.

Other instances' breakers arrive by pub/sub (and every heartbeat as a backstop) and are
adopted by the local Health, so planning keeps skipping them with no extra round trip.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.errors import SkipCandidate
from gateway.routing.quotas import DAY, day_bounds
from gateway.routing.store import Limit, Refusal, Reservation
from gateway.routing.store_redis import RedisStore
from gateway.tasks import spawn

if TYPE_CHECKING:
    from gateway.attempt import UpstreamAttempt
    from gateway.routing.health import Health
    from gateway.runtime import Runtime

log = logging.getLogger("xx.gateway.team")
SYNC_S = 0.5
AFFINITY_TTL_S = 3600.0


# Health's breaker fields, written from here so Health itself needs no team-mode code. Each
# mirrors what Health does when its own probe or failures open or close the breaker.
def adopt_open(health: Health, model: str, until: float, reason: str) -> None:
    """Another instance opened `model`'s breaker until `until`: this instance skips it too."""
    st = health._get(model)
    if st.breaker == "open" and st.open_until >= until:
        return
    st.breaker, st.probe, st.open_until, st.open_reason = "open", False, until, f"{reason} (another instance)"
    health._observe(model, st, health.clock())


def adopt_close(health: Health, model: str) -> None:
    """Another instance's probe succeeded: the model is back here too."""
    st = health._models.get(model)
    if st is not None and st.breaker == "open":
        st.breaker, st.probe, st.open_until, st.consecutive = "closed", False, 0.0, 0
        health._observe(model, st, health.clock())


def open_until(health: Health, model: str) -> float | None:
    st = health._models.get(model)
    return st.open_until if st is not None and st.breaker == "open" else None


class Team:
    """Owns the RedisStore for one Runtime; its hook methods are installed after the governor's."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        st = rt.config.state
        assert st.url
        self.store = RedisStore(st.url, instance=rt.instance, minute_s=st.minute_s, clock=rt.clock,
                                on_event=self._on_event)
        self._held: dict[int, tuple[Reservation | None, str | None]] = {}  # id(attempt) -> (reservation, lease model)
        self._published: dict[str, float] = {}  # model -> open_until this instance announced
        self._tasks: list[asyncio.Task[Any]] = []
        self._applying_notice = False
        self._affinity_sent: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._days: dict[str, tuple[float, float, float]] = {}  # day_tz -> (day start, day end, offset from UTC 0h)
        from gateway.routing.team_feed import Feed, SharedAffinity

        self.feed = Feed(rt)
        old_aff = rt.routing.affinity
        rt.routing.affinity = SharedAffinity(self.store, max_sessions=old_aff.max_sessions, ttl_s=old_aff.ttl_s,
                                             clock=rt.clock)

    def install(self) -> Team:
        hooks = self.rt.hooks
        hooks.before_send.append(self.before_send)
        hooks.on_finish.append(self.on_finish)
        return self

    # -- life ----------------------------------------------------------------------------
    def open(self) -> None:
        """Start heartbeat, events and the breaker sync (called from the running loop)."""
        self._tasks.append(spawn(self.store.start(), name="xx-team-start"))
        self._tasks.append(spawn(self._sync_loop(), name="xx-team-sync"))
        self._tasks.append(spawn(self.feed.run(), name="xx-team-feed"))

    def close(self) -> None:
        """Stop the loops; the heartbeat entry expires by itself (HEARTBEAT_TTL_S), connections close with the loop."""
        for task in self._tasks:
            task.cancel()
        self.store.stop()

    def status(self) -> dict[str, Any]:
        return self.store.status()

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_S)
            try:
                self.adopt_breakers()
            except Exception:  # never stop syncing over one bad entry
                log.exception("team breaker sync failed")

    def adopt_breakers(self) -> None:
        now, health = self.rt.clock(), self.rt.routing.health
        for model, (until, reason) in list(self.store.breaker_cache.items()):
            if until > now and self._published.get(model) != until:
                adopt_open(health, model, until, reason)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, health = event.get("kind"), self.rt.routing.health
        if kind == "breaker":
            adopt_open(health, str(event["model"]), float(event["until"]), str(event.get("reason", "")))
        elif kind == "breaker_close":
            adopt_close(health, str(event["model"]))
        elif kind == "affinity":
            key = (str(event["session"]), str(event["role"]))
            self._affinity_sent[key] = str(event["model"])  # already known team-wide: no echo
            self.rt.routing.affinity.remember(key[0], key[1], str(event["model"]))
        elif kind == "reload":
            self._reload_from_notice()

    # -- config reload notices -----------------------------------------------------------
    def announce_reload(self) -> None:
        if not self._applying_notice:
            spawn(self.store.publish({"kind": "reload"}), name="xx-team-reload")

    def _reload_from_notice(self) -> None:
        from gateway.config import ConfigError, load

        if self.rt.config.source.startswith("<"):
            return
        try:
            new = load(Path(self.rt.config.source))
        except ConfigError as exc:
            log.error("reload announced by another instance failed here: %s", exc)
            return
        self._applying_notice = True
        try:
            self.rt.apply_config(new)
        finally:
            self._applying_notice = False

    # -- hooks ---------------------------------------------------------------------------
    def limits(self, attempt: UpstreamAttempt) -> list[Limit]:
        """The attempt's quota owners: its model and its pool, each under the key it goes out with.

        Both days start at the pool's `day_tz` midnight (a model's own day is its provider's),
        as the embedded Quotas count them, so Gemini's Pacific day holds in team mode too.
        """
        cfg, model = self.rt.config, attempt.model
        fp = attempt.key or ""
        pool = cfg.pool_of(model) if model.provider in cfg.providers else model.pool
        spec = cfg.pools.get(pool) if pool else None
        off = self._day_offset(spec.day_tz if spec else "UTC")
        out = [Limit(f"model:{model.name}:{fp}", model.rpm, model.rpd, model.tpm, off)]
        if pool:
            out.append(Limit(f"pool:{pool}:{fp}", *((spec.rpm, spec.rpd, spec.tpm) if spec else (None, None, None)),
                             off))
        return out

    def _day_offset(self, tz: str) -> float:
        """Seconds from UTC midnight to `tz`'s midnight for today (DST-correct), cached until that day ends."""
        if tz == "UTC":
            return 0.0
        now = self.rt.clock()
        hit = self._days.get(tz)
        if hit is None or not hit[0] <= now < hit[1]:
            start, end = day_bounds(now, tz)
            hit = self._days[tz] = (start, end, start % DAY)
        return hit[2]

    async def before_send(self, attempt: UpstreamAttempt) -> None:
        name = attempt.model.name
        lease: str | None = None
        if self.rt.routing.health.state(name) == "half_open":
            ttl = self.rt.config.gateway.timeouts.first_byte + 5
            if not await self.store.claim_probe(name, self._holder(attempt), ttl):
                attempt.flow.failed(503, f"{name}: half-open probe in flight on another instance", {"retry-after": "1"})
                raise SkipCandidate("half-open probe in flight on another instance")
            lease = name
        res = await self.store.reserve(self.limits(attempt), int(attempt.tokens or 0))
        if isinstance(res, Refusal):
            if lease is not None:
                spawn(self.store.release_probe(name, self._holder(attempt)), name="xx-team-lease")
            wait = max(1, int((res.until or self.rt.clock() + 1) - self.rt.clock() + 0.999))
            attempt.flow.failed(429, f"{name}: {res.reason}", {"retry-after": str(wait)})  # the answer if all skip
            raise SkipCandidate(res.reason, res.until)
        self._held[id(attempt)] = (res, lease)

    def on_finish(self, attempt: UpstreamAttempt) -> None:
        res, lease = self._held.pop(id(attempt), (None, None))
        if res is not None:
            if not attempt.reached:
                spawn(self.store.release(res), name="xx-team-release")
            elif attempt.outcome == "ok" and attempt.ex.usage.reported and any(lim.tpm for lim in res.owners):
                used = attempt.ex.usage.input + attempt.ex.usage.output
                spawn(self.store.reconcile(res, used), name="xx-team-reconcile")
        if lease is not None:
            spawn(self.store.release_probe(lease, self._holder(attempt)), name="xx-team-lease")
        if attempt.outcome in ("ok", "error"):
            self._publish_breaker(attempt.model.name)
        if attempt.outcome == "ok" and attempt.ex.session:
            self._share_affinity(attempt.ex.session, attempt.ex.role, attempt.model.name)

    def _share_affinity(self, session: str, role: str, model: str) -> None:
        """A conversation moved to `model`: tell the other instances (only on a change, not every turn)."""
        key = (session, role)
        if self._affinity_sent.get(key) == model:
            self._affinity_sent.move_to_end(key)
            return
        self._affinity_sent[key] = model
        if len(self._affinity_sent) > 10_000:
            self._affinity_sent.popitem(last=False)
        spawn(self.store.affinity_set(session, role, model, AFFINITY_TTL_S), name="xx-team-affinity")
        spawn(self.store.publish({"kind": "affinity", "session": session, "role": role, "model": model}),
              name="xx-team-affinity")

    def _publish_breaker(self, model: str) -> None:
        """Tell the team when this instance's Health opened or closed the model's breaker."""
        health = self.rt.routing.health
        state = health.state(model)
        until = open_until(health, model)
        if state == "open" and until is not None and self._published.get(model) != until:
            self._published[model] = until
            reason = str(health.row(model).get("detail") or "breaker open")
            spawn(self.store.open_breaker(model, until, reason), name="xx-team-breaker")
        elif state not in ("open", "half_open") and (model in self._published or model in self.store.breaker_cache):
            self._published.pop(model, None)
            spawn(self.store.close_breaker(model), name="xx-team-breaker")

    def _holder(self, attempt: UpstreamAttempt) -> str:
        return f"{self.rt.instance}:{id(attempt):x}"
