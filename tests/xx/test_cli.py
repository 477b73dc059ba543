"""The `xx` dispatcher's own output: the usage line names every launch option."""

from __future__ import annotations

import pytest

from xx import cli


@pytest.mark.parametrize("option", ["--force", "--unguarded", "--safe", "--dry-run", "--tmux", "-m MODEL", "-p PROMPT"])
def test_usage_names_every_launch_option(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert option in capsys.readouterr().out.split("commands:")[0]
