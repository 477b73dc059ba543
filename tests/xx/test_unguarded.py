"""`--unguarded`: the launch URL carries the marker the gateway reads; the gateway still knows the agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.identify import from_prefix
from xx import launch


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("XX_CONFIG", raising=False)
    return tmp_path


def dry(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert launch.main([*args, "--dry-run", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_unguarded_marks_the_url(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dry(["cip"], capsys)["env"]["ANTHROPIC_BASE_URL"].endswith("/x/claude/p/free")
    assert dry(["cip", "--unguarded"], capsys)["env"]["ANTHROPIC_BASE_URL"].endswith("/x/claude+unguarded/p/free")
    assert "/x/codex+unguarded/p/free/v1" in json.dumps(dry(["xip", "--unguarded"], capsys))


def test_gateway_strips_the_marker_from_the_agent() -> None:
    ident = from_prefix("claude+unguarded", "p", "f")
    assert not isinstance(ident, str) and ident.agent == "claude"


def test_help_mentions_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        launch.main(["--help"])
    assert "--unguarded" in capsys.readouterr().out
