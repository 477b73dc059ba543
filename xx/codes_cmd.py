"""`xx codes [--json]`: the table of launch codes, from the profiles and the config in force."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gateway.config import Config, ConfigError, load
from xx import codes, profiles


def table(config: Config, profs: dict[str, profiles.Profile]) -> dict[str, Any]:
    agents = [
        {
            "letter": p.letter, "agent": p.name, "binary": p.binary, "dialect": p.dialect, "verified": p.verified,
            "modes": {m: m in p.modes for m in codes.MODES},
            "unsupported": dict(p.unsupported),
        }
        for p in sorted(profs.values(), key=lambda p: p.letter)
    ]
    tiers = [
        {
            "letter": t.letter, "tier": t.name, "default": t.name == config.gateway.default_tier,
            "big": list(t.roles.get("big", ())), "rank": t.rank,
            "code": f"cip{t.letter}" if t.letter in codes.ROUTES else f"ci{t.letter}",
        }
        for t in sorted(config.tiers.values(), key=lambda t: t.letter)
    ]
    return {"agents": agents, "modes": codes.MODES, "routes": codes.ROUTES, "tiers": tiers, "aliases": dict(config.aliases)}


def cascade(models: list[str], shown: int = 4) -> str:
    """The tier's big-role cascade; a long one is cut with a count, never silently."""
    more = len(models) - shown
    return " > ".join(models[:shown]) + (f" > … +{more} more" if more > 0 else "")


def render(data: dict[str, Any]) -> str:
    out = ["xx <agent><mode>[<route>][<tier>]   e.g. cip = Claude Code, init, proxy", "", "agents:"]
    for a in data["agents"]:
        modes = "".join(m if ok else "-" for m, ok in a["modes"].items())
        note = "" if a["verified"] else "  (unverified profile)"
        out.append(f"  {a['letter']}  {a['agent']:<12} {a['binary']:<9} modes {modes}{note}")
    out += ["", "modes:"] + [f"  {k}  {v}" for k, v in data["modes"].items()]
    out += ["", "routes (third letter; omitted = p):"] + [f"  {k}  {v}" for k, v in data["routes"].items()]
    out += ["", "tiers (after the route; alone in third place unless it is p, b or d):"]
    for t in data["tiers"]:
        what = f"rank by {t['rank']}" if t["rank"] else cascade(t["big"])
        default = "  [default]" if t["default"] else ""
        out.append(f"  {t['letter']}  {t['tier']:<10} {what}{default}   e.g. {t['code']}")
    if data["aliases"]:
        out += ["", "aliases (`xx install` writes them):"]
        out += [f"  {k:<12} {v}" for k, v in data["aliases"].items()]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="xx codes", description="Print the table of launch codes.")
    ap.add_argument("--json", action="store_true", help="machine-readable")
    args = ap.parse_args(argv)
    try:
        data = table(load(), profiles.load_all())
    except (ConfigError, profiles.ProfileError) as exc:
        print(f"xx codes: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.json else render(data))
    return 0
