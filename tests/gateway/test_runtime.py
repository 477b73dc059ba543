"""Runtime: state and lifecycle; a hot reload carries counts over and forgets removed models."""

from __future__ import annotations

from pathlib import Path

from support.scripted import two_model_config

from gateway.runtime import Runtime


def test_a_reload_forgets_affinity_to_removed_models(tmp_path: Path) -> None:
    rt = Runtime(two_model_config(1, "http://127.0.0.1:9", "http://127.0.0.1:9"), ledger_path=tmp_path / "l.sqlite3")
    rt.routing.affinity.remember("conv", "big", "a")
    rt.routing.affinity.remember("other", "big", "b")
    rt.apply_config(_without_a())
    assert rt.routing.affinity.lookup("conv", "big") is None
    assert rt.routing.affinity.lookup("other", "big") == "b"


def _without_a():
    from gateway.config import parse

    return parse('[providers.second]\nprotocol = "anthropic"\nbase_url = "http://127.0.0.1:9"\n'
                 '[models.b]\nprovider = "second"\nid = "b-model"\n[tiers.t]\nletter = "t"\nbig = ["b"]\n',
                 source="<test>", env={})


async def test_guard_counts_are_today_s_across_a_restart(tmp_path: Path) -> None:
    """The dashboard's `guards ✎ ⊗ ↻` counts: today's ledger rows are counted at start, like the cost."""
    import time

    from gateway.exchange import Exchange

    path, now = tmp_path / "l.sqlite3", time.time()
    cfg = two_model_config(1, "http://127.0.0.1:9", "http://127.0.0.1:9")
    first = Runtime(cfg, ledger_path=path)
    first.open()
    try:
        guards = [{"action": "repair", "tool": "Bash", "rule": None, "notes": []},
                  {"action": "stop", "tool": "Read", "rule": "loop", "notes": ["4 repeats"]}]
        today = Exchange(id="g1", started=now - 5, ended=now - 4, repairs=1, guards=guards, outcome="ok", status=200)
        yesterday = Exchange(id="g0", started=now - 2 * 86400, ended=now - 2 * 86400 + 1, blocks=1,
                             guards=[{"action": "block", "tool": "Bash", "rule": "rm -rf", "notes": []}])
        for ex in (today, yesterday):
            await first.ledger.write(ex)
    finally:
        first.close()
    again = Runtime(cfg, ledger_path=path)
    again.open()
    try:
        req = again.stats.requests(0)
        assert (req["repairs"], req["blocks"], req["guards"]) == (1, 0, {"repair": 1, "stop": 1})
    finally:
        again.close()
