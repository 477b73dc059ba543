"""Session fixtures of the agent matrix: the installed CLIs and the world they run in.

The install happens once per machine (cached under XX_AGENTS_DIR or ~/.cache/xx-agent-matrix);
the world (simulator, scratch home, gateway started by the first `xx` run) once per session.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agents.harness import World, private_runs_dir
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
def runs_dir(installed: Installed) -> tuple[Path | None, str | None]:
    """(where worlds live, why Gemini cannot run or None). Gemini refuses a settings file below a
    world-writable directory, and HOME may be anywhere (under /tmp on a fresh CI box)."""
    private, why = private_runs_dir(installed.root)
    if private is not None:
        return private, None
    reason = ("Gemini CLI refuses its settings file below a world-writable directory, and no private "
              f"directory was found ({'; '.join(why)}); set XX_AGENTS_RUNS to a directory outside /tmp")
    print(f"[agents] {reason}")
    return None, reason


@pytest.fixture(scope="session")
def world(installed: Installed, runs_dir: tuple[Path | None, str | None]) -> Iterator[World]:
    """The world lives in a private directory (see runs_dir), not /tmp: a user's state dir never
    has a world-writable directory above it, and Gemini checks for one."""
    runs = runs_dir[0] or installed.root / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
    w = World(root, [str(installed.bin_dir())])
    try:
        yield w
    finally:
        w.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def need(installed: Installed, runs_dir: tuple[Path | None, str | None]) -> Callable[[str], None]:
    """`need("codex")` skips the test, with the install failure as the reason, when it is missing
    (and Gemini's tests, with the reason printed, when no private directory exists for its world)."""

    def check(name: str) -> None:
        skipped = installed.skipped
        if name in skipped:
            pytest.skip(f"{name} not installed: {skipped[name]}")
        if name == "gemini" and runs_dir[1] is not None:
            print(f"[agents] gemini SKIPPED: {runs_dir[1]}")
            pytest.skip(runs_dir[1])

    return check
