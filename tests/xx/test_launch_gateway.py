"""The launcher and the gateway agree, or the launcher says exactly why not.

Real `python -m xx` subprocesses, a real gateway daemon on a private port, the simulator as
the provider (it ignores keys), and a stub agent that records what it received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.servers import free_port

from gateway.config import identity
from xx import preflight

STUB = """#!{python}
import json, os, sys
with open(os.path.join(os.environ["XX_STUB_OUT"], "claude.json"), "w") as f:
    json.dump({{"argv": sys.argv, "env": dict(os.environ)}}, f)
sys.exit(0)
"""


def config_text(sim_url: str, port: int, extra: str = "") -> str:
    return f"""
[gateway]
port = {port}
default_tier = "free"

[providers.sim]
protocol = "openai"
base_url = "{sim_url}/v1"
api_key = "$XX_T_KEY"

[models.m]
provider = "sim"
id = "sim/kimi-k2.6:free"

[tiers.free]
letter = "f"
big = ["m"]
{extra}"""


@pytest.fixture
def world(tmp_path: Path, simulator_thread) -> Any:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").write_text(STUB.format(python=sys.executable))
    (bin_dir / "claude").chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_text(simulator_thread.url, port))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_")) and not k.endswith("_API_KEY")}
    env = {**base, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XX_CONFIG": str(cfg), "XX_STUB_OUT": str(out)}
    w = type("World", (), {"env": env, "out": out, "port": port, "cfg": cfg, "url": f"http://127.0.0.1:{port}",
                           "sim": simulator_thread.url, "tmp": tmp_path})
    yield w
    subprocess.run([sys.executable, "-m", "xx", "gateway", "down", "--timeout", "5"], env=env, capture_output=True,
                   timeout=60)


def xx(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def health(url: str) -> dict[str, Any]:
    return httpx.get(url + "/health", timeout=5).json()


def test_no_usable_key_exits_1_fast_naming_the_variable_and_starts_nothing(world) -> None:
    t0 = time.monotonic()
    r = xx(world.env, "cnp", "-p", "hi")
    elapsed = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert "claude not started" in r.stderr and "XX_T_KEY" in r.stderr and "--force" in r.stderr
    assert not (world.out / "claude.json").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(world.url + "/health", timeout=1)
    code = xx(world.env, "doctor", "--json")
    assert code.returncode == 1
    tier = next(c for c in json.loads(code.stdout)["checks"] if c["name"] == "default tier")
    assert tier["status"] == "fail" and "XX_T_KEY" in tier["detail"]


def test_force_launches_anyway(world) -> None:
    r = xx(world.env, "cnp", "-p", "hi", "--force")
    assert r.returncode == 0, r.stderr
    assert (world.out / "claude.json").exists()


def test_a_key_exported_after_the_gateway_started_restarts_it_once(world) -> None:
    up = xx(world.env, "gateway", "up")
    assert up.returncode == 0, up.stderr
    first = health(world.url)
    assert first["keys"] == {"XX_T_KEY": None}
    env = {**world.env, "XX_T_KEY": "sk-test-exported-later"}
    status = xx(env, "gateway", "status", "--json")
    st = json.loads(status.stdout)
    assert status.returncode == 1, "running but not ready is not a success"
    assert st["next_launch"]["action"] == "restart" and "XX_T_KEY was set after" in st["next_launch"]["reason"]
    assert st["ready"] is False and any("default tier 'free' cannot serve" in p for p in st["problems"])
    assert st["keys"] == {"XX_T_KEY": False}
    assert xx(env, "doctor", "--json").returncode == 0  # the launch would work: it restarts the gateway
    r = xx(env, "cnp", "-p", "hi")
    assert r.returncode == 0, r.stderr
    assert "restarted the gateway" in r.stderr and "XX_T_KEY was set after the gateway started" in r.stderr
    assert r.stderr.count("\n") <= 2 and "sk-test-exported-later" not in r.stderr
    second = health(world.url)
    assert second["pid"] != first["pid"]
    assert second["keys"] == {"XX_T_KEY": identity.fingerprint("sk-test-exported-later")}
    # the next launch attaches silently
    again = xx(env, "cnp", "-p", "hi")
    assert again.returncode == 0 and "restarted" not in again.stderr and health(world.url)["pid"] == second["pid"]
    # a shell without the key attaches too: the gateway holds more, restarting would only hurt
    assert xx(world.env, "gateway", "up").stdout.startswith("xx gateway already running")
    doc = xx(world.env, "doctor", "--json")
    tier = next(c for c in json.loads(doc.stdout)["checks"] if c["name"] == "default tier")
    assert doc.returncode == 0 and tier["detail"].endswith("1 of 1 models have their key in the running gateway"), tier
    key = next(c for c in json.loads(doc.stdout)["checks"] if c["name"].startswith("key "))
    assert key["status"] == "ok" and "the running gateway holds it" in key["detail"], key  # not a false warning


def test_a_gateway_serving_another_config_is_restarted_with_ours(world) -> None:
    other = world.tmp / "other.toml"
    other.write_text(config_text(world.sim, world.port, extra='\n[tiers.extra]\nletter = "e"\nbig = ["m"]\n'))
    assert xx({**world.env, "XX_CONFIG": str(other)}, "gateway", "up").returncode == 0
    assert health(world.url)["config"] == str(other.resolve())
    env = {**world.env, "XX_T_KEY": "k"}
    st = xx(env, "gateway", "status")
    assert f"config {other.resolve()}" in st.stdout and "the next launch from this shell restarts it" in st.stdout
    r = xx(env, "cnp", "-p", "hi")
    assert r.returncode == 0, r.stderr
    assert f"it serves another config ({other.resolve()})" in r.stderr
    assert health(world.url)["config"] == str(world.cfg.resolve())


def test_a_demo_gateway_on_our_port_is_refused_and_never_stopped(world) -> None:
    demo_cfg = world.tmp / "demo.toml"
    demo_cfg.write_text(config_text(world.sim, world.port))
    demo_env = {**world.env, "XX_CONFIG": str(demo_cfg), "XDG_STATE_HOME": str(world.tmp / "demo-state")}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env={**demo_env, "XX_DEMO": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if health(world.url).get("demo"):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        env = {**world.env, "XX_T_KEY": "k"}
        t0 = time.monotonic()
        r = xx(env, "cnp", "-p", "hi")
        assert r.returncode == 1 and time.monotonic() - t0 < 2.0
        assert "`xx demo`'s gateway" in r.stderr and "gateway.port" in r.stderr
        assert not (world.out / "claude.json").exists()
        down = xx(env, "gateway", "down")
        assert down.returncode == 1 and "xx demo" in down.stderr
        own = xx(demo_env, "gateway", "down")  # XX_CONFIG = the demo's, as the demo tells users to set
        assert own.returncode == 1 and "Ctrl-C" in own.stderr and len(own.stderr.strip().splitlines()) == 1, own
        assert xx(env, "doctor", "--json").returncode == 1
        assert proc.poll() is None and health(world.url)["pid"] == proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


def test_a_spent_quota_is_refused_before_exec_with_how_long_to_wait(world) -> None:
    world.cfg.write_text(config_text(world.sim, world.port).replace('id = "sim/kimi-k2.6:free"',
                                                                    'id = "sim/kimi-k2.6:free"\nrpm = 1'))
    env = {**world.env, "XX_T_KEY": "k"}
    assert xx(env, "gateway", "up").returncode == 0
    r = httpx.post(world.url + "/x/codex/p/free/v1/chat/completions", timeout=30,
                   json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    t0 = time.monotonic()
    launch = xx(env, "cnp", "-p", "hi")
    assert launch.returncode == 1 and time.monotonic() - t0 < 2.0
    assert "every model of tier 'free' (big) is unavailable" in launch.stderr and "fix: wait " in launch.stderr
    assert not (world.out / "claude.json").exists()
    assert xx(env, "doctor", "--json").returncode == 1


def test_a_tier_back_within_seconds_is_waited_for_not_refused(world) -> None:
    """The demo's `back in 1s` once refused a launch: a short cool-down is waited out (bounded)."""
    env = {**world.env, "XX_T_KEY": "k"}
    assert xx(env, "gateway", "up").returncode == 0
    httpx.post(world.sim + "/_sim/faults", timeout=5, json={
        "model": "sim/kimi-k2.6:free", "faults": [{"kind": "status", "status": 429, "retry_after": 2}]})
    r = httpx.post(world.url + "/x/codex/p/free/v1/chat/completions", timeout=30,
                   json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 429, r.text
    ready = httpx.get(world.url + "/xx/ready?agent=claude&route=p&tier=free", timeout=5).json()
    assert not ready["ok"] and 0 < ready["retry_after"] <= 2, ready
    t0 = time.monotonic()
    launch = xx(env, "cnp", "-p", "hi")
    assert launch.returncode == 0, launch.stderr
    assert 0.5 < time.monotonic() - t0 < preflight.BRIEF_WAIT_S + 3
    assert (world.out / "claude.json").exists(), "the agent was launched once the model was back"


def test_status_under_a_broken_config_says_a_launch_would_be_refused(world) -> None:
    env = {**world.env, "XX_T_KEY": "k"}
    assert xx(env, "gateway", "up").returncode == 0
    world.cfg.write_text(world.cfg.read_text() + "\noops = [\n")  # the user is mid-edit
    st = xx(env, "gateway", "status")
    assert st.returncode == 1 and "a launch from this shell would be refused: the config file is invalid" in st.stdout, st
    assert "restarts it" not in st.stdout  # it said "it serves another config", naming the same file
    launch = xx(env, "cnp", "-p", "hi")
    assert launch.returncode != 0  # what status predicted


def test_a_dry_run_says_when_the_real_launch_would_be_refused(world) -> None:
    dry = xx(world.env, "cnp", "-p", "hi", "--dry-run")
    assert dry.returncode == 0 and "a real launch would be refused" in dry.stderr and "XX_T_KEY" in dry.stderr, dry
    keyed = xx({**world.env, "XX_T_KEY": "k"}, "cnp", "-p", "hi", "--dry-run")
    assert keyed.returncode == 0 and "refused" not in keyed.stderr
