"""Stream translators: structure of the output, split invariance, and malformed upstreams."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocols.common import counter_ids
from gateway.protocols.sse import SSEDecoder
from gateway.protocols.streams import PassThrough, StreamTranslator, stream_translator
from gateway.protocols.thinking import read_signature

STREAMS = Path(__file__).parent / "streams"


def stream_bytes(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


def sse_events(raw: bytes) -> list[tuple[str, Any]]:
    dec = SSEDecoder()
    out = []
    for ev in dec.feed(raw) + dec.flush():
        try:
            data = json.loads(ev.data)
        except ValueError:
            data = ev.data
        out.append((ev.event, data))
    return out


FIXTURES = {
    "openrouter_kimi_tools.sse": "openai",
    "deepseek_reasoning.sse": "openai",
    "ollama_text.sse": "openai",
    "anthropic_thinking_tool.sse": "anthropic",
    "responses_codex.sse": "responses",
}
TARGETS = ("anthropic", "openai", "responses", "gemini")
CASES = [(name, src, dst) for name, src in FIXTURES.items() for dst in TARGETS if dst != src]


def make(src: str, dst: str) -> StreamTranslator | PassThrough:
    return stream_translator(src, dst, requested_model="client-model", ids=counter_ids("x"), now=1700000000)


def run(src: str, dst: str, pieces: list[bytes]) -> tuple[bytes, StreamTranslator | PassThrough]:
    t = make(src, dst)
    out = b"".join(t.feed(p) for p in pieces) + t.close()
    return out, t


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    bounds = [0, *points, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize(("name", "src", "dst"), CASES)
def test_byte_by_byte_equals_whole(name: str, src: str, dst: str) -> None:
    raw = stream_bytes(name)
    whole, t = run(src, dst, [raw])
    single, _ = run(src, dst, [raw[i : i + 1] for i in range(len(raw))])
    assert whole == single
    assert t.started and t.failed is None and t.usage.reported


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(CASES), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_gives_the_same_output(case: tuple[str, str, str], cuts: list[int]) -> None:
    name, src, dst = case
    raw = stream_bytes(name)
    assert run(src, dst, split(raw, cuts))[0] == run(src, dst, [raw])[0]


def check_anthropic_stream(events: list[tuple[str, Any]]) -> None:
    """The invariants the anthropic SDK's accumulator relies on."""
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop" and names[-2] == "message_delta"
    assert "usage" in events[0][1]["message"]
    open_index = None
    expected = 0
    for name, data in events:
        assert data["type"] == name
        if name == "content_block_start":
            assert open_index is None and data["index"] == expected
            open_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, expected = None, expected + 1
    assert open_index is None


def test_chat_to_anthropic_openrouter() -> None:
    out, t = run("openai", "anthropic", [stream_bytes("openrouter_kimi_tools.sse")])
    events = sse_events(out)
    check_anthropic_stream(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use", "tool_use"]
    assert starts[2]["id"] == "functions.Bash:0" and starts[2]["name"] == "Bash"
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    thinking = "".join(d.get("thinking", "") for d in deltas if d["type"] == "thinking_delta")
    assert thinking == "The user wants to list files."
    sig = next(d["signature"] for d in deltas if d["type"] == "signature_delta")
    payload = read_signature(sig)
    assert payload is not None and payload["m"] == "moonshotai/kimi-k2.6:free" and payload["f"] == "reasoning"
    assert payload["rd"] == [
        {"type": "reasoning.text", "text": "The user wants to list files.", "format": "unknown", "index": 0}
    ]
    assert "".join(d.get("text", "") for d in deltas) == "I'll look at the repo — ünïcode ✓."
    args = [json.loads(d["partial_json"]) for d in deltas if d["type"] == "input_json_delta"]
    assert args == [{"command": "ls -la", "description": "List files"}, {"file_path": "/repo/README.md"}]
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"] == {
        "input_tokens": 18234 - 16384,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 16384,
        "output_tokens": 96,
    }
    assert (t.usage.input, t.usage.cache_read, t.usage.output) == (18234, 16384, 96)


