"""`xx models scan` in a subprocess against the simulated catalogs, then `xx models` showing the result."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from support.servers import free_port

from gateway.simulator.catalog import scan_config_text


def xx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", "models", *args], env=env, capture_output=True, text=True,
                          timeout=90)


def test_scan_then_models(simulator_thread, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(scan_config_text(simulator_thread.url, port=free_port()))
    state = tmp_path / "state"
    env = {**os.environ, "XX_CONFIG": str(cfg), "XX_STATE_DIR": str(state), "HOME": str(tmp_path)}
    r = xx(env, "scan", "--budget", "5", "--timeout", "1.5", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["spent"] == 5 == simulator_thread.calls() and rep["stored"] is True
    assert (state / "scan.json").exists()
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM exchanges WHERE agent = 'xx-scan'").fetchone()[0] == 5
    text = xx(env).stdout
    assert "SCORE" in text and "CONTEXT" in text and "scanned 0m ago" in text, text
    kimi = next(line for line in text.splitlines() if line.startswith("kimi-free"))
    assert "256k" in kimi
    offline = json.loads(xx(env, "--json").stdout)["models"]
    found = [m for m in offline if m["discovered"]]
    assert found and all(m["score"] and m["tiers"] == {"free": ["ranked"], "best": ["ranked"]} for m in found), found
    table = xx(env, "scan", "--budget", "0", "--timeout", "1.5")
    assert table.returncode == 1 and "not probed" in table.stdout and "0 of 0 probe requests" in table.stdout


def test_bad_usage_and_a_provider_whose_catalog_is_not_json(simulator_thread, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(scan_config_text(simulator_thread.url, port=free_port()))
    env = {**os.environ, "XX_CONFIG": str(cfg), "XX_STATE_DIR": str(tmp_path / "s"), "HOME": str(tmp_path)}
    r = xx(env, "scan", "--provider", "nope")
    assert r.returncode == 2 and "unknown provider 'nope'" in r.stderr
    r = xx(env, "scan", "--provider", "flaky", "--timeout", "1.5")
    assert r.returncode == 1 and "provider flaky: the model list of flaky is not JSON" in r.stdout, r.stdout
    assert "not stored" in r.stdout and "kept in" not in r.stdout  # it said "kept in" though nothing was
    assert "Traceback" not in r.stderr
    assert "--budget" in xx(env, "scan", "--help").stdout
