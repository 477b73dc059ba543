"""`xx gateway token create NAME | list | revoke NAME`: the team's client tokens.

Tokens go where the gateway reads them: the PostgreSQL ledger's database when the config
has `[ledger] url` (every instance of a team gateway sees them within seconds), else
tokens.json in the state directory. The clear token is printed once, at creation; only its
SHA-256 is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xx gateway token", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="make a token for NAME (printed once)")
    c.add_argument("name")
    c.add_argument("--requests-per-day", type=int, default=None, help="budget: requests per UTC day")
    c.add_argument("--usd-per-day", type=float, default=None, help="budget: dollars per UTC day")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    ls = sub.add_parser("list", help="names, hints, budgets and state (never the tokens)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    r = sub.add_parser("revoke", help="refuse NAME's token from now on (within seconds on every instance)")
    r.add_argument("name")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _store() -> Any:
    """The store the targeted config's gateway reads: `xx.dirs` resolves the demo's state dir for the demo's config."""
    from gateway.accounting import tokens
    from gateway.config import load
    from xx import dirs

    cfg = load()
    return tokens.store_for(cfg.ledger.url, dirs.state_dir())


async def _run(args: argparse.Namespace) -> int:

    store = _store()
    try:
        return await _act(args, store, {t.name: t for t in await store.aload()})
    finally:
        await store.aclose()


async def _act(args: argparse.Namespace, store: Any, existing: dict[str, Any]) -> int:
    from gateway.accounting import tokens

    if args.cmd == "create":
        if args.name in existing and existing[args.name].revoked is None:
            print(f"xx: a token named {args.name!r} exists; revoke it first", file=sys.stderr)
            return 1
        clear = tokens.new_token()
        tok = tokens.Token(args.name, tokens.digest(clear), clear[:8], time.time(), None,
                           args.requests_per_day, args.usd_per_day)
        await store.upsert(tok)
        if args.json:
            print(json.dumps({"name": tok.name, "token": clear}))
        else:
            print(f"{clear}\n(token for {tok.name!r}: shown once; clients send it as Authorization: Bearer or x-api-key)")
        return 0
    if args.cmd == "revoke":
        tok = existing.get(args.name)
        if tok is None or tok.revoked is not None:
            print(f"xx: no active token named {args.name!r}", file=sys.stderr)
            return 1
        tok.revoked = time.time()
        await store.upsert(tok)
        print(json.dumps({"name": tok.name, "revoked": True}) if args.json else f"revoked {tok.name!r}")
        return 0
    rows = [{"name": t.name, "hint": t.hint + "…", "created": t.created, "revoked": t.revoked is not None,
             "requests_per_day": t.requests_per_day, "usd_per_day": t.usd_per_day} for t in existing.values()]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            budget = ", ".join(f"{v} {k.replace('_', ' ')}" for k in ("requests_per_day", "usd_per_day")
                               if (v := r[k]) is not None) or "no budget"
            print(f"{r['name']:<20} {r['hint']:<12} {'revoked' if r['revoked'] else 'active':<8} {budget}")
        if not rows:
            print("no tokens (xx gateway token create NAME)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except Exception as exc:  # a config or database problem: say which, no traceback
        from gateway.config import ConfigError

        detail = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ModuleNotFoundError):  # [ledger] url without the team extra
            detail = f"the Python package {exc.name!r} is not installed: pip install 'xx-agents[team]'"
        print(f"xx: token store unavailable: {detail}", file=sys.stderr)
        return 1
