"""Streaming answers: bytes go to the client as they arrive, translated when the dialects differ.

Nothing reaches the client until the stream has produced a first whole, valid event: an
upstream that answers 200 and then an error event (OpenRouter does this for rate limits),
an empty body, or garbage instead of SSE still falls back to the next model. After that a
failure ends the stream with an error event in the client's dialect, and the row says
`error`. Pass-through streams are checked as they pass (gateway/protocols/passthrough.py)
while their original bytes go out. Every byte that leaves is scrubbed of the configured
secrets (an upstream error that echoes the key must not hand it to the client).

The attempt and its flow belong to the stream generator once the Response is returned: its
`finally` ends both. A client that leaves before the body was iterated never runs the
generator, so the request task's done-callback ends them instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from quart import Response

from gateway.attempt import Flow, UpstreamAttempt
from gateway.caching import replay
from gateway.config.dialects import stream_error
from gateway.errors import StreamTooLarge, UpstreamError
from gateway.passthrough import CheckedPassThrough
from gateway.protocols.dispatch import PassThrough, StreamTranslator, stream_translator
from gateway.protocols.sse import MAX_EVENT
from gateway.protocols.stream_start import FirstEvent, describe
from gateway.runtime import Runtime

Translator = StreamTranslator | PassThrough
REPLAY_MAX_BYTES = 8 * 1024 * 1024


def translator_for(inc, att: UpstreamAttempt) -> Translator:
    if att.provider.dialect == inc.dialect:
        return CheckedPassThrough(inc.dialect)
    return stream_translator(att.provider.dialect, inc.dialect, requested_model=inc.model,
                             upstream_model=att.model.id)


class Relay:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def start(self, inc, att: UpstreamAttempt) -> Response | None:
        """A streaming Response, or None (the attempt failed) when nothing could be sent."""
        tr = self.rt.capture.tap(self.rt.guards.stream(translator_for(inc, att), inc, att.ex), att.ex.id)
        head = await self.head(att, tr)
        if head is None:
            return None
        att.answering()
        att.hand_off()
        att.flow.hand_off()
        self.guard_unstarted(att)
        resp = Response(
            self.pump(att, tr, head, inc.dialect),
            status=att.opened.status if att.opened is not None else 200,
            content_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-xx-model": att.model.name, "x-xx-exchange": att.ex.id},
        )
        resp.timeout = None  # a stream may outlive Quart's response timeout; idle gaps are policed upstream-side
        return resp

    async def head(self, att: UpstreamAttempt, tr: Translator) -> bytes | None:
        """Read until the first real event; None (the attempt failed, the next may try) on anything else.

        Keep-alive comments (OpenRouter's `: OPENROUTER PROCESSING`) are not content: they are held
        back, and the first-byte timeout keeps running until real content comes. An in-stream error
        as the first event (OpenRouter's 429 inside a 200), garbage, an empty body or a stream cut
        before any event all leave the client untouched, so the next candidate may answer.
        """
        opened = att.opened
        assert opened is not None
        timeouts = self.rt.config.gateway.timeouts
        first = FirstEvent(att.provider.dialect)
        held = bytearray()
        chunk = opened.first
        try:
            async with asyncio.timeout(timeouts.first_byte):
                while True:
                    verdict = first.feed(chunk) if chunk else first.close()
                    held += tr.feed(chunk) if chunk else tr.close()
                    if tr.failed or tr.done or not chunk or (verdict is not None and (verdict.kind == "error" or held)):
                        break  # (content that a translator has not turned into bytes yet: read on)
                    if len(held) > MAX_EVENT:
                        raise StreamTooLarge(f"more than {MAX_EVENT} bytes before the first event")
                    chunk = await opened.next_chunk(timeouts.idle)
        except TimeoutError:
            verdict, tr.failed = None, f"no content within {timeouts.first_byte:g}s ({first.comments} keep-alive comment(s))"
        except (UpstreamError, StreamTooLarge) as exc:
            verdict, tr.failed = None, tr.failed or str(exc)
        if verdict is not None and verdict.kind == "error":
            return self.refuse(att, describe(verdict, first.comments), verdict.status)
        if tr.failed or not held:
            return self.refuse(att, tr.failed or describe(verdict, first.comments), opened.status)
        return bytes(held)

    def refuse(self, att: UpstreamAttempt, reason: str, status: int) -> None:
        att.fail(f"error at stream start: {reason}", status)
        att.flow.failed(502 if status < 400 else status, f"{att.model.name}: {att.row.error}")
        return None

    def guard_unstarted(self, att: UpstreamAttempt) -> None:
        """The client may leave before the body is iterated: the generator never runs, so end here."""
        task = asyncio.current_task()
        if task is None:
            return
        flow = att.flow

        def orphaned(_: asyncio.Future[object]) -> None:
            if flow.started:
                return
            att.ex.error = "client disconnected before the stream began"
            att.close(asyncio.CancelledError())
            flow.close(asyncio.CancelledError())

        task.add_done_callback(orphaned)

    async def pump(self, att: UpstreamAttempt, tr: Translator, head: bytes, dialect: str) -> AsyncIterator[bytes]:
        """Chunks as they come; the stream's last piece (its terminal event) only after the row commits.

        Clients stop reading at the terminal event (`[DONE]`, `message_stop`), not at the end of
        the body, so holding just that piece back is what makes "a client saw it finish" imply
        "its ledger row is committed".
        """
        rt, flow, ex = self.rt, att.flow, att.ex
        flow.started = True
        keep = Keep() if flow.flight is not None else None
        ended: BaseException | None = None
        last = bytearray()
        ex.first_byte = rt.clock()
        ttfb = (ex.first_byte - att.t0) * 1000
        try:
            async for out in self.rest(att, tr, head, dialect, last):
                out = rt.scrub_bytes(out)
                if keep is not None:
                    keep.add(out)
                yield out
            if last:
                last[:] = rt.scrub_bytes(bytes(last))
                if keep is not None:
                    keep.add(bytes(last))
        except BaseException as exc:
            ended = exc
            raise
        finally:
            ex.usage = tr.usage
            if ended is None:
                await self.finish(att, flow, tr, keep, dialect, ttfb)
            else:  # cancelled or closed: the client left (abandon); anything else is our bug (fail)
                att.close(ended)
                flow.close(ended)
        if last:
            yield bytes(last)

    async def rest(self, att: UpstreamAttempt, tr: Translator, head: bytes, dialect: str,
                   last: bytearray) -> AsyncIterator[bytes]:
        """The head, then each translated chunk; the piece that ends the stream goes to `last`."""
        opened = att.opened
        assert opened is not None
        if tr.done:
            last += head
        else:
            yield head
        idle = self.rt.config.gateway.timeouts.idle
        try:
            while not tr.done:
                chunk = await opened.next_chunk(idle)
                if not chunk:
                    break
                out = tr.feed(chunk)
                if tr.done:
                    last += out
                elif out:
                    yield out
            tail = tr.close()
        except UpstreamError as exc:
            message = self.rt.scrub(f"{att.model.name}: {exc}")
            tail = b"" if tr.done else tr.close(reason=message)  # keeps the stream's own ids
            tr.failed = tr.failed or str(exc)
            if not tail and not tr.done:
                tail = stream_error(dialect, message)
        last += tail

    async def finish(self, att: UpstreamAttempt, flow: Flow, tr: Translator, keep: Keep | None, dialect: str,
                     ttfb: float) -> None:
        rt, ex = self.rt, att.ex
        if att.opened is not None:
            att.opened.close_now()
        if tr.failed:
            att.fail(f"{att.model.name}: {tr.failed}")
            await flow.end("error", 502, att.row.error)
            return
        att.succeed(ttfb)
        if keep is not None and keep.chunks and replay.complete(dialect, True, keep.chunks):
            await flow.share(replay.Entry(200, {"content-type": "text/event-stream"}, keep.chunks, True, dialect,
                                          ex.tier, att.model.name, ex.provider, ex.usage, rt.clock()))
        await flow.end("ok", att.opened.status if att.opened is not None else 200)


class Keep:
    """The bytes a replay leader keeps for followers and the store, up to REPLAY_MAX_BYTES."""

    def __init__(self) -> None:
        self.chunks: list[bytes] | None = []
        self.size = 0

    def add(self, out: bytes) -> None:
        if self.chunks is None:
            return
        self.size += len(out)
        self.chunks = self.chunks if self.size <= REPLAY_MAX_BYTES else None
        if self.chunks is not None:
            self.chunks.append(out)
