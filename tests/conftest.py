"""Fixtures shared by every test package: the simulated provider (gateway/simulator)."""

from __future__ import annotations

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
