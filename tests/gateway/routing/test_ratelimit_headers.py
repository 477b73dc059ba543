"""Each provider's documented rate-limit header form, read into one shape, and the local counters corrected by it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.config import parse as parse_config
from gateway.routing.quotas import Quotas
from gateway.routing.ratelimit_headers import (
    DAY,
    MINUTE,
    Reading,
    flavor_of,
    parse,
    parse_duration,
    retry_delay_from_body,
)

NOW = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2027, 3, 11, 0, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6m0s", 360.0), ("1.5s", 1.5), ("120ms", 0.12), ("2h3m4s", 7384.0), ("7.66", 7.66), ("0s", 0.0),
     ("59m56.16s", 3596.16), ("soon", None), ("6m0sx", None), ("", None)],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    got = parse_duration(text)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


@pytest.mark.parametrize(
    ("flavor", "headers", "readings", "retry_at"),
    [
        # OpenAI: requests per minute, Go durations.
        ("openai", {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
                    "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-tokens": "150000",
                    "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s"},
         [Reading("requests", MINUTE, 60, 59, NOW + 1), Reading("tokens", MINUTE, 150000, 149984, NOW + 360)], None),
        # Groq: `-requests` is the day (RPD), `-tokens` the minute; retry-after in seconds on a 429.
        ("groq", {"x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "0",
                  "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-limit-tokens": "18000",
                  "x-ratelimit-remaining-tokens": "17997", "x-ratelimit-reset-tokens": "7.66s", "retry-after": "2"},
         [Reading("requests", DAY, 14400, 0, NOW + 179.56), Reading("tokens", MINUTE, 18000, 17997, NOW + 7.66)],
         NOW + 2),
        # Cerebras: explicit -day / -minute suffixes, resets in seconds.
        ("cerebras", {"x-ratelimit-limit-requests-day": "14400", "x-ratelimit-remaining-requests-day": "14370",
                      "x-ratelimit-reset-requests-day": "33011.38", "x-ratelimit-limit-tokens-minute": "60000",
                      "x-ratelimit-remaining-tokens-minute": "59800", "x-ratelimit-reset-tokens-minute": "11.38"},
         [Reading("requests", DAY, 14400, 14370, NOW + 33011.38), Reading("tokens", MINUTE, 60000, 59800, NOW + 11.38)],
         None),
        # Anthropic: RFC 3339 resets; retry-after on a 429.
        ("anthropic", {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
                       "anthropic-ratelimit-requests-reset": "2027-03-10T12:00:30Z",
                       "anthropic-ratelimit-input-tokens-limit": "30000",
                       "anthropic-ratelimit-input-tokens-remaining": "29000",
                       "anthropic-ratelimit-input-tokens-reset": "2027-03-10T12:00:05+00:00", "retry-after": "30"},
         [Reading("requests", MINUTE, 50, 0, NOW + 30), Reading("tokens", MINUTE, 30000, 29000, NOW + 5)], NOW + 30),
        # OpenRouter: X-RateLimit-* with the reset as epoch milliseconds; the free day ends at UTC midnight.
        ("openrouter", {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": str(int(MIDNIGHT * 1000))},
         [Reading("requests", DAY, 50, 0, MIDNIGHT)], None),
        ("openrouter", {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "3",
                        "X-RateLimit-Reset": str(int((NOW + 40) * 1000))},
         [Reading("requests", MINUTE, 20, 3, NOW + 40)], None),
        # retry-after-ms (OpenAI SDK convention) wins over retry-after; HTTP-date retry-after.
        ("mistral", {"retry-after-ms": "1500", "retry-after": "9"}, [], NOW + 1.5),
        ("github", {"Retry-After": "Wed, 10 Mar 2027 12:01:00 GMT"}, [], NOW + 60),
        ("nvidia", {"retry-after": "nonsense"}, [], None),
    ],
)
def test_each_documented_form(flavor: str, headers: dict[str, str], readings: list[Reading], retry_at: float | None) -> None:
    got = parse(headers, NOW, flavor)
    assert len(got.readings) == len(readings)
    for g, want in zip(got.readings, readings, strict=True):
        assert (g.unit, g.window, g.limit, g.remaining) == (want.unit, want.window, want.limit, want.remaining)
        assert g.reset_at == pytest.approx(want.reset_at)
    assert got.retry_at == pytest.approx(retry_at) if retry_at is not None else got.retry_at is None


def test_gemini_retry_delay_from_the_body() -> None:
    body = (b'[{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{"@type": '
            b'"type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]}}]')
    assert retry_delay_from_body(body) == 34.0
    got = parse({}, NOW, "gemini", body)
    assert got.retry_at == NOW + 34 and got.exhausted_until() == NOW + 34


@pytest.mark.parametrize(
    ("url", "flavor"),
    [("https://openrouter.ai/api/v1", "openrouter"), ("https://api.groq.com/openai/v1", "groq"),
     ("https://api.cerebras.ai/v1", "cerebras"), ("https://generativelanguage.googleapis.com/v1beta/openai", "gemini"),
     ("https://api.mistral.ai/v1", "mistral"), ("https://integrate.api.nvidia.com/v1", "nvidia"),
     ("https://models.github.ai/inference", "github"), ("https://api.anthropic.com", "anthropic"),
     ("http://127.0.0.1:11434/v1", "openai"), ("http://127.0.0.1:9/p/groq/v1", "groq"),
     ("https://api.groq.com/openai/v1", "groq")],
)
def test_flavor_from_base_url(url: str, flavor: str) -> None:
    assert flavor_of(url) == flavor


TOML = """
[providers.or]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
pool = "free"

