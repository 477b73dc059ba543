from __future__ import annotations

from xx.dash.render_models import (
    COLUMNS,
    model_detail,
    model_rows,
    quota_text,
    sort_key,
    state_text,
    tiers_text,
    trouble_count,
    used_of,
)

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
    cell = dict(zip(COLUMNS, (c.plain for c in kimi.cells), strict=True))
    assert cell["state"].startswith("◷ cooling")
    assert cell["ok"] == "81%" and cell["p50"] == "2.1s" and cell["ttfb"] == "610ms"
    assert cell["quota"] == "◆838/1k/d" and cell["cache"] == "74%"
    assert cell["error"] == "429 Retry-After 30s"
    assert trouble_count({m["name"]: m for m in fixtures["models"]["models"]}) == 3


def test_quota_shows_the_binding_window_and_marks_pools() -> None:
    row = {"rpm": {"used": 19, "limit": 20, "scope": "model 'm'"}, "rpd": {"used": 30, "limit": 1000, "scope": "pool 'p'"}}
    assert quota_text(row).plain == "19/20/m"
    row = {"rpm": {"used": 1, "limit": 20}, "rpd": {"used": 900, "limit": 1000, "scope": "pool 'p'"}}
    assert quota_text(row).plain == "◆900/1k/d"
    assert quota_text({"rpm": {"used": 3, "limit": None}}).plain == "-"
    assert quota_text({"tpm": {"used": 12000, "limit": 60000}}).plain == "12.0k/60.0ktpm"


def test_detail_has_what_the_table_leaves_out(fixtures: dict) -> None:
    import io

    from rich.console import Console

    kimi = next(m for m in fixtures["models"]["models"] if m["name"] == "kimi-free")
    con = Console(file=io.StringIO(), width=120)
    con.print(model_detail(kimi))
    out = con.file.getvalue()  # type: ignore[attr-defined]
    for needle in ("free:big,middle kimi:big,middle,small", "openrouter-free", "838/1000", "429 rate limited upstream"):
        assert needle in out
