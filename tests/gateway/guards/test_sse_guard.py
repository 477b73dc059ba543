"""The pass-through stream guard: byte-identical when nothing is wrong, however the bytes are cut."""

from __future__ import annotations

import json
import random

import pytest
from support.guard_streams import STREAMS, events, read

from gateway.guards.policy import OFF, GuardSettings, Tally
from gateway.guards.sse_guard import split_events, wrap
from gateway.protocols.streams import PassThrough

CUTS = [None, 1, 7, 50]


def run(dialect: str, data: bytes, cut: int | None, settings: GuardSettings = GuardSettings(),
        seed: int = 0) -> tuple[bytes, Tally]:
    tally = Tally()
    tr = wrap(PassThrough(dialect), dialect, {}, settings, tally)
    out = bytearray()
    rng = random.Random(seed)
    i = 0
    while i < len(data):
        n = len(data) if cut is None else rng.randint(1, cut)
        out += tr.feed(data[i:i + n])
        i += n
    out += tr.close()
    return bytes(out), tally


@pytest.mark.parametrize("dialect", list(STREAMS))
@pytest.mark.parametrize("cut", CUTS)
def test_a_good_call_passes_byte_for_byte(dialect: str, cut: int | None) -> None:
    data = STREAMS[dialect]("Bash", '{"command": "ls -la"}')
    out, tally = run(dialect, data, cut)
    assert out == data
    assert tally.repairs == tally.blocks == 0


@pytest.mark.parametrize("dialect", list(STREAMS))
@pytest.mark.parametrize("cut", CUTS)
def test_broken_arguments_are_repaired(dialect: str, cut: int | None) -> None:
    out, tally = run(dialect, STREAMS[dialect]("Bash", "{command: 'ls -la'"), cut)
    got = read(dialect, out)
    assert [(n, json.loads(a)) for n, a in got["calls"]] == [("Bash", {"command": "ls -la"})]
    assert tally.repairs == 1 and tally.notes[0]["action"] == "repair"


@pytest.mark.parametrize("dialect", list(STREAMS))
@pytest.mark.parametrize("cut", CUTS)
def test_dangerous_call_becomes_text(dialect: str, cut: int | None) -> None:
    out, tally = run(dialect, STREAMS[dialect]("Bash", '{"command": "rm -rf ~"}'), cut)
    got = read(dialect, out)
    assert got["calls"] == []
    assert "Blocked a dangerous Bash call" in got["text"] and "rm-root" in got["text"]
    assert got["stop"] in ("end_turn", "stop", ["message"])
    assert tally.blocks == 1


@pytest.mark.parametrize("dialect", list(STREAMS))
def test_unrepairable_ends_the_stream_with_an_error(dialect: str) -> None:
    out, tally = run(dialect, STREAMS[dialect]("Bash", "garbage"), None)
    assert b"could not be repaired" in out and tally.broken == 1
    assert b'"tool_use"' not in out.split(b"could not be repaired")[-1]


@pytest.mark.parametrize("dialect", list(STREAMS))
def test_off_and_allowed(dialect: str) -> None:
    data = STREAMS[dialect]("Bash", '{"command": "rm -rf ~"}')
    assert run(dialect, data, 7, OFF)[0] == data
    assert run(dialect, data, 7, GuardSettings(allow=frozenset({"rm-root"})))[0] == data


def test_a_stream_without_tools_is_untouched() -> None:
    from gateway.guards.reply import stream_answer

    for dialect in STREAMS:
        data = stream_answer("no tools here, just text", dialect, "m")
        assert run(dialect, data, 5)[0] == data


@pytest.mark.parametrize("dialect", list(STREAMS))
def test_nothing_leaves_before_a_call_the_answer_starts_with(dialect: str) -> None:
    """The opening events wait for the first content: an unrepairable first call fails before any byte went out,
    so the relay can still let the next model answer."""
    from support.guard_streams import events as parse
    from support.guard_streams import sent_before_failure

    data = STREAMS[dialect]("Bash", "garbage", text="") if dialect != "responses" else STREAMS[dialect]("Bash", "garbage")
    tr = wrap(PassThrough(dialect), dialect, {}, GuardSettings(), Tally())
    sent = sent_before_failure(tr, data)
    assert sent == b"" and tr.failed and "could not be repaired" in tr.failed, parse(sent)


@pytest.mark.parametrize("dialect", list(STREAMS))
def test_openings_go_out_with_the_first_text(dialect: str) -> None:
    from gateway.guards.reply import stream_answer

    data = stream_answer("hello", dialect, "m")
    tr = wrap(PassThrough(dialect), dialect, {}, GuardSettings(), Tally())
    outs = [tr.feed(raw) for raw in split_events(data)] + [tr.close()]
    assert b"".join(outs) == data
    first = next(o for o in outs if o)
    assert len(split_events(first)) > {"anthropic": 1, "openai": 1, "responses": 2}[dialect]  # openings + content


def test_keepalive_comments_wait_with_the_opening() -> None:
    """OpenRouter sends `: OPENROUTER PROCESSING` before anything: it must not end the opening's wait."""
    data = STREAMS["openai"]("Bash", "garbage", text="")
    tr = wrap(PassThrough("openai"), "openai", {}, GuardSettings(), Tally())
    sent = tr.feed(b": OPENROUTER PROCESSING\n\n")
    for raw in split_events(data):
        sent += tr.feed(raw)
        if tr.failed:
            break
    assert tr.failed and b"PROCESSING" not in sent and b"chatcmpl" not in sent


@pytest.mark.parametrize("cut", CUTS)
def test_a_repaired_chat_call_keeps_geminis_thought_signature(cut: int | None) -> None:
    """Gemini 3 refuses the next turn without it; the rebuilt call used to leave `extra_content` out."""
    sig = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    data = STREAMS["openai"]("Bash", "{command: 'ls -la'").replace(
        b'"type": "function", ', b'"type": "function", "extra_content": ' + json.dumps(sig).encode() + b", ", 1)
    assert b"thought_signature" in data
    out, tally = run("openai", data, cut)
    assert tally.repairs == 1
    calls = [tc for e in events(out) for c in e.get("choices") or [] for tc in (c.get("delta") or {}).get("tool_calls") or []]
    assert calls and calls[0].get("extra_content") == sig, calls