def test_chat_to_anthropic_deepseek_crlf() -> None:
    out, t = run("openai", "anthropic", [stream_bytes("deepseek_reasoning.sse")])
    events = sse_events(out)
    check_anthropic_stream(events)
    sig = next(
        d["delta"]["signature"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "signature_delta"
    )
    assert read_signature(sig) == {"m": "deepseek-reasoner", "f": "reasoning_content"}
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert t.usage.cache_read == 1152 and t.usage.input == 1210


def test_anthropic_to_chat() -> None:
    out, t = run("anthropic", "openai", [stream_bytes("anthropic_thinking_tool.sse")])
    events = sse_events(out)
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["model"] == "client-model" and c["id"] == chunks[0]["id"] for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "I should read the file first."
    assert "".join(d.get("content", "") for d in deltas) == "Let me read the config."
    calls = [tc for d in deltas for tc in d.get("tool_calls", [])]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "type": "function",
        "function": {"name": "Read", "arguments": ""},
    }
    assert all("id" not in c for c in calls[1:])
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {
        "file_path": "/repo/pyproject.toml"
    }
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 12 + 2048 + 30000
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {
        "cached_tokens": 30000,
        "cache_write_tokens": 2048,
    }
    assert (t.usage.cache_write, t.usage.output) == (2048, 87)


def test_anthropic_to_responses() -> None:
    out, _ = run("anthropic", "responses", [stream_bytes("anthropic_thinking_tool.sse")])
    events = sse_events(out)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    final = events[-1][1]["response"]
    assert [o["type"] for o in final["output"]] == ["reasoning", "message", "function_call"]
    assert final["output"][0]["encrypted_content"] == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDx2D3mQ=="
    call = final["output"][2]
    assert call["call_id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6" and call["name"] == "Read"
    assert json.loads(call["arguments"]) == {"file_path": "/repo/pyproject.toml"}
    assert (
        final["usage"]["input_tokens"] == 32060
        and final["usage"]["input_tokens_details"]["cached_tokens"] == 30000
    )


def test_responses_upstream_to_anthropic() -> None:
    out, t = run("responses", "anthropic", [stream_bytes("responses_codex.sse")])
    events = sse_events(out)
    check_anthropic_stream(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["text", "tool_use"] and starts[1]["id"] == "call_abc"
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert (t.usage.input, t.usage.cache_read) == (5000, 4096)


def test_chat_to_gemini() -> None:
    out, _ = run("openai", "gemini", [stream_bytes("openrouter_kimi_tools.sse")])
    chunks = [d for _, d in sse_events(out)]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": "The user wants", "thought": True}
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    assert calls[0] == {
        "id": "functions.Bash:0",
        "name": "Bash",
        "args": {"command": "ls -la", "description": "List files"},
    }
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["cachedContentTokenCount"] == 16384
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])


# --- malformed upstreams ---------------------------------------------------------------


def _error_of(dst: str, out: bytes) -> str:
    events = sse_events(out)
    if dst == "anthropic":
        name, data = events[-1]
        assert name == "error" and data["type"] == "error"
        return data["error"]["message"]
    if dst == "openai":
        assert events[-1][1] == "[DONE]"
        return events[-2][1]["error"]["message"]
    if dst == "responses":
        name, data = events[-1]
        assert name == "response.failed" and data["response"]["status"] == "failed"
        created = next(d for n, d in events if n == "response.created")
        assert data["response"]["id"] == created["response"]["id"]
        return data["response"]["error"]["message"]
    data = events[-1][1]
    assert data["error"]["status"] in ("INTERNAL", "UNAVAILABLE", "RESOURCE_EXHAUSTED")
    return data["error"]["message"]


