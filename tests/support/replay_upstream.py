"""Recorded real provider responses, and a loopback upstream that replays them.

The corpus lives in tests/fixtures/recordings (INDEX.toml names each file's source repository,
commit, path and license). `ReplayUpstream` is a real HTTP server on a loopback port: a POST
whose JSON body names a recording as its `model` gets that recording back, streamed the way a
provider streams it: every SSE event split across two TCP writes (inside the JSON, so a reader
must reassemble lines), with a short pause now and then, so the gateway meets partial events
and separate reads, not one tidy buffer.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"
PAUSES_PER_STREAM = 8  # spread over the stream: realistic gaps without making big recordings slow


@dataclass(frozen=True)
class Recording:
    name: str
    file: Path
    provider: str
    dialect: str  # the upstream dialect: anthropic | openai | responses
    framing: str  # lines | sse | json
    meta: dict[str, Any]

    @property
    def stream(self) -> bool:
        return self.framing != "json"

    def raw(self) -> bytes:
        return self.file.read_bytes()

    def payloads(self) -> list[str]:
        """The data payload of every recorded event, in order (streams only)."""
        if self.framing == "lines":
            return [line for line in self.raw().decode().splitlines() if line.strip()]
        out: list[str] = []
        for block in self.raw().decode().split("\n\n"):
            data = [ln[5:].lstrip(" ") for ln in block.splitlines() if ln.startswith("data:")]
            if data:
                out.append("\n".join(data))
        return out

    def events(self) -> list[Any]:
        """Parsed payloads; `[DONE]` stays a string."""
        return [p if p.strip() == "[DONE]" else json.loads(p) for p in self.payloads()]

    def body(self) -> Any:
        return json.loads(self.raw())

    def frames(self) -> list[bytes]:
        """The recording as the provider puts it on the wire: one SSE event per frame."""
        if self.framing == "sse":
            return [block.strip("\n").encode() + b"\n\n" for block in self.raw().decode().split("\n\n") if block.strip()]
        frames = []
        for payload in self.payloads():
            head = ""
            if self.dialect in ("anthropic", "responses"):
                head = f"event: {json.loads(payload)['type']}\n"
            frames.append(f"{head}data: {payload}\n\n".encode())
        if self.dialect == "openai":
            frames.append(b"data: [DONE]\n\n")  # the recordings keep only the JSON chunks
        return frames


def load_index() -> list[Recording]:
    data = tomllib.loads((ROOT / "INDEX.toml").read_text())
    return [
        Recording(r["name"], ROOT / r["file"], r["provider"], r["dialect"], r["framing"], r)
        for r in data["recording"]
    ]


def by_name() -> dict[str, Recording]:
    return {r.name: r for r in load_index()}


class ReplayUpstream(LoopbackServer):
    """A loopback provider serving recordings by the request's `model`; `extra` adds scripted ones.

    `extra` maps a model name to a list of frames (bytes) or a callable `(request body) -> frames`,
    for shapes no public recording has (e.g. OpenRouter's comment lines); a number instead of a
    frame is a pause of that many seconds.
    """

    def __init__(self, recordings: list[Recording] | None = None, extra: dict[str, Any] | None = None,
                 pause: float = 0.001) -> None:
        self.recordings = {r.name: r for r in (recordings if recordings is not None else load_index())}
        self.extra = extra or {}
        self.pause = pause
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        body = json.loads(await request.read() or b"{}")
        self.requests.append({"path": request.path, "body": body})
        model = str(body.get("model", ""))
        if model in self.extra:
            script = self.extra[model]
            return await self._write(request, script(body) if callable(script) else script)
        rec = self.recordings.get(model)
        if rec is None:
            return web.json_response({"error": {"message": f"no recording {model!r}", "type": "not_found"}},
                                     status=404)
        if not rec.stream:
            return web.Response(body=rec.raw(), status=rec.meta.get("status", 200), content_type="application/json")
        return await self._write(request, rec.frames())

    async def _write(self, request: Any, frames: list[bytes | float]) -> Any:
        from aiohttp import web

        resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        every = max(1, len(frames) // PAUSES_PER_STREAM)
        for i, frame in enumerate(frames):
            if isinstance(frame, int | float):
                await asyncio.sleep(frame)
                continue
            cut = _cut_point(frame)
            await resp.write(frame[:cut])
            await asyncio.sleep(0)
            await resp.write(frame[cut:])
            if i % every == every - 1:
                await asyncio.sleep(self.pause)
        await resp.write_eof()
        return resp


def _cut_point(frame: bytes) -> int:
    """Split inside the JSON (after the first `:` of the payload), else in the middle."""
    at = frame.find(b'":', frame.find(b"data:") + 5)
    return at + 1 if 0 < at < len(frame) - 2 else max(1, len(frame) // 2)
