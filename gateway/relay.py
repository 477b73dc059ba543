"""Streaming answers: bytes go to the client as they arrive, translated when the dialects differ.

The first upstream chunk is examined before the client sees anything, so a provider that
answers 200 and then an error event (OpenRouter does this for rate limits) still falls
back to the next model. After that, a failure ends the stream with an error event in the
client's dialect. A client disconnect arrives as CancelledError in the generator: the
upstream request is closed at once and the Exchange is recorded as aborted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from quart import Response

from gateway.caching import replay
from gateway.config import Model, Provider
from gateway.config.dialects import stream_error
from gateway.exchange import Attempt, Exchange
from gateway.protocols.dispatch import PassThrough, StreamTranslator, stream_translator
from gateway.runtime import Runtime
from gateway.upstream import Opened, UpstreamError

Translator = StreamTranslator | PassThrough
REPLAY_MAX_BYTES = 8 * 1024 * 1024


class Relay:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def start(self, inc, ex: Exchange, attempt: Attempt, opened: Opened, model: Model, provider: Provider,
                    t0: float, flight: replay.Flight | None) -> Response | None:
        """A streaming Response, or None when the upstream failed before anything could be sent."""
        tr = stream_translator(provider.protocol, inc.endpoint, requested_model=inc.model, upstream_model=model.id)
        head = tr.feed(opened.first)
        if tr.failed:
            attempt.outcome, attempt.error = "error", f"error at stream start: {tr.failed}"
            attempt.ms = (self.rt.clock() - t0) * 1000
            await opened.close()
            return None
        content_type = "text/event-stream"
        started: list[bool] = []  # the pump appends once it runs

        def orphaned(_: asyncio.Future[object]) -> None:
            """The client left before the body was iterated: the pump never ran, so account here."""
            if started:
                return
            attempt.outcome, ex.outcome, ex.status = "aborted", "aborted", 499
            ex.error = "client disconnected before the stream began"
            opened.close_now()
            self.rt.in_flight -= 1
            if flight is not None:
                flight.resolve(None)
            self.rt.record_nowait(ex, model.price)

        task = asyncio.current_task()
        if task is not None:
            task.add_done_callback(orphaned)
        resp = Response(
            self.pump(ex, attempt, opened, model, tr, head, t0, flight, inc.endpoint, started),
            status=opened.status,
            content_type=content_type,
            headers={"cache-control": "no-cache", "x-xx-model": model.name, "x-xx-exchange": ex.id},
        )
        resp.timeout = None  # a stream may outlive Quart's response timeout; idle gaps are policed upstream-side
        return resp

    async def pump(self, ex: Exchange, attempt: Attempt, opened: Opened, model: Model, tr: Translator, head: bytes,
                   t0: float, flight: replay.Flight | None, dialect: str, started: list[bool]) -> AsyncIterator[bytes]:
        started.append(True)
        rt = self.rt
        kept: list[bytes] | None = [] if flight is not None else None
        size = 0
        aborted = False
        try:
            ex.first_byte = rt.clock()
            if head:
                if kept is not None:
                    kept.append(head)
                yield head
            try:
                async for chunk in opened.rest(rt.config.gateway.timeouts.idle):
                    out = tr.feed(chunk)
                    if out:
                        if kept is not None:
                            size += len(out)
                            kept = kept if size <= REPLAY_MAX_BYTES else None  # too big to keep for replay
                            if kept is not None:
                                kept.append(out)
                        yield out
                    if tr.done:
                        break
                tail = tr.close()
            except UpstreamError as exc:
                # the translator closes with an error event that keeps the stream's own ids
                tail = b"" if tr.done else tr.close(reason=rt.scrub(f"{model.name}: {exc}"))
                tr.failed = tr.failed or str(exc)
                if not tail and not tr.done:
                    tail = stream_error(dialect, rt.scrub(f"{model.name}: {exc}"))
            if tail:
                if kept is not None:
                    kept.append(tail)
                yield tail
        except (asyncio.CancelledError, GeneratorExit):
            aborted = True
            attempt.outcome, ex.outcome, ex.status, ex.error = "aborted", "aborted", 499, "client disconnected"
            raise
        finally:
            attempt.ms = (rt.clock() - t0) * 1000
            ex.usage = tr.usage
            if aborted:
                await opened.close()
            elif tr.failed:
                attempt.outcome, ex.outcome, ex.status = "error", "error", 502
                attempt.error = ex.error = rt.scrub(f"{model.name}: {tr.failed}")
                rt.routing.health.failure(model.name, None, attempt.error)
            else:
                attempt.outcome, ex.outcome, ex.status = "ok", "ok", opened.status
                ttfb = ((ex.first_byte or rt.clock()) - t0) * 1000
                rt.routing.health.success(model.name, attempt.ms, ttfb)
                rt.routing.affinity.remember(ex.session, ex.role, model.name)
            rt.in_flight -= 1
            entry = None
            if flight is not None:
                if ex.outcome == "ok" and kept and replay.complete(dialect, True, kept):
                    entry = replay.Entry(opened.status, {"content-type": "text/event-stream"}, kept, True, dialect,
                                         ex.tier, model.name, ex.provider, ex.usage, rt.clock())
                    if rt.replay is not None:
                        await rt.replay.aput(flight.key, entry)
                flight.resolve(entry)
            if aborted:
                rt.record_nowait(ex, model.price)
            else:
                await rt.record(ex, model.price)
