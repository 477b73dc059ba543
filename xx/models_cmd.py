"""`xx models [--json]`: every configured model, its tier roles, live health, score and context window.

`xx models scan` (xx/scan_cmd.py) scores them; the models only a scan found are listed too.

Live health comes from the running gateway's `/xx/models`; with the gateway down the
table still shows what the config says, marked as not live.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from gateway.config import Config, ConfigError, load

STATE_MARK = {"healthy": "✓", "degraded": "~", "cooling": "…", "open": "✗", "half_open": "?", "quota": "⊘",
              "unconfigured": "-"}


def from_config(cfg: Config) -> list[dict[str, Any]]:
    from gateway.scan import store
    from gateway.scan.view import build, model_fields

    view = build(store.load(store.default_path()), cfg)
    rows = []
    found = {n: m for n, m in view.models.items() if n not in cfg.models}  # only the scan knows them (tiers m, f)
    for name, m in {**cfg.models, **found}.items():
        p = cfg.providers.get(m.provider)
        tiers = {t.name: [r for r, names in t.roles.items() if name in names] or (["ranked"] if t.rank == "scan" and
                 name in found else []) for t in cfg.tiers.values()}
        rows.append({"name": name, "provider": m.provider, "id": m.id, "dialect": p.dialect if p else None,
                     "free": m.free, "pool": cfg.pool_of(m), "tiers": {k: v for k, v in tiers.items() if v},
                     "state": "unconfigured" if p and p.api_key_ref and not p.api_key else None, "detail": None,
                     **model_fields(view, m), "discovered": name in found})
    return rows


def fetch(cfg: Config) -> list[dict[str, Any]] | None:
    body = fetch_view(cfg)
    return body.get("models") if body is not None else None


def fetch_view(cfg: Config) -> dict[str, Any] | None:
    """The gateway's whole /xx/models document (models, and pools with their keys), None when down."""
    from xx.supervisor import _get

    try:
        status, body = _get(cfg, "/xx/models", timeout=2.0)
    except (OSError, ValueError):
        return None
    return body if status == 200 and isinstance(body, dict) else None


def pools_from_config(cfg: Config) -> list[dict[str, Any]]:
    """Pools and keys as the config declares them (no usage): what `xx models` shows with the gateway down."""
    from gateway.routing.keys import fingerprint

    out = []
    for name, pool in cfg.pools.items():
        providers = {m.provider for m in cfg.models.values() if m.provider in cfg.providers and cfg.pool_of(m) == name}
        keys = [{"ref": ref, "key": fingerprint(value) or None, "skip": None if value else f"{ref} unset",
                 "rpm": {"used": None, "limit": pool.rpm}, "rpd": {"used": None, "limit": pool.rpd}}
                for p in sorted(providers) for ref, value in cfg.providers[p].keys]
        out.append({"name": name, "provider": ", ".join(sorted(providers)), "rpm": pool.rpm, "rpd": pool.rpd,
                    "tpm": pool.tpm, "max_concurrency": pool.max_concurrency, "keys": keys})
    return out


def render_pools(pools: list[dict[str, Any]], now: float) -> list[str]:
    """One line per pool and key: used/limit per minute and per day, reset, in flight, why skipped."""
    table = [["POOL", "KEY", "RPM", "TODAY", "RESETS", "IN FLIGHT", "SKIPPED BECAUSE"]]
    for p in pools:
        cap = p.get("max_concurrency")
        for k in p.get("keys") or [{}]:
            rpm, rpd = k.get("rpm") or {}, k.get("rpd") or {}
            reset = rpd.get("reset_at")
            resets = "-" if not reset or not rpd.get("limit") else f"in {max(0, int(reset - now)) // 3600}h{max(0, int(reset - now)) % 3600 // 60:02d}m"
            cool = k.get("cooling_until")
            skip = k.get("skip") or (f"cooling {int(cool - now)}s" if cool and cool > now else "")
            flight = k.get("in_flight")
            table.append([p["name"], f"{k.get('ref') or '-'} {k.get('key') or ''}".strip(), _quota(rpm), _quota(rpd),
                          resets, f"{'-' if flight is None else flight}/{cap or '∞'}", skip])
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.0%}"


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.0f}ms"


