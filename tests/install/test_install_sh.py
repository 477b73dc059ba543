"""install/install.sh on a scratch home: a real venv, a real pip install, run twice."""

from __future__ import annotations

import os
import subprocess
import sys
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
        # the interpreter running the tests (>= 3.11, or the suite would not run); XX_TEST_PYTHON overrides it
        "PYTHON": os.environ.get("XX_TEST_PYTHON", sys.executable), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for _ in range(2):
        proc = subprocess.run(["bash", str(SCRIPT), str(ROOT), "--method", "venv", "--no-aliases"],
                              env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    xx = home / ".local" / "bin" / "xx"
    assert xx.is_symlink() and str(xx.resolve()).startswith(str(tmp_path / "data" / "xx" / "venv"))
    out = subprocess.run([str(xx), "cip", "--dry-run", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and '"claude"' in out.stdout, out.stderr  # profiles shipped inside the wheel


def _venv_install(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHON": python}
    return subprocess.run(["bash", str(SCRIPT), str(ROOT), "--method", "venv", "--no-aliases"], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_python_that_does_not_exist_is_named_as_missing(tmp_path: Path) -> None:
    proc = _venv_install(tmp_path, str(tmp_path / "no-such-python3"))
    assert proc.returncode == 1
    assert "no-such-python3 not found" in proc.stderr and "older" not in proc.stderr
    assert not (tmp_path / "data" / "xx" / "venv").exists()


def test_an_old_python_is_named_with_its_version(tmp_path: Path) -> None:
    fake = tmp_path / "python3.8"
    fake.write_text("#!/bin/sh\necho 3.8\n")
    fake.chmod(0o755)
    proc = _venv_install(tmp_path, str(fake))
    assert proc.returncode == 1 and "needs Python 3.11 or newer" in proc.stderr and "is 3.8" in proc.stderr


def test_a_broken_python_is_named_as_broken(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    proc = _venv_install(tmp_path, str(fake))
    assert proc.returncode == 1 and "does not run as Python" in proc.stderr
