"""Free-plan limits enforced by the simulator, per key and per account, answered with each provider's real headers.

A provider is addressed as `/p/<provider>/v1/...` so one simulator plays several providers;
the key is the request's Authorization (or x-api-key) value, and every key is its own
account. Each plan lists account-wide limits (OpenRouter's :free pool, Mistral's one request
at a time, NVIDIA's 40/minute) and per-model limits (Groq, Cerebras, Gemini, GitHub count per
model). A refused request gets a 429 shaped as that provider sends it: OpenRouter's
X-RateLimit-* with a ms-epoch reset, Groq's and Cerebras' x-ratelimit-* forms, Gemini's
RESOURCE_EXHAUSTED body with a RetryInfo delay, GitHub's retry-after. The numbers mirror the
default config's (their sources are cited there). Pure bookkeeping with an injected clock:
the server calls `admit` before answering and `release` when the answer is done.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

MINUTE, DAY = 60.0, 86400.0


@dataclass(frozen=True)
class Limit:
    unit: str  # "requests" | "tokens"
    window: float  # MINUTE | DAY
    limit: int


@dataclass(frozen=True)
class FreePlan:
    flavor: str
    account: tuple[Limit, ...] = ()
    per_model: tuple[Limit, ...] = ()  # the default for every model of the provider
    models: Mapping[str, tuple[Limit, ...]] = field(default_factory=dict)  # overrides by model id
    concurrency: int | None = None  # requests in flight at once per account
    day_offset_h: float = 0.0  # the provider's day starts this many hours after 00:00 UTC (Pacific: 8)


def _r(window: float, n: int) -> Limit:
    return Limit("requests", window, n)


def _t(window: float, n: int) -> Limit:
    return Limit("tokens", window, n)


PUBLISHED: dict[str, FreePlan] = {
    "openrouter": FreePlan("openrouter", account=(_r(MINUTE, 20), _r(DAY, 50))),
    "groq": FreePlan("groq", per_model=(_r(MINUTE, 30), _r(DAY, 1000), _t(MINUTE, 8000)), models={
        "llama-3.3-70b-versatile": (_r(MINUTE, 30), _r(DAY, 1000), _t(MINUTE, 12000)),
        "llama-3.1-8b-instant": (_r(MINUTE, 30), _r(DAY, 14400), _t(MINUTE, 6000)),
    }),
    "cerebras": FreePlan("cerebras", per_model=(_r(MINUTE, 5), _t(MINUTE, 30000), _t(DAY, 1_000_000))),
    "gemini": FreePlan("gemini", per_model=(_r(MINUTE, 10), _r(DAY, 250), _t(MINUTE, 250000)), models={
        "gemini-2.5-flash-lite": (_r(MINUTE, 15), _r(DAY, 1000), _t(MINUTE, 250000)),
    }, day_offset_h=8.0),
    "mistral": FreePlan("mistral", account=(_t(MINUTE, 500000),), concurrency=1),
    "nvidia": FreePlan("nvidia", account=(_r(MINUTE, 40),)),
    "github": FreePlan("github", per_model=(_r(MINUTE, 15), _r(DAY, 150))),
}


@dataclass(frozen=True)
class Verdict:
    status: int  # 200: go ahead; 429: refused
    headers: dict[str, str]
    body: bytes = b""
    hold: tuple[str, str] | None = None  # the concurrency slot to release when the answer is done


class _Counter:
    """Requests and tokens of one (provider, key[, model]) in a sliding minute and the provider's day."""

    def __init__(self) -> None:
        self.minute: deque[tuple[float, int]] = deque()
        self.day = -1
        self.day_requests = 0
        self.day_tokens = 0

    def trim(self, now: float, offset: float) -> None:
        while self.minute and self.minute[0][0] <= now - MINUTE:
            self.minute.popleft()
        day = int((now - offset) // DAY)
        if day != self.day:
            self.day, self.day_requests, self.day_tokens = day, 0, 0

    def used(self, lim: Limit) -> int:
        if lim.window == MINUTE:
            return len(self.minute) if lim.unit == "requests" else sum(t for _, t in self.minute)
        return self.day_requests if lim.unit == "requests" else self.day_tokens

    def resets(self, lim: Limit, now: float, offset: float) -> float:
        if lim.window == DAY:
            return ((now - offset) // DAY + 1) * DAY + offset
        return self.minute[0][0] + MINUTE if self.minute else now

    def add(self, now: float, tokens: int) -> None:
        self.minute.append((now, tokens))
        self.day_requests += 1
        self.day_tokens += tokens


def key_id(headers: Mapping[str, str]) -> str:
    raw = headers.get("authorization") or headers.get("x-api-key") or headers.get("x-goog-api-key") or ""
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


class LimitBook:
    """Enforces `plans` per key; thread-safe (the simulator may be scripted from another thread)."""

    def __init__(self, clock: Callable[[], float], plans: Mapping[str, FreePlan] | None = None) -> None:
        self.clock = clock
        self.plans = dict(PUBLISHED if plans is None else plans)
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str, str], _Counter] = {}
        self._inflight: dict[tuple[str, str], int] = {}
        self.admitted = 0
        self.refused = 0
        self.refusals: dict[str, int] = {}  # "provider: what" -> count, to see which limit bit

    def admit(self, provider: str, key: str, model: str, tokens: int) -> Verdict | None:
        """None when the provider has no plan here; otherwise go ahead (200) or a provider-shaped 429."""
        plan = self.plans.get(provider)
        if plan is None:
            return None
        now, offset = self.clock(), plan.day_offset_h * 3600
        with self._lock:
            checks = self._checks(plan, provider, key, model, now, offset)
            for counter, lim in checks:
                if counter.used(lim) + (tokens if lim.unit == "tokens" else 1) > lim.limit:
                    self._count(provider, f"{lim.unit}/{'day' if lim.window == DAY else 'min'} {lim.limit}")
                    return _refuse(plan, lim, counter, checks, now, offset)
            slot = (provider, key)
            if plan.concurrency is not None and self._inflight.get(slot, 0) >= plan.concurrency:
                self._count(provider, f"concurrency {plan.concurrency}")
                return _refuse(plan, None, None, checks, now, offset)
            for counter in {id(c): c for c, _ in checks}.values():
                counter.add(now, tokens)
            self._inflight[slot] = self._inflight.get(slot, 0) + 1
            self.admitted += 1
            return Verdict(200, _headers(plan, checks, now, offset), hold=slot)

    def key_info(self, provider: str, key: str) -> dict | None:
        """OpenRouter's GET /key document for this key: the free day's counter (None for other providers)."""
        plan = self.plans.get(provider)
        day = next((lim for lim in (plan.account if plan else ()) if lim.unit == "requests" and lim.window == DAY), None)
        if plan is None or plan.flavor != "openrouter" or day is None:
            return None
        with self._lock:
            counter = self._counters.setdefault((provider, key, ""), _Counter())
            counter.trim(self.clock(), plan.day_offset_h * 3600)
            used = counter.used(day)
        daily = {"used": used, "limit": day.limit, "remaining": max(0, day.limit - used)}
        return {"data": {"label": "sim", "is_free_tier": True, "free_model_daily_requests": daily}}

    def _count(self, provider: str, what: str) -> None:
        self.refused += 1
        name = f"{provider}: {what}"
        self.refusals[name] = self.refusals.get(name, 0) + 1

    def release(self, verdict: Verdict | None) -> None:
        if verdict is None or verdict.hold is None:
            return
        with self._lock:
            n = self._inflight.get(verdict.hold, 0) - 1
            if n > 0:
                self._inflight[verdict.hold] = n
            else:
                self._inflight.pop(verdict.hold, None)

    def _checks(self, plan: FreePlan, provider: str, key: str, model: str, now: float,
                offset: float) -> list[tuple[_Counter, Limit]]:
        out = []
        account = self._counters.setdefault((provider, key, ""), _Counter())
        account.trim(now, offset)
        out += [(account, lim) for lim in plan.account]
        own = plan.models.get(model, plan.per_model)
        if own:
            mc = self._counters.setdefault((provider, key, model), _Counter())
            mc.trim(now, offset)
            out += [(mc, lim) for lim in own]
        return out


