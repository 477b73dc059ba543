"""Launcher start-up: `xx --help` and `xx cip --dry-run` against `python -c pass`.

    python tests/bench/bench_launch.py [--runs 30]

Target: each within 40 ms of bare Python start-up. Runs in a scratch HOME/XDG so no user
config or gateway is involved; reports the median and the best of N runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

XX = str(Path(sys.executable).with_name("xx"))  # the console script a user runs (no runpy, unlike `python -m xx`)
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "xx --help": [XX, "--help"],
    "xx cip --dry-run": [XX, "cip", "--dry-run"],
    "xx cip --dry-run --json": [XX, "cip", "--dry-run", "--json"],
}


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": f"{home}/c", "XDG_STATE_HOME": f"{home}/s"}
        # as on a user's machine: byte-code caches on (a sandbox may set PYTHONDONTWRITEBYTECODE, which
        # makes every run recompile every module and measures the compiler, not the launcher)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for cmd in CASES.values():
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        results = {name: timed(cmd, env, args.runs) for name, cmd in CASES.items()}
    base = statistics.median(results["python -c pass"])
    for name, ms in results.items():
        med = statistics.median(ms)
        extra = "" if name.startswith("python") else f"   +{med - base:5.1f} ms vs python (target <= 40)"
        print(f"{name:26s} median {med:6.1f} ms  best {min(ms):6.1f} ms{extra}")


if __name__ == "__main__":
    main()
