"""One upstream attempt and the request it belongs to: the only writers of their records.

`Flow` is one proxied request. It owns `in_flight`, the replay flight (followers waiting
for this request's answer) and the Exchange's end: the Exchange is recorded exactly once,
with whatever outcome, however the request ends (answer, error, client gone, cancelled).

`UpstreamAttempt` is one try of one candidate, used as an async context. It always ends in
exactly one of success, failure or abandon, and that end is where every side effect of the
attempt happens together: the health claim and its release (a half-open probe included),
quota (recorded only once the request reached the provider: a refused connection or a DNS
failure spends nothing), affinity, the Attempt row, and the hooks' on_finish. A stream hands the attempt
and the flow to its generator (`hand_off`); the generator's `finally` ends both.

Why one owner: the claim, the quota and the replay flight used to be released by hand on
each of a dozen exit paths; a client leaving during the first byte left a probe claimed
forever, a non-streamed disconnect left no ledger row.

Hook points (`Runtime.hooks`, a `Hooks`; append callables in create_app or Runtime):

- `before_send(attempt)` (async): after the health claim, before the request goes out.
  Choose a key (`attempt.key = fp`, `attempt.headers["authorization"] = ...`), wait for a
  pool slot, or raise `SkipCandidate(reason, until)`: the candidate is skipped (recorded in
  Exchange.skipped), its claim released, nothing spent. A hook that already acquired
  something when a later one skips still gets `on_finish` (outcome "skipped").
- `on_response(attempt, opened)` (sync): status and headers arrived (rate-limit headers,
  key health). Runs before any fallback decision.
- `on_finish(attempt)` (sync, may run inside a cancelled task's `finally`, so it must not
  await): exactly once for every attempt whose before_send ran. Read `attempt.outcome`
  ("ok" | "error" | "aborted" | "skipped"), `attempt.reached`, `attempt.status`. Release
  what before_send acquired here.

A hook that raises anything but SkipCandidate is a bug: it is logged and the attempt fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway import upstream
from gateway.caching import replay
from gateway.caching.coalesce import Flight
from gateway.config import Model, Price, Provider
from gateway.errors import SkipCandidate, UpstreamError
from gateway.exchange import Attempt, Exchange
from gateway.upstream import Opened

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger("xx.gateway")
UPSTREAM_SUFFIX = {"anthropic": "/v1/messages", "openai": "/chat/completions", "responses": "/responses"}
CANCELLED = (asyncio.CancelledError, GeneratorExit)


@dataclass
class Hooks:
    """Ordered hook lists; see the module docstring for when each runs and what it may do."""

    before_send: list[Callable[[UpstreamAttempt], Awaitable[None]]] = field(default_factory=list)
    on_response: list[Callable[[UpstreamAttempt, Opened], None]] = field(default_factory=list)
    on_finish: list[Callable[[UpstreamAttempt], None]] = field(default_factory=list)


class Flow:
    """One proxied request's lifetime: `async with Flow(...)`; recorded exactly once."""

    def __init__(self, rt: Runtime, ex: Exchange) -> None:
        self.rt = rt
        self.ex = ex
        self.flight: Flight | None = None
        self.price: Price | None = None
        self.last: tuple[int, str, dict[str, str]] | None = None  # the last failure: status, message, headers
        self.stop = False  # the request itself is at fault: no other candidate would serve it
        self.started = False  # a streamed body began (its generator owns the flow)
        self._handed_off = False
        self._recorded = False
        self._counted = False

    async def __aenter__(self) -> Flow:
        self.rt.in_flight += 1
        self._counted = True
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._handed_off:
            self.close(exc)

    def hand_off(self) -> None:
        """A streaming Response now owns this flow: its generator (or the orphan guard) closes it."""
        self._handed_off = True

    def failed(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.last = (status, message, headers or {})

    async def share(self, entry: replay.Entry | None) -> None:
        """Give followers this answer (None: they call upstream themselves) and store it for replay."""
        if self.flight is None:
            return
        if entry is not None and self.rt.replay is not None:
            await self.rt.replay.aput(self.flight.key, entry)
        self.flight.resolve(entry)
        self.flight = None

    async def end(self, outcome: str, status: int, error: str | None = None, *, replay: bool = False) -> None:
        """Release the request and record its Exchange (awaiting the ledger commit) unless it already was."""
        self._release()
        if self._recorded:
            return
        self._recorded = True
        ex = self.ex
        ex.outcome, ex.status, ex.error = outcome, status, error
        await self.rt.record(ex, self.price, replay=replay)

    def close(self, exc: BaseException | None = None) -> None:
        """The request is over: release it; record it if nothing did (sync: cancelled paths too)."""
        self._release()
        if self._recorded:
            return
        self._recorded = True
        ex = self.ex
        if exc is None or isinstance(exc, CANCELLED):
            ex.outcome, ex.status = "aborted", 499
            ex.error = ex.error or "client disconnected"
        else:
            ex.outcome, ex.status = "error", 500
            ex.error = f"gateway error: {type(exc).__name__}"
        self.rt.record_nowait(ex, self.price)

    def _release(self) -> None:
        """Followers still waiting call upstream themselves; the request leaves in_flight."""
        if self.flight is not None:
            self.flight.release()
            self.flight = None
        if self._counted:
            self._counted = False
            self.rt.in_flight -= 1


class UpstreamAttempt:
    """One try of one candidate; see the module docstring. Ends exactly once."""

    def __init__(self, flow: Flow, model: Model, provider: Provider, body: bytes, headers: dict[str, str],
                 tokens: int) -> None:
        self.flow, self.rt, self.ex = flow, flow.rt, flow.ex
        self.model, self.provider = model, provider
        self.body, self.headers, self.tokens = body, headers, tokens
        self.url = provider.base_url + UPSTREAM_SUFFIX[provider.dialect]
        self.row = Attempt(model=model.name, provider=provider.name)
        self.opened: Opened | None = None
        self.outcome: str | None = None
        self.t0 = self.rt.clock()
        self._probe = False  # this attempt holds the model's half-open probe
        self._hooked = False  # before_send ran: on_finish is owed
        self.key: str | None = None  # fingerprint of the API key a before_send hook chose (None: the default)
        self._handed_off = False

    @property
    def reached(self) -> bool:
        return self.row.reached

    @property
    def status(self) -> int | None:
        return self.row.status

    async def __aenter__(self) -> UpstreamAttempt:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._handed_off:
            self.close(exc)

    def hand_off(self) -> None:
        """A stream generator owns the attempt now; it calls `close` (or an outcome) in its finally."""
        self._handed_off = True

    # -- the way out -----------------------------------------------------------------------

    async def claim(self) -> bool:
        """Claim the model's breaker slot and run before_send; False (recorded as a skip) when refused."""
        health = self.rt.routing.health
        self._probe = health.state(self.model.name) == "half_open"
        if not health.begin(self.model.name):
            self.ex.skipped.append({"model": self.model.name, "reason": "half-open probe in flight", "until": None})
            self.outcome = "skipped"  # nothing was claimed, so nothing is released
            return False
        try:
            for hook in self.rt.hooks.before_send:
                self._hooked = True
                await hook(self)
        except SkipCandidate as skip:
            self.ex.skipped.append({"model": self.model.name, "reason": skip.reason, "until": skip.until})
            self._release_probe()
            self._end("skipped", counted=False)
            return False
        except BaseException:
            self.ex.attempts.append(self.row)
            raise
        self.ex.attempts.append(self.row)
        return True

    async def send(self) -> Opened:
        """Send; UpstreamError when no usable response head arrived. Quota counts once it reached."""
        self.t0 = self.rt.clock()
        cfg = self.rt.config.gateway
        try:
            opened = await upstream.open_stream(self.rt.client, self.url, self.body, self.headers, cfg.timeouts)
        except UpstreamError as exc:
            self._reached(exc.kind.reached)
            raise
        except BaseException:  # cancelled mid-send: the provider may have counted it, so do we
            self._reached(True)
            raise
        self._reached(True)
        self.opened = opened
        self.row.status = opened.status
        for hook in self.rt.hooks.on_response:
            hook(self, opened)
        return opened

    def _reached(self, reached: bool) -> None:
        """Quota is spent only by a request the provider saw (not DNS, refused or connect timeouts)."""
        self.row.reached = reached
        if reached:
            self.rt.routing.quotas.record(self.model, self.tokens, at=self.t0, key=self.key)

    # -- the three ends ---------------------------------------------------------------------

    def succeed(self, ttfb_ms: float | None = None) -> None:
        if self.outcome is not None:
            return
        self.answering()
        ms = self._elapsed()
        self.rt.routing.health.success(self.model.name, ms, ttfb_ms if ttfb_ms is not None else ms)
        self.rt.routing.affinity.remember(self.ex.session, self.ex.role, self.model.name)
        self._end("ok")

    def fail(self, error: str, status: int | None = None, retry_after: float | None = None) -> None:
        if self.outcome is not None:
            return
        self.row.error = self.rt.scrub(error)
        self._elapsed()
        self.rt.routing.health.failure(self.model.name, status, self.row.error, retry_after)
        self._end("error")

    def abandon(self, reason: str) -> None:
        """Neither answer nor failure (client gone, cancelled): release the claim, count nothing."""
        if self.outcome is not None:
            return
        self.row.error = reason
        self._elapsed()
        self._release_probe()
        self._end("aborted")

    def close(self, exc: BaseException | None = None) -> None:
        """End the attempt if nothing did: cancellation abandons, an exception fails (sync)."""
        if self.opened is not None and self.outcome != "ok":
            self.opened.close_now()
        if self.outcome is not None:
            return
        if exc is None or isinstance(exc, CANCELLED):
            self.abandon("client disconnected" if exc is not None else "ended without an outcome")
        else:
            log.error("attempt on %s ended by %s", self.model.name, type(exc).__name__)
            self.fail(f"gateway error: {type(exc).__name__}")

    def answering(self) -> None:
        """This attempt's model answers the request (its bytes reach, or reached, the client)."""
        self.ex.model, self.ex.provider = self.model.name, self.provider.name
        self.flow.price = self.model.price

    # -- internals --------------------------------------------------------------------------

    def _elapsed(self) -> float:
        self.row.ms = (self.rt.clock() - self.t0) * 1000
        return self.row.ms

    def _release_probe(self) -> None:
        if self._probe:
            self._probe = False
            self.rt.routing.health.abandon(self.model.name)

    def _end(self, outcome: str, *, counted: bool = True) -> None:
        self.outcome = outcome
        if counted:
            self.row.outcome = outcome
        if not self._hooked:
            return
        for hook in self.rt.hooks.on_finish:
            try:
                hook(self)
            except Exception:  # one bad hook must not leak another's slot
                log.exception("on_finish hook failed for %s", self.model.name)