def _quota(q: Any) -> str:
    if not isinstance(q, dict):
        return "-"
    used = "-" if q.get("used") is None else q["used"]
    return f"{used}/{q['limit']}" if q.get("limit") else str(used)


def render(rows: list[dict[str, Any]], live: bool, color: bool) -> str:
    now = time.time()
    head = ["MODEL", "STATE", "TIERS", "SCORE", "CONTEXT", "OK", "P50", "TTFB", "RPM", "TODAY", "CACHE", "PROVIDER/ID"]
    table = [head]
    for r in rows:
        state = r.get("state") or ("unknown" if not live else "healthy")
        if r.get("until") and r["until"] > now:
            state += f" {int(r['until'] - now)}s"
        tiers = " ".join(f"{t}:{'/'.join(roles)}" for t, roles in r.get("tiers", {}).items())
        table.append([r["name"], f"{STATE_MARK.get(state.split()[0], ' ')} {state}", tiers or "-", _score(r),
                      _ctx(r.get("context")), _pct(r.get("success_rate")), _ms(r.get("p50_ms")), _ms(r.get("ttfb_p50_ms")),
                      _quota(r.get("rpm")), _quota(r.get("rpd")), _pct(r.get("cache_hit_ratio")),
                      f"{r['provider']}/{r['id']}"])
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    lines = []
    for n, row in enumerate(table):
        line = "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        if color and n == 0:
            line = f"\033[1m{line}\033[0m"
        lines.append(line)
        if n and rows[n - 1].get("last_error"):
            lines.append(f"    last error: {rows[n - 1]['last_error']}")
    if not live:
        lines.append("(gateway not running: config only; `xx gateway up` for live health)")
    lines.append(_scanned(rows, now))
    return "\n".join(lines)


def _score(r: dict[str, Any]) -> str:
    if r.get("scan_rejected"):
        return "✗"
    return "-" if r.get("score") is None else f"{r['score']:.2f}"


def _ctx(v: Any) -> str:
    return "-" if not v else f"{v // 1024}k" if v % 1024 == 0 else str(v)


def _scanned(rows: list[dict[str, Any]], now: float) -> str:
    at = next((r["scanned_at"] for r in rows if r.get("scanned_at")), None)
    if at is None:
        return "no model scan yet: `xx models scan` scores the models for tiers m and f"
    age = max(0.0, now - at)
    ago = f"{age / 3600:.1f}h" if age >= 3600 else f"{age / 60:.0f}m"
    rejected = [f"{r['name']} ({r['scan_rejected']})" for r in rows if r.get("scan_rejected")]
    return f"scanned {ago} ago" + (f"; rejected: {'; '.join(rejected)}" if rejected else "")


def main(argv: list[str]) -> int:
    if argv[:1] == ["scan"]:  # `xx models scan`: catalogs, probes, scores (xx/scan_cmd.py)
        from xx import scan_cmd

        return scan_cmd.main(argv[1:])
    ap = argparse.ArgumentParser(prog="xx models", description="Models with their tier roles and live health. "
                                 "`xx models scan --help`: score the providers' models for tiers m and f.")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--url", help="a gateway elsewhere than the config's (e.g. the one `xx demo` started)")
    args = ap.parse_args(argv)
    try:
        cfg = load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.url:
        from urllib.parse import urlsplit

        from gateway.config.record import replace

        u = urlsplit(args.url)
        cfg = replace(cfg, gateway=replace(cfg.gateway, host=u.hostname or "127.0.0.1", port=u.port or 80))
    view = fetch_view(cfg)
    if view is None and args.url:  # asked about that gateway: the config's own view would answer another question
        print(f"xx models: no gateway answers at {args.url}", file=sys.stderr)
        return 1
    live_rows = view.get("models") if view is not None else None
    rows = live_rows if live_rows is not None else from_config(cfg)
    pools = view.get("pools") if view is not None and "pools" in view else pools_from_config(cfg)
    if args.json:
        print(json.dumps({"live": live_rows is not None, "models": rows, "pools": pools}, indent=2))
    else:
        print(render(rows, live_rows is not None, sys.stdout.isatty()))
        if pools:
            print()
            print("\n".join(render_pools(pools, time.time())))
    return 0
