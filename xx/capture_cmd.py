"""`xx capture on|off|status|tail|show ID [--json]`: the gateway's wire capture.

`on`/`off` create or remove a flag file the running gateway checks once a second (no restart,
no config edit); `[capture] enabled = true` in the config turns it on for good. `tail` lists the
last exchanges captured, `show ID` prints one whole (an id prefix is enough): the file to attach
to a bug report about a translation. Secrets are scrubbed when the gateway writes, not here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gateway.accounting import capture
from gateway.config import ConfigError, load
from xx import dirs


def _config_enabled() -> bool:
    try:
        return load().capture.enabled
    except (ConfigError, OSError):
        return False


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    ups = r.get("upstream") or []
    return {"id": r.get("id"), "started": r.get("started"), "agent": r.get("agent"), "dialect": r.get("dialect") or r.get("endpoint"),
            "models": [u.get("model") for u in ups], "status": r.get("status"), "outcome": r.get("outcome"),
            "request_bytes": (r.get("client_request") or {}).get("bytes"),
            "response_bytes": (r.get("client_response") or {}).get("bytes")}


def _line(s: dict[str, Any]) -> str:
    t = time.strftime("%H:%M:%S", time.localtime(s["started"])) if s.get("started") else "--:--:--"
    models = ",".join(m for m in s["models"] if m) or "-"
    return (f"{t}  {s['id']}  {s['agent'] or '-':<9} {s['dialect'] or '-':<10} {models:<28} "
            f"{s['status'] or '-':>3} {s['request_bytes'] or 0:>8}B in {s['response_bytes'] or 0:>8}B out")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xx capture", description="Wire capture of the gateway's exchanges "
                                "(client request, upstream requests and bytes, client response), secrets scrubbed.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, text in (("on", "start capturing (the running gateway notices within a second)"),
                       ("off", "stop capturing (the config's [capture] enabled still wins)"),
                       ("status", "on or off, where the file is and how big")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--json", action="store_true", help="one JSON object")
    sp = sub.add_parser("tail", help="the last exchanges captured")
    sp.add_argument("-n", type=int, default=20, help="how many (default 20)")
    sp.add_argument("--json", action="store_true", help="one JSON object per line")
    sp = sub.add_parser("show", help="one captured exchange, whole")
    sp.add_argument("id", help="an exchange id (from tail, the dashboard or x-xx-exchange); a prefix is enough")
    sp.add_argument("--json", action="store_true", help="compact JSON instead of indented")
    return p


def _status(state: Path) -> dict[str, Any]:
    f = capture.capture_file(state)
    return {"on": capture.flag_file(state).exists() or _config_enabled(), "flag": capture.flag_file(state).exists(),
            "config": _config_enabled(), "file": str(f), "bytes": f.stat().st_size if f.exists() else 0}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state = dirs.state_dir()  # the targeted gateway's: the demo's for the demo's config
    flag = capture.flag_file(state)
    if args.cmd in ("on", "off", "status"):
        if args.cmd == "on":
            flag.parent.mkdir(parents=True, exist_ok=True)
            flag.touch()
        elif args.cmd == "off":
            flag.unlink(missing_ok=True)
        s = _status(state)
        if args.json:
            print(json.dumps(s))
        else:
            why = " (the config's [capture] enabled = true keeps it on)" if args.cmd == "off" and s["config"] else ""
            print(f"capture is {'on' if s['on'] else 'off'}{why}: {s['file']} ({s['bytes']} bytes)")
        return 0
    records = list(capture.read_records(state))
    if args.cmd == "tail":
        for r in records[-max(args.n, 0):] if args.n else []:
            s = _summary(r)
            print(json.dumps(s) if args.json else _line(s))
        if not records and not args.json:
            print(f"nothing captured yet ({capture.capture_file(state)}); `xx capture on` starts it", file=sys.stderr)
        return 0
    found = [r for r in records if str(r.get("id", "")).startswith(args.id)]
    if not found:
        print(f"xx capture: no captured exchange with id {args.id!r}", file=sys.stderr)
        return 1
    print(json.dumps(found[-1], ensure_ascii=False, indent=None if args.json else 2))
    return 0