def _wait(lim: Limit | None, counter: _Counter | None, now: float, offset: float) -> float:
    if lim is None or counter is None:
        return 1.0  # a concurrency refusal: try again in a second
    return max(1.0, counter.resets(lim, now, offset) - now)


def _refuse(plan: FreePlan, lim: Limit | None, counter: _Counter | None, checks: list[tuple[_Counter, Limit]],
            now: float, offset: float) -> Verdict:
    wait = _wait(lim, counter, now, offset)
    headers = _headers(plan, checks, now, offset)
    what = "concurrent requests" if lim is None else f"{lim.unit} per {'day' if lim.window == DAY else 'minute'}"
    message = f"Rate limit exceeded: {what} ({lim.limit if lim else plan.concurrency})"
    if plan.flavor == "openrouter":
        message = "Rate limit exceeded: free-models-per-" + ("day" if lim is not None and lim.window == DAY else "min")
        if lim is not None:
            headers.update({"X-RateLimit-Limit": str(lim.limit), "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(int((now + wait) * 1000))})
    if plan.flavor == "gemini":
        body = orjson.dumps([{"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(wait)}s"}]}}])
        return Verdict(429, headers, body)
    if plan.flavor != "nvidia":  # NVIDIA's page says nothing of headers: send none
        headers["retry-after"] = str(math.ceil(wait))
    body = orjson.dumps({"error": {"message": message, "type": "rate_limit_exceeded", "code": 429}})
    return Verdict(429, headers, body)


def _go(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60)
    h, m = divmod(int(m), 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or h else "") + f"{s:.2f}s"


def _headers(plan: FreePlan, checks: list[tuple[_Counter, Limit]], now: float, offset: float) -> dict[str, str]:
    """The provider's rate-limit headers describing `checks` after this request."""
    h: dict[str, str] = {}
    for counter, lim in checks:
        left, reset = max(0, lim.limit - counter.used(lim)), counter.resets(lim, now, offset) - now
        if plan.flavor == "groq" and (lim.unit, lim.window) in (("requests", DAY), ("tokens", MINUTE)):
            h.update({f"x-ratelimit-limit-{lim.unit}": str(lim.limit), f"x-ratelimit-remaining-{lim.unit}": str(left),
                      f"x-ratelimit-reset-{lim.unit}": _go(reset)})
        elif plan.flavor == "cerebras":
            w = "day" if lim.window == DAY else "minute"
            h.update({f"x-ratelimit-limit-{lim.unit}-{w}": str(lim.limit),
                      f"x-ratelimit-remaining-{lim.unit}-{w}": str(left),
                      f"x-ratelimit-reset-{lim.unit}-{w}": f"{reset:.2f}"})
        elif plan.flavor == "openrouter" and lim.unit == "requests":
            binding = "X-RateLimit-Remaining" not in h or left < int(h["X-RateLimit-Remaining"])
            if binding:
                h.update({"X-RateLimit-Limit": str(lim.limit), "X-RateLimit-Remaining": str(left),
                          "X-RateLimit-Reset": str(int((now + reset) * 1000))})
    return h
