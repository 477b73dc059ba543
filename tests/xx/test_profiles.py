"""Profiles: the shipped set loads, a user file overrides, bad files are refused line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from xx import profiles

SHIPPED = {"c": "claude", "h": "hermes", "x": "codex", "q": "qwen", "p": "pi", "o": "opencode", "a": "ante", "g": "antigravity", "m": "gemini"}


def test_shipped_profiles_load(tmp_path: Path) -> None:
    profs = profiles.load_all(user=tmp_path / "none")
    assert {p.letter: p.name for p in profs.values()} == SHIPPED
    assert profs["antigravity"].binary == "agy"
    assert not profs["ante"].verified and not profs["antigravity"].verified
    assert all(p.verified for n, p in profs.items() if n not in ("ante", "antigravity"))
    for p in profs.values():
        if p.verified:
            assert p.versions, f"{p.name}: a verified profile names the versions it was checked on"


def test_user_file_overrides_shipped(tmp_path: Path) -> None:
    text = (profiles.shipped_dir() / "claude.toml").read_text().replace('binary = "claude"', 'binary = "claude-nightly"')
    (tmp_path / "claude.toml").write_text(text)
    profs = profiles.load_all(user=tmp_path)
    assert profs["claude"].binary == "claude-nightly"
    assert profs["claude"].source == str(tmp_path / "claude.toml")


def test_user_file_adds_an_agent(tmp_path: Path) -> None:
    (tmp_path / "aider.toml").write_text(
        'name = "aider"\nletter = "d"\nbinary = "aider"\ndialect = "openai"\n[modes]\ni = ["@bypass", "@extra"]\n'
    )
    assert profiles.load_all(user=tmp_path)["aider"].letter == "d"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('name = "z"\nletter = "C"\ndialect = "openai"\n[modes]\ni = []\n', "letter"),
        ('name = "z"\nletter = "z"\ndialect = "grpc"\n[modes]\ni = []\n', "dialect"),
        ('name = "z"\nletter = "z"\ndialect = "openai"\n[modes]\nw = []\n', "modes.w"),
        ('name = "z"\nletter = "z"\ndialect = "openai"\n[modes]\ni = ["@nope"]\n', "unknown slot"),
        ('name = "z"\nletter = "z"\ndialect = "openai"\nversions = "~2"\n[modes]\ni = []\n', "versions"),
        ('name = "z"\nletter = "z"\ndialect = "openai"\nflags = 1\n[modes]\ni = []\n', "unknown key"),
        ('name = "z"\nletter = "c"\ndialect = "openai"\n[modes]\ni = []\n', "already used by claude"),
        ('name = "z"\nletter = "z"\ndialect = "openai"\n[modes]\ni = []\n[gateway]\nenv = { A = 1 }\n', "gateway.env"),
        ("not toml = = 1", "cannot read"),
    ],
)
def test_invalid_profiles_are_refused(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "z.toml").write_text(body)
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load_all(user=tmp_path)
    assert problem in str(info.value) and "z.toml" in str(info.value)


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("2.1.197", ">=2.1,<2.2", True),
        ("2.2.0", ">=2.1,<2.2", False),
        ("2.0.99", ">=2.1,<2.2", False),
        ("0.169.0", ">=0.169,<0.170", True),
        ("1.18.33", "==1.18", True),
        ("1.19.0", "==1.18", False),
        ("3.0", "!=3", False),
    ],
)
def test_version_ranges(version: str, spec: str, ok: bool) -> None:
    assert profiles.in_range(version, spec) is ok


@pytest.mark.parametrize("spelling", ["letter = 'z'", '"letter" = "z"', 'letter = """z"""', "letter='z' # mine"])
def test_letters_come_from_the_toml_not_a_pattern(tmp_path: Path, spelling: str) -> None:
    """Defect 12: any valid TOML spelling of the letter is the letter `xx` decodes."""
    (tmp_path / "zed.toml").write_text(f"name = 'zed'\n{spelling}\ndialect = 'openai'\n[modes]\ni = ['@bypass']\n")
    assert profiles.letters(user=tmp_path)["z"] == ("zed", tmp_path / "zed.toml")
    assert profiles.load_all(user=tmp_path)["zed"].letter == "z"


def test_xx_launches_a_user_profile_with_a_single_quoted_letter(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "config" / "xx" / "profiles").mkdir(parents=True)
    (tmp_path / "config" / "xx" / "profiles" / "zed.toml").write_text(
        "name = 'zed'\nletter = 'z'\nbinary = 'true'\ndialect = 'openai'\n[modes]\ni = ['@bypass', '@extra']\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "state")}
    r = subprocess.run([sys.executable, "-m", "xx", "zid", "--dry-run", "--json"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["argv"] == ["true"]
