"""`xx doctor` on a team config whose PostgreSQL answers: the team check is ok and names the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.servers import free_port
from support.team_cluster import team_config_text


def test_doctor_team_check_ok_with_a_reachable_ledger(pg_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(team_config_text("http://127.0.0.1:9", free_port(), state_url=None, ledger_url=pg_url))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("XX_", "XDG_"))},
           "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    doc = subprocess.run([sys.executable, "-m", "xx", "doctor", "--json"], env=env, capture_output=True, text=True,
                         timeout=120)
    team = [c for c in json.loads(doc.stdout)["checks"] if c["name"] == "team"]
    assert team and team[0]["status"] == "ok", doc.stdout
    assert "[ledger]" in team[0]["detail"] and pg_url.rsplit("/", 1)[-1].split("?")[0] in team[0]["detail"]
