from __future__ import annotations

import email.utils

import pytest

from gateway.config import Breaker
from gateway.routing.health import Health, Unavailable, retry_after_from_headers
from gateway.routing.ratelimit_headers import parse_duration

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
def health(clock: Clock, changes: list[str]) -> Health:
    return Health(Breaker(failures=3, cooldown_s=60), clock, on_change=changes.append)


def test_unknown_model_is_available(health: Health) -> None:
    assert health.unavailable("m") is None
    assert health.row("m")["state"] == "healthy"
    assert health.row("m")["success_rate"] is None


def test_429_retry_after_30_skips_for_exactly_30_s_then_back(health: Health, clock: Clock) -> None:
    health.failure("m", 429, "rate limited", retry_after_s=30)
    u = health.unavailable("m")
    assert u is not None and u.reason.startswith("cooling down") and u.until == T0 + 30
    clock.advance(29.999)
    assert health.unavailable("m") is not None
    assert health.begin("m") is False
    clock.advance(0.001)
    assert health.unavailable("m") is None
    assert health.begin("m") is True
    # a rate limit says nothing bad about the model: the breaker did not count it
    assert health.row("m")["state"] == "healthy"


def test_many_429_with_retry_after_never_open_the_breaker(health: Health, clock: Clock) -> None:
    for _ in range(5):
        health.failure("m", 429, "rate limited", retry_after_s=1)
        clock.advance(1)
    assert health.unavailable("m") is None


def test_the_latest_retry_after_wins(health: Health, clock: Clock) -> None:
    health.failure("m", 429, "pool spent", retry_after_s=30)
    assert health.unavailable("m") == Unavailable("cooling down (429 retry-after 30s)", T0 + 30)
    health.failure("m", 429, "new reset header", retry_after_s=5)
    assert health.unavailable("m").until == T0 + 5  # type: ignore[union-attr]
    clock.advance(5)
    assert health.unavailable("m") is None


def test_three_failures_open_then_one_probe_success_closes(health: Health, clock: Clock) -> None:
    for i in range(2):
        assert health.begin("m")
        health.failure("m", 500, f"boom {i}")
    assert health.unavailable("m") is None, "two failures must not open a breaker of three"
    assert health.row("m")["state"] == "degraded"
    health.failure("m", 502, "bad gateway")
    u = health.unavailable("m")
    assert u is not None and u.reason.startswith("breaker open") and u.until == T0 + 60
    assert health.begin("m") is False
    assert health.row("m")["state"] == "open"

    clock.advance(59.9)
    assert health.unavailable("m") is not None
    clock.advance(0.1)
    assert health.unavailable("m") is None
    assert health.row("m")["state"] == "half_open"
    assert health.begin("m") is True  # the probe
    second = health.unavailable("m")
    assert second == Unavailable("half-open probe in flight", None)
    assert health.begin("m") is False, "exactly one half-open probe"

    health.success("m", ms=120.0, ttfb_ms=40.0)
    assert health.unavailable("m") is None
    assert health.begin("m") and health.begin("m")  # closed: everyone may go
    assert health.row("m")["state"] == "healthy"


