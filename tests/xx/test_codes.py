"""The code grammar: decode, refusals with suggestions, and `xx codes`."""

from __future__ import annotations

import json

import pytest

from xx import codes, codes_cmd

AGENTS = {"c": "claude", "h": "hermes", "x": "codex", "q": "qwen", "p": "pi", "o": "opencode", "m": "gemini"}
TIERS = "fdnkqm"


@pytest.mark.parametrize(
    ("code", "agent", "mode", "route", "tier"),
    [
        ("cip", "claude", "i", "p", None),
        ("ci", "claude", "i", "p", None),
        ("cib", "claude", "i", "b", None),
        ("cid", "claude", "i", "d", None),  # d in third place is always direct
        ("cipd", "claude", "i", "p", "d"),  # the DeepSeek tier needs the long form
        ("hcf", "hermes", "c", "p", "f"),  # a tier in third place implies route p
        ("xnbk", "codex", "n", "b", "k"),
        ("mrpm", "gemini", "r", "p", "m"),
        ("osp", "opencode", "s", "p", None),
    ],
)
def test_decode(code: str, agent: str, mode: str, route: str, tier: str | None) -> None:
    assert codes.decode(code, AGENTS, TIERS) == codes.Spec(code, agent, mode, route, tier)


@pytest.mark.parametrize(
    ("code", "reason", "suggests"),
    [
        ("zz", "unknown agent 'z'", None),
        ("c", "missing the mode", "ci"),
        ("cz", "unknown mode 'z'", "ci"),
        ("cipz", "unknown tier 'z'", "cip"),
        ("cipdd", "too long", "cipd"),
        ("cidd", "route d (direct)", None),
        ("cifp", "is not a route", "cipf"),  # route and tier swapped: one transposition away
        ("cix", "neither a route", None),
        ("CIP", "lowercase", None),
        ("", "empty", None),
    ],
)
def test_refusals_name_the_problem_and_suggest(code: str, reason: str, suggests: str | None) -> None:
    with pytest.raises(codes.CodeError) as info:
        codes.decode(code, AGENTS, TIERS)
    assert reason in str(info.value)
    if suggests:
        assert suggests in info.value.suggestions
    for s in info.value.suggestions:  # every suggestion really decodes
        codes.decode(s, AGENTS, TIERS)


def test_suggestions_prefer_the_same_agent() -> None:
    assert all(s.startswith("h") for s in codes.nearest("hz", AGENTS, TIERS))


def test_all_codes_are_valid_and_unique() -> None:
    every = list(codes.all_codes(AGENTS, TIERS))
    assert len(every) == len(set(every))
    for c in every:
        codes.decode(c, AGENTS, TIERS)
    assert "cid" in every and "cipd" in every and "cif" in every


def test_distance() -> None:
    assert codes.distance("cip", "cip") == 0
    assert codes.distance("cpi", "cip") == 1  # transposition
    assert codes.distance("ci", "cip") == 1
    assert codes.distance("zz", "ci") == 2


def test_codes_command_json_and_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("XX_CONFIG", raising=False)
    assert codes_cmd.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    letters = {a["letter"]: a for a in data["agents"]}
    assert set(letters) >= {"c", "h", "x", "q", "p", "o", "a", "g", "m"}
    assert letters["g"]["binary"] == "agy" and letters["g"]["verified"] is False
    assert letters["o"]["modes"]["r"] is False and "resume" in letters["o"]["unsupported"]["r"]
    tiers = {t["letter"]: t for t in data["tiers"]}
    assert tiers["d"]["code"] == "cipd" and tiers["f"]["code"] == "cif" and tiers["f"]["default"]
    assert codes_cmd.main([]) == 0
    text = capsys.readouterr().out
    assert "claude" in text and "unverified" in text and "cipd" in text


def test_a_long_cascade_says_how_many_models_it_hides() -> None:
    models = [f"m{i}" for i in range(7)]
    assert codes_cmd.cascade(models) == "m0 > m1 > m2 > m3 > … +3 more"
    assert codes_cmd.cascade(models[:4]) == "m0 > m1 > m2 > m3"
    tier = {"letter": "f", "tier": "free", "default": True, "big": models, "rank": None, "code": "cif"}
    text = codes_cmd.render({"agents": [], "modes": {}, "routes": {}, "tiers": [tier], "aliases": {}})
    assert "+3 more" in text and "m3" in text
