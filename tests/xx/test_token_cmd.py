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
