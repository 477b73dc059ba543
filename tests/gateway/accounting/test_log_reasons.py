"""A failed request's log line says why, on one bounded line (issue 12: `ERROR 401` alone helped nobody)."""

from __future__ import annotations

from gateway.accounting.classify import LOG_REASON_MAX, log_line
from gateway.exchange import Attempt, Exchange


def failed(**kw: object) -> Exchange:
    base: dict[str, object] = {"agent": "claude", "tier": "free", "role": "big", "requested_model": "xx-big",
                               "status": 401, "outcome": "error"}
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


def test_the_error_follows_the_status() -> None:
    line = log_line(failed(error="the xx gateway has no API key for tier 'free' (big): m: no API key "
                                 "($OPENROUTER_API_KEY unset); set the variable and retry"))
    assert line.startswith("NOUSAGE xx-big [big] claude ERROR 401: the xx gateway has no API key")
    assert "$OPENROUTER_API_KEY unset" in line


def test_the_last_attempts_error_when_the_exchange_has_none_and_one_line_bounded() -> None:
    e = failed(status=502, attempts=[Attempt("a", "p", "error", 429, error="rate limited"),
                                     Attempt("b", "p", "error", 502, error="bad\ngateway  " + "x" * 1000)])
    line = log_line(e)
    assert "\n" not in line and "ERROR 502: bad gateway xxx" in line
    assert line.endswith("…") and len(line.split("ERROR 502: ", 1)[1]) == LOG_REASON_MAX


def test_a_success_carries_no_reason() -> None:
    assert ": " not in log_line(failed(status=200, outcome="ok", error=None))
