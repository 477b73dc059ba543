"""The marshal cache of parsed TOML: a hit skips tomllib, an edit is seen at once, junk is survived."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import tomlcache


@pytest.fixture(autouse=True)
def scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(tomlcache, "_memo", None)


def test_edit_is_seen_and_invalid_toml_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "a.toml"
    f.write_text('x = 1\n[t]\ny = "two"\n')
    assert tomlcache.load(f) == {"x": 1, "t": {"y": "two"}}
    assert (tmp_path / "cache" / "xx" / "toml.marshal").exists()
    f.write_text("x = 22\n")
    os.utime(f, ns=(1, 1))  # even with an older mtime, the size changed
    assert tomlcache.load(f) == {"x": 22}
    f.write_text("x = = 3\n")
    with pytest.raises(tomlcache.TomlError, match="not valid TOML"):
        tomlcache.load(f)


def test_a_warm_cache_means_no_tomllib_import(tmp_path: Path) -> None:
    f = tmp_path / "b.toml"
    f.write_text('name = "b"\n')
    code = f"import sys; from gateway.config import tomlcache; from pathlib import Path; print(tomlcache.load(Path({str(f)!r}))); print('tomllib' in sys.modules)"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert first[-1] == "True" and second[-1] == "False"


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "cache" / "xx").mkdir(parents=True)
    (tmp_path / "cache" / "xx" / "toml.marshal").write_bytes(b"\x00garbage")
    f = tmp_path / "c.toml"
    f.write_text("k = true\n")
    assert tomlcache.load(f) == {"k": True}
