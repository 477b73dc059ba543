"""`xx models scan [--provider P] [--budget N] [--timeout S] [--json]`: read catalogs, probe, score, store.

Runs in this process with its own HTTP session; quotas are rebuilt from today's ledger so the
probes respect what real traffic already spent, and each probe is written to the ledger (agent
`xx-scan`) so the gateway counts it too. The result lands in the state directory, where the
running gateway picks it up within a second (tiers with `rank = "scan"`, context windows).
Exit status: 0 when at least one model is usable, 1 when none is, 2 for a bad config or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from gateway.config import ConfigError, Timeouts, load, paths


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="xx models scan", description=(
        "Read each provider's model catalog, keep the models an agent can use (tool calling, text in and out, "
        "a large enough context window, not expiring soon), probe the best within a request budget (a streamed "
        "turn whose tool call must come back as valid JSON), score them with the ledger's history, and keep the "
        "result for tiers with rank = \"scan\" (m: best scored, f: best scored free)."))
    ap.add_argument("--provider", help="scan only this provider (a [providers.*] name)")
    ap.add_argument("--budget", type=int, help="probe requests at most (default: [scan] budget)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds a probe may wait for its first byte, and between chunks")
    ap.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = ap.parse_args(argv)
    try:
        cfg = load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.provider and args.provider not in cfg.providers:
        print(f"xx models scan: unknown provider {args.provider!r} (providers: {', '.join(cfg.providers) or 'none'})",
              file=sys.stderr)
        return 2
    budget = cfg.scan.budget if args.budget is None else args.budget
    if budget < 0:
        print("xx models scan: --budget must be 0 or more", file=sys.stderr)
        return 2
    report = asyncio.run(_scan(cfg, budget, args.provider, args.timeout))
    from gateway.scan import store

    report["stored"] = kept = store.keep(store.default_path(), report)
    if not kept:
        print("xx models scan: nothing could be probed; the stored scan is left as it was", file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if any(m["usable"] for m in report["models"]) else 1


async def _scan(cfg: Any, budget: int, provider: str | None, wait_s: float) -> dict[str, Any]:
    from gateway.accounting.ledger import Ledger
    from gateway.routing.quotas import Quotas
    from gateway.scan.run import scan

    ledger = Ledger(paths.ledger_file())
    try:
        quotas = Quotas(cfg, time.time)
        now = time.time()
        quotas.restore(ledger.attempts_since(now - now % 86400))
        timeouts = Timeouts(connect=min(10.0, wait_s), first_byte=wait_s, idle=wait_s)
        return await scan(cfg, budget=budget, quotas=quotas, ledger=ledger, only=provider, timeouts=timeouts)
    finally:
        ledger.close()


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:.0f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def render(report: dict[str, Any]) -> str:
    head = ["MODEL", "SCORE", "CONTEXT", "FREE", "TTFT", "TOK/S", "PROVIDER", "WHY NOT"]
    rows = [head]
    for m in report["models"]:
        p = m.get("probe") or {}
        rows.append([m["name"] or m["id"], f"{m['score']:.3f}" if m["usable"] else "✗", _fmt(m.get("context")),
                     "yes" if m.get("free") else "no", _fmt(p.get("ttft_ms"), "ms"), _fmt(p.get("tokens_per_s")),
                     m["provider"], m.get("reason") or ""])
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if report.get("skipped"):
        lines.append("")
        lines.append("skipped before probing:")
        lines += [f"  {s['provider']}/{s['id']}: {s['reason']}" for s in report["skipped"]]
    for name, p in report.get("providers", {}).items():
        if not p["ok"]:
            lines.append(f"provider {name}: {p['error']}")
    usable = sum(1 for m in report["models"] if m["usable"])
    lines.append(f"\n{usable} usable of {len(report['models'])} probed candidates; {report['spent']} of "
                 f"{report['budget']} probe requests spent, {report['catalog_requests']} catalog requests, "
                 f"{report['seconds']}s" + (f"; kept in {paths.state_dir()}" if report.get("stored") else "; not stored"))
    return "\n".join(lines)
