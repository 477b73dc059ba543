"""The simulator's free plans: per key and per account, refused with each provider's real 429 shape."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson

from gateway.routing.ratelimit_headers import parse
from gateway.simulator import SimulatorThread
from gateway.simulator.limits import LimitBook

NOON = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.t = NOON

    def __call__(self) -> float:
        return self.t


def test_openrouter_account_minute_and_day_per_key() -> None:
    clock = Clock()
    book = LimitBook(clock)
    for i in range(20):
        v = book.admit("openrouter", "k1", f"m{i % 3}:free", 100)
        assert v is not None and v.status == 200, i  # every :free model draws from one account
        book.release(v)
    v = book.admit("openrouter", "k1", "other:free", 100)
    assert v is not None and v.status == 429 and b"free-models-per-min" in v.body
    limits = parse(v.headers, clock.t, "openrouter")
    assert limits.retry_at == clock.t + 60 and limits.readings[0].remaining == 0
    assert book.admit("openrouter", "k2", "m0:free", 100).status == 200  # type: ignore[union-attr]  # another key
    for _ in range(30):
        clock.t += 60
        book.release(book.admit("openrouter", "k1", "m0:free", 100))
    v = book.admit("openrouter", "k1", "m0:free", 100)
    assert v is not None and v.status == 429 and b"free-models-per-day" in v.body
    assert parse(v.headers, clock.t, "openrouter").daily_exhausted()


def test_groq_counts_per_model_and_reports_the_day_in_go_durations() -> None:
    clock = Clock()
    book = LimitBook(clock)
    v = book.admit("groq", "k", "openai/gpt-oss-120b", 9000)  # larger than the 8K tokens per minute
    assert v is not None and v.status == 429 and "retry-after" in v.headers
    v = book.admit("groq", "k", "openai/gpt-oss-120b", 1000)
    assert v is not None and v.status == 200
    got = parse(v.headers, clock.t, "groq")
    assert [(r.unit, r.window, r.remaining) for r in got.readings] == [("requests", "day", 999), ("tokens", "minute", 7000)]
    assert book.admit("groq", "k", "llama-3.1-8b-instant", 1000).status == 200  # type: ignore[union-attr]


def test_gemini_refuses_with_retry_info_and_mistral_one_at_a_time() -> None:
    clock = Clock()
    book = LimitBook(clock)
    for _ in range(10):
        book.release(book.admit("gemini", "k", "gemini-2.5-flash", 10))
    v = book.admit("gemini", "k", "gemini-2.5-flash", 10)
    assert v is not None and v.status == 429
    assert orjson.loads(v.body)[0]["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert parse(v.headers, clock.t, "gemini", v.body).retry_at == clock.t + 60
    first = book.admit("mistral", "k", "devstral-small-latest", 10)
    assert first is not None and first.status == 200
    assert book.admit("mistral", "k", "devstral-small-latest", 10).status == 429  # type: ignore[union-attr]
    book.release(first)
    assert book.admit("mistral", "k", "devstral-small-latest", 10).status == 200  # type: ignore[union-attr]


def test_over_http_the_provider_prefix_selects_the_plan() -> None:
    clock = Clock()
    with SimulatorThread() as sim:
        sim.state.limits = LimitBook(clock)
        body = {"model": "nvidia/nemotron-3-super-120b-a12b", "messages": [{"role": "user", "content": "hi"}]}
        url = f"{sim.url}/p/nvidia/v1/chat/completions"
        codes = [httpx.post(url, json=body, headers={"authorization": "Bearer a"}).status_code for _ in range(41)]
        assert codes[:40] == [200] * 40 and codes[40] == 429
        assert httpx.post(url, json=body, headers={"authorization": "Bearer b"}).status_code == 200
        assert httpx.post(f"{sim.url}/v1/chat/completions", json=body).status_code == 200  # no prefix: no plan
