"""Every recorded provider response × every client dialect, through the gateway and the official SDKs.

A replay upstream (tests/support/replay_upstream.py) serves each byte-exact recording from
tests/fixtures/recordings; the client asks for it by a configured model name on the bypass
route. Checked against the recording itself (tests/support/replay_expect.py): text equal,
tool names and JSON-equal arguments, reasoning where the dialect has a place for it, the stop
reason mapped, usage (input, output, cache read) equal, and a recorded error arriving as an
error carrying the provider's message. Streamed recordings are asked for streamed, JSON ones not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from support.replay_clients import ASK_BY_DIALECT
from support.replay_expect import Answer, expected, recorded_finish
from support.replay_upstream import Recording, ReplayUpstream, load_index
from support.servers import GatewayThread, free_port

from gateway.config import parse
from gateway.protocols.sse import SSEDecoder

RECORDINGS = load_index()
DIALECTS = ("anthropic", "openai", "responses", "gemini")
PROVIDER_FOR = {"anthropic": "rep-anthropic", "openai": "rep-openai", "responses": "rep-responses"}


USES = (*DIALECTS, "raw", "ledger")  # one model per recording and client, so a recorded 429 cools only its own


def model_name(i: int, use: str) -> str:
    return f"rec{i:03d}-{use}"


def config_text(url: str, port: int) -> str:
    parts = [
        f'[gateway]\nhost = "127.0.0.1"\nport = {port}\ndefault_tier = "rec"\n',
        f'[providers.rep-anthropic]\nprotocol = "anthropic"\nbase_url = "{url}"\n',
        f'[providers.rep-openai]\nprotocol = "openai"\nbase_url = "{url}/v1"\n',
        f'[providers.rep-responses]\nprotocol = "responses"\nbase_url = "{url}/v1"\n',
    ]
    for i, rec in enumerate(RECORDINGS):
        for use in USES:
            parts.append(f'[models.{model_name(i, use)}]\nprovider = "{PROVIDER_FOR[rec.dialect]}"\nid = "{rec.name}"\n')
    parts.append(f'[tiers.rec]\nletter = "r"\nbig = ["{model_name(0, "raw")}"]\n')
    parts.append("[breaker]\nfailures = 1000000\ncooldown_s = 1\n")  # error recordings must not open breakers
    return "\n".join(parts)


@pytest.fixture(scope="module")
def gateway_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    upstream = ReplayUpstream(RECORDINGS).start()
    cfg = parse(config_text(upstream.url, free_port()), source="<matrix>", env={})
    gw = GatewayThread(cfg, tmp_path_factory.mktemp("matrix") / "ledger.sqlite3").start()
    yield gw
    gw.stop()
    upstream.stop()


@pytest.fixture
def gateway(gateway_thread: GatewayThread) -> str:
    return gateway_thread.url


def want_for(rec: Recording, dialect: str) -> Answer:
    """The recording's answer as this dialect can say it."""
    want = expected(rec)
    if dialect == "gemini" and want.stop == "stop_sequence":
        want.stop = "end"
    if dialect == rec.dialect == "openai" and not recorded_finish(rec):
        want.stop = "end"  # pass-through forwards a missing or empty finish_reason as sent; translation reads the calls
    return want


CASES = [pytest.param(i, d, id=f"{rec.name}->{d}") for i, rec in enumerate(RECORDINGS) for d in DIALECTS]


@pytest.mark.parametrize(("index", "dialect"), CASES)
def test_recording_reaches_the_client(gateway: str, index: int, dialect: str) -> None:
    rec = RECORDINGS[index]
    want = want_for(rec, dialect)
    got = ASK_BY_DIALECT[dialect](f"{gateway}/x/wire/b/rec", model_name(index, dialect), rec.stream)
    if want.error is not None:
        assert got.error is not None, f"a recorded error became a success: {got}"
        assert want.error[:60] in got.error
        return
    assert got.error is None, got.error
    assert got.text == want.text
    assert got.tools == want.tools
    if len(want.tools) > 1 and dialect != "gemini":  # Gemini's function calls carry no ids
        assert len(set(got.tool_ids)) == len(want.tools) and all(got.tool_ids), got.tool_ids
    assert got.stop == want.stop
    assert got.usage == want.usage
    assert got.reasoning == want.reasoning


ENDPOINT = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions", "responses": "/v1/responses"}


def request_body(rec: Recording, model: str) -> dict:
    if rec.dialect == "responses":
        return {"model": model, "input": "hi", "stream": rec.stream}
    return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}], "stream": rec.stream}


@pytest.mark.parametrize("index", [pytest.param(i, id=rec.name) for i, rec in enumerate(RECORDINGS)])
def test_same_dialect_passes_every_recorded_event(gateway: str, index: int) -> None:
    """Pass-through: every recorded event reaches the client unchanged (a JSON body byte for byte)."""
    rec = RECORDINGS[index]
    url = f"{gateway}/x/wire/b/rec{ENDPOINT[rec.dialect]}"
    with httpx.stream("POST", url, json=request_body(rec, model_name(index, "raw")), timeout=10) as resp:
        raw = resp.read()
    if not rec.stream:
        if rec.meta.get("status", 200) >= 400:
            assert resp.status_code == rec.meta["status"]
            assert rec.body()["error"]["message"] in resp.text
        else:
            assert raw == rec.raw()
        return
    if resp.status_code >= 400:  # an error before any content may fall back (then fail) instead of streaming
        message = expected(rec).error
        assert message is not None, raw[:300]
        assert message[:60] in resp.text
        return
    dec = SSEDecoder()
    got = [ev.data for ev in dec.feed(raw) + dec.flush()]
    want = rec.payloads()
    if rec.dialect == "openai" and want[-1:] != ["[DONE]"]:
        want.append("[DONE]")  # the replay ends `lines` recordings with it; the gateway ends an error chunk with it
    if rec.dialect == "responses" and want[-1:] == ["[DONE]"] and got[-1:] != ["[DONE]"]:
        want.pop()  # OpenRouter's marker after response.completed: forwarded only if it came in the same read
    assert got == want


CACHED = [pytest.param(i, id=rec.name) for i, rec in enumerate(RECORDINGS)
          if not expected(rec).error and (expected(rec).usage["cache_read"] or expected(rec).cache_write)]


@pytest.mark.parametrize("index", CACHED)
def test_the_ledger_counts_the_recorded_usage(gateway_thread: GatewayThread, index: int) -> None:
    """The Exchange row (ledger, stats, dashboard) gets the same input, output and cache reads the client does;
    cache writes (Anthropic's, OpenRouter's `cache_write_tokens`) reach the Anthropic client and the row."""
    rec = RECORDINGS[index]
    model = model_name(index, "ledger")
    got = ASK_BY_DIALECT["anthropic"](f"{gateway_thread.url}/x/wire/b/rec", model, rec.stream)
    assert got.cache_write == expected(rec).cache_write
    want = {**expected(rec).usage, "cache_write": expected(rec).cache_write}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        rows = [r for r in gateway_thread.rt.ledger.recent(50) if r.get("model") == model]
        if rows:
            break
        time.sleep(0.02)
    usage = rows[0]["usage"]
    assert {k: usage[k] for k in want} == want
