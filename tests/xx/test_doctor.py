"""`xx doctor`: versions from real subprocesses, ranges, keys by name, the gateway port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

VERSIONS = {"claude": "2.1.197 (Claude Code)", "codex": "WARNING: helper\ncodex-cli 0.169.0", "qwen": "0.99.1", "pi": "0.73.1"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, out in VERSIONS.items():
        p = bin_dir / name
        p.write_text(f"#!/bin/sh\ncat <<'EOF'\n{out}\nEOF\n")
        p.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith(("XDG_", "XX_"))}
    return {**base, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "OPENROUTER_API_KEY": "sk-or-secret-value"}


def doctor(env: dict[str, str]) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "xx", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert "sk-or-secret-value" not in proc.stdout + proc.stderr, "key values are never printed"
    return proc.returncode, json.loads(proc.stdout)


def test_doctor_reports_agents_versions_and_keys(env: dict[str, str]) -> None:
    code, report = doctor(env)
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 0 and report["ok"]
    assert checks["agent claude (c)"]["status"] == "ok" and checks["agent claude (c)"]["data"]["version"] == "2.1.197"
    assert checks["agent codex (x)"]["data"]["version"] == "0.169.0"
    assert checks["agent qwen (q)"]["status"] == "warn" and "outside the verified range" in checks["agent qwen (q)"]["detail"]
    assert checks["agent opencode (o)"]["status"] == "warn" and "not found" in checks["agent opencode (o)"]["detail"]
    assert "unverified" in checks["profiles"]["detail"] and "ante" in checks["profiles"]["detail"]
    assert checks["key openrouter"]["data"] == {"provider": "openrouter", "variable": "OPENROUTER_API_KEY", "set": True}


def test_doctor_fails_on_a_broken_config(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway]\nport = 'eighty'\n")
    code, report = doctor({**env, "XX_CONFIG": str(bad)})
    assert code == 1 and not report["ok"]
    assert any(c["name"] == "config" and c["status"] == "fail" for c in report["checks"])


def test_doctor_fails_when_the_port_belongs_to_someone_else(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        from gateway.config import default_text

        cfg = tmp_path / "c.toml"
        cfg.write_text(default_text().replace("port = 8082", f"port = {port}"))
        code, report = doctor({**env, "XX_CONFIG": str(cfg)})
    gw = next(c for c in report["checks"] if c["name"] == "gateway")
    assert code == 1 and gw["status"] == "fail" and str(port) in gw["detail"]


def test_doctor_text_output(env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "xx", "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "[ok  ] agent claude (c): 2.1.197" in proc.stdout


def test_doctor_counts_distinct_models_of_the_default_tier(env: dict[str, str], tmp_path: Path) -> None:
    """A model listed under several roles is one model ("13 of 8 models usable" was the bug)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("""
[gateway]
port = 9
[providers.a]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$OPENROUTER_API_KEY"
[providers.b]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$XX_T_UNSET_KEY"
[models.m1]
provider = "a"
id = "m1"
[models.m2]
provider = "b"
id = "m2"
[tiers.free]
letter = "f"
big = ["m1", "m2"]
middle = ["m2", "m1"]
small = ["m1"]
""")
    code, report = doctor({**env, "XX_CONFIG": str(cfg)})
    tier = next(c for c in report["checks"] if c["name"] == "default tier")
    assert code == 0 and tier["status"] == "ok" and tier["detail"] == "free (f): 1 of 2 models have their key"
    code, report = doctor({k: v for k, v in env.items() if k != "OPENROUTER_API_KEY"} | {"XX_CONFIG": str(cfg)})
    tier = next(c for c in report["checks"] if c["name"] == "default tier")
    assert code == 1 and tier["status"] == "fail"
    assert "OPENROUTER_API_KEY or XX_T_UNSET_KEY unset" in tier["detail"] and "export " in tier["detail"]
