"""The picker: choosing builds the code and the exact command line live; Enter returns the argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import parse
from xx import profiles
from xx.picker import Choice, Picker


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Picker:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    from gateway.config import default_text

    return Picker(parse(default_text()), profiles.load_all(user=tmp_path / "none"))


def test_choice_code() -> None:
    assert Choice().code() == "cip"
    assert Choice(route="p", tier="d").code() == "cipd"
    assert Choice(route="d", tier="f").code() == "cid"
    assert Choice(agent="h", mode="n", prompt="hi").argv() == ["hnp", "-p", "hi"]


async def test_picker_builds_and_launches(app: Picker) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        code = app.query_one("#code")
        assert "xx cip" in str(code.render())
        assert "ANTHROPIC_BASE_URL" in str(app.query_one("#command").render())
        app.query_one("#agent").value = "x"
        app.query_one("#mode").value = "n"
        await pilot.pause()
        assert "needs a prompt" in str(app.query_one("#error").render())
        app.query_one("#prompt").focus()
        await pilot.press(*"fix it")
        await pilot.pause()
        command = str(app.query_one("#command").render())
        assert "codex exec --skip-git-repo-check" in command and "XX_GATEWAY_KEY" in command
        await pilot.press("enter")
    assert app.return_value == ["xnp", "-p", "fix it"]


async def test_picker_escape_cancels(app: Picker) -> None:
    async with app.run_test() as pilot:
        await pilot.press("escape")
    assert app.return_value is None
