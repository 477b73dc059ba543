"""The config loader: every invalid shape names file, key and problem; $VAR resolved, never literal keys."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, default_text, parse

BASE = """
[providers.p]
dialect = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.m]
provider = "p"
id = "up/m"
[tiers.free]
letter = "f"
big = ["m"]
"""


def test_default_config_is_valid_and_complete() -> None:
    cfg = parse(default_text(), env={})
    assert cfg.gateway.port == 8082 and cfg.gateway.loopback
    assert {t.letter for t in cfg.tiers.values()} >= {"f", "d", "n", "k", "q", "m"}
    assert cfg.tiers["free"].roles["big"][0] == "kimi-free"
    assert cfg.pool_of(cfg.models["kimi-free"]) == "openrouter-free"
    assert cfg.providers["openrouter"].api_key is None  # $OPENROUTER_API_KEY unset
    assert cfg.aliases["cc"] == "xx cip"


def test_var_reference_resolved_and_kept() -> None:
    text = BASE.replace('base_url = "http://127.0.0.1:9/v1"', 'base_url = "http://127.0.0.1:9/v1"\napi_key = "${MY_KEY}"')
    cfg = parse(text, env={"MY_KEY": "sk-secret"})
    p = cfg.providers["p"]
    assert p.api_key == "sk-secret" and p.api_key_ref == "${MY_KEY}"
    assert cfg.secrets() == ["sk-secret"]


INVALID = [
    ("[gateway]\nport = 'x'\n" + BASE, "gateway.port: must be int"),
    ("[gateway]\nport = 70000\n" + BASE, "gateway.port: must be 1-65535"),
    ("[gateway]\nhost = '0.0.0.0'\n" + BASE, "gateway.host: '0.0.0.0' is not loopback"),
    ("[gateway]\ndefault_tier = 'nope'\n" + BASE, "gateway.default_tier: unknown tier 'nope'"),
    ("[gateway]\nbogus = 1\n" + BASE, "gateway.bogus: unknown key"),
    (BASE.replace('dialect = "openai"', 'dialect = "grpc"'), "providers.p.dialect: must be one of"),
    (BASE.replace('base_url = "http://127.0.0.1:9/v1"', 'base_url = "ftp://x"'), "providers.p.base_url: must be an http(s) URL"),
    (BASE.replace('dialect = "openai"', 'dialect = "openai"\napi_key = "sk-literal"'), "providers.p.api_key: must be a \"$VAR\" reference"),
    (BASE.replace('provider = "p"', 'provider = "q"'), "models.m.provider: unknown provider 'q'"),
    (BASE.replace('big = ["m"]', 'big = ["zz"]'), "tiers.free.big: unknown model 'zz'"),
    (BASE.replace('letter = "f"', 'letter = "FF"'), "tiers.free.letter: must be one lowercase letter"),
    (BASE.replace('big = ["m"]', "big = [1]"), "tiers.free.big: must be a list of model names"),
    (BASE + "[tiers.other]\nletter = 'f'\nbig = ['m']\n", "tiers.other.letter: 'f' is already used"),
    (BASE + "[pools.x]\nrpm = -1\n", "pools.x.rpm: must be a positive integer"),
    (BASE + "[breaker]\nfailures = 'three'\n", "breaker.failures: must be int"),
    (BASE.replace('id = "up/m"', 'id = "up/m"\npool = "ghost"'), "models.m.pool: unknown pool 'ghost'"),
    (BASE.replace('dialect = "openai"', 'dialect = "openai"\nprotocol = "openai"'),
     "providers.p.protocol: set `dialect` only (`protocol` is its old name), not both"),
    (BASE.replace('dialect = "openai"', 'protocol = "grpc"'), "providers.p.protocol: must be one of"),
    ("providers = 3\n", "providers: must be a table"),
    ("this is = = not toml", "not valid TOML"),
]


@pytest.mark.parametrize("key", ["dialect", "protocol"])
def test_dialect_key_and_its_old_name_protocol(key: str) -> None:
    """`dialect` is the provider's key; `protocol`, its name before, still loads so existing files keep working."""
    cfg = parse(BASE.replace('dialect = "openai"', f'{key} = "anthropic"'), env={})
    assert cfg.providers["p"].dialect == "anthropic"


@pytest.mark.parametrize(("text", "expected"), INVALID, ids=[e for _, e in INVALID])
def test_invalid_shapes_are_named(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, source="/tmp/cfg.toml", env={})
    message = str(info.value)
    assert "/tmp/cfg.toml: " in message
    assert expected in message, message


def test_all_problems_reported_at_once() -> None:
    text = BASE.replace('dialect = "openai"', 'dialect = "x"').replace('big = ["m"]', 'big = ["zz"]')
    with pytest.raises(ConfigError) as info:
        parse(text, env={})
    assert len(info.value.problems) == 2


def test_token_makes_public_bind_valid() -> None:
    cfg = parse("[gateway]\nhost = '0.0.0.0'\ntoken = '$TOK'\n" + BASE, env={"TOK": "t0k"})
    assert cfg.gateway.token == "t0k" and not cfg.gateway.loopback


@pytest.mark.parametrize("text", [
    BASE.replace('dialect = "openai"', 'dialect = "openai"\napi_key = 4242424242424242'),
    BASE.replace('dialect = "openai"', 'dialect = "openai"\napi_keys = [4242424242424242]'),
    "[gateway]\ntoken = 4242424242424242\n" + BASE,
    BASE.replace('"http://127.0.0.1:9/v1"', '"ftp://h/v1?key=4242424242424242"'),
])
def test_a_misplaced_secret_is_named_never_echoed(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, env={})
    assert info.value.problems, "the mistake is reported"
    assert "4242424242424242" not in str(info.value)
