"""The free-tier-day benchmark, shortened to a simulated half hour, so it cannot rot between hand runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_free_tier_day.py"


@pytest.mark.slow
def test_half_an_hour_of_the_governor_and_the_static_cascade() -> None:
    import json

    r = subprocess.run([sys.executable, str(BENCH), "--hours", "0.5", "--speed", "600", "--setups", "ab", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {row["setup"]: row for row in json.loads(r.stdout)}
    assert rows["b"]["requests"] >= 50 and rows["b"]["429_to_agent"] == 0 and rows["b"]["refused_pct"] < 1.0
    assert rows["b"]["turns_served"] == rows["b"]["turns"]
    assert rows["a"]["429_to_agent"] > 0  # one account's 50 a day run out within the half hour
