"""Is `xx demo` running, and where? Read from the demo's own record, without a network call.

`xx demo` writes `<state dir>/demo/demo.json` (its pids and the gateway's URL) once its
gateway answers, and deletes it when it stops. A dashboard that finds no gateway on the
configured port uses this to point at the demo's (port 8092 by default) instead of only
offering to start one; `xx doctor` says the same. Textual-free and cheap: a file read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def demo_record() -> Path:
    from gateway.config import paths

    return paths.state_dir() / "demo" / "demo.json"


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def running_demo(record: Path | None = None) -> str | None:
    """The running demo gateway's URL; None when no demo runs (or its record is stale or unreadable)."""
    try:
        data = json.loads((record or demo_record()).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    return data["url"] if _alive(data.get("gateway")) else None
