"""/metrics: one module renders it; every label value is escaped."""

from __future__ import annotations

from pathlib import Path

from support.scripted import two_model_config

from gateway.accounting.metrics import model_lines, render
from gateway.runtime import Runtime


def test_label_values_cannot_break_the_exposition(tmp_path: Path) -> None:
    cfg = two_model_config(1, "http://127.0.0.1:9", "http://127.0.0.1:9")
    rt = Runtime(cfg, ledger_path=tmp_path / "l.sqlite3")
    rt.stats.by_outcome['ok"} 1\nxx_forged'] = 1  # a value that would forge a series unescaped
    text = render(rt)
    assert '\nxx_forged' not in text and 'outcome="ok\\"} 1\\nxx_forged"' in text
    for line in text.splitlines():
        assert line.startswith("#") or line.startswith("xx_"), line
    assert 'xx_model_up{model="a",state="healthy"} 1' in model_lines(rt)
