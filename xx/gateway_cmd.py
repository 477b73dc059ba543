"""`xx gateway up|down|status|logs|restart|run`: the commands around xx.supervisor.

`status` and `up` say what the next launch from this shell would do with the gateway that
answers (attach, restart it, or refuse), from the same decision the launcher makes, so the
two never disagree. `down` and `restart` never stop `xx demo`'s gateway from a shell whose
config is not the demo's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from gateway.config import Config, ConfigError, load, paths
from xx import dirs, preflight
from xx.supervisor import (
    STOP_TIMEOUT_S,
    SupervisorError,
    _get,
    _settle,
    _tail,
    ensure_running,
    port_in_use,
    probe,
    stop,
)


def status(config: Config, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The gateway on the configured port: who it is, whether it is ready, what a launch would do."""
    health = probe(config)
    out: dict[str, Any] = {"running": health is not None, "url": config.gateway.url, "config": config.source,
                           "expected_config": config.source}
    if health is None:
        out["port_in_use"] = port_in_use(config.gateway.host, config.gateway.port)
        return out
    out.update(pid=health["pid"], version=health["version"], uptime_s=health["uptime_s"], health="ok",
               config=health.get("config", config.source), config_hash=health.get("config_hash"),
               demo=bool(health.get("demo")), in_flight=health.get("in_flight"),
               keys={name: fp is not None for name, fp in (health.get("keys") or {}).items()})
    want = preflight.expected(config, os.environ if environ is None else environ)
    out["expected_config"] = want["config"]
    decision = preflight.decide(want, health, port=config.gateway.port, waited=True)
    out["serves_this_config"] = health.get("config") == want["config"] and health.get("config_hash") == want["config_hash"]
    out["next_launch"] = {"action": decision.action, "reason": decision.reason, "fix": decision.fix}
    try:
        code, ready = _get(config, "/ready")
        out["ready"] = code == 200
        out["problems"] = (ready or {}).get("problems", [])
    except (OSError, ValueError):
        out["ready"] = False
    try:
        import psutil

        p = psutil.Process(int(health["pid"]))
        out["rss_mb"] = round(p.memory_info().rss / 1e6, 1)
        out["cpu_s"] = round(sum(p.cpu_times()[:2]), 2)
    except Exception:
        pass
    return out


def _print_status(info: dict[str, Any]) -> None:
    if not info["running"]:
        extra = " (the port is held by another program)" if info.get("port_in_use") else ""
        print(f"xx gateway is not running at {info['url']}{extra}")
        return
    demo = " (xx demo's)" if info.get("demo") else ""
    print(f"xx gateway {info['version']} running at {info['url']}{demo}")
    print(f"  pid {info['pid']}  uptime {_fmt_uptime(info['uptime_s'])}  "
          f"ready {'yes' if info.get('ready') else 'no'}  rss {info.get('rss_mb', '?')} MB")
    print(f"  config {info['config']}")
    keys = info.get("keys") or {}
    if keys:
        print("  keys   " + ", ".join(f"{k} {'set' if v else 'unset'}" for k, v in sorted(keys.items())))
    for problem in info.get("problems", []):
        print(f"  ! {problem}")
    nxt = info.get("next_launch") or {}
    if nxt.get("action") == "restart":
        print(f"  ! the next launch from this shell restarts it: {nxt['reason']}")
    elif nxt.get("action") == "refuse":
        print(f"  ! a launch from this shell would be refused: {nxt['reason']}; {nxt['fix']}")


