"""Team mode's view of the whole team: other instances' ledger rows and conversations.

- `Feed` polls the PostgreSQL ledger for rows other instances committed and adds them to this
  instance's stats and event stream, so `xx dash` shows the whole team's traffic whichever
  instance it connects to (`/xx/requests` reads the shared table directly).
- `SharedAffinity` answers from this instance's memory, which other instances keep current by
  pub/sub (gateway.routing.team); on a miss (an instance that started later) it asks Redis
  in the background for the next turn. Planning stays synchronous, never waiting on the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from gateway.exchange import Exchange
from gateway.routing.affinity import Affinity
from gateway.tasks import spawn

if TYPE_CHECKING:
    from gateway.routing.store_redis import RedisStore
    from gateway.runtime import Runtime

log = logging.getLogger("xx.gateway.team")
FEED_S = 1.0
LATE_S = 30.0  # rows commit after they start: look back this far, skip ids already seen
SEEN_MAX = 20_000


class Feed:
    """Other instances' exchanges into this instance's aggregate, stats and /xx/events."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.floor = self.since = rt.clock()  # rows before this were restored from the ledger at start
        self.seen: OrderedDict[str, None] = OrderedDict()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(FEED_S)
            try:
                await self.poll()
            except Exception as exc:  # the ledger may be restarting: try again next tick
                log.debug("team feed: %s", exc)

    async def poll(self) -> int:
        ledger = self.rt.ledger
        if ledger is None or not hasattr(ledger, "others_since"):
            return 0
        rows = await ledger.others_since(max(self.floor, self.since - LATE_S))
        added = 0
        for row in rows:
            if row["id"] in self.seen:
                continue
            self.seen[row["id"]] = None
            if len(self.seen) > SEEN_MAX:
                self.seen.popitem(last=False)
            ex = Exchange.from_dict(row)
            self.rt.stats.add(ex)
            self.rt.aggregate.add(ex)
            if self.rt.broker.subscribers:
                self.rt.broker.publish("exchange", {**ex.to_dict(), "instance": row.get("instance")})
            self.since = max(self.since, ex.started)
            added += 1
        return added


class SharedAffinity(Affinity):
    """Affinity that fills its misses from the team's store (Redis), in the background."""

    def __init__(self, store: RedisStore, **kw: Any) -> None:
        super().__init__(**kw)
        self.store = store
        self._asking: set[tuple[str, str]] = set()

    def lookup(self, session: str | None, role: str) -> str | None:
        hit = super().lookup(session, role)
        if hit is None and session is not None and (session, role) not in self._asking and len(self._asking) < 256:
            try:
                spawn(self._fetch(session, role), name="xx-team-affinity")
                self._asking.add((session, role))
            except RuntimeError:  # no running loop (a sync caller in tests)
                pass
        return hit

    async def _fetch(self, session: str, role: str) -> None:
        try:
            model = await self.store.affinity_get(session, role)
            if model is not None and super().lookup(session, role) is None:
                super().remember(session, role, model)
        finally:
            self._asking.discard((session, role))
