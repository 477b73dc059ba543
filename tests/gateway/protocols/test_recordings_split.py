"""Every streamed recording, translated to every dialect, gives the same bytes however it is split.

The proxy feeds whatever TCP reads bring; output must depend only on the SSE events.
"""

from __future__ import annotations

import pytest
from support.replay_upstream import Recording, load_index

from gateway.protocols.common import counter_ids
from gateway.protocols.streams import stream_translator

STREAMS = [r for r in load_index() if r.stream]
DIALECTS = ("anthropic", "openai", "responses", "gemini")


def run(rec: Recording, dst: str, size: int) -> bytes:
    raw = b"".join(rec.frames())
    t = stream_translator(rec.dialect, dst, requested_model="client", ids=counter_ids("s"), now=1)
    pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
    out = b"".join(t.feed(p) for p in pieces) + t.close()
    # OpenRouter's `[DONE]` after response.completed passes through only if it came in the same read
    return out.removesuffix(b"data: [DONE]\n\n") if rec.dialect == dst == "responses" else out


@pytest.mark.parametrize("rec", STREAMS, ids=[r.name for r in STREAMS])
def test_split_invariance(rec: Recording) -> None:
    raw_len = sum(len(f) for f in rec.frames())
    sizes = (1, 7, 333) if raw_len < 20_000 else (7, 333)
    for dst in DIALECTS:
        whole = run(rec, dst, raw_len)
        for size in sizes:
            assert run(rec, dst, size) == whole, (dst, size)
