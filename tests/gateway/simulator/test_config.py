"""The demo config: valid for the real parser, every provider pointing at the simulator."""

from __future__ import annotations

from gateway.config import parse
from gateway.simulator.config import SIM_MODEL_IDS, sim_config_text


def test_sim_config_parses_and_points_at_the_simulator() -> None:
    url = "http://127.0.0.1:41234"
    cfg = parse(sim_config_text(url, port=9999, state_hint="state in /tmp/x\nstop with xx demo --stop"), env={})
    assert cfg.gateway.port == 9999 and cfg.gateway.default_tier == "free"
    assert {p.name: (p.dialect, p.base_url) for p in cfg.providers.values()} == {
        "sim-anthropic": ("anthropic", url),
        "sim-openai": ("openai", url + "/v1"),
        "sim-responses": ("responses", url + "/v1"),
    }
    assert all(p.api_key is None for p in cfg.providers.values())
    assert 6 <= len(cfg.models) <= 8
    assert {t.letter for t in cfg.tiers.values()} == {"f", "c", "g", "x"}
    assert cfg.tier_for_letter("c").roles["big"][0] == "sim-claude"
    assert cfg.models["sim-claude"].price.cache_read > 0
    assert cfg.pools["sim-free"].rpm == 20
    assert {m.id for m in cfg.models.values()} == set(SIM_MODEL_IDS)
    assert all(cfg.pool_of(m) == "sim-free" for m in cfg.models.values() if m.free)


def test_hint_lines_are_comments() -> None:
    text = sim_config_text("http://127.0.0.1:1/", state_hint="a\nb")
    assert "# a\n# b\n" in text
    assert 'base_url = "http://127.0.0.1:1"' in text