def test_probe_failure_reopens_for_a_full_cooldown(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failure("m", 503, "unavailable")
    clock.advance(60)
    assert health.begin("m")
    health.failure("m", 503, "still down")
    u = health.unavailable("m")
    assert u is not None and u.reason.startswith("breaker open (probe failed") and u.until == clock.t + 60
    clock.advance(60)
    assert health.begin("m") is True  # the next probe
    assert health.begin("m") is False


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_opens_at_once(health: Health, status: int) -> None:
    health.failure("m", status, "invalid x-api-key")
    u = health.unavailable("m")
    assert u is not None and "bad or missing API key" in u.reason and u.until == T0 + 60


def test_request_faults_do_not_count(health: Health) -> None:
    for _ in range(5):
        health.failure("m", 400, "prompt too long")
    assert health.unavailable("m") is None
    assert health.row("m")["failures"] == 5


def test_429_without_retry_after_counts_toward_the_breaker(health: Health) -> None:
    for _ in range(3):
        health.failure("m", 429, "upstream rate limited")
    assert health.unavailable("m") is not None


def test_success_resets_the_consecutive_count(health: Health) -> None:
    health.failure("m", 500, "x")
    health.failure("m", 500, "x")
    health.success("m", 10.0)
    health.failure("m", 500, "x")
    health.failure("m", 500, "x")
    assert health.unavailable("m") is None


def test_on_change_fires_on_transitions_and_poll_sees_the_clock(
    health: Health, clock: Clock, changes: list[str]
) -> None:
    health.failure("a", 401, "bad key")
    assert changes == ["a"]
    health.failure("a", 401, "bad key")  # still open: no new change
    assert changes == ["a"]
    assert health.poll() == []
    clock.advance(60)
    assert health.poll() == ["a"]  # open → half_open without any traffic
    assert changes == ["a", "a"]
    health.failure("b", 429, "rate limited", retry_after_s=10)
    assert changes[-1] == "b"
    clock.advance(10)
    assert health.poll() == ["b"]


def test_row_has_rolling_stats(health: Health, clock: Clock) -> None:
    for ms in (100.0, 300.0, 200.0):
        health.success("m", ms, ttfb_ms=ms / 10)
    health.failure("m", 500, "upstream exploded")
    row = health.row("m")
    assert row["requests"] == 4
    assert row["failures"] == 1
    assert row["success_rate"] == 0.75
    assert row["p50_ms"] == 200.0
    assert row["ttfb_p50_ms"] == 20.0
    assert row["last_error"] == "500 upstream exploded"
    assert row["last_error_at"] == T0
    assert row["state"] == "degraded"
    assert set(row) >= {"state", "detail", "until"}


def test_rolling_window_is_bounded(health: Health) -> None:
    for _ in range(1000):
        health.success("m", 1.0)
    health.failure("m", 500, "x")
    row = health.row("m")
    assert row["requests"] == 1001
    assert row["success_rate"] == pytest.approx(49 / 50)


def test_reset_closes_and_clears_cooldown(health: Health, changes: list[str]) -> None:
    health.failure("m", 401, "bad key")
    health.failure("m", 429, "x", retry_after_s=100)
    health.reset("m")
    assert health.unavailable("m") is None
    assert health.row("m")["state"] == "healthy"
    assert health.row("m")["requests"] == 2
    assert changes == ["m", "m"]


def test_score_ranks_success_rate_then_latency(health: Health) -> None:
    health.success("fast", 100.0)
    health.success("slow", 900.0)
    health.success("flaky", 50.0)
    health.failure("flaky", 500, "x")
    order = sorted(["flaky", "never-called", "slow", "fast"], key=health.score)
    assert order == ["fast", "slow", "never-called", "flaky"]


# -- reset headers ---------------------------------------------------------------------


def test_retry_after_seconds_and_case() -> None:
    assert retry_after_from_headers({"Retry-After": "30"}, T0) == 30
    assert retry_after_from_headers({"retry-after": "1.5"}, T0) == 1.5


def test_retry_after_http_date() -> None:
    date = email.utils.formatdate(T0 + 120, usegmt=True)
    assert retry_after_from_headers({"Retry-After": date}, T0) == pytest.approx(120)
    past = email.utils.formatdate(T0 - 120, usegmt=True)
    assert retry_after_from_headers({"Retry-After": past}, T0) == 0


def test_retry_after_ms_wins() -> None:
    assert retry_after_from_headers({"retry-after-ms": "1500", "retry-after": "2"}, T0) == 1.5


def test_openai_reset_durations_pick_the_exhausted_limit() -> None:
    h = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m30s",
        "x-ratelimit-remaining-tokens": "5000",
        "x-ratelimit-reset-tokens": "6ms",
    }
    assert retry_after_from_headers(h, T0) == 90
    h["x-ratelimit-remaining-requests"] = "3"
    h["x-ratelimit-remaining-tokens"] = "0"
    assert retry_after_from_headers(h, T0) == pytest.approx(0.006)
    # remaining unknown: be conservative, wait for the longest
    assert retry_after_from_headers({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "7s"}, T0) == 7


def test_anthropic_rfc3339_reset() -> None:
    h = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:45Z",
        "anthropic-ratelimit-tokens-remaining": "100",
        "anthropic-ratelimit-tokens-reset": "2027-01-15T08:10:00+00:00",
    }
    from datetime import UTC, datetime

    now = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_from_headers(h, now) == 45


def test_openrouter_reset_epoch_ms() -> None:
    h = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int((T0 + 42) * 1000))}
    assert retry_after_from_headers(h, T0) == pytest.approx(42)


def test_no_or_garbage_headers() -> None:
    assert retry_after_from_headers({}, T0) is None
    assert retry_after_from_headers({"content-type": "application/json"}, T0) is None
    assert retry_after_from_headers({"retry-after": "soon", "x-ratelimit-reset-requests": "later"}, T0) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m30s", 90), ("6ms", 0.006), ("20s", 20), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("2m", 120), ("x1s", None), ("", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    got = parse_duration(text)
    assert got == (pytest.approx(seconds) if seconds is not None else None)


def test_half_open_failure_without_begin_still_reopens(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failure("m", 500, "x")
    clock.advance(60)
    health.failure("m", 500, "late answer from a request sent before the breaker opened")
    u = health.unavailable("m")
    assert u is not None and u.reason.startswith("breaker open") and u.until == clock.t + 60


def test_failures_while_open_do_not_extend_it(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failure("m", 500, "x")
    clock.advance(30)
    health.failure("m", 500, "in-flight request failing late")
    assert health.unavailable("m").until == T0 + 60  # type: ignore[union-attr]


def test_abandon_releases_the_probe_and_counts_nothing(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failure("m", 500, "down")
    clock.advance(60)
    assert health.begin("m")  # the probe
    assert not health.begin("m") and health.row("m")["detail"] == "half-open probe in flight"
    before = health.row("m")
    health.abandon("m")  # its client left before the first byte
    after = health.row("m")
    assert after["detail"] == "half-open: next request probes"
    assert (after["requests"], after["failures"]) == (before["requests"], before["failures"])
    assert health.begin("m")  # the next request may probe
    health.abandon("healthy-model")  # nothing claimed: nothing happens
    assert health.row("healthy-model")["state"] == "healthy"
