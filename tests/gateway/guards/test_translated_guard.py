"""Translated streams are guarded on neutral events: every upstream dialect into every client dialect."""

from __future__ import annotations

import json

import pytest
from support.guard_streams import STREAMS, read

from gateway.guards.policy import GuardSettings, Tally
from gateway.guards.sse_guard import wrap
from gateway.protocols.streams import stream_translator

PAIRS = [(s, d) for s in STREAMS for d in STREAMS if s != d]


def run(src: str, dst: str, data: bytes) -> tuple[bytes, Tally]:
    tally = Tally()
    tr = wrap(stream_translator(src, dst, requested_model="m"), dst, {}, GuardSettings(), tally)
    out = bytearray()
    for i in range(0, len(data), 11):
        out += tr.feed(data[i:i + 11])
    out += tr.close()
    return bytes(out), tally


@pytest.mark.parametrize("src,dst", PAIRS)
def test_repaired_across_translation(src: str, dst: str) -> None:
    out, tally = run(src, dst, STREAMS[src]("Bash", "{command: 'ls -la'"))
    got = read(dst, out)
    assert [(n, json.loads(a)) for n, a in got["calls"]] == [("Bash", {"command": "ls -la"})], out
    assert tally.repairs == 1


@pytest.mark.parametrize("src,dst", PAIRS)
def test_blocked_across_translation(src: str, dst: str) -> None:
    out, tally = run(src, dst, STREAMS[src]("Bash", '{"command": "rm -rf ~"}'))
    got = read(dst, out)
    assert got["calls"] == [] and "Blocked a dangerous Bash call" in got["text"]
    assert got["stop"] in ("end_turn", "stop", ["message"]), got
    assert tally.blocks == 1


@pytest.mark.parametrize("src,dst", PAIRS[:3])
def test_good_call_unchanged_across_translation(src: str, dst: str) -> None:
    out, tally = run(src, dst, STREAMS[src]("Bash", '{"command":"ls"}'))
    assert [(n, json.loads(a)) for n, a in read(dst, out)["calls"]] == [("Bash", {"command": "ls"})]
    assert tally.notes == []


@pytest.mark.parametrize("src,dst", PAIRS)
def test_nothing_leaves_before_a_broken_first_call(src: str, dst: str) -> None:
    """Translated too: the opening waits for content, so an unrepairable first call fails before any byte went out."""
    from support.guard_streams import sent_before_failure

    data = STREAMS[src]("Bash", "garbage", text="") if src != "responses" else STREAMS[src]("Bash", "garbage")
    tr = wrap(stream_translator(src, dst, requested_model="m"), dst, {}, GuardSettings(), Tally())
    sent = sent_before_failure(tr, data)
    assert sent == b"" and tr.failed and "could not be repaired" in tr.failed
