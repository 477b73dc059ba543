"""Session fixtures of the agent matrix: the installed CLIs and the world they run in.

The install happens once per machine (cached under XX_AGENTS_DIR or ~/.cache/xx-agent-matrix);
the world (simulator, scratch home, gateway started by the first `xx` run) once per session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agents.harness import World
from agents.installer import Installed, cache_root, install_all

_INSTALLED: list[Installed] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Install the CLIs before the first test starts, when a selected test needs them.

    Here and not in the fixture: the first run downloads ~1.6 GB, far longer than the per-test
    timeout, and a timed-out session fixture fails every test of the matrix.
    """
    if _INSTALLED or not any("installed" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    say(f"[agents] installing or reusing the real agent CLIs in {cache_root()} (the first run downloads about "
        '1.6 GB from npm and PyPI; `-m "not agents"` skips the matrix)')
    t0 = time.monotonic()
    result, log = install_all()
    for line in log:
        say(f"[agents] ran: {line}")
    for name, why in result.skipped.items():
        say(f"[agents] SKIPPED {name}: {why}")
    say(f"[agents] {len(result.bins)} CLIs ready in {time.monotonic() - t0:.0f}s")
    _INSTALLED.append(result)


@pytest.fixture(scope="session")
def installed() -> Installed:
    if not _INSTALLED:  # collected some other way (e.g. a plugin re-ordering): install now
        _INSTALLED.append(install_all()[0])
    return _INSTALLED[0]


@pytest.fixture(scope="session")
def runs_dir(installed: Installed) -> Path:
    """Where worlds live: `XX_AGENTS_RUNS`, else beside the installed CLIs. Anywhere works, /tmp included:
    every CLI takes its per-launch files wherever the state dir is (Gemini's are user settings in a
    per-launch GEMINI_CLI_HOME, see profiles/gemini.toml)."""
    runs = Path(os.environ.get("XX_AGENTS_RUNS") or installed.root / "runs")
    runs.mkdir(parents=True, exist_ok=True)
    return runs


@pytest.fixture(scope="session")
def world(installed: Installed, runs_dir: Path) -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="run-", dir=runs_dir))
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
