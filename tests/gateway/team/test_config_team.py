"""`[state]` and `[ledger]`: $VAR-able URLs, absent means the embedded defaults, bad shapes named."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse


def test_absent_sections_keep_the_embedded_defaults() -> None:
    cfg = parse("", env={})
    assert cfg.state.url is None and cfg.ledger.url is None


def test_urls_resolve_from_variables_and_passwords_are_secrets() -> None:
    text = '[state]\nurl = "$R"\n[ledger]\nurl = "${D}"\nretention_days = 30\n'
    cfg = parse(text, env={"R": "redis://:hunter2@127.0.0.1:6379/0", "D": "postgresql://xx:s3cret@db/xx"})
    assert cfg.state.url == "redis://:hunter2@127.0.0.1:6379/0" and cfg.state.url_ref == "$R"
    assert cfg.ledger.retention_days == 30.0
    assert {"hunter2", "s3cret"} <= set(cfg.secrets())


def test_unset_variable_leaves_team_mode_off() -> None:
    cfg = parse('[state]\nurl = "$XX_REDIS_URL"\n', env={})
    assert cfg.state.url is None and cfg.state.url_ref == "$XX_REDIS_URL"


@pytest.mark.parametrize("text, where", [
    ('[state]\nurl = "http://x"\n', "state.url"),
    ('[ledger]\nurl = "mysql://x"\n', "ledger.url"),
    ('[ledger]\nretention_days = -1\n', "ledger.retention_days"),
    ('[ledger]\nsynchronous_commit = "no"\n', "ledger.synchronous_commit"),
    ('[ledger]\ncommit = "async"\n', "ledger.commit"),
    ('[state]\nhost = "x"\n', "state.host"),
])
def test_bad_shapes_are_named(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(text, env={})
    assert where in str(err.value)


def test_commit_mode_defaults_to_the_spool() -> None:
    assert parse("", env={}).ledger.commit == "spool"
    assert parse('[ledger]\ncommit = "sync"\n', env={}).ledger.commit == "sync"
