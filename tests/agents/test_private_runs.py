"""Where the agent matrix's world may live: never below a world-writable directory (Gemini checks).

Not marked `agents`: it needs no CLI, and it is what makes the matrix pass with HOME under /tmp.
"""

from __future__ import annotations

import os
from pathlib import Path

from agents.harness import private_runs_dir, shared_ancestor


def test_tmp_is_shared_and_a_0700_dir_above_nothing_shared_is_not(tmp_path: Path) -> None:
    assert shared_ancestor(tmp_path / "a" / "b") is not None  # pytest's tmp lives under /tmp
    if (found := shared_ancestor(Path("/"))) is not None:
        print(f"note: {found} is world-writable on this machine")


def test_a_home_under_tmp_is_refused_and_the_choice_is_private(tmp_path: Path) -> None:
    env = {"XX_AGENTS_RUNS": str(tmp_path / "runs"), "HOME": str(tmp_path / "home")}
    chosen, why = private_runs_dir(tmp_path / "cache", env)
    assert any(str(tmp_path / "runs") in w and "others can write to" in w for w in why)
    assert any(str(tmp_path / "cache" / "runs") in w for w in why)
    if chosen is None:
        print(f"no private directory on this machine: {why}")
        return
    assert shared_ancestor(chosen) is None and os.access(chosen, os.W_OK)