def _follow(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    with path.open("r", errors="replace") as fh:
        fh.seek(0, os.SEEK_END)
        try:
            while True:
                line = fh.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            return


def _from_runtime_file() -> Config | None:
    """Where the running gateway listens, from the file it wrote at start."""
    from gateway.config.record import replace

    try:
        info = json.loads(paths.runtime_file().read_text())
        base = Config()
        return replace(base, gateway=replace(base.gateway, host=info["host"], port=int(info["port"])))
    except (OSError, ValueError, KeyError):
        return None


def _fmt_uptime(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _demo_guard(config: Config, health: dict[str, Any] | None) -> str | None:
    """Why this shell must not stop the gateway: it is `xx demo`'s. Even with XX_CONFIG set to the
    demo's config (as the README says, to point an agent at it): the demo owns its gateway's life,
    and a demo whose gateway vanished would have nothing to show."""
    if not health or not health.get("demo"):
        return None
    demo_pid = ""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        info = json.loads((Path(str(health.get("config"))).parent / "demo.json").read_text())
        demo_pid = f" (demo pid {int(info['demo'])})"
    return (f"the gateway at {config.gateway.url} belongs to `xx demo`{demo_pid}, not stopped; "
            "stop the demo with Ctrl-C (or q) in its terminal")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xx gateway", description="Run and supervise the local xx gateway.")
    sub = ap.add_subparsers(dest="cmd", metavar="{up,down,status,logs,restart,run,token}")
    sub.add_parser("up", help="start the gateway in the background (no-op if ours is running)")
    p_down = sub.add_parser("down", help="stop the gateway gracefully (forcefully after --timeout)")
    p_down.add_argument("--timeout", type=float, default=STOP_TIMEOUT_S, help="seconds before SIGKILL (default %(default)s)")
    p_status = sub.add_parser("status", help="pid, port, uptime, version, health, config, what a launch would do "
                                            "(exit 0 only when running and ready)")
    p_status.add_argument("--json", action="store_true", help="machine-readable output")
    p_logs = sub.add_parser("logs", help="print the gateway log")
    p_logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p_logs.add_argument("-n", "--lines", type=int, default=50, help="lines to show (default %(default)s)")
    sub.add_parser("restart", help="stop then start, with this shell's environment")
    sub.add_parser("run", help="run in the foreground (Ctrl-C stops)")
    return ap


def _load(cmd: str) -> tuple[Config | None, str | None]:
    """The config, and why the file is invalid when the running gateway's last valid config stands in for it."""
    try:
        return load(), None
    except ConfigError as exc:
        # status, logs and down must still work when the file was broken under a running gateway
        fallback = _from_runtime_file()
        if cmd in ("up", "restart") or fallback is None:
            print(exc, file=sys.stderr)
            return None, None
        print(f"xx: the config file is invalid (the gateway keeps its last valid config):\n{exc}", file=sys.stderr)
        return fallback, (str(exc).splitlines() or ["invalid"])[0]


def main(argv: list[str]) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_help()
        return 2
    if args.cmd == "run":
        from gateway.server import main as serve

        return serve([])
    config, invalid = _load(args.cmd)
    if config is None:
        return 2
    try:
        return _run(args, config, invalid)
    except SupervisorError as exc:
        print(f"xx: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, config: Config, invalid: str | None = None) -> int:
    if args.cmd == "up":
        health = probe(config)
        if health is not None and _settle(config, preflight.expected(config, os.environ), health).action == "attach":
            print(f"xx gateway already running at {config.gateway.url} (pid {health['pid']})")
            return 0
        ensure_running(config)
        return 0
    if args.cmd in ("down", "restart"):
        if (why := _demo_guard(config, probe(config))) is not None:
            print(f"xx: {why}", file=sys.stderr)
            return 1
        if args.cmd == "restart":
            stop(config)
            ensure_running(config)
        elif not stop(config, timeout=args.timeout):
            print(f"xx gateway is not running at {config.gateway.url}")
        return 0
    if args.cmd == "logs":
        log = dirs.gateway_log()  # the demo's log for the demo's config (xx.dirs)
        if args.follow:
            print(_tail(log, args.lines))
            _follow(log)
            return 0
        if not log.exists():
            print(f"no log yet at {log}", file=sys.stderr)
            return 1
        print(_tail(log, args.lines))
        return 0
    info = status(config)
    if invalid is not None and info["running"]:  # launches load the file, so they fail until it is fixed
        info["next_launch"] = {"action": "refuse", "reason": f"the config file is invalid ({invalid})",
                               "fix": "fix it (`xx config validate` names each problem)"}
        info["ready"] = False
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_status(info)
    return 0 if info["running"] and info.get("ready") else 1  # a script's `status &&` means "a launch would work"
