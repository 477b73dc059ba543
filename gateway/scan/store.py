"""The last scan's result and its time, kept as one JSON file in the state directory.

Written atomically (temp file + rename) so a gateway reading it while `xx models scan`
writes never sees half a file; a file that does not parse reads as "no scan yet" (the tiers
then use their configured lists), never as an error that stops routing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gateway.config import paths

FILE = "scan.json"
VERSION = 1


def default_path() -> Path:
    return paths.state_dir() / FILE


def load(path: Path) -> dict[str, Any] | None:
    """The stored result, or None. `json` is imported only when a file exists (the launcher's hot path)."""
    try:
        text = path.read_text()
    except (OSError, ValueError):  # absent, unreadable, not UTF-8
        return None
    import json

    try:
        data = json.loads(text)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("models"), list):
        return None
    return data


def keepable(result: dict[str, Any]) -> bool:
    """A scan that judged no model at all (no key set, no catalog reachable) probed nothing: keeping it
    would replace a useful earlier scan with an empty one and make `xx models` say "scanned 0m ago"."""
    return bool(result.get("models"))


def keep(path: Path, result: dict[str, Any]) -> bool:
    """Save a scan's `result` if it is `keepable`; False when the stored scan (if any) was left as it was."""
    if not keepable(result):
        return False
    save(path, result)
    return True


def save(path: Path, result: dict[str, Any]) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**result, "version": VERSION}, indent=1, sort_keys=True))
    os.replace(tmp, path)


def mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def age_h(result: dict[str, Any] | None, now: float) -> float | None:
    """Hours since the scan; None when there is none."""
    if not result or not isinstance(result.get("scanned_at"), int | float):
        return None
    return max(0.0, (now - float(result["scanned_at"])) / 3600.0)
