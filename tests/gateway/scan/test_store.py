"""The stored scan: a scan that could probe nothing neither replaces it nor counts as a scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.scan import store

GOOD = {"scanned_at": 1.0, "models": [{"name": "m", "usable": True, "score": 1.0}]}
EMPTY = {"scanned_at": 2.0, "models": [], "providers": {"p": {"ok": False, "error": "no API key"}}}


def test_an_empty_scan_leaves_the_stored_one(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    assert store.keep(path, GOOD) is True
    assert store.keep(path, EMPTY) is False
    assert store.load(path)["scanned_at"] == 1.0  # type: ignore[index]


def test_xx_models_scan_without_keys_stores_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN")) and k != "XX_CONFIG"}
    env |= {"XX_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    run = [sys.executable, "-m", "xx", "models"]
    r = subprocess.run([*run, "scan", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and json.loads(r.stdout)["models"] == [], r.stdout + r.stderr
    assert "nothing could be probed" in r.stderr
    assert not (tmp_path / "state" / "scan.json").exists()
    shown = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "scanned 0m ago" not in shown, shown
