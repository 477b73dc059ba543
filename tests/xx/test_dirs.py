"""Commands aimed at the demo's config use the demo's state and cache dirs, as its gateway does.

Real subprocesses (`python -m xx ...`) over a directory laid out exactly as `xx demo` lays it
out; the user's own state and cache dirs must stay untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.accounting.ledger import Ledger
from gateway.config import paths
from xx import dirs
from xx.demo import Layout, demo_config_text


@pytest.fixture
def demo_env(tmp_path: Path) -> tuple[dict[str, str], Layout, Path, Path]:
    state, cache = tmp_path / "state", tmp_path / "cache"
    layout = Layout(state / paths.APP / "demo")  # where `xx demo` puts it: <state dir>/demo
    layout.root.mkdir(parents=True)
    layout.lock.touch()  # every demo run leaves it
    layout.config.write_text(demo_config_text("http://127.0.0.1:9", 8092))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_"))}
    env = {**base, "XDG_STATE_HOME": str(state), "XDG_CACHE_HOME": str(cache), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XX_CONFIG": str(layout.config)}
    return env, layout, state / paths.APP, cache / paths.APP


def xx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", *args], env=env, capture_output=True, text=True, timeout=60)


def test_capture_on_with_the_demos_config_touches_only_the_demo(demo_env) -> None:
    env, layout, user_state, _ = demo_env
    r = xx(env, "capture", "on", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["file"].startswith(str(layout.state_dir))
    assert (layout.state_dir / "capture" / "enabled").exists() or any(layout.state_dir.rglob("enabled"))
    assert not any(p for p in user_state.rglob("enabled") if layout.root not in p.parents), \
        "a flag file in the user's own state dir would switch capture on for the real gateway"


def test_usage_and_cache_stats_read_the_demos_files(demo_env) -> None:
    env, layout, _, user_cache = demo_env
    layout.state_dir.mkdir(parents=True)
    Ledger(layout.ledger).close()  # the demo gateway's (empty) ledger
    r = xx(env, "usage", "--json", "--since", "2000-01-01")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ledger"] == str(layout.ledger)
    c = xx(env, "cache", "stats", "--json")
    assert c.returncode == 0, c.stderr
    assert json.loads(c.stdout)["path"] == str(layout.cache_dir / "replay.sqlite3")
    assert not (user_cache / "replay.sqlite3").exists()


def test_xx_state_dir_still_wins_and_other_configs_use_the_platform_dirs(tmp_path: Path, demo_env) -> None:
    _env, layout, _, _ = demo_env
    assert dirs.state_dir({"XX_STATE_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert dirs.demo_of(layout.config) == layout
    other = tmp_path / "mine" / "config.toml"
    assert dirs.demo_of(other) is None


def test_usage_with_a_missing_ledger_is_an_error_naming_it(tmp_path: Path, demo_env) -> None:
    env, *_ = demo_env
    missing = tmp_path / "nope" / "x.sqlite3"
    r = xx(env, "usage", "--ledger", str(missing))
    assert r.returncode == 1 and str(missing) in r.stderr and "0 requests" not in r.stdout


def test_gateway_logs_with_the_demos_config_shows_the_demos_gateway_log(demo_env) -> None:
    env, layout, _, _ = demo_env
    layout.log("gateway").write_text("demo gateway line\n")
    r = xx(env, "gateway", "logs", "-n", "5")
    assert r.returncode == 0 and "demo gateway line" in r.stdout, r
