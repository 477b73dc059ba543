"""`xx demo`: the simulator, a gateway on it, synthetic agents and the dashboard; no API key.

Everything the demo starts runs in its own process group and is stopped on every way out
(Ctrl-C, `q` in the dashboard, SIGTERM, SIGHUP, an exception): traffic first, so the gateway
has nothing to drain, then the gateway, then the simulator. The demo keeps its config and
ledger under `<state dir>/demo/` and gives its gateway that directory as XDG_STATE_HOME and
XDG_CACHE_HOME, so the user's real ledger and replay cache are never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar

from xx.supervisor import port_in_use

if TYPE_CHECKING:
    from textual.binding import BindingType

import httpx
import tomlkit

from gateway.config import paths
from gateway.simulator.config import sim_config_text
from xx.demo_view import _headless, _how_to, _Status, _user_port, command_name, summary
from xx.dirs import DemoLayout

__all__ = ["DemoError", "Layout", "command_name", "demo_config_text", "main", "pick_port", "summary"]

HOST = "127.0.0.1"
DEFAULT_PORT = 8092  # never the gateway's 8082: a launch must not reach the demo by accident
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
# The free pool runs dry within the first minute of demo traffic (about one pool call a second),
# and the minute window then lets a trickle through: the dashboard shows the quota at work.
DEMO_RPM = 15
DEMO_RPD = 1000
# Demo-only paid fallbacks after the free models, so an exhausted pool moves the cascade on.
FREE_TIER_FALLBACKS = {"big": ("sim-gpt", "sim-claude"), "middle": ("sim-claude",), "small": ("sim-haiku",)}


class DemoError(Exception):
    """Something kept the demo from starting; the message says what and where to look."""


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP so `finally` blocks clean up."""


Layout = DemoLayout  # where the demo keeps its files (xx.dirs: the commands resolve the same)


def pick_port(
    requested: int | None, in_use: Callable[[int], bool], tries: int = 100, *, avoid: int | None = None
) -> tuple[int, str | None]:
    """The port to serve on and, when it is not the one the user expects, why.

    `avoid` is the user's own gateway port: the demo never takes it, even when it is free,
    so the user's launches can never be answered by the simulator.
    """
    if requested is not None:
        if requested == avoid:
            raise DemoError(f"port {requested} is your own gateway's (gateway.port); pick another with --port")
        if in_use(requested):
            raise DemoError(f"port {requested} is in use; pick another with --port")
        return requested, None
    for port in range(DEFAULT_PORT, DEFAULT_PORT + tries):
        if port != avoid and not in_use(port):
            note = (
                None
                if port == DEFAULT_PORT
                else f"port {DEFAULT_PORT} is in use; the demo gateway uses {port}"
            )
            return port, note
    raise DemoError(f"no free port in {DEFAULT_PORT}-{DEFAULT_PORT + tries - 1}; pass --port")


def demo_config_text(
    sim_url: str, port: int, *, rpm: int = DEMO_RPM, rpd: int = DEMO_RPD, hint: str = ""
) -> str:
    """The simulator config, with paid models appended to the free tier's lists (demo only)."""
    doc = tomlkit.parse(sim_config_text(sim_url, port=port, state_hint=hint, rpm=rpm, rpd=rpd))
    free = doc["tiers"]["free"]  # type: ignore[index]
    for role, extra in FREE_TIER_FALLBACKS.items():
        for model in extra:
            if role in free and model not in free[role]:  # type: ignore[operator]
                free[role].append(model)  # type: ignore[index,union-attr]
    free.comment("demo: paid fallbacks follow the free pool, so an exhausted pool moves on")  # type: ignore[union-attr]
    return tomlkit.dumps(doc)


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the demo is killed outright (SIGKILL runs no `finally`)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                start_new_session=True, close_fds=True,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)  # fmt: skip


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Cleanup must finish: a second Ctrl-C or SIGTERM must not leave a child running."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    main = threading.current_thread() is threading.main_thread()
    old = [signal.signal(s, signal.SIG_IGN) for s in sigs] if main else []
    try:
        yield
    finally:
        for s, h in zip(sigs, old, strict=False):
            signal.signal(s, h)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group, wait, then SIGKILL it: nothing it started survives."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for(
    what: str, ready: Callable[[], Any], proc: subprocess.Popen[bytes], log: Path, status: _Status
) -> Any:
    t0 = time.monotonic()
    while time.monotonic() - t0 < START_TIMEOUT_S:
        value = ready()
        if value:
            return value
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else ""
            raise DemoError(f"the {what} exited with code {proc.returncode} while starting ({log}):\n{tail}")
        status.step(f"starting the {what} … {time.monotonic() - t0:.1f}s", key=what)
        time.sleep(0.05)
    raise DemoError(f"the {what} did not start within {START_TIMEOUT_S:g}s; see {log}")


