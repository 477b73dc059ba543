"""Session fixtures of the agent matrix: the installed CLIs and the world they run in.

The install happens once per machine (cached under XX_AGENTS_DIR or ~/.cache/xx-agent-matrix);
the world (simulator, scratch home, gateway started by the first `xx` run) once per session.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agents.harness import World
from agents.installer import Installed, install_all


@pytest.fixture(scope="session")
def installed() -> Installed:
    result, log = install_all()
    for line in log:
        print(f"[agents] ran: {line}")
    for name, why in result.skipped.items():
        print(f"[agents] SKIPPED {name}: {why}")
    return result


@pytest.fixture(scope="session")
def world(installed: Installed) -> Iterator[World]:
    """The world lives under the install cache, not /tmp: Gemini refuses a settings file anywhere
    below a world-writable directory, and a user's state dir never is one."""
    runs = installed.root / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
    w = World(root, [str(installed.bin_dir())])
    try:
        yield w
    finally:
        w.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def need(installed: Installed) -> Callable[[str], None]:
    """`need("codex")` skips the test, with the install failure as the reason, when it is missing."""

    def check(name: str) -> None:
        skipped = installed.skipped
        if name in skipped:
            pytest.skip(f"{name} not installed: {skipped[name]}")

    return check
