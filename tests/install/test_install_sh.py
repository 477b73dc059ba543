"""install/install.sh on a scratch home: a real venv, a real pip install, run twice."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "install" / "install.sh"


def test_help() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "usage: install.sh" in proc.stdout


def test_unknown_option_exits_2() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--frobnicate"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "unknown option" in proc.stderr


@pytest.mark.slow
def test_installs_into_its_own_venv_idempotently(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
        "PYTHON": os.environ.get("XX_TEST_PYTHON", "/work/venv/bin/python"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for _ in range(2):
        proc = subprocess.run(["bash", str(SCRIPT), str(ROOT), "--method", "venv", "--no-aliases"],
                              env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    xx = home / ".local" / "bin" / "xx"
    assert xx.is_symlink() and str(xx.resolve()).startswith(str(tmp_path / "data" / "xx" / "venv"))
    out = subprocess.run([str(xx), "cip", "--dry-run", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and '"claude"' in out.stdout, out.stderr  # profiles shipped inside the wheel
