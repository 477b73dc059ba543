"""`--dry-run` masks secrets without mangling the text around them (a short key is not searched for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xx import launch
from xx.plan import mask_env


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("XX_CONFIG", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "XX_GATEWAY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("key", ["x", "claude"])
def test_a_short_key_leaves_the_dry_run_intact(scratch: Path, key: str, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", key)
    assert launch.main(["cip", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "/x/claude/p/free" in out and "/***/" not in out, out


def test_secret_variables_are_masked_whole_and_long_keys_everywhere(scratch: Path, capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-0123456789")
    assert launch.main(["cip", "--dry-run", "--", "--append-system-prompt", "sk-or-v1-0123456789"]) == 0
    out = capsys.readouterr().out
    assert "sk-or-v1-0123456789" not in out and "***" in out, out


def test_a_secret_variable_is_masked_by_position_whatever_its_length() -> None:
    assert mask_env("ANTHROPIC_AUTH_TOKEN", "tok", ("tok",)) == "***"
    assert mask_env("SOME_URL", "http://h/tok/x", ("tok",)) == "http://h/tok/x"