@pytest.mark.parametrize(("name", "src", "dst"), CASES)
def test_cut_stream_ends_with_an_error_event(name: str, src: str, dst: str) -> None:
    raw = stream_bytes(name)
    cut = raw[: len(raw) * 2 // 3]
    out, t = run(src, dst, [cut])
    assert "ended before it finished" in _error_of(dst, out)
    assert t.failed


@pytest.mark.parametrize("dst", ["anthropic", "responses", "gemini", "openai"])
def test_invalid_tool_arguments_give_a_clean_error(dst: str) -> None:
    src, raw, tool = (
        "openai",
        stream_bytes("openrouter_kimi_tools.sse").replace(b'List files\\"}', b"List files"),
        "Bash",
    )
    if dst == "openai":
        src, tool = "anthropic", "Read"
        raw = stream_bytes("anthropic_thinking_tool.sse").replace(b'pyproject.toml\\"}', b"pyproject")
    out, t = run(src, dst, [raw])
    assert tool in _error_of(dst, out) and "JSON" in _error_of(dst, out)
    assert t.done


@pytest.mark.parametrize("dst", ["anthropic", "responses", "openai"])
def test_upstream_error_chunk_is_relayed(dst: str) -> None:
    raw = (
        b'data: {"id":"g","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
        b'data: {"error":{"code":429,"message":"Rate limit exceeded: free-models-per-min"}}\n\n'
    )
    src = "openai"
    if dst == "openai":
        src, raw = (
            "anthropic",
            stream_bytes("anthropic_thinking_tool.sse").split(b"event: message_delta")[0]
            + (
                b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
            ),
        )
    out, t = run(src, dst, [raw, b"data: ignored after the error\n\n"])
    assert "upstream error" in _error_of(dst, out)
    assert t.feed(b"more") == b"" and t.close() == b""


def test_garbage_and_out_of_order_never_raise() -> None:
    out, _ = run("openai", "anthropic", [b"data: {not json\n\n"])
    assert "not JSON" in _error_of("anthropic", out)
    out, _ = run(
        "anthropic",
        "openai",
        [
            b'event: content_block_delta\ndata: {"type":"content_block_delta",'
            b'"index":0,"delta":{"type":"text_delta","text":"x"}}\n\n'
        ],
    )
    assert "out of order" in _error_of("openai", out)
    raw = stream_bytes("ollama_text.sse").replace(
        b'"finish_reason":"stop"}]}',
        b'"finish_reason":"stop"}]}\n\ndata: {"choices":[{"delta":{"content":"late"}}]}',
        1,
    )
    out, _ = run("openai", "anthropic", [raw])
    assert "out of order" in _error_of("anthropic", out)
    out, _ = run(
        "anthropic",
        "openai",
        [
            b'event: message_start\ndata: {"type":"message_start","message":'
            b'{"id":"m","usage":{}}}\n\nevent: content_block_start\ndata: '
            b'{"type":"content_block_start"}\n\n'
        ],
    )
    assert "malformed" in _error_of("openai", out)


def test_started_is_false_until_bytes_are_emitted() -> None:
    t = make("openai", "anthropic")
    assert t.feed(b": OPENROUTER PROCESSING\n\n") == b"" and not t.started
    assert t.feed(b'data: {"id":"g","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n')
    assert t.started


def test_chat_stream_without_done_but_finished_ends_cleanly() -> None:
    raw = stream_bytes("ollama_text.sse").replace(b"data: [DONE]\n\n", b"")
    out, t = run("openai", "anthropic", [raw])
    check_anthropic_stream(sse_events(out))
    assert t.failed is None


# --- same protocol: bytes pass unchanged ----------------------------------------------


@pytest.mark.parametrize(("name", "src"), list(FIXTURES.items()))
def test_passthrough_keeps_bytes(name: str, src: str) -> None:
    raw = stream_bytes(name)
    out, t = run(src, src, [raw[i : i + 7] for i in range(0, len(raw), 7)])
    assert out == raw and t.failed is None and t.usage.reported


def test_passthrough_cut_mid_event_appends_a_whole_error() -> None:
    raw = stream_bytes("anthropic_thinking_tool.sse")
    cut = raw.index(b"pyproject") + 3
    out, t = run("anthropic", "anthropic", [raw[:cut]])
    events = sse_events(out)
    assert events[-1][0] == "error" and all(isinstance(d, dict) for _, d in events)
    assert t.failed and t.usage.cache_read == 30000


@pytest.mark.parametrize(("src", "dst"), [("openai", "anthropic"), ("anthropic", "anthropic")])
def test_close_with_a_reason_names_it(src: str, dst: str) -> None:
    raw = stream_bytes("openrouter_kimi_tools.sse" if src == "openai" else "anthropic_thinking_tool.sse")
    t = make(src, dst)
    out = t.feed(raw[:300]) + t.close("upstream idle for 60 s")
    assert "idle for 60 s" in _error_of(dst, out)


def test_passthrough_is_done_after_the_end_marker() -> None:
    t = make("openai", "openai")
    assert t.feed(stream_bytes("ollama_text.sse"))
    assert t.done and t.close() == b""


def test_chat_tool_calls_without_index_stay_apart() -> None:
    """Some OpenAI-compatible servers send each whole call in its own chunk and no `index`."""
    chunks = [
        {
            "id": "x",
            "model": "gemini-compat",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "id": "call_a",
                                "type": "function",
                                "function": {"name": "ls", "arguments": '{"p":1}'},
                            }
                        ]
                    },
                }
            ],
        },
        {
            "id": "x",
            "model": "gemini-compat",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "id": "call_b",
                                "type": "function",
                                "function": {"name": "cat", "arguments": '{"f":2}'},
                            }
                        ]
                    },
                }
            ],
        },
        {
            "id": "x",
            "model": "gemini-compat",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        },
    ]
    raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    out, _ = run("openai", "anthropic", [raw])
    events = sse_events(out)
    check_anthropic_stream(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [(b["id"], b["name"]) for b in starts] == [("call_a", "ls"), ("call_b", "cat")]
    args = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert args == ['{"p":1}', '{"f":2}']


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(sorted(FIXTURES)), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_passthrough_emits_only_whole_events_for_any_split(name: str, cuts: list[int]) -> None:
    raw = stream_bytes(name)
    t = make(FIXTURES[name], FIXTURES[name])
    pieces = [t.feed(p) for p in split(raw, cuts)]
    pieces.append(t.close())
    assert b"".join(pieces) == raw
    assert all(p.endswith((b"\n\n", b"\r\n\r\n")) for p in pieces if p)


def test_upstream_model_signs_captured_reasoning() -> None:
    t = stream_translator(
        "openai", "anthropic", requested_model="c", upstream_model="moonshotai/kimi-k2.6:free"
    )
    out = t.feed(stream_bytes("deepseek_reasoning.sse")) + t.close()
    sig = next(
        d["delta"]["signature"]
        for n, d in sse_events(out)
        if n == "content_block_delta" and d["delta"]["type"] == "signature_delta"
    )
    assert read_signature(sig) == {"m": "moonshotai/kimi-k2.6:free", "f": "reasoning_content"}


def test_openrouter_finish_reason_error_is_a_failure() -> None:
    raw = (
        b'data: {"id":"g","model":"m","choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
        b'data: {"id":"g","model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    out, t = run("openai", "anthropic", [raw])
    assert "finish_reason=error" in _error_of("anthropic", out) and t.failed


# --- property: generated Chat streams survive translation with their meaning -------------

piece = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
arg_value = st.one_of(st.integers(-5, 5), piece, st.booleans(), st.none())


@st.composite
def chat_streams(draw: st.DrawFn) -> tuple[bytes, str, str, list[tuple[str, str, dict[str, Any]]]]:
    base = {"id": "gen-p", "model": "prov/model", "object": "chat.completion.chunk", "created": 1}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    reasoning = draw(st.lists(piece, max_size=3))
    deltas += [{"reasoning": r} for r in reasoning]
    text = draw(st.lists(piece, max_size=4))
    deltas += [{"content": t} for t in text]
    tools = []
    for i in range(draw(st.integers(0, 3))):
        args = draw(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), arg_value, max_size=3))
        raw = json.dumps(args)
        cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=3)))
        parts = [raw[a:b] for a, b in itertools.pairwise([0, *cuts, len(raw)])]
        name = draw(st.from_regex(r"[A-Za-z_]{1,10}", fullmatch=True))
        tools.append((f"call_{i}", name, args))
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        deltas += [{"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in parts if p]
    finish = "tool_calls" if tools else "stop"
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 3}})
    raw_stream = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    return raw_stream, "".join(reasoning), "".join(text), tools


