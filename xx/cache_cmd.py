"""`xx cache stats|ls|clear [--json]`: inspect or clear the exact replay cache.

Reads the SQLite file directly, so it works while the gateway is down (and while it is up:
the file is in WAL mode). Imports neither Quart nor httpx.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from gateway import config as cfg
from gateway.caching import replay
from xx import dirs


def _settings() -> tuple[float, int]:
    """TTL and cap from the config; the defaults when the config cannot be read."""
    try:
        c = cfg.load().cache
    except (cfg.ConfigError, OSError):
        c = cfg.CacheSettings()
    return c.replay_ttl_s, c.replay_max_entries


def _age(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    s = max(now - ts, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.0f}{unit} ago"
    return f"{s:.0f}s ago"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _print_stats(s: dict[str, Any]) -> None:
    now = time.time()
    print(f"replay cache  {s['path']}")
    print(f"  entries     {s['entries']} (cap {s['max_entries']}, {s['expired']} expired)")
    print(f"  size        {_size(s['bytes'])}")
    print(f"  replays     {s['hits_stored']}")
    print(f"  oldest      {_age(s['oldest'], now)}")
    print(f"  last used   {_age(s['last_used'], now)}")
    print(f"  ttl         {s['ttl_s']:.0f}s")


def _print_ls(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("the replay cache is empty")
        return
    now = time.time()
    print(
        f"{'KEY':<12} {'DIALECT':<9} {'TIER':<10} {'MODEL':<22} {'KIND':<6} {'SIZE':>9} {'HITS':>5}  LAST USED"
    )
    for r in rows:
        kind = "sse" if r["stream"] else "json"
        flag = "  (expired)" if r["expired"] else ""
        print(
            f"{r['key'][:12]:<12} {r.get('dialect') or r.get('protocol') or '-':<9} {r['tier'] or '-':<10} {(r['model'] or '-')[:22]:<22}"
            f" {kind:<6} {_size(r['bytes']):>9} {r['hits']:>5}  {_age(r['last_used'], now)}{flag}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xx cache", description="Inspect or clear the exact replay cache.")
    parser.add_argument(
        "--path", type=Path, help="the cache file (default: %(default)s)",
        default=dirs.cache_dir() / replay.default_path().name,  # the targeted gateway's (xx.dirs)
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, text in (("stats", "counts, size and age"), ("ls", "entries, most recently used first")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true", help="one JSON document for machines")
        if name == "ls":
            p.add_argument("-n", "--limit", type=int, default=50, help="at most N entries (default 50)")
    p = sub.add_parser("clear", help="delete entries")
    p.add_argument("--expired", action="store_true", help="only the entries past their TTL")
    p.add_argument("--json", action="store_true", help="one JSON document for machines")
    args = parser.parse_args(argv)

    ttl_s, max_entries = _settings()
    if not args.path.exists():
        empty: dict[str, Any] = {"path": str(args.path), "entries": 0, "exists": False}
        if args.json:
            print(
                json.dumps(
                    [] if args.cmd == "ls" else {**empty, "cleared": 0} if args.cmd == "clear" else empty
                )
            )
        else:
            print(f"no replay cache yet at {args.path}")
        return 0

    cache = replay.ReplayCache(args.path, ttl_s=ttl_s, max_entries=max_entries)
    try:
        if args.cmd == "stats":
            s = cache.stats()
            s.pop("session", None)  # this process's counters say nothing about the gateway
            if args.json:
                print(json.dumps(s))
            else:
                _print_stats(s)
        elif args.cmd == "ls":
            rows = cache.entries(args.limit)
            if args.json:
                print(json.dumps(rows))
            else:
                _print_ls(rows)
        else:
            n = cache.clear(expired_only=args.expired)
            if args.json:
                print(json.dumps({"path": str(args.path), "cleared": n}))
            else:
                print(
                    f"cleared {n} {'expired ' if args.expired else ''}entr{'y' if n == 1 else 'ies'} from {args.path}"
                )
    except sqlite3.DatabaseError as exc:
        print(f"xx cache: cannot read {args.path}: {exc}", file=sys.stderr)
        return 1
    finally:
        cache.close()
    return 0
