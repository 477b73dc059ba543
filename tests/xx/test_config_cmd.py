"""`xx config` in a subprocess with a scratch XDG home: init, validate, show masks, set keeps comments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_"))}
    e.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_STATE_HOME=str(tmp_path / "state"))
    return e


def xx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", *args], env=env, capture_output=True, text=True, timeout=30)


def test_path_follows_xdg(env: dict[str, str], tmp_path: Path) -> None:
    assert xx(env, "config", "path").stdout.strip() == str(tmp_path / "cfg" / "xx" / "config.toml")
    env["XX_CONFIG"] = str(tmp_path / "elsewhere.toml")
    assert xx(env, "config", "path").stdout.strip() == str(tmp_path / "elsewhere.toml")


def test_init_validate_and_invalid_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    r = xx(env, "config", "init")
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "cfg" / "xx" / "config.toml"
    assert "# xx configuration" in cfg.read_text()
    assert xx(env, "config", "init").returncode == 1  # never clobbers silently
    assert xx(env, "config", "validate").returncode == 0
    cfg.write_text(cfg.read_text().replace('dialect = "openai"', 'dialect = "nope"', 1))
    r = xx(env, "config", "validate", "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["valid"] is False
    assert any("providers.openrouter.dialect" in p for p in report["problems"])


def test_show_masks_secrets(env: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[gateway]\ntoken = "literal-token-123456"\n')
    env.update(XX_CONFIG=str(cfg), OPENROUTER_API_KEY="sk-or-v1-SECRET")
    r = xx(env, "config", "show")
    assert r.returncode == 0, r.stderr
    assert "literal-token-123456" not in r.stdout and "****3456" in r.stdout
    cfg.write_text(xx_default := (Path(__file__).parents[2] / "gateway" / "config" / "default_config.toml").read_text())
    r = xx(env, "config", "show", "--json")
    assert "SECRET" not in r.stdout
    assert "$OPENROUTER_API_KEY (set)" in r.stdout
    assert xx_default


def test_set_keeps_comments(env: dict[str, str], tmp_path: Path) -> None:
    assert xx(env, "config", "init").returncode == 0
    cfg = tmp_path / "cfg" / "xx" / "config.toml"
    before = cfg.read_text()
    r = xx(env, "config", "set", "gateway.port", "8099")
    assert r.returncode == 0, r.stderr
    assert f"set gateway.port = 8099 in {cfg}" in r.stdout  # the new value is shown
    after = cfg.read_text()
    assert "port = 8099" in after
    assert after.count("#") == before.count("#")  # every comment survived
    assert xx(env, "config", "set", "gateway.port", '"x"').returncode == 1  # invalid edit refused
    assert "port = 8099" in cfg.read_text()
