"""Parsed TOML files, cached across runs with `marshal`, so `xx <code>` need not import tomllib.

On a slow machine `import tomllib` (and the regexes it compiles) costs more than all the
rest of a launch. The cache maps a file's path to its (mtime_ns, size, parsed data); a file
whose stat changed is parsed again. marshal is built in (no import) and reads in
microseconds. Anything marshal cannot hold (TOML datetimes) is simply not cached.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Any

from gateway.config import paths

_memo: dict[str, Any] | None = None


class TomlError(ValueError):
    """Unreadable or invalid TOML; the message names the problem (the file is the caller's to name)."""


def _cache_file() -> Path:
    return paths.cache_dir() / "toml.marshal"


def _load_cache() -> dict[str, Any]:
    global _memo
    if _memo is None:
        try:
            _memo = marshal.loads(_cache_file().read_bytes())
            if not isinstance(_memo, dict):
                _memo = {}
        except (OSError, ValueError, EOFError, TypeError):
            _memo = {}
    return _memo


def _save_cache(cache: dict[str, Any]) -> None:
    target = _cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(cache))
        tmp.replace(target)
    except (OSError, ValueError):
        pass  # a cache that cannot be written only costs speed


def parse_text(text: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(f"not valid TOML: {exc}") from None


def load(path: Path) -> dict[str, Any]:
    """The parsed file; raises OSError when unreadable and TomlError when invalid."""
    st = path.stat()
    key = str(path.resolve())
    stamp = (st.st_mtime_ns, st.st_size)
    cache = _load_cache()
    hit = cache.get(key)
    if isinstance(hit, tuple) and len(hit) == 3 and hit[:2] == stamp:
        return hit[2]
    data = parse_text(path.read_text())
    try:
        marshal.dumps(data)
    except ValueError:
        return data
    cache[key] = (*stamp, data)
    _save_cache(cache)
    return data
