"""The recorded scene: a few minutes of a real-looking gateway, for `xx dash --screenshot` and the tests.

health, stats, models, requests (the admin views as polled) and events (the SSE session after
them), recorded at `T0`. `load(now)` moves every timestamp so the recording's "now" is `now`:
the tests rebase to the real clock (live countdowns), the screenshot keeps `T0` and pins the
app's clock, so it renders the same picture on every machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DIR = Path(__file__).parent / "scene"
NAMES = ("health", "stats", "models", "requests", "events")
T0 = 1767261600.0  # "now" when the scene was recorded
TIME_KEYS = frozenset(
    {"started", "first_byte", "ended", "until", "reset_at", "last_error_at", "t", "cooling_until", "pool_cooling_until"}
)


def shift_times(obj: Any, delta: float) -> Any:
    """Move every epoch in the scene by `delta` seconds."""
    if isinstance(obj, dict):
        return {
            k: (v + delta if k in TIME_KEYS and isinstance(v, (int, float)) else shift_times(v, delta))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [shift_times(v, delta) for v in obj]
    return obj


def load(now: float | None = None) -> dict[str, Any]:
    """health, stats, models, requests, events — rebased so that the recording's 'now' is `now`."""
    data = {name: json.loads((DIR / f"{name}.json").read_text()) for name in NAMES}
    return shift_times(data, 0.0 if now is None else now - T0)
