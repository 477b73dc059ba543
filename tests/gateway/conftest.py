"""Fixtures for gateway tests: real gateways on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import GatewayThread

from gateway.config import Config


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator:
    started: list[GatewayThread] = []

    def make(config: Config, *, clock=None, ledger: Path | None = None) -> GatewayThread:
        path = ledger or tmp_path / f"ledger{len(started)}.sqlite3"
        gw = GatewayThread(config, path, **({"clock": clock} if clock else {})).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


@pytest.fixture
def simulator_thread() -> Iterator:
    """A fresh simulated provider per test (its faults and prefix cache start empty)."""
    from gateway.simulator import SimulatorThread

    sim = SimulatorThread()
    sim.start()
    yield sim
    sim.stop()