def accumulate_anthropic(out: bytes) -> dict[str, Any]:
    """What an Anthropic client rebuilds from the stream."""
    blocks: list[dict[str, Any]] = []
    stop = None
    for name, data in sse_events(out):
        if name == "content_block_start":
            blocks.append({**data["content_block"], "_json": ""})
        elif name == "content_block_delta":
            d = data["delta"]
            b = blocks[data["index"]]
            if d["type"] == "text_delta":
                b["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                b["thinking"] += d["thinking"]
            elif d["type"] == "input_json_delta":
                b["_json"] += d["partial_json"]
        elif name == "message_delta":
            stop = data["delta"]["stop_reason"]
    return {"blocks": blocks, "stop": stop}


@settings(max_examples=60, deadline=None)
@given(stream=chat_streams(), cuts=st.lists(st.integers(0, 100_000), max_size=8))
def test_generated_chat_streams_keep_meaning_in_anthropic(stream: Any, cuts: list[int]) -> None:
    raw, reasoning, text, tools = stream
    out, t = run("openai", "anthropic", split(raw, cuts))
    assert out == run("openai", "anthropic", [raw])[0]
    check_anthropic_stream(sse_events(out))
    got = accumulate_anthropic(out)
    blocks = got["blocks"]
    assert "".join(b.get("thinking", "") for b in blocks if b["type"] == "thinking") == reasoning
    assert "".join(b.get("text", "") for b in blocks if b["type"] == "text") == text
    calls = [(b["id"], b["name"], json.loads(b["_json"])) for b in blocks if b["type"] == "tool_use"]
    assert calls == tools
    assert got["stop"] == ("tool_use" if tools else "end_turn")
    assert t.usage.input == 10 and t.usage.output == 3


@settings(max_examples=40, deadline=None)
@given(stream=chat_streams())
def test_generated_chat_streams_keep_meaning_through_anthropic_and_back(stream: Any) -> None:
    """Chat -> Anthropic -> Chat: text and tool calls come back as they were."""
    raw, _, text, tools = stream
    anthropic_sse, _ = run("openai", "anthropic", [raw])
    chat_sse, _ = run("anthropic", "openai", [anthropic_sse])
    deltas = [
        d["choices"][0]["delta"] for _, d in sse_events(chat_sse) if isinstance(d, dict) and d["choices"]
    ]
    assert "".join(d.get("content") or "" for d in deltas) == text
    calls: dict[int, dict[str, Any]] = {}
    for d in deltas:
        for tc in d.get("tool_calls", []):
            c = calls.setdefault(
                tc["index"], {"id": tc.get("id"), "name": tc.get("function", {}).get("name"), "args": ""}
            )
            c["args"] += tc["function"].get("arguments", "")
    assert [(c["id"], c["name"], json.loads(c["args"])) for c in calls.values()] == tools


def _raw_events(raw: bytes) -> list[bytes]:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    return [e + sep for e in raw.split(sep) if e.strip()]


@settings(max_examples=80, deadline=None)
@given(
    case=st.sampled_from(CASES),
    ops=st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "junk"]), st.integers(0, 50)), max_size=4),
)
def test_mangled_upstreams_end_cleanly(case: tuple[str, str, str], ops: list[tuple[str, int]]) -> None:
    """Dropped, repeated, swapped or garbage events: never an exception, always a proper ending."""
    name, src, dst = case
    events = _raw_events(stream_bytes(name))
    for op, i in ops:
        i %= len(events)
        if op == "drop" and len(events) > 1:
            del events[i]
        elif op == "dup":
            events.insert(i, events[i])
        elif op == "swap" and i + 1 < len(events):
            events[i], events[i + 1] = events[i + 1], events[i]
        elif op == "junk":
            events.insert(i, b'data: {"choices": 5, "delta": [], "index": "x", "type": 3}\n\n')
    out, t = run(src, dst, events)
    parsed = sse_events(out)
    assert parsed, "something must be said"
    last_name, last = parsed[-1]
    if dst == "anthropic":
        assert last_name in ("message_stop", "error")
    elif dst == "openai":
        assert last == "[DONE]"
    elif dst == "responses":
        assert last_name in ("response.completed", "response.incomplete", "response.failed")
    else:
        assert "error" in last or last["candidates"][0].get("finishReason")
    assert t.done


def test_passthrough_responses_failure_keeps_the_response_id() -> None:
    raw = stream_bytes("responses_codex.sse")
    out, _ = run("responses", "responses", [raw[: raw.index(b"event: response.output_item.done")]])
    name, data = sse_events(out)[-1]
    assert name == "response.failed" and data["response"]["id"] == "resp_68a1b2c3d4e5f60718293a4b"
    assert data["sequence_number"] == 5
