"""`xx usage [--since 7d|DATE] [--by day|agent|model|tier|provider|key] [--json|--csv]`.

What was asked of which models, what it cost and what the prompt cache saved, from the
ledger. Reads the SQLite file directly (read-only), so it works with the gateway up or down;
the grouping is `gateway.accounting.usage`, the same as `GET /xx/usage`. `--csv` writes plain
numbers (no units, no thousands separators) so a spreadsheet reads them as numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from gateway import config as gconfig
from gateway.accounting import usage
from xx import dirs

HEADINGS = {
    "requests": "requests", "errors": "errors", "error_rate": "err%", "input_tokens": "tokens in",
    "output_tokens": "out", "cache_read": "cache read", "cache_write": "cache write",
    "cost_usd": "cost $", "saved_usd": "saved $",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xx usage",
        description="Requests, tokens, cost and cache savings from the ledger, grouped. Days are UTC days.",
    )
    p.add_argument("--since", default="7d", help="7d, 24h, 30m, 2w, today, or a UTC date YYYY-MM-DD (default 7d)")
    p.add_argument("--by", default="day", choices=usage.BY, help="group by (default day)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object (groups and total)")
    out.add_argument("--csv", action="store_true", help="CSV with plain numbers, a total row last")
    p.add_argument("--ledger", type=Path, help="ledger file (default: the state directory's)")
    return p


def _human(field: str, value: Any) -> str:
    if field in ("cost_usd", "saved_usd"):
        return f"{value:,.4f}"
    if field == "error_rate":
        return f"{value * 100:.1f}"
    return f"{value:,}"


def print_table(report: dict[str, Any]) -> None:
    by = report["by"]
    rows = [[g[by], *(_human(f, g[f]) for f in usage.FIELDS)] for g in report["groups"]]
    rows.append(["total", *(_human(f, report["total"][f]) for f in usage.FIELDS)])
    head = [by, *(HEADINGS[f] for f in usage.FIELDS)]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for n, r in enumerate([head, *rows]):
        if n == len(rows):  # before the total
            print("  ".join("-" * w for w in widths))
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def write_csv(report: dict[str, Any], out: Any) -> None:
    by = report["by"]
    w = csv.writer(out, lineterminator="\n")
    w.writerow([by, *usage.FIELDS])
    for g in [*report["groups"], {by: "total", **report["total"]}]:
        w.writerow([g[by], *(f"{g[f]:.6f}" if isinstance(g[f], float) else g[f] for f in usage.FIELDS)])


def _config_bits(ledger: Path | None) -> tuple[Path, dict[str, Any]]:
    try:
        cfg = gconfig.load()
    except (gconfig.ConfigError, OSError):
        cfg = None
    path = ledger or dirs.state_dir() / "ledger.sqlite3"  # the targeted gateway's (xx.dirs)
    return path, usage.prices_of(cfg, usage.load_catalog()) if cfg is not None else {}


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    now = time.time()
    try:
        since = usage.parse_since(args.since, now)
    except usage.UsageError as e:
        print(f"xx usage: {e}", file=sys.stderr)
        return 2
    path, prices = _config_bits(args.ledger)
    if not path.is_file() and args.ledger:  # a path the user named and mistyped: an error, not "0 requests"
        print(f"xx usage: no ledger at {path}", file=sys.stderr)
        return 1
    if not path.is_file():  # a fresh install: an honest empty report (a `| jq` keeps working), and why on stderr
        print(f"xx usage: no requests yet (the gateway writes {path} once it has served one)", file=sys.stderr)
    rows = usage.read_rows(path, since, now) if path.is_file() else []
    report = usage.summarize(rows, args.by, prices, since=since, until=now)
    report["ledger"] = str(path)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.csv:
        write_csv(report, sys.stdout)
    else:
        start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(since))
        print(f"usage since {start} by {args.by}  ({len(rows)} requests in {path})")
        print_table(report)
    return 0
