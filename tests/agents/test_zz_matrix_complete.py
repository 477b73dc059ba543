"""The last test of the matrix: at most one CLI may be missing (registry unreachable), never more.

Named to sort last so its output sits under the per-agent results it summarises.
"""

from __future__ import annotations

import pytest
from agents.installer import Installed

pytestmark = pytest.mark.agents


def test_at_most_one_cli_skipped(installed: Installed) -> None:
    for name, why in installed.skipped.items():
        print(f"[agents] {name} SKIPPED: {why}")
    assert len(installed.skipped) <= 1, f"{len(installed.skipped)} CLIs could not be installed: {installed.skipped}"
