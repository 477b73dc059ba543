"""Providers' rate-limit headers, read into one shape: pure, no I/O, no clock of its own.

Every provider says "how much is left and when it comes back" differently, and the local
quota counters converge on the provider's view only if each form is read right:

- `retry-after` (seconds or an HTTP date) and `retry-after-ms` (OpenAI SDK convention);
- OpenAI / Groq / Mistral / GitHub Models: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`,
  resets as Go-style durations ("6m0s", "1.5s", "120ms"); Groq documents its `-requests`
  figures as the *day* (RPD) and `-tokens` as the minute (TPM);
- Cerebras: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}-{day,minute}`, resets in seconds;
- Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
  resets as RFC 3339 times;
- OpenRouter: `X-RateLimit-{Limit,Remaining,Reset}`, reset as epoch *milliseconds*;
- Gemini's OpenAI-compatible endpoint sends no such headers; its 429 body carries a
  `RetryInfo.retryDelay` ("30s") that `retry_delay_from_body` reads;
- OpenRouter's key endpoint (`GET /api/v1/key`) reports the free day's counter: `from_key_endpoint`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

MINUTE, DAY = "minute", "day"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_CEREBRAS = re.compile(r"^x-ratelimit-(limit|remaining|reset)-(requests|tokens)-(minute|day)$")
_RETRY_DELAY = re.compile(rb'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"')


@dataclass(frozen=True)
class Reading:
    """One limit as the provider reports it."""

    unit: str  # "requests" | "tokens"
    window: str | None  # "minute" | "day" | None when the provider does not say
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    scope: str = "model"  # "model": this model's own limit (OpenAI, Groq, Cerebras, ...) | "account" (OpenRouter)


@dataclass(frozen=True)
class RateLimits:
    readings: tuple[Reading, ...] = ()
    retry_at: float | None = None  # from retry-after / retry-after-ms / the body's retryDelay

    @property
    def empty(self) -> bool:
        return not self.readings and self.retry_at is None

    def exhausted_until(self) -> float | None:
        """When the spent limit comes back: the explicit retry time, else the latest reset of a limit at 0."""
        if self.retry_at is not None:
            return self.retry_at
        spent = [r.reset_at for r in self.readings if r.remaining == 0 and r.reset_at is not None]
        return max(spent) if spent else None

    def daily_exhausted(self) -> bool:
        return any(r.window == DAY and r.remaining == 0 for r in self.readings)


def flavor_of(base_url: str) -> str:
    """Which header dialect a provider speaks, from its base URL (host first, then path: the simulator's /p/groq/)."""
    rest = base_url.split("://", 1)[-1].lower()
    host, _, path = rest.partition("/")
    for where in (host, path):
        for needle, flavor in (("openrouter", "openrouter"), ("anthropic", "anthropic"), ("groq", "groq"),
                               ("cerebras", "cerebras"), ("googleapis", "gemini"), ("gemini", "gemini"),
                               ("mistral", "mistral"), ("nvidia", "nvidia"), ("github", "github")):
            if needle in where:
                return flavor
    return "openai"


def parse_duration(text: str) -> float | None:
    """Go-style "6m0s" / "1.5s" / "120ms" / "2h3m" or plain seconds "7.66" -> seconds."""
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def parse_retry_after(h: Mapping[str, str], now: float) -> float | None:
    """Absolute time from retry-after-ms (wins: finer) or retry-after (seconds or an HTTP date)."""
    if (ms := h.get("retry-after-ms")) is not None:
        try:
            return now + max(float(ms), 0.0) / 1000.0
        except ValueError:
            pass
    if (ra := h.get("retry-after")) is not None:
        try:
            return now + max(float(ra), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(ra).timestamp(), now)
            except (TypeError, ValueError, IndexError):
                return None
    return None


def _int(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(float(v))
    except ValueError:
        return None


def _rfc3339(v: str) -> float | None:
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _epoch(v: str, now: float) -> float | None:
    """OpenRouter's ms epoch; tolerate seconds epochs and deltas (other servers)."""
    try:
        x = float(v)
    except ValueError:
        return None
    if x > 1e11:  # milliseconds since the epoch
        return x / 1000.0
    if x > 1e9:  # seconds since the epoch
        return x
    return now + x  # a delta in seconds


def _openai_style(h: Mapping[str, str], now: float, request_window: str | None) -> list[Reading]:
    out = []
    for unit, window in (("requests", request_window), ("tokens", MINUTE)):
        limit, remaining = _int(h.get(f"x-ratelimit-limit-{unit}")), _int(h.get(f"x-ratelimit-remaining-{unit}"))
        reset = h.get(f"x-ratelimit-reset-{unit}")
        secs = parse_duration(reset) if reset is not None else None
        if limit is not None or remaining is not None or secs is not None:
            out.append(Reading(unit, window, limit, remaining, None if secs is None else now + secs))
    return out


def _cerebras(h: Mapping[str, str], now: float) -> list[Reading]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for k, v in h.items():
        if m := _CEREBRAS.match(k):
            found.setdefault((m.group(2), m.group(3)), {})[m.group(1)] = v
    out = []
    for (unit, window), f in sorted(found.items()):
        secs = parse_duration(f["reset"]) if "reset" in f else None
        out.append(Reading(unit, window, _int(f.get("limit")), _int(f.get("remaining")),
                           None if secs is None else now + secs))
    return out


def _anthropic(h: Mapping[str, str]) -> list[Reading]:
    out = []
    for unit in ("requests", "tokens", "input-tokens", "output-tokens"):
        limit, remaining = _int(h.get(f"anthropic-ratelimit-{unit}-limit")), _int(h.get(f"anthropic-ratelimit-{unit}-remaining"))
        reset = h.get(f"anthropic-ratelimit-{unit}-reset")
        at = _rfc3339(reset) if reset else None
        if limit is not None or remaining is not None or at is not None:
            out.append(Reading("requests" if unit == "requests" else "tokens", MINUTE, limit, remaining, at))
    return out


def _openrouter(h: Mapping[str, str], now: float) -> list[Reading]:
    limit, remaining = _int(h.get("x-ratelimit-limit")), _int(h.get("x-ratelimit-remaining"))
    reset = h.get("x-ratelimit-reset")
    at = _epoch(reset, now) if reset else None
    if limit is None and remaining is None and at is None:
        return []
    # The reset says which window spoke: the free per-day counter resets at UTC midnight, hours away.
    window = None if at is None else (DAY if at - now > 120 else MINUTE)
    return [Reading("requests", window, limit, remaining, at, scope="account")]


def parse(headers: Mapping[str, str], now: float, flavor: str = "openai", body: bytes = b"") -> RateLimits:
    """Everything the response says about limits, in absolute times."""
    h = {k.lower(): v for k, v in headers.items()}
    if flavor == "anthropic":
        readings = _anthropic(h)
    elif flavor == "openrouter":
        readings = _openrouter(h, now)
    elif flavor == "cerebras":
        readings = _cerebras(h, now) or _openai_style(h, now, None)
    else:
        readings = _openai_style(h, now, DAY if flavor == "groq" else (MINUTE if flavor == "openai" else None))
    retry_at = parse_retry_after(h, now)
    if retry_at is None and body and (delay := retry_delay_from_body(body)) is not None:
        retry_at = now + delay
    return RateLimits(tuple(readings), retry_at)


def from_key_endpoint(doc: object, now: float) -> RateLimits:
    """OpenRouter's `GET /api/v1/key`: `data.free_model_daily_requests` {used, limit, remaining}, per UTC day.

    The per-minute limit is not reported there; the day's counter is the account's (every key of it).
    """
    data = doc.get("data") if isinstance(doc, dict) else None
    daily = data.get("free_model_daily_requests") if isinstance(data, dict) else None
    if not isinstance(daily, dict):
        return RateLimits()
    limit, remaining = _int(str(daily.get("limit"))), _int(str(daily.get("remaining")))
    if remaining is None and limit is not None and (used := _int(str(daily.get("used")))) is not None:
        remaining = max(0, limit - used)
    if remaining is None:
        return RateLimits()
    midnight = (now // 86400 + 1) * 86400
    return RateLimits((Reading("requests", DAY, limit, remaining, midnight, scope="account"),))


def retry_delay_from_body(body: bytes) -> float | None:
    """Gemini's 429 body: `{"error": {"details": [{"@type": "...RetryInfo", "retryDelay": "30s"}]}}`."""
    m = _RETRY_DELAY.search(body[:65536])
    return float(m.group(1)) if m else None
