"""Per-model circuit breakers, rate-limit cooldowns and rolling stats.

A free-tier agent session lives or dies by how fast the gateway stops calling a model that
is failing and how soon it tries it again. So a model is skipped for three distinct reasons,
kept apart because they end differently:

- *breaker open*: `failures` consecutive failures (or one 401/403: a bad key never heals by
  retrying) open it for `cooldown_s`; then exactly one request may probe it (half-open),
  and that probe alone decides whether it closes or re-opens.
- *cooling down*: the upstream told us how long to wait (Retry-After and friends); we wait
  exactly that long and then the model is simply back, no probe needed.
- *half-open probe in flight*: someone is already testing the model; others keep away.

No I/O and no tasks: the clock is injected, time-driven transitions (open → half-open,
cooling → healthy) are observed lazily, and `poll()` lets the gateway surface them.
"""

from __future__ import annotations

import email.utils
import statistics
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gateway.config import Breaker
from gateway.routing.ratelimit_headers import parse_duration

WINDOW = 50  # rolling outcomes kept per model for success rate and latency percentiles
# Statuses that say the request was bad, not the model: they must not trip a breaker.
REQUEST_FAULTS = frozenset({400, 413, 422})
AUTH_FAULTS = frozenset({401, 403})


@dataclass(frozen=True)
class Unavailable:
    """Why a model is skipped right now, and when (epoch seconds) it comes back if known."""

    reason: str
    until: float | None = None


@dataclass
class _State:
    breaker: str = "closed"  # closed | open (half-open is "open" past open_until)
    open_until: float = 0.0
    open_reason: str = ""
    probe: bool = False  # a half-open probe has been claimed and not yet answered
    consecutive: int = 0
    cool_until: float = 0.0
    cool_reason: str = ""
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    ttfbs: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    requests: int = 0
    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    seen_state: str = "healthy"


