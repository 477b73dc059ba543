"""`context = N` per model, `[scan]` and `rank = "scan"` in the config file."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse

BASE = """
[providers.p]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.a]
provider = "p"
id = "a"
{model}
[tiers.free]
letter = "f"
big = ["a"]
[tiers.best]
letter = "m"
rank = "{rank}"
{extra}
"""


def cfg(model: str = "", rank: str = "scan", extra: str = ""):
    return parse(BASE.format(model=model, rank=rank, extra=extra), env={})


def test_defaults_and_values() -> None:
    c = cfg()
    assert c.models["a"].context is None and c.scan.max_age_h == 24.0 and c.scan.budget == 12
    assert c.tiers["best"].rank == "scan"
    c = cfg("context = 32768", extra="[scan]\nmax_age_h = 6\nbudget = 12")
    assert c.models["a"].context == 32768 and c.scan.max_age_h == 6.0 and c.scan.budget == 12


@pytest.mark.parametrize(("model", "rank", "extra", "where"), [
    ("context = 0", "scan", "", "models.a.context"),
    ('context = "32k"', "scan", "", "models.a.context"),
    ("", "best", "", "tiers.best.rank"),
    ("", "scan", "[scan]\nbudget = -1", "scan.budget"),
    ("", "scan", "[scan]\nmax_age_h = 0", "scan.max_age_h"),
    ("", "scan", "[scan]\nevery = 3", "scan.every"),
])  # fmt: skip
def test_bad_values_name_the_key(model: str, rank: str, extra: str, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(model, rank, extra)
    assert any(p.startswith(where) for p in err.value.problems), err.value.problems
