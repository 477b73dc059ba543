"""`xx gateway up|down|status|logs|restart|run`: the gateway as a detached daemon.

Liveness is `/health` answering `"service": "xx-gateway"` — a PID file alone lies (the
PID may be reused, the port may belong to someone else). Stdlib only on the paths the
launcher uses (`ensure_running`, `probe`): the launch hot path must stay light.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.config import Config, ConfigError, load, paths

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 35.0
LOG_ROTATE_BYTES = 10 * 1024 * 1024


class SupervisorError(Exception):
    """A gateway problem the user must act on; the message says what to do."""


def _get(config: Config, path: str, timeout: float = 1.0) -> tuple[int, Any]:
    url = config.gateway.url.replace("localhost", "127.0.0.1") + path
    req = urllib.request.Request(url)
    if config.gateway.token:
        req.add_header("x-xx-token", config.gateway.token)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP(S)_PROXY
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None


def probe(config: Config, timeout: float = 1.0) -> dict[str, Any] | None:
    """The gateway's /health document if OUR gateway answers on the configured port, else None."""
    try:
        status, body = _get(config, "/health", timeout)
    except (OSError, ValueError):
        return None
    if status == 200 and isinstance(body, dict) and body.get("service") == "xx-gateway":
        return body
    return None


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host if host != "localhost" else "127.0.0.1", port)) == 0


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Two `xx gateway up` (or two agents launched at once) must not start two gateways."""
    lock = paths.state_dir() / "gateway.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Progress:
    """One status line: rewritten in place on a terminal, printed once otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.shown = False

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write(f"\r\033[2K{text}")
            sys.stderr.flush()
            self.shown = True
        elif not self.shown:
            print(text, file=sys.stderr)
            self.shown = True

    def done(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write(f"\r\033[2K{text}\n")
        else:
            print(text, file=sys.stderr)


def _rotate(log: Path) -> None:
    try:
        if log.stat().st_size > LOG_ROTATE_BYTES:
            log.replace(log.with_suffix(".log.1"))
    except FileNotFoundError:
        pass


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(config: Config, *, progress: bool = True) -> dict[str, Any]:
    """Start a detached gateway and wait for /health; returns its health document."""
    if not config.gateway.loopback and not config.gateway.token:
        raise SupervisorError(f"refusing to bind {config.gateway.host}: a non-loopback bind needs gateway.token")
    log = paths.log_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log)
    env = dict(os.environ)
    if config.source != "<default>":
        env["XX_CONFIG"] = config.source
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, start_new_session=True, close_fds=True,
        )
    bar = _Progress(progress)
    t0 = time.monotonic()
    while time.monotonic() - t0 < START_TIMEOUT_S:
        health = probe(config, timeout=0.5)
        if health is not None:
            bar.done(f"xx gateway up at {config.gateway.url} (pid {health['pid']}, {time.monotonic() - t0:.2f}s)")
            return health
        if proc.poll() is not None:
            bar.done("")
            raise SupervisorError(
                f"the gateway exited with code {proc.returncode} while starting; last log lines ({log}):\n{_tail(log)}"
            )
        bar.update(f"starting xx gateway on {config.gateway.url} … {time.monotonic() - t0:.1f}s")
        time.sleep(0.05)
    proc.terminate()
    raise SupervisorError(f"the gateway did not answer /health within {START_TIMEOUT_S:g}s; see {log}")


def ensure_running(config: Config, *, progress: bool = True) -> str:
    """The gateway's base URL, starting it first if it is not running."""
    if probe(config) is not None:
        return config.gateway.url
    with _start_lock():
        if probe(config) is not None:
            return config.gateway.url
        if port_in_use(config.gateway.host, config.gateway.port):
            raise SupervisorError(
                f"port {config.gateway.port} on {config.gateway.host} is held by another program, not the xx gateway; "
                "stop it or set gateway.port in the config"
            )
        start(config, progress=progress)
    return config.gateway.url


