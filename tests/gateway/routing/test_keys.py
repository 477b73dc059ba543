"""Several keys per provider: config, the key with most headroom, retirement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config import Config, ConfigError, parse
from gateway.routing.keys import fingerprint
from gateway.routing.quotas import Quotas

NOON = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()
ENV = {"OR_1": "sk-or-v1-first-secret", "OR_2": "sk-or-v1-second-secret"}

TOML = """
[providers.or]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
api_keys = ["$OR_1", "$OR_2", "$OR_3"]
pool = "free"

[pools.free]
rpm = 20
rpd = 3

[models.a]
provider = "or"
id = "vendor/a:free"

[models.b]
provider = "or"
id = "vendor/b:free"

[tiers.free]
letter = "f"
big = ["a", "b"]
"""


class Clock:
    def __init__(self, t: float = NOON) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def config() -> Config:
    return parse(TOML, env=ENV)


@pytest.fixture
def quotas(config: Config) -> Quotas:
    return Quotas(config, Clock())


FP1, FP2 = fingerprint(ENV["OR_1"]), fingerprint(ENV["OR_2"])


def test_api_keys_resolve_in_order_and_every_value_is_a_secret(config: Config) -> None:
    p = config.providers["or"]
    assert p.keys == (("$OR_1", ENV["OR_1"]), ("$OR_2", ENV["OR_2"]), ("$OR_3", None))
    assert p.api_key == ENV["OR_1"] and p.api_key_ref == "$OR_1"
    assert set(config.secrets()) >= {ENV["OR_1"], ENV["OR_2"]}


def test_fingerprint_is_short_stable_and_not_the_key() -> None:
    fp = fingerprint("sk-or-v1-first-secret")
    assert fp == fingerprint("sk-or-v1-first-secret") and len(fp) == 8 and fp not in "sk-or-v1-first-secret"
    assert fingerprint("sk-or-v1-other") != fp and fingerprint(None) == ""


def test_rotation_picks_the_key_with_most_headroom(quotas: Quotas, config: Config) -> None:
    a, b = config.models["a"], config.models["b"]
    used = []
    for _ in range(6):  # two keys x rpd 3: six requests in a day, alternating
        key = quotas.choose(a)
        assert key is not None
        used.append(key.fp)
        quotas.record(a, key=key.fp)
    assert used.count(FP1) == 3 and used.count(FP2) == 3
    assert quotas.choose(b) is None  # the pool is per key: both accounts spent for every model
    why = quotas.check(b)
    assert why is not None and "3 requests per UTC day" in why.reason


def test_a_refused_key_is_retired_alone(quotas: Quotas, config: Config) -> None:
    a = config.models["a"]
    quotas.retire(FP1, "HTTP 401: invalid key")
    for _ in range(3):
        key = quotas.choose(a)
        assert key is not None and key.fp == FP2
        quotas.record(a, key=key.fp)
    assert quotas.choose(a) is None
    quotas.retire(FP2, "HTTP 403: forbidden")
    why = quotas.check(a)
    assert why is not None and "every key refused" in why.reason and "$OR_1" in why.reason
    assert ENV["OR_1"] not in why.reason and ENV["OR_2"] not in why.reason
    rows = quotas.key_rows(a)
    assert [r["retired"] for r in rows] == [True, True, False] and rows[2]["skip"] == "$OR_3 unset"


def test_a_rotated_value_is_a_new_key(config: Config) -> None:
    q = Quotas(config, Clock())
    q.retire(FP1, "HTTP 401")
    rotated = parse(TOML, env={**ENV, "OR_1": "sk-or-v1-rotated"})
    q.update_config(rotated)
    assert q.choose(rotated.models["a"]).fp == fingerprint("sk-or-v1-rotated")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ('api_keys = ["$OR_1", "$OR_2", "$OR_3"]', None),
        ('api_keys = ["$OR_1", "sk-or-v1-literal"]', 'providers.or.api_keys[1]: must be a "$VAR" reference'),
        ('api_keys = ["$OR_1", 7]', "providers.or.api_keys[1]: must be"),
        ('api_keys = "$OR_1"', "providers.or.api_keys: must be list"),
    ],
)
def test_api_keys_validation_names_the_entry(edit: str, expected: str | None) -> None:
    text = TOML.replace('api_keys = ["$OR_1", "$OR_2", "$OR_3"]', edit)
    if expected is None:
        parse(text, env=ENV)
        return
    with pytest.raises(ConfigError) as err:
        parse(text, env=ENV)
    assert expected in str(err.value)
    assert "sk-or-v1-literal" not in str(err.value)  # the error never repeats a pasted key


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("rpd = 3\n", "rpd = 3\nmax_concurrency = 0\n", ),
    ],
)
def test_max_concurrency_zero_is_named(edit: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(TOML.replace(edit, expected), env=ENV)
    assert "pools.free.max_concurrency: must be a positive integer, got 0" in str(err.value)


def test_xx_config_validate_names_each_bad_key(tmp_path: Path) -> None:
    bad = (TOML.replace('"$OR_3"]', '"sk-literal-key"]').replace("rpd = 3\n", "rpd = 3\nmax_concurrency = 0\n")
           .replace('pool = "free"', 'pool = "fre"'))
    cfg = tmp_path / "c.toml"
    cfg.write_text(bad)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_"))}
    env.update(HOME=str(tmp_path), XX_CONFIG=str(cfg), XDG_STATE_HOME=str(tmp_path / "state"))
    r = subprocess.run([sys.executable, "-m", "xx", "config", "validate", "--json"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1, r.stderr
    problems = json.loads(r.stdout)["problems"]
    text = "\n".join(problems)
    assert "providers.or.api_keys[2]" in text
    assert "pools.free.max_concurrency" in text
    assert "providers.or.pool: unknown pool 'fre'" in text
    assert "sk-literal-key" not in r.stdout + r.stderr
