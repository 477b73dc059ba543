"""Gemini's per-launch GEMINI_CLI_HOME: the user's ~/.gemini mirrored, settings merged, nothing of theirs rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import default_text, parse
from xx import codes, launch, profiles
from xx.overlay import deep_merge, layered, strip_comments
from xx.plan import Options, plan

GEMINI = profiles.load_all(user=Path("/nonexistent"))["gemini"]
CONFIG = parse(default_text())


def gemini_plan(code: str, tmp_path: Path, environ: dict[str, str]):
    spec = codes.decode(code, {"m": "gemini"}, [t.letter for t in CONFIG.tiers.values()])
    opts = Options(prompt="hi", environ=environ, state_dir=tmp_path / "state", home=tmp_path / "home")
    return plan(spec, GEMINI, CONFIG, opts)


@pytest.mark.parametrize("code", ["mnp", "mnd"])
def test_gemini_reads_user_settings_from_a_per_launch_home_never_a_system_file(tmp_path: Path, code: str) -> None:
    """0.61.0 skips a system settings file unless root owns it and every directory above it."""
    lp = gemini_plan(code, tmp_path, {"GEMINI_CLI_SYSTEM_SETTINGS_PATH": "/etc/x.json"})
    home = lp.env["GEMINI_CLI_HOME"]
    assert home and home.startswith(str(tmp_path / "state" / "launch"))
    assert lp.env.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH", "removed") in ("removed", None)
    assert list(lp.files) == [f"{home}/.gemini/settings.json"]
    assert lp.overlays == {f"{home}/.gemini": str(tmp_path / "home" / ".gemini")}


def test_the_users_own_gemini_cli_home_is_the_one_mirrored(tmp_path: Path) -> None:
    lp = gemini_plan("mnp", tmp_path, {"GEMINI_CLI_HOME": "/srv/me/"})
    assert list(lp.overlays.values()) == ["/srv/me/.gemini"]
    assert lp.env["GEMINI_CLI_HOME"] != "/srv/me/"


def test_write_files_merges_the_users_settings_and_leaves_their_dir_alone(tmp_path: Path) -> None:
    user = tmp_path / "home" / ".gemini"
    user.mkdir(parents=True)
    (user / "settings.json").write_text('{\n  // mine\n  "ui": {"theme": "ANSI"},\n  "security": {"auth": '
                                        '{"selectedType": "oauth-personal", "x": 1}},\n  "url": "http://a//b"\n}')
    (user / "oauth_creds.json").write_text("{}")
    (user / "tmp").mkdir()
    before = {p.name: p.read_bytes() for p in user.iterdir() if p.is_file()}
    lp = gemini_plan("mnp", tmp_path, {})
    launch.write_files(lp)
    launch.write_files(lp)  # idempotent
    mine = Path(lp.env["GEMINI_CLI_HOME"]) / ".gemini"  # type: ignore[arg-type]
    settings = json.loads((mine / "settings.json").read_text())
    assert settings["ui"] == {"theme": "ANSI"} and settings["url"] == "http://a//b"
    assert settings["security"]["auth"] == {"selectedType": "gemini-api-key", "x": 1}
    assert settings["general"]["enableAutoUpdate"] is False
    assert (mine / "tmp").is_symlink() and (mine / "oauth_creds.json").is_symlink()
    assert not (mine / "settings.json").is_symlink()
    assert {p.name: p.read_bytes() for p in user.iterdir() if p.is_file()} == before


def test_a_user_file_that_is_not_json_is_left_out_with_a_warning(tmp_path: Path) -> None:
    user = tmp_path / "settings.json"
    user.write_text("{not json")
    text, warning = layered(user, '{"a": 1}')
    assert json.loads(text) == {"a": 1} and warning and str(user) in warning
    assert layered(tmp_path / "missing.json", '{"a": 1}') == ('{"a": 1}', None)
    (tmp_path / "c.yaml").write_text("a: 1")
    assert layered(tmp_path / "c.yaml", "b: 2\n") == ("a: 1\nb: 2\n", None)


def test_comments_go_but_strings_that_look_like_comments_stay() -> None:
    text = '{"a": "x // y", /* c */ "b": "/* z */", // end\n "c": "q\\"//"}'
    assert json.loads(strip_comments(text)) == {"a": "x // y", "b": "/* z */", "c": 'q"//'}
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 3}, "d": [2]}) == {"a": {"b": 3, "c": 2}, "d": [2]}
