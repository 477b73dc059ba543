"""Prometheus text exposition of the gateway's counters (no client library needed)."""

from __future__ import annotations

from gateway.runtime import Runtime


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(rt: Runtime) -> str:
    lines = [
        "# HELP xx_requests_total Proxied requests by outcome.",
        "# TYPE xx_requests_total counter",
    ]
    for outcome, n in sorted(rt.stats.by_outcome.items()):
        lines.append(f'xx_requests_total{{outcome="{_esc(outcome)}"}} {n}')
    lines += ["# HELP xx_responses_total Responses by HTTP status.", "# TYPE xx_responses_total counter"]
    for status, n in sorted(rt.stats.by_status.items()):
        lines.append(f'xx_responses_total{{status="{status}"}} {n}')
    lines += [
        "# HELP xx_in_flight Requests being served now.",
        "# TYPE xx_in_flight gauge",
        f"xx_in_flight {rt.in_flight}",
        "# HELP xx_uptime_seconds Seconds since the gateway started.",
        "# TYPE xx_uptime_seconds gauge",
        f"xx_uptime_seconds {rt.clock() - rt.started:.3f}",
        "# HELP xx_ledger_rows_total Exchanges committed to the ledger.",
        "# TYPE xx_ledger_rows_total counter",
        f"xx_ledger_rows_total {rt.ledger.written if rt.ledger else 0}",
        "# HELP xx_ledger_failed_total Exchanges that could not be committed to the ledger.",
        "# TYPE xx_ledger_failed_total counter",
        f"xx_ledger_failed_total {rt.ledger.failed if rt.ledger else 0}",
        "# HELP xx_events_dropped_total Event subscribers dropped for being too slow.",
        "# TYPE xx_events_dropped_total counter",
        f"xx_events_dropped_total {rt.broker.dropped}",
    ]
    lines.extend(rt.extra_metrics())
    return "\n".join(lines) + "\n"
