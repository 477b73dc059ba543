"""XX_GATEWAY_URL + XX_GATEWAY_TOKEN: the launcher attaches to a team gateway and starts none of its own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.servers import GatewayThread, free_port
from support.team_cluster import team_config

from gateway.accounting import tokens

STUB = """#!{python}
import json, os, sys
with open(os.path.join(os.environ["XX_STUB_OUT"], "claude.json"), "w") as f:
    json.dump({{"argv": sys.argv, "env": dict(os.environ)}}, f)
"""


def _launch(tmp: Path, remote: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "claude").write_text(STUB.format(python=sys.executable))
    (bin_dir / "claude").chmod(0o755)
    local_port = free_port()
    cfg = tmp / "local.toml"
    cfg.write_text(f'[gateway]\nport = {local_port}\ndefault_tier = "free"\n'
                   '[providers.p]\nprotocol = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                   '[models.m]\nprovider = "p"\nid = "m"\n[tiers.free]\nletter = "f"\nbig = ["m"]\n')
    (tmp / "out").mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "XX_CONFIG": str(cfg),
           "XDG_STATE_HOME": str(tmp / "lstate"), "XX_STUB_OUT": str(tmp / "out"),
           "XX_GATEWAY_URL": remote, "XX_GATEWAY_TOKEN": token}
    res = subprocess.run([sys.executable, "-m", "xx", *args], env=env, capture_output=True, text=True, timeout=60)
    res.local_port = local_port  # type: ignore[attr-defined]
    return res


def test_attaches_to_the_remote_gateway_with_the_token(simulator_thread, tmp_path: Path) -> None:
    store = tokens.FileTokens(tmp_path / "tokens.json")
    clear = tokens.new_token()
    asyncio.run(store.upsert(tokens.Token("carol", tokens.digest(clear), clear[:8], time.time())))
    gw = GatewayThread(team_config(simulator_thread.url, state_url=None, ledger_url=None, rpm=1000),
                       tmp_path / "ledger.sqlite3").start()
    try:
        dry = _launch(tmp_path, gw.url, clear, "cip", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        plan = json.loads(dry.stdout)
        assert plan["gateway"] == gw.url and clear not in dry.stdout  # the token is masked in the plan
        res = _launch(tmp_path, gw.url, clear, "cnp", "-p", "hi")
        assert res.returncode == 0, res.stderr
        seen = json.loads((tmp_path / "out" / "claude.json").read_text())["env"]
        assert seen["ANTHROPIC_BASE_URL"].startswith(gw.url + "/x/claude/")
        assert clear in (seen.get("ANTHROPIC_AUTH_TOKEN"), seen.get("ANTHROPIC_API_KEY"))
        try:
            httpx.get(f"http://127.0.0.1:{res.local_port}/health", timeout=0.5)  # type: ignore[attr-defined]
            raise AssertionError("a local gateway was started")
        except httpx.HTTPError:
            pass
        bad = _launch(tmp_path, gw.url, "xxt_wrong", "cnp", "-p", "hi")
        assert bad.returncode == 1 and "refused the token" in bad.stderr
    finally:
        gw.stop()
