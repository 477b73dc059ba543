"""`xx gateway up|down|status|logs|restart|run`: the gateway as a detached daemon.

Liveness is `/health` answering `"service": "xx-gateway"` — a PID file alone lies (the
PID may be reused, the port may belong to someone else). Stdlib only on the paths the
launcher uses (`ensure_running`, `probe`): the launch hot path must stay light.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gateway.config import Config, paths
from gateway.config.identity import DEMO_ENV
from xx import preflight

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 35.0
LOG_ROTATE_BYTES = 10 * 1024 * 1024


class SupervisorError(Exception):
    """A gateway problem the user must act on; the message says what to do."""


def _get(config: Config, path: str, timeout: float = 1.0) -> tuple[int, Any]:
    headers = {"x-xx-token": config.gateway.token} if config.gateway.token else {}
    return get_json(config.gateway.url.replace("localhost", "127.0.0.1") + path, headers, timeout)


def get_json(url: str, headers: dict[str, str], timeout: float) -> tuple[int, Any]:
    """(status, JSON body or None) of a GET to a gateway, error statuses included."""
    req = urllib.request.Request(url, headers=headers)
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


def start(config: Config, *, progress: bool = True, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Start a detached gateway with `environ` (the launching shell's) and wait for /health."""
    if not config.gateway.loopback and not config.gateway.token:
        raise SupervisorError(f"refusing to bind {config.gateway.host}: a non-loopback bind needs gateway.token")
    log = paths.log_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log)
    env = dict(os.environ if environ is None else environ)
    env.pop(DEMO_ENV, None)  # only `xx demo` marks its own gateway
    if config.source != "<default>":
        env["XX_CONFIG"] = str(Path(config.source).resolve())  # the gateway's cwd may differ
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


def ensure_running(config: Config, *, progress: bool = True, environ: Mapping[str, str] | None = None,
                   before_start: Callable[[], None] | None = None) -> str:
    """The gateway's base URL: attach to ours, restart one that serves another config or stale
    keys (nothing in flight), or start one. `before_start` runs before any process is started
    (the launcher's key preflight) and may raise to stop here.
    """
    env = dict(os.environ if environ is None else environ)
    want = preflight.expected(config, env)
    health = probe(config)
    if health is not None:
        decision = _settle(config, want, health)
        if decision.action == "attach":
            return config.gateway.url
        if decision.action == "refuse":
            raise SupervisorError(f"{decision.reason}; {decision.fix}")
    if before_start is not None:
        before_start()
    with _start_lock():
        health = probe(config)
        if health is not None:  # another launcher may have restarted it meanwhile
            decision = _settle(config, want, health)
            if decision.action == "attach":
                return config.gateway.url
            if decision.action == "refuse":
                raise SupervisorError(f"{decision.reason}; {decision.fix}")
            stop(config, progress=False)
            new = start(config, progress=False, environ=env)
            print(f"xx: restarted the gateway at {config.gateway.url} (pid {health['pid']} -> {new['pid']}): "
                  f"{decision.reason}", file=sys.stderr)
            return config.gateway.url
        if port_in_use(config.gateway.host, config.gateway.port):
            raise SupervisorError(
                f"port {config.gateway.port} on {config.gateway.host} is held by another program, not the xx gateway; "
                "stop it or set gateway.port in the config"
            )
        start(config, progress=progress, environ=env)
    return config.gateway.url


def _settle(config: Config, want: Mapping[str, Any], health: Mapping[str, Any]) -> preflight.Decision:
    """decide(), giving a gateway whose config file just changed time to hot-reload it."""
    decision = preflight.decide(want, health, port=config.gateway.port)
    deadline = time.monotonic() + preflight.RELOAD_WAIT_S
    while decision.action == "wait" and time.monotonic() < deadline:
        time.sleep(0.1)
        health = probe(config) or health
        decision = preflight.decide(want, health, port=config.gateway.port)
    if decision.action == "wait":
        decision = preflight.decide(want, health, port=config.gateway.port, waited=True)
    return decision


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


def main(argv: list[str]) -> int:
    """`xx gateway …` lives in xx.gateway_cmd (argparse stays off the launch path)."""
    from xx.gateway_cmd import main as gateway_main

    return gateway_main(argv)
