"""The exact replay cache: keys, byte-exact storage, TTL, LRU, and coalescing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gateway.caching import replay
from gateway.caching.replay import Entry, ReplayCache
from gateway.exchange import Usage


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def body(**extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "temperature": 0,
        "stream": True,
        "metadata": {"user_id": '{"device_id":"d1","session_id":"run-1"}'},
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli; cch=4f2a1;",
            },
            {"type": "text", "text": "You are Claude Code", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    b.update(extra)
    return b


SSE_CHUNKS = [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":12}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"4 \\u2014 f\xc3\xbcr"}}\n\n',
    b"event: content_block_delta\ndata: {",  # a frame split across chunks is kept as sent
    b'"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}\n\n',
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n',
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
JSON_BODY = b'{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"4"}}],\n "usage": {"prompt_tokens": 12}}'


def sse_entry(**kw: Any) -> Entry:
    return Entry(
        status=200,
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "x-request-id": "req_1",
            "set-cookie": "a=b",
        },
        chunks=list(SSE_CHUNKS),
        stream=True,
        dialect="anthropic",
        tier="free",
        model="kimi-free",
        provider="openrouter",
        usage=Usage(input=12, output=3, cache_read=0, cache_write=0, reported=True),
        **kw,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> ReplayCache:
    c = ReplayCache(tmp_path / "sub" / "replay.sqlite3", ttl_s=600, max_entries=5, clock=clock)
    yield c
    c.close()


# -- keys ----------------------------------------------------------------------------------------


def test_key_is_stable_under_key_order_and_volatile_fields() -> None:
    k = replay.make_key("anthropic", "free", body())
    reordered = dict(reversed(list(body().items())))
    assert replay.make_key("anthropic", "free", reordered) == k
    other_run = body(metadata={"user_id": '{"device_id":"d2","session_id":"run-2"}'})
    other_run["system"][0]["text"] = (
        "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli; cch=9999;"
    )
    assert replay.make_key("anthropic", "free", other_run) == k
    assert len(k) == 64 and int(k, 16) >= 0


def test_key_does_not_mutate_the_body() -> None:
    b = body()
    snapshot = json.dumps(b)
    replay.make_key("anthropic", "free", b)
    assert json.dumps(b) == snapshot


@pytest.mark.parametrize(
    "change",
    [
        {"model": "claude-opus-4-6"},
        {"temperature": 0.7},
        {"stream": False},
        {"max_tokens": 2048},
        {"messages": [{"role": "user", "content": "What is 2+3?"}]},
        {"tools": []},
        {"metadata": {"user_id": "x", "other": 1}},
    ],
)
def test_key_changes_with_anything_that_changes_the_answer(change: dict[str, Any]) -> None:
    assert replay.make_key("anthropic", "free", body(**change)) != replay.make_key(
        "anthropic", "free", body()
    )


def test_key_includes_dialect_and_tier() -> None:
    k = replay.make_key("anthropic", "free", body())
    assert replay.make_key("anthropic", "kimi", body()) != k
    assert replay.make_key("openai", "free", body()) != k


def test_enabled_header_wins_then_tier_then_config() -> None:
    assert replay.enabled(False, False, {"X-XX-Replay": "1"})
    assert not replay.enabled(True, True, {"x-xx-replay": "0"})
    assert replay.enabled(False, True, {})
    assert replay.enabled(True, False, {})
    assert not replay.enabled(False, False, {"x-other": "1"})


def test_complete_detects_truncated_answers() -> None:
    assert replay.complete("anthropic", True, SSE_CHUNKS)
    assert not replay.complete("anthropic", True, SSE_CHUNKS[:-1])
    assert replay.complete("openai", True, [b'data: {"choices":[]}\n\n', b"data: [DONE]\n\n"])
    assert not replay.complete("openai", True, [b'data: {"choices":[]}\n\n'])
    assert replay.complete(
        "responses", True, [b'event: response.completed\ndata: {"type":"response.completed"}\n\n']
    )
    assert replay.complete("openai", False, [JSON_BODY[:40], JSON_BODY[40:]])
    assert not replay.complete("openai", False, [JSON_BODY[:40]])


# -- storage ---------------------------------------------------------------------------------------


def test_sse_round_trip_is_byte_exact_chunk_for_chunk(cache: ReplayCache) -> None:
    k = cache.key("anthropic", "free", body())
    assert cache.get(k) is None
    assert cache.put(k, sse_entry())
    got = cache.get(k)
    assert got is not None
    assert got.chunks == SSE_CHUNKS
    assert all(type(c) is bytes for c in got.chunks)
    assert got.headers == {"content-type": "text/event-stream; charset=utf-8"}  # only what is worth keeping
    assert (got.status, got.stream, got.model, got.provider, got.tier) == (
        200,
        True,
        "kimi-free",
        "openrouter",
        "free",
    )
    assert got.usage == Usage(input=12, output=3, reported=True)
    assert got.hits == 1


def test_json_round_trip_is_byte_exact(cache: ReplayCache) -> None:
    k = cache.key("openai", "free", body(stream=False))
    entry = Entry(
        status=200, headers={"content-type": "application/json"}, chunks=[JSON_BODY], dialect="openai"
    )
    cache.put(k, entry)
    got = cache.get(k)
    assert got is not None and got.body == JSON_BODY and got.chunks == [JSON_BODY]


def test_empty_chunks_and_binary_bytes_survive(cache: ReplayCache) -> None:
    chunks = [b"", bytes(range(256)), b"", b"\x00\x00\x00\x05tail"]
    cache.put("k", Entry(status=200, headers={}, chunks=chunks))
    got = cache.get("k")
    assert got is not None and got.chunks == chunks


@pytest.mark.parametrize("status", [400, 429, 500, 529, 302])
def test_only_successful_answers_are_stored(cache: ReplayCache, status: int) -> None:
    assert not cache.put("k", Entry(status=status, headers={}, chunks=[b"{}"]))
    assert cache.get("k") is None
    assert cache.stats()["entries"] == 0


def test_ttl_expiry(cache: ReplayCache, clock: Clock) -> None:
    cache.put("k", sse_entry())
    clock.t += 599
    assert cache.get("k") is not None
    clock.t += 1  # 600 s after it was stored; reading it did not extend its life
    assert cache.get("k") is None
    assert cache.stats()["entries"] == 0  # an expired entry is deleted when found
    assert cache.counters["expired"] == 1


def test_lru_eviction_keeps_the_recently_used(cache: ReplayCache, clock: Clock) -> None:
    for i in range(5):
        clock.t += 1
        cache.put(f"k{i}", sse_entry())
    clock.t += 1
    assert cache.get("k0") is not None  # k0 is now the most recently used
    for i in range(5, 8):
        clock.t += 1
        cache.put(f"k{i}", sse_entry())
    keys = {e["key"] for e in cache.entries(100)}
    assert keys == {"k0", "k4", "k5", "k6", "k7"}
    assert cache.counters["evicted"] == 3
    assert [e["key"] for e in cache.entries(2)] == ["k7", "k6"]  # most recently used first


def test_put_purges_expired_entries(cache: ReplayCache, clock: Clock) -> None:
    cache.put("old", sse_entry())
    clock.t += 700
    cache.put("new", sse_entry())
    assert [e["key"] for e in cache.entries()] == ["new"]


def test_stats_entries_and_clear(cache: ReplayCache, clock: Clock) -> None:
    cache.put("a", sse_entry())
    cache.put("b", Entry(status=200, headers={}, chunks=[JSON_BODY], dialect="openai"))
    cache.get("a")
    cache.get("a")
    s = cache.stats()
    assert s["entries"] == 2
    assert s["bytes"] == sum(map(len, SSE_CHUNKS)) + len(JSON_BODY)
    assert s["hits_stored"] == 2
    assert s["session"]["hits"] == 2 and s["session"]["stored"] == 2
    rows = {r["key"]: r for r in cache.entries()}
    assert rows["a"]["chunks"] == len(SSE_CHUNKS) and rows["a"]["stream"] is True and rows["a"]["hits"] == 2
    assert rows["a"]["expires"] == rows["a"]["created"] + 600 and not rows["a"]["expired"]
    clock.t += 601
    assert cache.stats()["expired"] == 2
    assert cache.clear(expired_only=True) == 2
    cache.put("c", sse_entry())
    assert cache.clear() == 1
    assert cache.stats()["entries"] == 0


def test_the_file_is_sqlite_in_wal_mode_and_survives_reopening(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "replay.sqlite3"
    first = ReplayCache(path, clock=clock)
    first.put("k", sse_entry())
    first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = ReplayCache(path, clock=clock)
    got = second.get("k")
    second.close()
    assert got is not None and got.chunks == SSE_CHUNKS


async def test_async_helpers_run_off_the_loop(cache: ReplayCache) -> None:
    assert await cache.aput("k", sse_entry())
    got = await cache.aget("k")
    assert got is not None and got.chunks == SSE_CHUNKS


def test_a_cache_from_before_the_dialect_rename_keeps_its_entries(tmp_path: Path, clock: Clock) -> None:
    """The column `protocol` (the name before `dialect`) is renamed in place; the keys did not change."""
    path = tmp_path / "replay.sqlite3"
    first = ReplayCache(path, ttl_s=600, max_entries=5, clock=clock)
    key = replay.make_key("anthropic", "free", body())
    assert first.put(key, sse_entry())
    first.close()
    old = sqlite3.connect(path)
    old.execute("ALTER TABLE entries RENAME COLUMN dialect TO protocol")  # the file as the old code left it
    old.commit()
    old.close()
    again = ReplayCache(path, ttl_s=600, max_entries=5, clock=clock)
    try:
        got = again.get(key)
        assert got is not None and got.dialect == "anthropic"
        assert again.entries()[0]["dialect"] == "anthropic"
    finally:
        again.close()
