"""`xx cache` in a real subprocess, against a scratch XDG cache directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.caching.replay import Entry, ReplayCache


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    e["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    e["XDG_STATE_HOME"] = str(tmp_path / "state")
    e.pop("XX_CONFIG", None)
    return e


def xx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xx", "cache", *args], env=env, capture_output=True, text=True, timeout=60
    )


def seed(env: dict[str, str], n: int, *, age_s: float = 0.0) -> Path:
    path = Path(env["XDG_CACHE_HOME"]) / "xx" / "replay.sqlite3"
    cache = ReplayCache(path, clock=lambda: time.time() - age_s)
    for i in range(n):
        cache.put(
            f"{i:064x}",
            Entry(
                status=200,
                headers={"content-type": "text/event-stream"},
                chunks=[b"event: message_start\n\n", b"event: message_stop\n\n"],
                stream=True,
                dialect="anthropic",
                tier="free",
                model="kimi-free",
            ),
        )
    cache.close()
    return path


def test_no_cache_file_yet(env: dict[str, str]) -> None:
    r = xx(env, "stats")
    assert r.returncode == 0, r.stderr
    assert "no replay cache yet" in r.stdout
    r = xx(env, "stats", "--json")
    assert json.loads(r.stdout)["entries"] == 0
    assert json.loads(xx(env, "ls", "--json").stdout) == []
    assert not (Path(env["XDG_CACHE_HOME"]) / "xx" / "replay.sqlite3").exists()  # looking creates nothing


def test_stats_ls_clear(env: dict[str, str]) -> None:
    path = seed(env, 3)
    r = xx(env, "stats", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["path"] == str(path)
    assert s["entries"] == 3 and s["expired"] == 0 and s["ttl_s"] == 3600

    text = xx(env, "stats").stdout
    assert "entries     3" in text and str(path) in text

    rows = json.loads(xx(env, "ls", "--json").stdout)
    assert len(rows) == 3 and {r["model"] for r in rows} == {"kimi-free"} and all(r["stream"] for r in rows)
    table = xx(env, "ls").stdout.splitlines()
    assert table[0].startswith("KEY") and len(table) == 4 and "sse" in table[1]
    assert len(json.loads(xx(env, "ls", "-n", "2", "--json").stdout)) == 2

    r = xx(env, "clear", "--json")
    assert json.loads(r.stdout) == {"path": str(path), "cleared": 3}
    assert json.loads(xx(env, "stats", "--json").stdout)["entries"] == 0


def test_clear_expired_uses_the_configured_ttl(env: dict[str, str]) -> None:
    fresh = ReplayCache(Path(env["XDG_CACHE_HOME"]) / "xx" / "replay.sqlite3")
    fresh.put("f" * 64, Entry(status=200, headers={}, chunks=[b"{}"]))
    fresh.close()
    seed(env, 2, age_s=7200)  # older than the default one hour (stored after: a put purges the expired)
    assert json.loads(xx(env, "stats", "--json").stdout)["expired"] == 2
    assert "(expired)" in xx(env, "ls").stdout
    r = xx(env, "clear", "--expired")
    assert r.stdout.startswith("cleared 2 expired entries")
    assert json.loads(xx(env, "stats", "--json").stdout)["entries"] == 1
    config = Path(env["XDG_CONFIG_HOME"]) / "xx" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[cache]\nreplay_ttl_s = 1\n")
    assert json.loads(xx(env, "stats", "--json").stdout)["ttl_s"] == 1


def test_usage_errors_exit_nonzero(env: dict[str, str]) -> None:
    r = xx(env)
    assert r.returncode == 2 and "stats" in r.stderr
    r = xx(env, "frobnicate")
    assert r.returncode == 2


def test_a_corrupt_file_is_reported_not_a_traceback(env: dict[str, str]) -> None:
    path = Path(env["XDG_CACHE_HOME"]) / "xx" / "replay.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    r = xx(env, "stats")
    assert r.returncode == 1
    assert "cannot read" in r.stderr and "Traceback" not in r.stderr


def test_the_command_imports_neither_quart_nor_httpx(env: dict[str, str]) -> None:
    code = (
        "import sys; from xx import cache_cmd; cache_cmd.main(['stats', '--json']);"
        "bad = [m for m in ('quart', 'httpx', 'textual', 'hypercorn') if m in sys.modules];"
        "print(bad)"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
