"""A real Claude Code whose providers cannot be reached fails within seconds, naming the cause.

Its own world: every provider of the config points at a closed loopback port. The gateway's
answer carries `x-should-retry: false`, which Claude Code honours (no ten retries with back-off).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents.harness import World
from agents.installer import Installed
from support.servers import free_port

pytestmark = pytest.mark.agents


@pytest.fixture(scope="module")
def dead_world(installed: Installed, runs_dir: Path) -> Iterator[World]:
    if "claude" in installed.skipped:
        pytest.skip(f"claude not installed: {installed.skipped['claude']}")
    root = Path(tempfile.mkdtemp(prefix="dead-", dir=runs_dir))
    w = World(root, [str(installed.bin_dir())])
    w.config.write_text(w.config.read_text().replace(w.sim_url, f"http://127.0.0.1:{free_port()}"))
    try:
        yield w
    finally:
        w.close()
        shutil.rmtree(root, ignore_errors=True)


def test_claude_code_fails_fast_with_the_reason(dead_world: World) -> None:
    w = dead_world
    w.xx("gateway", "up", timeout=40)  # the gateway's start is not what is measured
    run = w.xx("cnpf", "-p", "hi", cwd=w.project("claude"), timeout=60)
    said = run.stdout + run.stderr
    assert run.returncode != 0, run.describe()
    assert run.seconds < 15, f"took {run.seconds:.1f}s\n{run.describe()}"
    assert "cannot connect to 127.0.0.1" in said and "Connection refused" in said, run.describe()
    print(f"[unreachable] claude exited {run.returncode} after {run.seconds:.1f}s")
    again = w.xx("cnpf", "-p", "hi", cwd=w.project("claude"), timeout=60)  # now the breakers are open too
    assert again.returncode != 0 and again.seconds < 15, again.describe()
    assert "cannot connect to 127.0.0.1" in again.stdout + again.stderr, again.describe()
