"""A loopback provider whose answers each test scripts, recording every request it receives.

The simulator models providers; this one answers exactly the bytes a test names (a redirect,
an empty 200 stream, garbage, a key echoed in an error event), which is what the proxy's
edge cases need. Real HTTP over loopback (aiohttp), in its own thread and event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web
from support.loopback import LoopbackServer


@dataclass
class Answer:
    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds before the status line
    gap: float = 0.0  # seconds between chunks


@dataclass
class Seen:
    path: str
    body: bytes
    headers: dict[str, str]


class ScriptedUpstream(LoopbackServer):
    """`queue(*answers)` answers the next requests in order; `default` answers the rest."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default or Answer(500, [b'{"error":{"message":"unscripted"}}'], "application/json")
        self.answers: deque[Answer] = deque()
        self.seen: list[Seen] = []
        super().__init__()

    def queue(self, *answers: Answer) -> ScriptedUpstream:
        self.answers.extend(answers)
        return self

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path, await request.read(), dict(request.headers)))
        answer = self.answers.popleft() if self.answers else self.default
        if answer.stall:
            await asyncio.sleep(answer.stall)
        resp = web.StreamResponse(status=answer.status, headers={"content-type": answer.content_type, **answer.headers})
        await resp.prepare(request)
        for i, chunk in enumerate(answer.chunks):
            if i and answer.gap:
                await asyncio.sleep(answer.gap)
            await resp.write(chunk)
        await resp.write_eof()
        return resp


def two_model_config(port: int, first: str, second: str, *, first_dialect: str = "anthropic",
                     second_dialect: str = "anthropic", extra: str = "", breaker: str = "failures = 3\ncooldown_s = 30",
                     env: dict[str, str] | None = None, models: tuple[str, ...] = ("a", "b")):
    """Tier `t` cascades model `a` (provider `first`) then `b` (provider `second`)."""
    from gateway.config import parse

    def base(url: str, dialect: str) -> str:
        return url if dialect == "anthropic" else url + "/v1"

    names = ", ".join(f'"{m}"' for m in models)
    text = f"""
[gateway]
host = "127.0.0.1"
port = {port}
default_tier = "t"

[providers.first]
dialect = "{first_dialect}"
base_url = "{base(first, first_dialect)}"
api_key = "$FIRST_KEY"

[providers.second]
dialect = "{second_dialect}"
base_url = "{base(second, second_dialect)}"

[models.a]
provider = "first"
id = "a-model"

[models.b]
provider = "second"
id = "b-model"

[tiers.t]
letter = "t"
big = [{names}]
middle = [{names}]
small = [{names}]

[breaker]
{breaker}
{extra}
"""
    return parse(text, source="<test>", env=env if env is not None else {"FIRST_KEY": "sk-first-0123456789abcdef"})
