"""The ledger names the key that served each request by its fingerprint, and quotas come back per key after a restart."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.accounting.ledger import Ledger
from gateway.config import Config, parse
from gateway.exchange import Attempt, Exchange
from gateway.routing.keys import fingerprint
from gateway.routing.quotas import Quotas

NOON = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()
ENV = {"OR_1": "sk-or-v1-first-secret", "OR_2": "sk-or-v1-second-secret"}
FP1, FP2 = fingerprint(ENV["OR_1"]), fingerprint(ENV["OR_2"])
TOML = """
[providers.or]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
api_keys = ["$OR_1", "$OR_2"]
pool = "free"

[pools.free]
rpd = 3

[models.a]
provider = "or"
id = "vendor/a:free"

[tiers.free]
letter = "f"
big = ["a"]
"""


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def config() -> Config:
    return parse(TOML, env=ENV)


def test_ledger_records_the_fingerprint_and_restores_per_key(tmp_path: Path, config: Config) -> None:
    led = Ledger(tmp_path / "l.sqlite3")
    try:
        ex = Exchange(started=NOON, model="a", provider="or", key_fp=FP2,
                      attempts=[Attempt("a", "or", outcome="ok", reached=True, key=FP2)])
        led.write_nowait(ex)
        led.write_nowait(Exchange(started=NOON, attempts=[Attempt("a", "or", reached=True, key=FP2)]))
    finally:
        led.close()
    raw = (tmp_path / "l.sqlite3").read_bytes()
    assert ENV["OR_2"].encode() not in raw
    led = Ledger(tmp_path / "l.sqlite3")
    try:
        row = led.recent(5)[-1]
        assert row["key_fp"] == FP2 and row["attempts"][0]["key"] == FP2
        q = Quotas(config, Clock(NOON + 60))
        q.restore(led.attempts_since(NOON - 1))
        a = config.models["a"]
        assert q.headroom(a, FP2) < q.headroom(a, FP1)  # the day's use came back on the key that spent it
    finally:
        led.close()


def test_an_old_ledger_gains_the_column(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.sqlite3")
    db.execute("CREATE TABLE exchanges (id TEXT PRIMARY KEY, started REAL NOT NULL, first_byte REAL, ended REAL, agent TEXT,"
               " route TEXT, tier TEXT, role TEXT, endpoint TEXT, path TEXT, session TEXT, requested_model TEXT, model TEXT,"
               " provider TEXT, stream INTEGER, status INTEGER, outcome TEXT, input INTEGER, output INTEGER, cache_read INTEGER,"
               " cache_write INTEGER, usage_reported INTEGER, cache_class TEXT, cost REAL, saved REAL, error TEXT,"
               " attempts TEXT, skipped TEXT)")
    db.commit()
    db.close()
    led = Ledger(tmp_path / "old.sqlite3")
    try:
        led.write_nowait(Exchange(started=NOON, key_fp="abcd1234"))
    finally:
        led.close()
    assert Ledger(tmp_path / "old.sqlite3").recent(1)[0]["key_fp"] == "abcd1234"
