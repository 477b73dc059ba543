"""`[guards]`, a tier's `guards = {...}` and `[capture]`: defaults, overrides, one line per mistake."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse

BASE = """
[providers.p]
protocol = "openai"
base_url = "http://127.0.0.1:9"
[models.m]
provider = "p"
id = "m"
[tiers.free]
letter = "f"
big = ["m"]
"""


def test_defaults() -> None:
    cfg = parse(BASE)
    assert (cfg.guards.loop, cfg.guards.danger, cfg.guards.repair, cfg.guards.commands) == (4, True, True, True)
    assert cfg.guards.allow == () and cfg.capture.enabled is False


def test_section_and_tier_override() -> None:
    cfg = parse(BASE.replace('big = ["m"]', 'big = ["m"]\nguards = { loop = false, danger = false }')
                + '[guards]\nloop = 6\nallow = ["mkfs"]\n[capture]\nenabled = true\nmax_mb = 5\n')
    assert cfg.guards.loop == 6 and cfg.guards.allow == ("mkfs",)
    free = cfg.guards.for_tier("free")
    assert free.loop == 0 and free.danger is False and free.allow == ("mkfs",)
    assert cfg.guards.for_tier("other") is cfg.guards
    assert cfg.capture.enabled and cfg.capture.max_mb == 5.0


def test_mistakes_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        parse(BASE + '[guards]\nloop = "x"\ndanger = 1\nallow = "mkfs"\nsurprise = 1\n[capture]\nenabled = "yes"\n')
    text = str(err.value)
    for key in ("guards.loop", "guards.danger", "guards.allow", "guards.surprise", "capture.enabled"):
        assert key in text
