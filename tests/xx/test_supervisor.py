"""`xx gateway up|down|status|logs|restart` as a user runs them: real daemon, real ports, scratch XDG dirs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from support.servers import free_port

from gateway.simulator.config import sim_config_text


@pytest.fixture
def env(tmp_path: Path, simulator_thread):
    port = free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(sim_config_text(simulator_thread.url, port=port))
    e = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    yield e, port, cfg
    subprocess.run([sys.executable, "-m", "xx", "gateway", "down", "--timeout", "5"], env=e, capture_output=True, timeout=60)


def xx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", "gateway", *args], env=env, capture_output=True, text=True, timeout=60)


def gateways(port: int) -> list[psutil.Process]:
    """Gateway processes serving this test's port."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        if (p.info["cmdline"] or [])[-2:] != ["-m", "gateway"]:
            continue
        try:
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in p.net_connections("tcp")):
                out.append(p)
        except psutil.Error:
            pass
    return out


def test_up_twice_status_logs_down(env) -> None:
    e, port, _ = env
    before = {p.pid for p in gateways(port)}
    r = xx(e, "up")
    assert r.returncode == 0, r.stderr
    assert "xx gateway up" in r.stderr
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    r2 = xx(e, "up")
    assert r2.returncode == 0 and "already running" in r2.stdout
    started = {p.pid for p in gateways(port)} - before
    assert len(started) == 1, "two `up` must not start two gateways"
    st = json.loads(xx(e, "status", "--json").stdout)
    assert st["running"] and st["pid"] in started and st["ready"] and st["uptime_s"] >= 0 and st["version"]
    assert "running at" in xx(e, "status").stdout
    assert "listening" in xx(e, "logs").stdout
    r = xx(e, "down")
    assert r.returncode == 0 and "stopped" in r.stderr
    assert not psutil.pid_exists(next(iter(started))) or psutil.Process(next(iter(started))).status() == psutil.STATUS_ZOMBIE
    st = xx(e, "status", "--json")
    assert st.returncode == 1 and json.loads(st.stdout)["running"] is False


def test_concurrent_ups_start_one_gateway(env) -> None:
    e, port, _ = env
    before = {p.pid for p in gateways(port)}
    procs = [subprocess.Popen([sys.executable, "-m", "xx", "gateway", "up"], env=e, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    assert all(p.wait(60) == 0 for p in procs)
    assert len({p.pid for p in gateways(port)} - before) == 1


def test_port_held_by_another_program_is_refused_clearly(env) -> None:
    e, port, _ = env
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        r = xx(e, "up")
    assert r.returncode == 1
    assert "held by another program" in r.stderr


def test_hot_reload_and_invalid_edit_keeps_last_valid(env) -> None:
    e, port, cfg = env
    assert xx(e, "up").returncode == 0
    url = f"http://127.0.0.1:{port}"
    text = cfg.read_text()
    added = '[models.sim-added]\nprovider = "sim-openai"\nid = "sim/added"\n\n'
    cfg.write_text(text.replace('[tiers.free]\nletter = "f"', added + '[tiers.free]\nletter = "f"\nreplay = true'))

    def models() -> list[str]:
        return [m["name"] for m in httpx.get(url + "/xx/models", timeout=5).json()["models"]]

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "sim-added" not in models():
        time.sleep(0.2)
    assert "sim-added" in models(), "a valid edit is applied without a restart"
    assert httpx.get(url + "/ready", timeout=5).json()["problems"] == []
    cfg.write_text(text.replace('dialect = "openai"', 'dialect = "carrier-pigeon"'))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not httpx.get(url + "/ready", timeout=5).json()["problems"]:
        time.sleep(0.2)
    problems = httpx.get(url + "/ready", timeout=5).json()["problems"]
    assert problems and "carrier-pigeon" in problems[0]
    # still serving with the last valid config
    r = httpx.post(url + "/x/t/p/free/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    assert r.status_code == 200
    st = xx(e, "status")
    assert "carrier-pigeon" in st.stdout
    assert "config reload failed" in xx(e, "logs").stdout
