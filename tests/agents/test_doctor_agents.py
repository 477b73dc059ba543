"""`xx doctor` with the real CLIs on PATH: it finds each, reads its version, and judges it."""

from __future__ import annotations

import json

import pytest
from agents.harness import World
from agents.installer import Installed

pytestmark = pytest.mark.agents


def test_doctor_reports_installed_versions(world: World, installed: Installed) -> None:
    run = world.xx("doctor", "--json", timeout=60)
    checks = {c["name"].split(" (")[0].removeprefix("agent "): c for c in json.loads(run.stdout)["checks"]}
    for name, version in installed.versions.items():
        check = checks[name]
        assert check["data"]["version"] == version, check
        assert check["status"] == "ok", check           # the pinned version is inside the verified range
    for name in ("ante", "antigravity"):
        assert checks[name]["data"]["verified"] is False
        assert checks[name]["status"] == "warn"
    assert "unverified: ante, antigravity" in checks["profiles"]["detail"]


def test_doctor_warns_outside_verified_range(world: World, installed: Installed) -> None:
    """A user profile narrowing claude's range makes the installed 2.1.197 'outside': doctor warns."""
    if "claude" not in installed.bins:
        pytest.skip("claude not installed")
    from xx import profiles

    shipped = (profiles.shipped_dir() / "claude.toml").read_text()
    user = world.root / "xdg-config" / "xx" / "profiles"
    user.mkdir(parents=True, exist_ok=True)
    (user / "claude.toml").write_text(shipped.replace('versions = ">=2.1,<2.2"', 'versions = ">=2.2,<2.3"'))
    try:
        run = world.xx("doctor", timeout=60)
    finally:
        (user / "claude.toml").unlink()
    line = next(ln for ln in run.stdout.splitlines() if "agent claude" in ln)
    assert line.startswith("[warn]") and "2.1.197 is outside the verified range >=2.2,<2.3" in line, run.describe()
    for agent in ("ante", "antigravity"):
        line = next(ln for ln in run.stdout.splitlines() if f"agent {agent}" in ln)
        assert line.startswith("[warn]") and "profile unverified" in line, line
