"""Fixtures: a real llmock server (a fault-injecting provider nobody here wrote) behind a real gateway.

llmock is imported inside the fixtures: the test module decides whether a missing package is a
skip (printed) or, in CI, a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.servers import GatewayThread, free_port

from gateway.config import parse


def config_text(url: str, port: int, *, cooldown_s: int = 1, idle: float = 1.0) -> str:
    """Two Chat models and an Anthropic one on llmock; tier `t` cascades a -> b."""
    return f"""
[gateway]
host = "127.0.0.1"
port = {port}
default_tier = "t"
[gateway.timeouts]
connect = 2
first_byte = 1.5
idle = {idle}

[providers.mock-openai]
protocol = "openai"
base_url = "{url}/v1"
[providers.mock-anthropic]
protocol = "anthropic"
base_url = "{url}/anthropic"

[models.a]
provider = "mock-openai"
id = "model-a"
[models.b]
provider = "mock-openai"
id = "model-b"
[models.c]
provider = "mock-anthropic"
id = "claude-c"

[tiers.t]
letter = "t"
big = ["a", "b"]
[tiers.solo]
letter = "s"
big = ["a"]
[tiers.claude]
letter = "c"
big = ["c", "b"]

[breaker]
failures = 3
cooldown_s = {cooldown_s}
"""


@pytest.fixture(scope="session")
def llmock_upstream() -> Iterator[Any]:
    from llmock.testing import LLMockServer

    with LLMockServer() as server:
        yield server


@pytest.fixture
def mock(llmock_upstream: Any) -> Any:
    """A clean llmock (no queued faults, no requests) for this test."""
    from llmock.pytest_plugin import LLMock

    return LLMock(llmock_upstream).reset()


@pytest.fixture
def faults_gateway(llmock_upstream: Any, tmp_path: Path) -> Iterator[Callable[..., GatewayThread]]:
    started: list[GatewayThread] = []

    def make(**kw: Any) -> GatewayThread:
        cfg = parse(config_text(llmock_upstream.url, free_port(), **kw), source="<faults>", env={})
        gw = GatewayThread(cfg, tmp_path / f"ledger{len(started)}.sqlite3").start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
