"""Fixtures shared by every test package (the simulated provider), and CI's rule on skips.

Under `.ci/run` (XX_CI set) every suite must really run: a test that skipped because a tool,
server or package was missing turns the whole run into a failure, listed at the end.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest


@pytest.fixture
async def simulator() -> AsyncIterator[Any]:
    """A fresh in-process simulator on the test's event loop (use async clients against it)."""
    from gateway.simulator import Simulator

    sim = Simulator()
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def simulator_thread() -> Iterator[Any]:
    """A fresh simulator serving from its own thread, for sync tests and SDK clients."""
    from gateway.simulator import SimulatorThread

    with SimulatorThread() as sim:
        yield sim


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("XX_CI") or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for rep in skipped:
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            print(f"\nXX_CI: {rep.nodeid} was skipped ({reason}); CI must run every suite")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
