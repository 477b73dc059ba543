from __future__ import annotations

from xx.dash.render_models import model_rows, sort_key, state_text, tiers_text, trouble_count, used_of

NOW = 1_000_000.0


def test_states_have_symbol_word_and_countdown() -> None:
    assert state_text({"state": "healthy"}, NOW).plain == "● healthy"
    assert state_text({"state": "cooling", "until": NOW + 23.4}, NOW).plain == "◷ cooling 23s"
    assert state_text({"state": "open", "until": NOW + 75}, NOW).plain == "✖ open 1m15s"
    assert state_text({"state": "half_open"}, NOW).plain == "◑ half-open"
    assert state_text({"state": "unconfigured"}, NOW).plain == "○ no key"
    assert state_text({"state": "quota", "rpd": {"reset_at": NOW + 3600}}, NOW).plain.startswith("⊘ quota →")
    assert state_text({"state": "cooling", "until": NOW - 5}, NOW).plain == "◷ cooling 0s"
    assert state_text({"state": "weird"}, NOW).plain == "? weird"


def test_colour_is_never_the_only_signal() -> None:
    words = {
        state_text({"state": s}, NOW).plain
        for s in ("healthy", "degraded", "cooling", "open", "half_open", "quota")
    }
    assert len(words) == 6


def test_trouble_sorts_first() -> None:
    rows = [
        {"name": "a", "state": "healthy"},
        {"name": "b", "state": "cooling"},
        {"name": "c", "state": "open"},
        {"name": "d", "state": "degraded"},
        {"name": "e", "state": "quota"},
        {"name": "f", "state": "half_open"},
        {"name": "g", "state": "unconfigured"},
    ]
    assert [r.key for r in model_rows(rows, NOW)] == ["c", "e", "b", "f", "d", "g", "a"]
    assert sort_key({"name": "z", "state": "???"}) > sort_key({"name": "a", "state": "healthy"})


def test_windows_and_tiers() -> None:
    assert used_of({"used": 12, "limit": 50}) == "12/50"
    assert used_of({"used": 12, "limit": None}) == "12"
    assert used_of(None) == "-"
    assert tiers_text({"free": ["big", "middle"], "kimi": ["big"]}) == "free:big,middle kimi:big"
    assert tiers_text({}) == "-"


def test_rows_from_recorded_models(fixtures: dict) -> None:
    rows = model_rows({m["name"]: m for m in fixtures["models"]["models"]})
    keys = [r.key for r in rows]
    assert keys[0] == "gpt-oss-free" and keys[-1] == "nemotron-nano-free"
    kimi = next(r for r in rows if r.key == "kimi-free")
    plain = [c.plain for c in kimi.cells]
    assert plain[2].startswith("◷ cooling")
    assert plain[3] == "81%" and plain[4] == "2.1s" and plain[5] == "610ms"
    assert plain[6] == "838/1000" and plain[7] == "4/20" and plain[8] == "74%"
    assert plain[9] == "429 Retry-After 30s"
    assert trouble_count({m["name"]: m for m in fixtures["models"]["models"]}) == 3