def _read_url(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _our_health(url: str, pid: int) -> bool:
    """True once /health answers as an xx gateway with the pid we started (not someone else's)."""
    try:
        r = httpx.get(url + "/health", timeout=0.5, trust_env=False)
        body = r.json()
    except (httpx.HTTPError, ValueError):
        return False
    return r.status_code == 200 and isinstance(body, dict) and body.get("pid") == pid


@contextlib.contextmanager
def running(port: int, layout: Layout, status: _Status, *,
            rpm: int = DEMO_RPM) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """Start the simulator and the gateway; yield (gateway URL, simulator URL, gateway process); stop both on exit."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with _demo_lock(layout), _started(layout) as procs:
        for stale in layout.ledger.parent.glob("ledger.sqlite3*"):  # each demo starts from an empty ledger
            stale.unlink()
        ready = layout.root / "simulator.url"
        ready.unlink(missing_ok=True)
        sim = _spawn([sys.executable, "-m", "gateway.simulator", "--port", "0", "--ready-file", str(ready)],
                     dict(os.environ), layout.log("simulator"))  # fmt: skip
        procs.append(sim)
        sim_url = str(
            _wait_for("simulated provider", lambda: _read_url(ready), sim, layout.log("simulator"), status)
        )
        hint = f"written by `xx demo` (pid {os.getpid()}); rewritten on every run\nledger: {layout.ledger}"
        layout.config.write_text(demo_config_text(sim_url, port, rpm=rpm, hint=hint))
        env = dict(os.environ, XX_CONFIG=str(layout.config), XDG_STATE_HOME=str(layout.state_home), XX_DEMO="1",
                   XX_STATE_DIR=str(layout.state_dir), XDG_CACHE_HOME=str(layout.cache_home))  # fmt: skip
        gw = _spawn([sys.executable, "-m", "gateway"], env, layout.log("gateway"))
        procs.append(gw)
        url = f"http://{HOST}:{port}"
        _wait_for("gateway", lambda: _our_health(url, gw.pid), gw, layout.log("gateway"), status)
        layout.pids.write_text(json.dumps({"demo": os.getpid(), "simulator": sim.pid, "gateway": gw.pid,
                                           "url": url, "simulator_url": sim_url}))  # fmt: skip
        yield url, sim_url, gw


def running_demo(layout: Layout) -> dict[str, Any] | None:
    """The demo holding `layout`'s lock (its demo.json, maybe still empty), or None when none runs."""
    if not layout.lock.exists():
        return None
    with layout.lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return dict(json.loads(layout.pids.read_text()))
            except (OSError, ValueError):
                return {}
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def _refuse_second(layout: Layout) -> None:
    """A second `xx demo` names the first (URL, pid) before any port is looked at."""
    other = running_demo(layout)
    if other is None:
        return
    where = f" at {other['url']} (pid {other['demo']})" if other.get("url") else ""
    raise DemoError(f"another xx demo is running{where}; stop it first (Ctrl-C or q in its terminal)")


def _gateway_gone(gw: subprocess.Popen[bytes], layout: Layout) -> str | None:
    """Why the demo must stop: its gateway exited under it (e.g. `xx gateway down`, a crash)."""
    if gw.poll() is None:
        return None
    return (f"the demo's gateway (pid {gw.pid}) exited with code {gw.returncode}; stopping the demo "
            f"(see {layout.log('gateway')})")


@contextlib.contextmanager
def _demo_lock(layout: Layout) -> Iterator[None]:
    """One demo per state dir: a second would clear the first one's ledger and config."""
    with layout.lock.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoError(f"another xx demo is running (see {layout.pids}); stop it first") from None
        yield


@contextlib.contextmanager
def _started(layout: Layout) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes appended to the yielded list are stopped, last started first, however we leave."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        with _shielded():
            for proc in reversed(procs):
                stop_process(proc)
            layout.pids.unlink(missing_ok=True)


def _dashboard(url: str, duration: float | None, alive: Callable[[], bool] = lambda: True) -> int:
    from textual.binding import Binding

    from xx.dash.app import DashApp

    class DemoDash(DashApp):
        """Ctrl-C stops the demo, as the README says (Textual binds it to a "press ^q" hint)."""

        BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "quit", show=False, priority=True)]
        CSS_PATH = Path(inspect.getfile(DashApp)).with_name(
            str(DashApp.CSS_PATH)
        )  # relative to the dash, not here

    app = DemoDash(url, starter=None)  # the demo owns its gateway: `s` must not start the user's real one

    def exit_app() -> None:
        with contextlib.suppress(Exception):  # the app may already be gone
            app.call_from_thread(app.exit)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=exit_app, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    timer = threading.Timer(duration, exit_app) if duration else None
    if timer:
        timer.daemon = True
        timer.start()
    done = threading.Event()

    def watch() -> None:  # the gateway died under the dashboard: leave rather than show errors forever
        while not done.wait(0.5):
            if not alive():
                exit_app()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        app.run()
    finally:
        done.set()
        if timer:
            timer.cancel()
    return int(app.return_code or 0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xx demo", description=(
        "Start a simulated provider, an xx gateway on it and synthetic agents, then the dashboard. "
        "No API key needed; Ctrl-C (or q) stops everything it started."))  # fmt: skip
    p.add_argument("--port", type=int, help=f"gateway port (default {DEFAULT_PORT}, or the next free one)")
    p.add_argument(
        "--no-traffic", action="store_true", help="no synthetic agents: point your own at the gateway"
    )
    p.add_argument(
        "--headless", action="store_true", help="no dashboard: print a summary line every few seconds"
    )
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--rpm", type=int, default=DEMO_RPM, help="the free pool's requests per minute (default %(default)s)"
    )
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    status = _Status()
    layout = Layout(paths.state_dir() / "demo")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    traffic = None
    code = 0
    try:
        _refuse_second(layout)
        port, note = pick_port(args.port, lambda p: port_in_use(HOST, p), avoid=_user_port())
        if note:
            status.line(f"xx demo: {note}")
        with running(port, layout, status, rpm=args.rpm) as (url, sim_url, gw):
            status.line()
            _how_to(url, layout, status)
            if not args.no_traffic:
                from xx.demo_traffic import Traffic

                traffic = Traffic(url, sim_url)
                traffic.start()
            try:
                if args.headless:
                    _headless(url, args.duration, alive=lambda: gw.poll() is None)
                    code = 0
                else:
                    code = _dashboard(url, args.duration, alive=lambda: gw.poll() is None)
            finally:
                if traffic is not None:
                    traffic.stop()
            if (why := _gateway_gone(gw, layout)) is not None:
                status.line(f"xx demo: {why}")
                code = 1
            status.step("stopping the gateway and the simulator …")
    except DemoError as e:
        status.line(f"xx demo: {e}")
        return 1
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        if traffic is not None:
            traffic.stop()
    status.line("xx demo: stopped (traffic, gateway, simulator)")
    return code
