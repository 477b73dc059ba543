"""The world the real agent CLIs run in: a simulator process, a scratch home, a dead proxy, `xx`.

Everything an agent run touches is scratch: HOME, the XDG dirs (so xx's config, state, ledger
and per-launch files land there), the project directory. The gateway itself is NOT started
here: the first `xx <code>` starts it, exactly as on a user's machine, and `close()` stops it
with `xx gateway down`.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.servers import free_port

TURN_TIMEOUT_S = 60.0

# One row per agent: (name, letter, tier letter it is tested on, the protocol pair that tier makes).
# Tiers are chosen so that most runs cross a translation: f = chat models, c = anthropic, g = responses.
AGENTS: tuple[tuple[str, str, str], ...] = (
    ("claude", "c", "f"),     # Anthropic agent -> Chat model
    ("codex", "x", "f"),      # Responses agent -> Chat model
    ("qwen", "q", "c"),       # Chat agent -> Anthropic model
    ("pi", "p", "g"),         # Chat agent -> Responses model
    ("opencode", "o", "f"),   # Chat agent -> Chat model
    ("gemini", "m", "f"),     # Gemini agent -> Chat model
    ("hermes", "h", "c"),     # Chat agent -> Anthropic model
)

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DeadProxy:
    """A loopback port that accepts, records who connected and what they asked for, then hangs up.

    Pointed at by HTTP(S)_PROXY: any CLI that honoured the variable would show up in `hits`
    (a CONNECT line naming the host it wanted), and its request would die here, not leave.
    """

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.hits: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dead-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(512).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "<no request line>"
                self.hits.append(first or "<empty>")

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    started: float
    seconds: float

    def describe(self) -> str:
        return (f"$ {shlex.join(self.argv)}\nrc={self.returncode} in {self.seconds:.1f}s\n"
                f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}")


class World:
    """One simulator, one scratch home, one xx config with a free gateway port, for the session."""

    def __init__(self, root: Path, bin_dirs: list[str]) -> None:
        from gateway.simulator.config import sim_config_text

        self.root = root
        self.home = root / "home"
        self.projects = root / "projects"
        for d in (self.home, self.projects):
            d.mkdir(parents=True, exist_ok=True)
        self.sim = subprocess.Popen(
            [sys.executable, "-m", "gateway.simulator", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.sim.stdout is not None
        self.sim_url = self.sim.stdout.readline().strip()
        if not self.sim_url.startswith("http"):
            raise RuntimeError(f"the simulator did not start: {self.sim.stderr.read() if self.sim.stderr else ''}")
        self.gateway_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        self.config = root / "xx-config.toml"
        self.config.write_text(sim_config_text(self.sim_url, port=self.gateway_port, rpm=100_000, rpd=1_000_000))
        self.proxy = DeadProxy()
        xx_bin = str(Path(sys.executable).parent)
        system_path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        self.env = {
            "PATH": os.pathsep.join([*bin_dirs, xx_bin, system_path]),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(root / "xdg-config"),
            "XDG_STATE_HOME": str(root / "xdg-state"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
            "XX_CONFIG": str(self.config),
            "HTTPS_PROXY": self.proxy.url, "HTTP_PROXY": self.proxy.url,
            "https_proxy": self.proxy.url, "http_proxy": self.proxy.url,
            "LANG": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1", "CI": "1",
        }

    # -- running xx -----------------------------------------------------------------------

    def project(self, agent: str) -> Path:
        p = self.projects / agent
        p.mkdir(parents=True, exist_ok=True)
        return p

    def xx(self, *args: str, cwd: Path | None = None, timeout: float = TURN_TIMEOUT_S) -> Run:
        """`xx ARGS` as a user would type it; the agent's process group is killed on timeout."""
        argv = [str(Path(sys.executable).parent / "xx"), *args]
        started = time.time()
        proc = subprocess.Popen(argv, cwd=cwd or self.root, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            err += f"\n[harness] killed after {timeout:.0f}s"
        return Run(argv, proc.returncode, out, err, started, time.time() - started)

    def dry_run(self, code: str, *args: str) -> dict[str, Any]:
        run = self.xx(code, *args, "--dry-run", "--json", timeout=30)
        assert run.returncode == 0, run.describe()
        return dict(json.loads(run.stdout))

    # -- what the gateway and the simulator saw ----------------------------------------------

    def _get(self, url: str) -> Any:
        with _NO_PROXY.open(url, timeout=10) as resp:
            return json.loads(resp.read())

    def ledger(self, since: float = 0.0, agent: str | None = None) -> list[dict[str, Any]]:
        """Rows of the gateway's ledger, oldest first (the ledger writes in batches: wait a moment)."""
        rows = self._get(self.gateway_url + "/xx/requests?limit=1000")["requests"]
        rows = [r for r in rows if r["started"] >= since and (agent is None or r["agent"] == agent)]
        return sorted(rows, key=lambda r: r["started"])

    def wait_ledger(self, since: float, agent: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        rows = self.ledger(since, agent)
        while len(rows) < count and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = self.ledger(since, agent)
        return rows

    def sim_calls(self, since: float = 0.0) -> list[dict[str, Any]]:
        calls = self._get(self.sim_url + "/_sim/calls")["requests"]
        return [c for c in calls if c["t"] >= since]

    # -- teardown -------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.xx("gateway", "down", timeout=40)
        finally:
            self.proxy.close()
            self.sim.send_signal(signal.SIGTERM)
            try:
                self.sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sim.kill()


def text_of(value: Any) -> str:
    """Every string inside a JSON value, joined: what to search a request body for."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(text_of(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    return ""
