"""`xx demo` end to end: real simulator, real gateway, real traffic, and nothing left behind.

Pure parts (port choice, the demo config, the traffic's request bodies and fault timeline) are
tested directly; the rest runs `xx demo` as a user would, headless and in tmux.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from support.servers import free_port, wait_for

from gateway.config import parse
from xx import demo
from xx.demo_traffic import AGENTS, SCHEDULE, Conversation, due_faults, request_for


def get_json(url: str) -> Any:
    try:
        r = httpx.get(url, timeout=1.0, trust_env=False)
        return r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def scratch(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG dirs are private, so the user's ledger and config are untouched."""
    env = dict(os.environ)
    for name in ("STATE", "CONFIG", "CACHE", "DATA"):
        (tmp_path / name.lower()).mkdir()
        env[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
    env.pop("XX_CONFIG", None)
    env["NO_COLOR"] = "1"
    return env


def demo_json(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "xx" / "demo" / "demo.json"


def read_pids(env: dict[str, str]) -> dict[str, Any] | None:
    try:
        return json.loads(demo_json(env).read_text())
    except (OSError, ValueError):
        return None


def assert_nothing_left(pids: dict[str, Any], env: dict[str, str]) -> None:
    wait_for(lambda: not alive(pids["gateway"]) and not alive(pids["simulator"]), 5, "children to exit")
    ready_file = str(Path(env["XDG_STATE_HOME"]) / "xx" / "demo" / "simulator.url")
    config = str(Path(env["XDG_STATE_HOME"]) / "xx" / "demo" / "config.toml")
    left = []
    for p in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            environ = p.info["environ"] or {}
        except psutil.Error:
            continue
        if ready_file in cmd or environ.get("XX_CONFIG") == config:
            left.append((p.info["pid"], cmd))
    assert left == [], f"processes started by the demo are still running: {left}"
    assert not demo_json(env).exists(), "the pid file should be removed on exit"


# ---- pure parts ------------------------------------------------------------------------------


def test_pick_port_prefers_8092_then_the_next_free_one_never_the_users_port() -> None:
    assert demo.pick_port(None, lambda p: False) == (8092, None)
    port, note = demo.pick_port(None, lambda p: p in (8092, 8093))
    assert port == 8094 and note is not None and "8092" in note and "8094" in note
    assert demo.pick_port(9000, lambda p: False) == (9000, None)
    with pytest.raises(demo.DemoError, match="--port"):
        demo.pick_port(9000, lambda p: p == 9000)
    with pytest.raises(demo.DemoError, match="no free port"):
        demo.pick_port(None, lambda p: True, tries=3)
    # the user's own gateway port is never the demo's, even when free
    assert demo.pick_port(None, lambda p: False, avoid=8092) == (8093, "port 8092 is in use; the demo gateway uses 8093")
    with pytest.raises(demo.DemoError, match="your own gateway"):
        demo.pick_port(8082, lambda p: False, avoid=8082)


def test_hints_name_the_command_the_user_can_run(tmp_path, monkeypatch) -> None:
    venv_xx = tmp_path / ".venv" / "bin" / "xx"
    venv_xx.parent.mkdir(parents=True)
    venv_xx.write_text("")
    monkeypatch.chdir(tmp_path)
    assert demo.command_name(str(venv_xx), which=lambda _: None) == ".venv/bin/xx"
    assert demo.command_name(str(venv_xx), which=lambda _: str(venv_xx)) == "xx"
    assert demo.command_name(str(venv_xx), which=lambda _: "/usr/local/bin/xx") == ".venv/bin/xx"
    assert demo.command_name("/x/xx/__main__.py", which=lambda _: "/usr/local/bin/xx") == "xx"
    assert demo.command_name("/x/xx/__main__.py", which=lambda _: None).endswith(" -m xx")


def test_demo_config_is_valid_and_the_free_tier_falls_back_to_paid_models() -> None:
    text = demo.demo_config_text("http://127.0.0.1:5555", 18123, rpm=7, hint="ledger: /x/y")
    cfg = parse(text, "demo.toml", {})
    assert cfg.gateway.port == 18123
    assert cfg.pools["sim-free"].rpm == 7
    big = cfg.tiers["free"].roles["big"]
    assert big[:4] == ("sim-kimi", "sim-nemotron", "sim-deepseek", "sim-gptoss")
    assert (
        cfg.models[big[-1]].pool is None and not cfg.models[big[-1]].free
    )  # after the pool, a model outside it
    assert "ledger: /x/y" in text


def test_requests_grow_a_stable_prefix_above_the_cache_minimum() -> None:
    for spec in AGENTS:
        conv = Conversation(spec, 1)
        _, headers, first = request_for(conv)
        assert headers["x-xx-agent"] == spec.name and headers["user-agent"]
        conv.next_turn()
        path, _, second = request_for(conv)
        assert path.startswith(f"/x/{spec.name}/p/{spec.tier}/v1/")
        a, b = json.dumps(first), json.dumps(second)
        assert len(b) > len(a) > 4 * 1024  # over 1024 tokens at 4 bytes a token
        if spec.dialect == "anthropic":
            assert second["system"][0]["cache_control"] == {"type": "ephemeral"}
            assert second["system"] == first["system"]
            assert second["messages"][0]["content"][0]["text"] == first["messages"][0]["content"][0]["text"]
        key = {"anthropic": "messages", "chat": "messages", "responses": "input"}[spec.dialect]
        assert len(second[key]) > len(first[key])


def test_faults_fire_once_per_cycle() -> None:
    first = due_faults(SCHEDULE, -1.0, 0.0)
    assert [f.at for f in first] == [0.0]
    assert due_faults(SCHEDULE, 0.0, 0.1) == []
    fired = [f for t in range(1, 240) for f in due_faults(SCHEDULE, (t - 1) / 2, t / 2)]  # to 119.5 s
    assert len(first) + len(fired) == 2 * len(SCHEDULE)  # two cycles: every fault exactly twice
    assert all(fired.count(f) == 2 for f in SCHEDULE if f.at > 0)


# ---- real runs -------------------------------------------------------------------------------


def xx_demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "xx", "demo", *args]


def test_headless_demo_serves_traffic_and_leaves_nothing_running(scratch: dict[str, str]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        xx_demo("--headless", "--duration", "8", "--port", str(port)),
        env=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        health = wait_for(lambda: get_json(url + "/health"), 10, "/health")
        assert health["service"] == "xx-gateway"
        # the dashboard can show which config to point an agent at, and that this is the demo
        assert health["demo"] is True and health["config"].endswith("/xx/demo/config.toml")
        pids = wait_for(lambda: read_pids(scratch), 2, "demo.json")
        assert pids["gateway"] == health["pid"]

        def agents() -> set[str]:
            rows = (get_json(url + "/xx/requests?limit=200") or {}).get("requests", [])
            return {r["agent"] for r in rows}

        seen = wait_for(lambda: len(agents()) >= 3 and agents(), 5, "traffic from several agents")
        assert seen <= {"claude", "codex", "qwen", "opencode"}

        def rows() -> list[dict[str, Any]]:
            return (get_json(url + "/xx/requests?limit=200") or {}).get("requests", [])

        wait_for(lambda: any(len(r["attempts"]) > 1 for r in rows()), 6, "a cascade (more than one attempt)")
        wait_for(lambda: any(r["cache_class"] == "HIT" for r in rows()), 6, "a cache HIT")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "requests" in out and "cache" in out, out  # the summary lines
    assert f"curl {url}/health" in err and "ledger" in err
    assert_nothing_left(pids, scratch)
    ledger = Path(scratch["XDG_STATE_HOME"]) / "xx" / "demo" / "state" / "xx" / "ledger.sqlite3"
    assert ledger.exists(), "the demo's ledger lives in the demo's own state dir"
    assert not (Path(scratch["XDG_STATE_HOME"]) / "xx" / "ledger.sqlite3").exists()


def test_sigterm_stops_everything_and_a_second_demo_is_refused(scratch: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        xx_demo("--headless", "--no-traffic", "--port", str(port)),
        env=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        pids = wait_for(lambda: read_pids(scratch), 10, "the demo to start")
        second = subprocess.run(
            xx_demo("--headless", "--port", str(free_port())),
            env=scratch,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1 and "another xx demo is running" in second.stderr
        assert alive(pids["gateway"]), "the refused demo must not touch the running one"
        rows = get_json(f"http://127.0.0.1:{port}/xx/requests?limit=10")
        assert rows == {"requests": []} or rows["requests"] == [], "--no-traffic sends nothing"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert_nothing_left(pids, scratch)


# ---- tmux ------------------------------------------------------------------------------------


@pytest.fixture
def tmux() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """tmux on a private server (its own socket), killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sock = f"xx-test-{os.getpid()}-{time.monotonic_ns()}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10)

    try:
        yield run
    finally:
        run("kill-server")


@pytest.mark.tmux
def test_demo_in_tmux_shows_live_rows_and_ctrl_c_stops_everything(
    scratch: dict[str, str], tmux: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    port = free_port()
    done = tmp_path / "exit-code"
    env = " ".join(f"{k}={v}" for k, v in scratch.items() if k.startswith("XDG_") or k == "NO_COLOR")
    cmd = (
        f"env -u COLUMNS -u LINES {env} {' '.join(xx_demo('--port', str(port)))}; echo $? > {done}; sleep 60"
    )
    r = tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "36", cmd)
    assert r.returncode == 0, r.stderr
    pids = wait_for(lambda: read_pids(scratch), 10, "the demo to start")

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "demo").stdout

    def live() -> str | None:
        text = screen()
        agents = sum(name in text for name in ("claude", "codex", "qwen", "opencode"))
        return (
            text
            if agents >= 3 and any(c in text for c in ("HIT", "MISS", "COLD")) and "xx dash" in text
            else None
        )

    text = wait_for(live, 5, "live rows in the dashboard", interval=0.25)
    assert "→" in text  # requested → served
    tmux("send-keys", "-t", "demo", "C-c")
    wait_for(lambda: done.exists() and done.read_text().strip(), 15, "the demo to exit after Ctrl-C")
    assert done.read_text().strip() == "0", screen()
    assert "stopped" in screen()
    assert_nothing_left(pids, scratch)


def test_a_second_demo_names_the_first_and_a_demo_stops_when_its_gateway_dies(scratch: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        xx_demo("--headless", "--no-traffic", "--port", str(port)),
        env=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        pids = wait_for(lambda: read_pids(scratch), 10, "the demo to start")
        # the first demo's port, as the default 8092 would be: the running demo is named, not the port
        second = subprocess.run(xx_demo("--headless", "--port", str(port)), env=scratch, capture_output=True,
                                text=True, timeout=30)  # fmt: skip
        assert second.returncode == 1, second.stderr
        assert f"another xx demo is running at {pids['url']} (pid {pids['demo']})" in second.stderr
        assert "port" not in second.stderr.replace(pids["url"], ""), second.stderr
        os.kill(pids["gateway"], signal.SIGTERM)  # what `xx gateway down` did before it refused
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert time.monotonic() - t0 < 8
    assert f"the demo's gateway (pid {pids['gateway']}) exited" in err
    assert out.count("gateway did not answer") <= 1, out
    assert_nothing_left(pids, scratch)
