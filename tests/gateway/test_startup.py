"""A team gateway that cannot start says why in one line: the missing driver and its fix, or the
unreachable PostgreSQL by host (never the password); no traceback.

Real subprocesses: `python -m gateway`, `xx gateway up` and `xx doctor`, with an import blocker
(a sitecustomize on PYTHONPATH) standing in for an install without the `team` extra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import free_port

from gateway.startup import hide, where

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pw"
BLOCKER = '''
import sys

class _NotInstalled:
    """As if the `team` extra were not installed: these packages do not import."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
'''


def _config(tmp: Path, *, state: bool, ledger: str | None) -> Path:
    text = (f'[gateway]\nhost = "127.0.0.1"\nport = {free_port()}\ndefault_tier = "free"\n'
            '[providers.sim]\nprotocol = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[models.m1]\nprovider = "sim"\nid = "m1"\n'
            '[tiers.free]\nletter = "f"\nbig = ["m1"]\nmiddle = ["m1"]\nsmall = ["m1"]\n')
    if state:
        text += f'[state]\nurl = "redis://127.0.0.1:{free_port()}/0"\n'
    if ledger:
        text += f'[ledger]\nurl = "{ledger}"\n'
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def _env(tmp: Path, config: Path, blocked: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XX_", "XDG_"))}
    paths = [str(ROOT)]
    if blocked:
        (tmp / "block").mkdir(exist_ok=True)
        (tmp / "block" / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(blocked)))
        paths.insert(0, str(tmp / "block"))
    return {**env, "PYTHONPATH": os.pathsep.join(paths), "XX_CONFIG": str(config),
            "XDG_STATE_HOME": str(tmp / "state"), "XDG_CACHE_HOME": str(tmp / "cache")}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize(("blocked", "state", "ledger", "package"), [
    (("redis",), True, None, "redis"),
    (("asyncpg",), False, "postgresql://xx@127.0.0.1:9/xx", "asyncpg"),
])
def test_a_missing_team_driver_is_named_with_its_fix(tmp_path: Path, blocked: tuple[str, ...], state: bool,
                                                     ledger: str | None, package: str) -> None:
    env = _env(tmp_path, _config(tmp_path, state=state, ledger=ledger), blocked)
    r = _run(env, "-m", "gateway")
    assert r.returncode == 2, r.stderr
    assert f"Python package {package!r} is not installed" in r.stderr, r.stderr
    assert "pip install 'xx-agents[team]'" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_gateway_up_and_doctor_name_the_missing_driver(tmp_path: Path) -> None:
    env = _env(tmp_path, _config(tmp_path, state=True, ledger=None), ("redis",))
    up = _run(env, "-m", "xx", "gateway", "up")
    assert up.returncode != 0
    out = up.stdout + up.stderr
    assert "Python package 'redis' is not installed: pip install 'xx-agents[team]'" in out, out
    assert "Traceback" not in out, out
    doc = _run(env, "-m", "xx", "doctor", "--json")
    team = [c for c in json.loads(doc.stdout)["checks"] if c["name"] == "team"]
    assert doc.returncode == 1 and team and team[0]["status"] == "fail", doc.stdout
    assert "pip install 'xx-agents[team]'" in team[0]["detail"]


def test_postgres_down_at_start_is_one_line_without_the_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = _env(tmp_path, _config(tmp_path, state=False, ledger=f"postgresql://xx:{PASSWORD}@127.0.0.1:{port}/team"))
    r = _run(env, "-m", "gateway")
    assert r.returncode == 1, r.stderr
    assert f"cannot open the PostgreSQL ledger at 127.0.0.1:{port}/team" in r.stderr, r.stderr
    assert "start PostgreSQL" in r.stderr
    assert "Traceback" not in r.stderr and PASSWORD not in r.stderr + r.stdout, r.stderr


def test_doctor_names_an_unreachable_ledger_without_the_password(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, _config(tmp_path, state=False, ledger=f"postgresql://xx:{PASSWORD}@127.0.0.1:{port}/team"))
    doc = _run(env, "-m", "xx", "doctor", "--json")
    team = [c for c in json.loads(doc.stdout)["checks"] if c["name"] == "team"]
    assert doc.returncode == 1 and team and team[0]["status"] == "fail", doc.stdout
    assert f"127.0.0.1:{port}/team" in team[0]["detail"] and PASSWORD not in doc.stdout + doc.stderr


def test_where_and_hide_never_show_the_password() -> None:
    url = f"postgresql://xx:{PASSWORD}@db.internal:5433/ledger"
    assert where(url) == "db.internal:5433/ledger"
    assert where("postgresql:///team?host=/tmp/pg") == "/tmp/pg/team"
    assert where("redis://:pw@127.0.0.1:6379/0") == "127.0.0.1:6379/0"
    said = hide(f"connect {url} failed: password {PASSWORD} rejected", url)
    assert PASSWORD not in said and "db.internal:5433/ledger" in said


def test_token_cli_names_the_missing_driver(tmp_path: Path) -> None:
    env = _env(tmp_path, _config(tmp_path, state=False, ledger="postgresql://xx@127.0.0.1:9/xx"), ("asyncpg",))
    r = _run(env, "-m", "xx", "gateway", "token", "list")
    assert r.returncode == 1 and "package 'asyncpg' is not installed: pip install 'xx-agents[team]'" in r.stderr, r.stderr
