"""Fixtures for the dashboard tests: recorded admin API data and a real loopback server."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dash_admin_server import AdminServer, load_fixtures


@pytest.fixture
def fixtures() -> dict[str, Any]:
    return load_fixtures(time.time())


@pytest.fixture
async def server(fixtures: dict[str, Any]) -> AsyncIterator[AdminServer]:
    srv = AdminServer(fixtures)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()
