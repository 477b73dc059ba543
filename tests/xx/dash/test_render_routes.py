"""The route cell when the column is narrow: the requested name goes first, the served model and
the reason nothing was served stay readable (render_requests.route_forms, layout.fit_forms)."""

from __future__ import annotations

from rich.text import Text

from xx.dash.layout import fit_forms
from xx.dash.render_requests import route_forms, route_text

CASCADE = {
    "requested_model": "anthropic/claude-sonnet-4.5", "model": "nemotron-free", "outcome": "ok", "status": 200,
    "attempts": [{"model": "kimi-free", "outcome": "error", "status": 429},
                 {"model": "nemotron-free", "outcome": "ok", "status": 200}],
    "skipped": [{"model": "gpt-oss-free", "reason": "breaker open"}],
}
REFUSED = {
    "requested_model": "gpt-5-codex", "model": None, "outcome": "error", "status": 429, "attempts": [],
    "skipped": [{"model": "kimi-free", "reason": "quota"}], "error": "429 every candidate is unavailable",
}


def test_forms_drop_the_requested_name_first_then_shrink_the_cascade() -> None:
    forms = [f.plain for f in route_forms(CASCADE)]
    assert forms == [
        "anthropic/claude-sonnet-4.5 → kimi-free✗429 → nemotron-free✓ ⊘1",
        "→ kimi-free✗429 → nemotron-free✓ ⊘1",
        "→ ✗429 → nemotron-free✓ ⊘1",
        "→ ✗429 → nemotron-free✓",
        "nemotron-free✓",
    ]
    assert forms[0] == route_text(CASCADE).plain  # the detail view keeps the whole path
    for width in range(14, 70):
        assert "nemotron-free✓" in fit_forms(route_forms(CASCADE), width).plain, width


def test_a_plain_reroute_keeps_the_served_model() -> None:
    ex = {"requested_model": "qwen3-coder-plus", "model": "kimi-free", "outcome": "ok", "status": 200,
          "attempts": [{"model": "kimi-free", "outcome": "ok", "status": 200}]}
    assert [f.plain for f in route_forms(ex)] == ["qwen3-coder-plus → kimi-free", "→ kimi-free", "kimi-free✓"]
    assert fit_forms(route_forms(ex), 20).plain == "→ kimi-free"


def test_nothing_served_keeps_the_reason_before_the_models() -> None:
    forms = [f.plain for f in route_forms(REFUSED)]
    assert forms == [
        "✗ nothing served: 429 every candidate is unavailable · gpt-5-codex ⊘1",
        "✗ nothing served: 429 every candidate is unavailable ⊘1",
        "✗ nothing served: 429 every candidate is unavailable",
    ]
    assert fit_forms(route_forms(REFUSED), 30).plain == "✗ nothing served: 429 every…"


def test_fit_forms_takes_the_first_that_fits_else_clips_the_last_at_a_word() -> None:
    forms = (Text("a long form here"), Text("short one"))
    assert fit_forms(forms, 40).plain == "a long form here"
    assert fit_forms(forms, 9).plain == "short one"
    assert fit_forms(forms, 7).plain == "short…"
    assert fit_forms((), 5).plain == ""
