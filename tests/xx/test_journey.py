"""Day one with a real key, end to end in tmux, in a fresh XDG world (issue 12's "done when").

A person's terminal: `xx demo` runs its dashboard in one tmux window while the user, in
another, launches an agent with their own config. A stub `claude` on PATH speaks the real
Anthropic Messages API to whatever `ANTHROPIC_BASE_URL` xx gave it; a second simulator
stands in for the user's provider. The journey:

1. no key: `xx doctor` exits 1 and `xx cnp -p …` exits 1 in under 2 s naming the variable;
2. `xx gateway up` starts the user's gateway without the key; the key is exported after;
3. `xx doctor` now exits 0, and the next launch says it restarted the gateway and reaches
   the user's provider through the user's gateway, never the demo's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.servers import free_port, wait_for

pytestmark = pytest.mark.tmux

STUB = """#!{python}
import json, os, sys, urllib.error, urllib.request
if "--version" in sys.argv:
    print("2.1.197 (Claude Code)")
    sys.exit(0)
body = {{"model": "xx-big", "max_tokens": 32, "messages": [{{"role": "user", "content": sys.argv[-1]}}]}}
req = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", json.dumps(body).encode(),
                             {{"content-type": "application/json", "x-api-key": os.environ.get("ANTHROPIC_AUTH_TOKEN", "")}})
try:
    with urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(req, timeout=30) as resp:
        print("AGENT OK via", os.environ["ANTHROPIC_BASE_URL"], json.load(resp)["content"][0]["type"])
except urllib.error.HTTPError as exc:
    print("AGENT HTTP", exc.code, exc.read()[:300])
    sys.exit(3)
"""

USER_CONFIG = """\
[gateway]
host = "127.0.0.1"
port = {port}
default_tier = "free"

[providers.mine]
protocol = "openai"
base_url = "{provider}/v1"
api_key = "$JOURNEY_KEY"

[models.mine-big]
provider = "mine"
id = "sim/kimi-k2.6:free"

[tiers.free]
letter = "f"
big = ["mine-big"]
"""


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    sock = f"xx-journey-{os.getpid()}-{time.monotonic_ns()}"
    env: dict[str, str] = {}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *args], capture_output=True, text=True,
                              timeout=10, env=env or None)

    run.env = env  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        run("kill-server")


def _xx_command() -> str:
    """The `xx` a user of this checkout has: the venv's script, else `python -m xx`."""
    script = Path(sys.executable).with_name("xx")
    return str(script) if script.exists() else f"{sys.executable} -m xx"


def test_day_one_with_a_real_key(tmp_path: Path, tmux, simulator_thread) -> None:
    world = {name: tmp_path / name for name in ("home", "config", "state", "cache", "data", "bin", "out")}
    for p in world.values():
        p.mkdir()
    stub = world["bin"] / "claude"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    port = free_port()
    (world["config"] / "xx").mkdir()
    (world["config"] / "xx" / "config.toml").write_text(USER_CONFIG.format(port=port, provider=simulator_thread.url))
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("XDG_", "XX_", "ANTHROPIC_", "OPENAI_", "TMUX")) and not k.endswith(("_API_KEY", "_proxy", "_PROXY"))}
    env = {**keep, "HOME": str(world["home"]), "XDG_CONFIG_HOME": str(world["config"]),
           "XDG_STATE_HOME": str(world["state"]), "XDG_CACHE_HOME": str(world["cache"]),
           "XDG_DATA_HOME": str(world["data"]), "PATH": f"{world['bin']}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "TERM": "xterm-256color", "NO_COLOR": "1", "PS1": "$ "}
    tmux.env.update(env)
    xx = _xx_command()
    assert tmux("new-session", "-d", "-s", "j", "-x", "160", "-y", "50", "-n", "demo",
                f"{xx} demo --no-traffic; sleep 60").returncode == 0
    assert tmux("new-window", "-t", "j", "-n", "user", "bash --norc --noprofile").returncode == 0

    demo_json = world["state"] / "xx" / "demo" / "demo.json"
    demo = json.loads(wait_for(lambda: demo_json.exists() and demo_json.read_text(), 30, "the demo to start"))
    demo_url = demo["url"]
    demo_health = httpx.get(demo_url + "/health", timeout=5).json()
    assert demo_health["demo"] is True and demo_url != f"http://127.0.0.1:{port}", "the demo has its own port"

    step = 0

    def run(command: str, timeout: float = 60) -> tuple[int, int, str]:
        """Type a command in the user's window; (exit code, milliseconds, the screen)."""
        nonlocal step
        step += 1
        rc = world["out"] / f"{step}.rc"
        line = f"s=$(date +%s%N); {command}; echo \"$? $(( ($(date +%s%N) - s) / 1000000 ))\" > {rc}"
        tmux("send-keys", "-t", "j:user", line, "Enter")
        code, ms = map(int, wait_for(lambda: rc.exists() and rc.read_text().strip(), timeout, command).split())
        screen = tmux("capture-pane", "-p", "-J", "-S", "-300", "-t", "j:user").stdout
        tmux("send-keys", "-t", "j:user", "clear", "Enter")
        time.sleep(0.2)
        tmux("clear-history", "-t", "j:user")
        return code, ms, screen

    # 1. no key anywhere: doctor and the launch agree, and the launch is quick and says what to set
    code, _, screen = run(f"{xx} doctor")
    assert code == 1, screen
    code, ms, screen = run(f"{xx} cnp -p 'hello'")
    assert code == 1 and ms < 2000, (ms, screen)
    assert "JOURNEY_KEY" in screen and "claude not started" in screen and "AGENT" not in screen

    # 2. the user's gateway starts without the key; the key is exported afterwards
    code, _, screen = run(f"{xx} gateway up")
    assert code == 0, screen
    first = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
    assert first["keys"] == {"JOURNEY_KEY": None} and not first["demo"]
    run("export JOURNEY_KEY=sk-journey-not-a-real-key")

    # 3. doctor agrees the next launch works; the launch restarts the gateway and reaches the user's provider
    code, _, screen = run(f"{xx} doctor")
    assert code == 0, screen
    code, _, screen = run(f"{xx} cnp -p 'hello'")
    assert code == 0, screen
    assert "restarted the gateway" in screen and "JOURNEY_KEY was set after the gateway started" in screen
    assert f"AGENT OK via http://127.0.0.1:{port}/x/claude/p/free" in screen
    assert "sk-journey-not-a-real-key" not in screen
    second = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
    assert second["pid"] != first["pid"] and second["keys"]["JOURNEY_KEY"] is not None
    assert simulator_thread.calls() == 1, "the user's provider answered"
    mine = httpx.get(f"http://127.0.0.1:{port}/xx/requests", timeout=5).json()["requests"]
    assert [(r["agent"], r["status"]) for r in mine] == [("claude", 200)]
    assert httpx.get(demo_url + "/xx/requests", timeout=5).json()["requests"] == [], "never the demo"
    code, _, _ = run(f"{xx} doctor")
    assert code == 0

    # the demo is untouched, and the user's `gateway down` stops only the user's gateway
    code, _, _ = run(f"{xx} gateway down")
    assert code == 0
    assert httpx.get(demo_url + "/health", timeout=5).json()["pid"] == demo_health["pid"]
    tmux("send-keys", "-t", "j:demo", "C-c")
    wait_for(lambda: not demo_json.exists(), 20, "the demo to stop")
