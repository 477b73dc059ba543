"""`xx usage` as a user runs it: a real subprocess over a real ledger file with a known week of traffic."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.ledger_week import BY_AGENT, BY_DAY, DAY, NOW, TOTAL, write_ledger

from gateway.accounting.usage import FIELDS

CONFIG = """\
[providers.openai]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$XX_TEST_NO_SUCH_KEY"

[models.gpt-paid]
provider = "openai"
id = "gpt-paid"
price = { input = 1.0, output = 2.0, cache_read = 0.1, cache_write = 1.25 }

[tiers.paid]
letter = "0"
big = ["gpt-paid"]
"""


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    """A ledger whose week ends today (whole days moved, so the hand table still holds), and a config with prices."""
    shift = ((time.time() - NOW) // DAY) * DAY
    ledger = write_ledger(tmp_path / "ledger.sqlite3", shift)
    (tmp_path / "config.toml").write_text(CONFIG)
    env = {**os.environ, "XX_CONFIG": str(tmp_path / "config.toml"), "XDG_STATE_HOME": str(tmp_path / "state")}
    first_day = time.strftime("%Y-%m-%d", time.gmtime(NOW + shift - 6 * DAY))
    return ledger, env, first_day


def xx_usage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xx", "usage", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_json_by_agent_equals_the_hand_table(world: tuple[Path, dict[str, str], str]) -> None:
    ledger, env, since = world
    r = xx_usage(env, "--since", since, "--by", "agent", "--json", "--ledger", str(ledger))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    got = {g["agent"]: tuple(round(g[f], 6) for f in FIELDS) for g in report["groups"]}
    assert got == {k: tuple(round(v, 6) for v in t) for k, t in BY_AGENT.items()}
    assert tuple(round(report["total"][f], 6) for f in FIELDS) == tuple(round(v, 6) for v in TOTAL)


def test_csv_is_plain_numbers(world: tuple[Path, dict[str, str], str]) -> None:
    ledger, env, since = world
    r = xx_usage(env, "--since", since, "--by", "day", "--csv", "--ledger", str(ledger))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["day", *FIELDS]
    assert len(rows) == len(BY_DAY) + 2 and rows[-1][0] == "total"
    for row in rows[1:]:
        for cell in row[1:]:
            float(cell)  # a spreadsheet reads it as a number: no $, %, k or thousands separators
            assert all(ch in "0123456789." for ch in cell), cell
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert int(total["requests"]) == 7 and int(total["input_tokens"]) == 20000
    assert float(total["cost_usd"]) == pytest.approx(0.013625)


def test_table_and_bad_since(world: tuple[Path, dict[str, str], str]) -> None:
    ledger, env, since = world
    r = xx_usage(env, "--since", since, "--by", "model", "--ledger", str(ledger))
    assert r.returncode == 0, r.stderr
    assert "gpt-paid" in r.stdout and "total" in r.stdout and "20,000" in r.stdout
    for bad in ("yesterday", "7y", "2026-02-30"):
        r = xx_usage(env, "--since", bad, "--ledger", str(ledger))
        assert r.returncode == 2
        assert "--since" in r.stderr and "7d" in r.stderr and "YYYY-MM-DD" in r.stderr
        assert r.stdout == ""
    r = xx_usage(env, "--by", "week")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_a_fresh_install_gets_an_empty_report_and_a_named_missing_ledger_an_error(
        world: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    _, env, _ = world
    fresh = {**env, "XDG_STATE_HOME": str(tmp_path / "fresh-state")}  # the gateway never ran: no ledger yet
    r = xx_usage(fresh, "--json")
    assert r.returncode == 0 and "no requests yet" in r.stderr, r.stderr
    assert json.loads(r.stdout)["groups"] == []
    named = xx_usage(env, "--ledger", str(tmp_path / "typo.sqlite3"))
    assert named.returncode == 1 and "no ledger at" in named.stderr