def stop(config: Config, *, timeout: float = STOP_TIMEOUT_S, progress: bool = True) -> bool:
    """SIGTERM (the gateway drains in-flight streams), then SIGKILL after `timeout`. False if not running."""
    health = probe(config)
    if health is None:
        return False
    pid = int(health["pid"])
    bar = _Progress(progress)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not _alive(pid):
            bar.done(f"xx gateway stopped (pid {pid}, {time.monotonic() - t0:.2f}s)")
            return True
        bar.update(f"stopping xx gateway (pid {pid}), draining in-flight requests … {time.monotonic() - t0:.1f}s")
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    bar.done(f"xx gateway killed after {timeout:g}s (pid {pid})")
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours still "exists"; reap it
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def status(config: Config) -> dict[str, Any]:
    health = probe(config)
    out: dict[str, Any] = {"running": health is not None, "url": config.gateway.url, "config": config.source}
    if health is None:
        out["port_in_use"] = port_in_use(config.gateway.host, config.gateway.port)
        return out
    out.update(pid=health["pid"], version=health["version"], uptime_s=health["uptime_s"], health="ok")
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


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="xx gateway", description="Run and supervise the local xx gateway.")
    sub = ap.add_subparsers(dest="cmd", metavar="{up,down,status,logs,restart,run}")
    sub.add_parser("up", help="start the gateway in the background (no-op if running)")
    p_down = sub.add_parser("down", help="stop the gateway gracefully (forcefully after --timeout)")
    p_down.add_argument("--timeout", type=float, default=STOP_TIMEOUT_S, help="seconds before SIGKILL (default %(default)s)")
    p_status = sub.add_parser("status", help="pid, port, uptime, version, health")
    p_status.add_argument("--json", action="store_true", help="machine-readable output")
    p_logs = sub.add_parser("logs", help="print the gateway log")
    p_logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p_logs.add_argument("-n", "--lines", type=int, default=50, help="lines to show (default %(default)s)")
    sub.add_parser("restart", help="stop then start")
    sub.add_parser("run", help="run in the foreground (Ctrl-C stops)")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_help()
        return 2
    if args.cmd == "run":
        from gateway.server import main as serve

        return serve([])
    try:
        config = load()
    except ConfigError as exc:
        # status, logs and down must still work when the file was broken under a running gateway
        fallback = _from_runtime_file()
        if args.cmd in ("up", "restart") or fallback is None:
            print(exc, file=sys.stderr)
            return 2
        print(f"xx: the config file is invalid (the gateway keeps its last valid config):\n{exc}", file=sys.stderr)
        config = fallback
    try:
        if args.cmd == "up":
            health = probe(config)
            if health is not None:
                print(f"xx gateway already running at {config.gateway.url} (pid {health['pid']})")
                return 0
            ensure_running(config)
            return 0
        if args.cmd == "down":
            if not stop(config, timeout=args.timeout):
                print(f"xx gateway is not running at {config.gateway.url}")
            return 0
        if args.cmd == "restart":
            stop(config)
            ensure_running(config)
            return 0
        if args.cmd == "logs":
            log = paths.log_file()
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
        if args.json:
            print(json.dumps(info, indent=2))
        elif info["running"]:
            print(f"xx gateway {info['version']} running at {info['url']}")
            print(f"  pid {info['pid']}  uptime {_fmt_uptime(info['uptime_s'])}  "
                  f"ready {'yes' if info.get('ready') else 'no'}  rss {info.get('rss_mb', '?')} MB")
            for problem in info.get("problems", []):
                print(f"  ! {problem}")
        else:
            extra = " (the port is held by another program)" if info.get("port_in_use") else ""
            print(f"xx gateway is not running at {info['url']}{extra}")
        return 0 if info["running"] else 1
    except SupervisorError as exc:
        print(f"xx: {exc}", file=sys.stderr)
        return 1