class Health:
    """Breakers and stats for every model the gateway has called, keyed by model name."""

    def __init__(
        self,
        breaker: Breaker,
        clock: Callable[[], float],
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.breaker = breaker
        self.clock = clock
        self.on_change = on_change
        self._models: dict[str, _State] = {}

    def _get(self, model: str) -> _State:
        st = self._models.get(model)
        if st is None:
            st = self._models[model] = _State()
        return st

    # -- queries -----------------------------------------------------------------------

    def unavailable(self, model: str) -> Unavailable | None:
        """None when a request may go to `model` now (call `begin` right before sending it)."""
        st = self._models.get(model)
        if st is None:
            return None
        now = self.clock()
        self._observe(model, st, now)
        if st.breaker == "open":
            if now < st.open_until:
                return Unavailable(f"breaker open ({st.open_reason})", st.open_until)
            if st.probe:
                return Unavailable("half-open probe in flight", None)
        if now < st.cool_until:
            return Unavailable(f"cooling down ({st.cool_reason})", st.cool_until)
        return None

    def state(self, model: str) -> str:
        """healthy | degraded | cooling | open | half_open."""
        st = self._models.get(model)
        return "healthy" if st is None else self._state(st, self.clock())

    def score(self, model: str) -> tuple[float, float]:
        """Sort key for health-ranked tiers: best success rate first, then fastest p50.

        A model never called scores as perfect but slowest, so it is tried after proven
        models and before failing ones.
        """
        st = self._models.get(model)
        rate = _rate(st) if st else None
        p50 = _median(st.latencies) if st else None
        return (-(1.0 if rate is None else rate), float("inf") if p50 is None else p50)

    def row(self, model: str) -> dict[str, object]:
        """The model's line in /xx/models and the dashboard."""
        st = self._models.get(model) or _State()
        now = self.clock()
        state = self._state(st, now)
        detail, until = "", None
        if state == "open":
            detail, until = f"breaker open ({st.open_reason})", st.open_until
        elif state == "half_open":
            detail = "half-open probe in flight" if st.probe else "half-open: next request probes"
        elif state == "cooling":
            detail, until = f"cooling down ({st.cool_reason})", st.cool_until
        elif state == "degraded":
            detail = f"{st.consecutive} consecutive failure(s)" if st.consecutive else "low success rate"
        return {
            "state": state,
            "detail": detail,
            "until": until,
            "success_rate": _rate(st),
            "requests": st.requests,
            "failures": st.failures,
            "p50_ms": _median(st.latencies),
            "ttfb_p50_ms": _median(st.ttfbs),
            "last_error": st.last_error,
            "last_error_at": st.last_error_at,
        }

    def models(self) -> list[str]:
        return list(self._models)

    # -- events ------------------------------------------------------------------------

    def begin(self, model: str) -> bool:
        """Claim the right to send a request now; False when the model must be skipped.

        Past an open breaker's cooldown the first caller gets the half-open probe and every
        other caller is refused until that probe ends (`success` or `failure`).
        """
        st = self._get(model)
        now = self.clock()
        if st.breaker == "open":
            if now < st.open_until or st.probe:
                return False
            st.probe = True
            self._observe(model, st, now)
            return True
        return now >= st.cool_until

    def success(self, model: str, ms: float, ttfb_ms: float | None = None) -> None:
        st = self._get(model)
        st.requests += 1
        st.outcomes.append(True)
        st.latencies.append(ms)
        if ttfb_ms is not None:
            st.ttfbs.append(ttfb_ms)
        st.consecutive = 0
        # Any success proves the model answers: close the breaker whoever was probing.
        st.breaker, st.probe, st.open_until = "closed", False, 0.0
        self._observe(model, st, self.clock())

    def failure(self, model: str, status: int | None, error: str, retry_after_s: float | None = None) -> None:
        """Record a failed attempt. A 429 with a reset time cools the model instead of counting
        against its breaker: the model is fine, only our budget with it is spent."""
        st = self._get(model)
        now = self.clock()
        st.requests += 1
        st.failures += 1
        st.outcomes.append(False)
        st.last_error = f"{status} {error}" if status else error
        st.last_error_at = now
        if retry_after_s is not None:
            self._cool(st, now, retry_after_s, f"{status} retry-after {_fmt_s(retry_after_s)}" if status else error)
        # In half-open any failure is the probe's answer, even from a caller that skipped begin().
        was_probe = st.breaker == "open" and (st.probe or now >= st.open_until)
        if was_probe:
            st.probe = False
        if status in REQUEST_FAULTS or (status == 429 and retry_after_s is not None):
            self._observe(model, st, now)
            return
        st.consecutive += 1
        if status in AUTH_FAULTS:
            self._open(st, now, f"{status}: bad or missing API key")
        elif was_probe:
            self._open(st, now, f"probe failed: {st.last_error}")
        elif st.breaker == "closed" and st.consecutive >= self.breaker.failures:
            self._open(st, now, f"{st.consecutive} consecutive failures, last {st.last_error}")
        self._observe(model, st, now)

    def abandon(self, model: str) -> None:
        """A claimed attempt ended with no answer either way (client gone, cancelled, gateway bug).

        It proves nothing about the model, so nothing is counted; but a half-open probe it held
        is released, or the model would stay "probe in flight" until someone resets it by hand.
        """
        st = self._models.get(model)
        if st is not None and st.probe:
            st.probe = False
            self._observe(model, st, self.clock())

    def reset(self, model: str) -> None:
        """Forget the breaker, cooldown and rolling window (totals stay): the user says it is fixed."""
        st = self._get(model)
        st.breaker, st.probe, st.open_until, st.consecutive, st.cool_until = "closed", False, 0.0, 0, 0.0
        st.outcomes.clear()
        st.latencies.clear()
        st.ttfbs.clear()
        self._observe(model, st, self.clock())

    def poll(self) -> list[str]:
        """Surface time-driven changes (a breaker reaching half-open, a cooldown ending).

        Fires `on_change` for each and returns their names; the gateway calls this once a
        second so the dashboard sees a model come back without traffic.
        """
        now = self.clock()
        return [m for m, st in self._models.items() if self._observe(m, st, now)]

    # -- internals ---------------------------------------------------------------------

    def _open(self, st: _State, now: float, reason: str) -> None:
        st.breaker, st.probe, st.open_until, st.open_reason = "open", False, now + self.breaker.cooldown_s, reason

    def _cool(self, st: _State, now: float, seconds: float, reason: str) -> None:
        st.cool_until, st.cool_reason = now + max(seconds, 0.0), reason

    def _state(self, st: _State, now: float) -> str:
        if st.breaker == "open":
            return "open" if now < st.open_until else "half_open"
        if now < st.cool_until:
            return "cooling"
        rate = _rate(st)
        if st.consecutive or (rate is not None and len(st.outcomes) >= 5 and rate < 0.8):
            return "degraded"
        return "healthy"

    def _observe(self, model: str, st: _State, now: float) -> bool:
        state = self._state(st, now)
        if state == st.seen_state:
            return False
        st.seen_state = state
        if self.on_change is not None:
            self.on_change(model)
        return True


def _rate(st: _State) -> float | None:
    return sum(st.outcomes) / len(st.outcomes) if st.outcomes else None


def _median(values: deque[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt_s(seconds: float) -> str:
    return f"{seconds:g}s"


# -- reset headers ---------------------------------------------------------------------



def _http_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0) if when.tzinfo else None


def _rfc3339(text: str, now: float) -> float | None:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(when.timestamp() - now, 0.0) if when.tzinfo else None


def _epoch_or_delta(text: str, now: float) -> float | None:
    """OpenRouter's `X-RateLimit-Reset` is epoch milliseconds; others send epoch seconds or a delta."""
    try:
        value = float(text)
    except ValueError:
        return parse_duration(text)
    if value > 1e11:
        return max(value / 1000.0 - now, 0.0)
    if value > 1e9:
        return max(value - now, 0.0)
    return max(value, 0.0)


def retry_after_from_headers(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before calling the model again, from a rate-limited response's headers.

    Explicit Retry-After wins; otherwise the reset time of whichever limit is exhausted
    (remaining == 0), or the longest reset when the response does not say which one is.
    """
    h = {k.lower(): v for k, v in headers.items()}
    if (ms := h.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    if (ra := h.get("retry-after")) is not None:
        try:
            return max(float(ra), 0.0)
        except ValueError:
            if (secs := _http_date(ra, now)) is not None:
                return secs
    resets: list[tuple[bool, float]] = []
    for kind in ("requests", "tokens"):
        if (v := h.get(f"x-ratelimit-reset-{kind}")) is not None and (s := parse_duration(v)) is not None:
            resets.append((h.get(f"x-ratelimit-remaining-{kind}") == "0", s))
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        if (v := h.get(f"anthropic-ratelimit-{kind}-reset")) is not None and (s := _rfc3339(v, now)) is not None:
            resets.append((h.get(f"anthropic-ratelimit-{kind}-remaining") == "0", s))
    if (v := h.get("x-ratelimit-reset")) is not None and (s := _epoch_or_delta(v, now)) is not None:
        resets.append((h.get("x-ratelimit-remaining") == "0", s))
    if not resets:
        return None
    exhausted = [s for spent, s in resets if spent]
    return max(exhausted or [s for _, s in resets])
