"""Coalescing: identical requests in flight share one upstream call.

For reruns and evals that fire the same request several times at once: the first becomes
the leader of a `Flight` and calls upstream; the others wait for its answer (a replay
`Entry`) instead of spending quota on their own. The leader's request scope (`Flow` in
gateway/attempt.py) always ends its flight: with the answer when it is complete and
storable, or with None (released), and then each follower calls upstream itself.
"""

from __future__ import annotations

import asyncio

from gateway.caching.replay import Entry


class Flight:
    """One request's place in a coalesced group: the leader calls upstream, followers wait."""

    def __init__(self, owner: Coalescer, key: str, future: asyncio.Future[Entry | None], leader: bool) -> None:
        self._owner = owner
        self.key = key
        self._future = future
        self.leader = leader

    async def wait(self) -> Entry | None:
        """The leader's entry; None when it had nothing to share (then do the request yourself).

        Shielded: a follower that is cancelled does not cancel the shared result.
        """
        return await asyncio.shield(self._future)

    def resolve(self, entry: Entry | None) -> None:
        if self.leader and not self._future.done():
            self._future.set_result(entry)
        self._owner._done(self.key, self._future)

    def release(self) -> None:
        self.resolve(None)


class Coalescer:
    """The flights in progress, by replay key."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Entry | None]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    def join(self, key: str) -> Flight:
        fut = self._inflight.get(key)
        if fut is not None and not fut.done():
            return Flight(self, key, fut, leader=False)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        return Flight(self, key, fut, leader=True)

    def _done(self, key: str, fut: asyncio.Future[Entry | None]) -> None:
        if self._inflight.get(key) is fut and fut.done():
            del self._inflight[key]