[providers.groq]
protocol = "openai"
base_url = "https://api.groq.com/openai/v1"

[pools.free]
rpm = 20
rpd = 50

[models.a]
provider = "or"
id = "a:free"

[models.g]
provider = "groq"
id = "llama"
rpm = 30
rpd = 1000
tpm = 8000

[tiers.t]
letter = "t"
big = ["a", "g"]
"""


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def test_openrouter_headers_correct_the_account_day_and_minute() -> None:
    cfg = parse_config(TOML, env={})
    q = Quotas(cfg, Clock())
    a = cfg.models["a"]
    q.record(a)
    q.correct(a, None, parse({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "8",
                              "X-RateLimit-Reset": str(int(MIDNIGHT * 1000))}, NOW, "openrouter"))
    assert q.snapshot(a)["rpd"]["used"] == 42  # type: ignore[index]  # another tool spent the rest
    q.correct(a, None, parse({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "15",
                              "X-RateLimit-Reset": str(int((NOW + 30) * 1000))}, NOW, "openrouter"))
    assert q.snapshot(a)["rpm"]["used"] == 5  # type: ignore[index]
    q.correct(a, None, parse({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(int(MIDNIGHT * 1000))}, NOW, "openrouter"))
    why = q.check(a)
    assert why is not None and why.until == MIDNIGHT


def test_groq_headers_correct_the_models_own_day() -> None:
    cfg = parse_config(TOML, env={})
    q = Quotas(cfg, Clock())
    g = cfg.models["g"]
    q.correct(g, None, parse({"x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "997",
                              "x-ratelimit-reset-requests": "2m0s"}, NOW, "groq"))
    assert q.snapshot(g)["rpd"]["used"] == 3  # type: ignore[index]
    q.correct(g, None, parse({"x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "1000"},
                             NOW, "groq"))
    assert q.snapshot(g)["rpd"]["used"] == 0  # type: ignore[index]  # converges down as well as up


def test_openrouter_key_endpoint_free_day_counter() -> None:
    from gateway.routing.ratelimit_headers import from_key_endpoint

    doc = {"data": {"label": "k", "is_free_tier": True, "free_model_daily_requests": {"used": 12, "limit": 50,
                                                                                         "remaining": 38}}}
    got = from_key_endpoint(doc, NOW)
    assert [(r.unit, r.window, r.limit, r.remaining, r.reset_at, r.scope) for r in got.readings] == [
        ("requests", DAY, 50, 38, MIDNIGHT, "account")]
    assert from_key_endpoint({"data": {"free_model_daily_requests": {"used": 50, "limit": 50}}}, NOW).readings[0].remaining == 0
    assert from_key_endpoint({"data": {"limit": None}}, NOW).empty and from_key_endpoint([], NOW).empty


def test_token_readings_raise_the_minutes_tokens_never_lower_them() -> None:
    cfg = parse_config(TOML, env={})
    q = Quotas(cfg, Clock())
    g = cfg.models["g"]
    q.record(g, 1000)
    q.correct(g, None, parse({"x-ratelimit-limit-tokens": "8000", "x-ratelimit-remaining-tokens": "5000",
                              "x-ratelimit-reset-tokens": "20s"}, NOW, "groq"))
    assert q.snapshot(g)["tpm"]["used"] == 3000  # type: ignore[index]  # the provider counted 3000
    q.correct(g, None, parse({"x-ratelimit-limit-tokens": "8000", "x-ratelimit-remaining-tokens": "7900"}, NOW, "groq"))
    assert q.snapshot(g)["tpm"]["used"] == 3000  # type: ignore[index]


def test_cerebras_and_anthropic_forms_correct_the_model_too() -> None:
    toml = TOML + """
[providers.cb]
protocol = "openai"
base_url = "https://api.cerebras.ai/v1"

[providers.an]
protocol = "anthropic"
base_url = "https://api.anthropic.com"

[models.c]
provider = "cb"
id = "gpt-oss-120b"
rpd = 14400

[models.s]
provider = "an"
id = "claude-sonnet-4-6"
rpm = 50
"""
    cfg = parse_config(toml, env={})
    q = Quotas(cfg, Clock())
    c, s = cfg.models["c"], cfg.models["s"]
    q.correct(c, None, parse({"x-ratelimit-limit-requests-day": "14400", "x-ratelimit-remaining-requests-day": "14000",
                              "x-ratelimit-reset-requests-day": "3600.5"}, NOW, "cerebras"))
    assert q.snapshot(c)["rpd"]["used"] == 400  # type: ignore[index]
    q.correct(s, None, parse({"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
                              "anthropic-ratelimit-requests-reset": "2027-03-10T12:00:30Z"}, NOW, "anthropic"))
    why = q.check(s)
    assert why is not None and why.until == NOW + 30  # at 0 until the reset the provider named
