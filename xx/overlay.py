"""A per-launch file laid over the user's file of the same name, without ever rewriting theirs.

Why: an overlay home (Hermes's HERMES_HOME, Gemini's GEMINI_CLI_HOME) replaces the CLI's own config
directory for one launch; the user's settings must still apply, with only xx's keys on top.
YAML-style files take the user's text followed by ours (the last duplicate key wins). JSON cannot be
concatenated: it is parsed (comments allowed, as Gemini's own loader strips them) and deep-merged,
our keys winning. A user file that still does not parse is left out, and the caller says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def layered(user: Path, ours: str) -> tuple[str, str | None]:
    """(the text to write, a warning or None) for our file over the user's file `user`."""
    import json  # only when a launch writes an overlay file: not on every launch's import path

    if not user.is_file():
        return ours, None
    try:
        text = user.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return ours, f"{user} not read ({exc}); this launch uses xx's settings alone"
    if user.suffix != ".json":
        return (text if not text or text.endswith("\n") else text + "\n") + ours, None
    try:
        base = json.loads(strip_comments(text)) if text.strip() else {}
    except ValueError as exc:
        return ours, f"{user} is not JSON ({exc}); this launch uses xx's settings alone"
    if not isinstance(base, dict):
        return ours, f"{user} is not a JSON object; this launch uses xx's settings alone"
    return json.dumps(deep_merge(base, json.loads(ours)), indent=2) + "\n", None


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`base` with `top` laid over it: nested objects merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def strip_comments(text: str) -> str:
    """JSON with `//` and `/* */` comments removed outside strings (what strip-json-comments does)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
