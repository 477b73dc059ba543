"""Prometheus text exposition of the gateway's counters (no client library needed): the one place.

Every label value is escaped (backslash, quote, newline), so a model or agent name from a
config file or a header can never break the exposition or forge a series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.accounting.classify import Aggregate

if TYPE_CHECKING:
    from gateway.runtime import Runtime


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


def prometheus_lines(aggr: Aggregate) -> list[str]:
    """Prometheus text exposition (counters and gauges) for /metrics."""
    out: list[str] = []

    def family(name: str, kind: str, help_: str) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")

    family("xx_cache_requests_total", "counter", "Requests by prompt-cache class.")
    for (cls, model, agent, tier), c in sorted(aggr.labelled.items()):
        out.append(
            f"xx_cache_requests_total{_labels(**{'class': cls}, model=model, agent=agent, tier=tier)} {c.requests}"
        )
    models = sorted(aggr.by["model"].items())
    family(
        "xx_cache_tokens_total",
        "counter",
        "Prompt tokens sent upstream: input (all), read from cache, written to cache.",
    )
    for model, s in models:
        for kind, n in (
            ("input", s.total.input),
            ("read", s.total.cache_read),
            ("write", s.total.cache_write),
        ):
            out.append(f"xx_cache_tokens_total{_labels(kind=kind, model=model)} {n}")
    family("xx_output_tokens_total", "counter", "Output tokens.")
    for model, s in models:
        out.append(f"xx_output_tokens_total{_labels(model=model)} {s.total.output}")
    family("xx_errors_total", "counter", "Requests that ended in an error.")
    for model, s in models:
        out.append(f"xx_errors_total{_labels(model=model)} {s.total.errors}")
    family("xx_cost_usd_total", "counter", "Dollars spent, at the configured prices.")
    for model, s in models:
        out.append(f"xx_cost_usd_total{_labels(model=model)} {s.total.cost_usd:.6f}")
    family(
        "xx_saved_usd_total",
        "counter",
        "Dollars saved by prompt caching and replay, at the configured prices.",
    )
    for model, s in models:
        out.append(f"xx_saved_usd_total{_labels(model=model)} {s.total.saved_usd:.6f}")
    family("xx_cache_hit_ratio", "gauge", "Share of prompt tokens read from cache since start.")
    out.append(f"xx_cache_hit_ratio{_labels(model='all')} {aggr.overall.total.hit_ratio:.4f}")
    for model, s in models:
        out.append(f"xx_cache_hit_ratio{_labels(model=model)} {s.total.hit_ratio:.4f}")
    return out


def model_lines(rt: Runtime) -> list[str]:
    lines = ["# HELP xx_model_up Model state (1 healthy, 0 otherwise).", "# TYPE xx_model_up gauge"]
    for name in rt.config.models:
        state = str(rt.routing.health.row(name).get("state"))
        lines.append(f"xx_model_up{_labels(model=name, state=state)} {int(state == 'healthy')}")
    return lines


def render(rt: Runtime) -> str:
    lines = [
        "# HELP xx_requests_total Proxied requests by outcome.",
        "# TYPE xx_requests_total counter",
    ]
    for outcome, n in sorted(rt.stats.by_outcome.items()):
        lines.append(f"xx_requests_total{_labels(outcome=outcome)} {n}")
    lines += ["# HELP xx_responses_total Responses by HTTP status.", "# TYPE xx_responses_total counter"]
    for status, n in sorted(rt.stats.by_status.items()):
        lines.append(f"xx_responses_total{_labels(status=str(status))} {n}")
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
        "# HELP xx_ledger_spooled Rows in the local spool not yet committed to PostgreSQL (0 without a spool).",
        "# TYPE xx_ledger_spooled gauge",
        f"xx_ledger_spooled {getattr(getattr(rt.ledger, 'journal', None), 'pending', 0)}",
        "# HELP xx_events_dropped_total Event subscribers dropped for being too slow.",
        "# TYPE xx_events_dropped_total counter",
        f"xx_events_dropped_total {rt.broker.dropped}",
    ]
    lines.extend(prometheus_lines(rt.aggregate))
    lines.extend(model_lines(rt))
    return "\n".join(lines) + "\n"
