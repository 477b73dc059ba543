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
