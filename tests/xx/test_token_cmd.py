"""`xx gateway token create | list | revoke` with the file store: printed once, stored hashed, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _xx(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XX_CONFIG": str(tmp / "absent.toml"), "XDG_STATE_HOME": str(tmp / "state")}
    return subprocess.run([sys.executable, "-m", "xx", "gateway", "token", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_create_list_revoke(tmp_path: Path) -> None:
    made = _xx(tmp_path, "create", "ci-bot", "--usd-per-day", "1.5", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    assert token.startswith("xxt_")
    stored = (tmp_path / "state" / "xx" / "tokens.json").read_text()
    assert token not in stored and (tmp_path / "state" / "xx" / "tokens.json").stat().st_mode & 0o077 == 0
    listed = json.loads(_xx(tmp_path, "list", "--json").stdout)
    assert listed == [{"name": "ci-bot", "hint": token[:8] + "…", "created": listed[0]["created"], "revoked": False,
                       "requests_per_day": None, "usd_per_day": 1.5}]
    assert _xx(tmp_path, "create", "ci-bot").returncode == 1  # one active token per name
    assert _xx(tmp_path, "revoke", "ci-bot").returncode == 0
    assert _xx(tmp_path, "revoke", "ci-bot").returncode == 1
    assert json.loads(_xx(tmp_path, "list", "--json").stdout)[0]["revoked"] is True
    assert _xx(tmp_path, "create", "ci-bot").returncode == 0  # a revoked name can be issued again


def test_help() -> None:
    out = subprocess.run([sys.executable, "-m", "xx", "gateway", "token", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "create" in out.stdout and "revoke" in out.stdout


def test_create_with_the_demos_config_reaches_the_demos_gateway(tmp_path: Path) -> None:
    """XX_CONFIG=<the demo's config>: the token lands in the demo's state dir, so its gateway admits it."""
    import httpx
    from support.servers import GatewayThread, free_port

    from gateway.config import parse, paths
    from xx.demo import Layout, demo_config_text

    state = tmp_path / "state"
    layout = Layout(state / paths.APP / "demo")
    layout.root.mkdir(parents=True)
    layout.lock.touch()
    port = free_port()
    layout.config.write_text(demo_config_text("http://127.0.0.1:9", port))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_"))}
    env = {**base, "XDG_STATE_HOME": str(state), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XX_CONFIG": str(layout.config)}
    made = subprocess.run([sys.executable, "-m", "xx", "gateway", "token", "create", "demo-bot", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    assert (layout.state_dir / "tokens.json").exists()
    assert not (state / paths.APP / "tokens.json").exists(), "written to the user's own gateway's state dir"
    cfg = parse(layout.config.read_text(), source=str(layout.config), env={})
    gw = GatewayThread(cfg, layout.ledger).start()  # the demo hands its gateway this state dir
    try:
        r = httpx.get(gw.url + "/v1/models", headers={"authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        gw.stop()
