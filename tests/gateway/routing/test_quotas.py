from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.config import Config, parse
from gateway.routing.quotas import Quotas, next_utc_midnight

NOON = datetime(2027, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2027, 3, 11, 0, 0, 0, tzinfo=UTC).timestamp()

TOML = """
[gateway]
default_tier = "t"

[providers.or]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
pool = "free"

[providers.local]
protocol = "openai"
base_url = "http://127.0.0.1:11434/v1"

[pools.free]
rpm = 2
rpd = 5

[models.a]
provider = "or"
id = "vendor/a:free"

[models.b]
provider = "or"
id = "vendor/b:free"

[models.solo]
provider = "local"
id = "solo"
rpm = 3
tpm = 1000

[tiers.t]
letter = "t"
big = ["a", "b", "solo"]
"""


class Clock:
    def __init__(self, t: float = NOON) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def config() -> Config:
    return parse(TOML, env={})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quotas(config: Config, clock: Clock) -> Quotas:
    return Quotas(config, clock)


def test_pool_rpm_2_third_request_skips_every_model_of_the_pool(quotas: Quotas, config: Config, clock: Clock) -> None:
    a, b, solo = config.models["a"], config.models["b"], config.models["solo"]
    assert quotas.check(a) is None
    quotas.record(a)
    clock.advance(10)
    assert quotas.check(b) is None
    quotas.record(b)
    clock.advance(5)
    for m in (a, b):
        u = quotas.check(m)
        assert u is not None
        assert "pool 'free'" in u.reason and "2 requests per minute" in u.reason
        assert u.until == NOON + 60  # the oldest request in the window + 60 s
    assert quotas.check(solo) is None  # another provider, no pool
    clock.t = NOON + 59.999
    assert quotas.check(a) is not None
    clock.t = NOON + 60
    assert quotas.check(a) is None
    quotas.record(a)
    assert quotas.check(b).until == NOON + 10 + 60  # type: ignore[union-attr]


def test_model_rpm_counts_only_that_model(quotas: Quotas, config: Config, clock: Clock) -> None:
    solo = config.models["solo"]
    for _ in range(3):
        assert quotas.check(solo) is None
        quotas.record(solo)
        clock.advance(1)
    u = quotas.check(solo)
    assert u is not None and "model 'solo'" in u.reason and u.until == NOON + 60


def test_rpd_resets_at_utc_midnight(quotas: Quotas, config: Config, clock: Clock) -> None:
    a = config.models["a"]
    clock.t = MIDNIGHT - 5 * 120
    for _ in range(5):
        quotas.record(a)
        clock.advance(120)  # stay under rpm
    clock.t = MIDNIGHT - 1
    u = quotas.check(a)
    assert u is not None and "5 requests per UTC day" in u.reason and u.until == MIDNIGHT
    assert quotas.check(config.models["b"]).until == MIDNIGHT  # type: ignore[union-attr]
    clock.t = MIDNIGHT
    assert quotas.check(a) is None
    assert quotas.snapshot(a)["rpd"] == {"used": 0, "limit": 5, "scope": "pool 'free'", "reset_at": MIDNIGHT + 86400}


def test_rpd_restored_from_ledger_rows(config: Config, clock: Clock) -> None:
    yesterday = NOON - 86400
    rows = [("a", yesterday + i, 100) for i in range(10)]  # yesterday: ignored
    rows += [("a", NOON - 3600 * i, 100) for i in range(1, 4)]  # three today
    rows += [("b", NOON - 30, 100)]  # today and inside the minute
    rows += [("gone", NOON - 60 * 5, 5)]  # a model no longer configured
    q = Quotas(config, clock)
    q.restore(rows)
    a, b = config.models["a"], config.models["b"]
    snap = q.snapshot(a)
    assert snap["rpd"]["used"] == 4  # type: ignore[index]
    assert snap["rpm"]["used"] == 1  # type: ignore[index]
    assert q.check(a) is None  # 4 of 5 today, 1 of 2 this minute
    q.record(b)
    u = q.check(a)
    assert u is not None and "5 requests per UTC day" in u.reason and u.until == MIDNIGHT
    assert q.snapshot(config.models["solo"])["rpd"]["used"] == 0  # type: ignore[index]


def test_restored_rows_inside_the_minute_count_for_rpm(config: Config, clock: Clock) -> None:
    q = Quotas(config, clock)
    q.restore([("solo", NOON - 10, 1), ("solo", NOON - 50, 1), ("solo", NOON - 30, 1), ("solo", NOON - 70, 1)])
    u = q.check(config.models["solo"])
    assert u is not None and "3 requests per minute" in u.reason and u.until == NOON + 10  # oldest in window + 60


def test_tpm_until_when_enough_tokens_expire(quotas: Quotas, config: Config, clock: Clock) -> None:
    solo = config.models["solo"]
    quotas.record(solo, 400)
    clock.advance(10)
    quotas.record(solo, 400)
    clock.advance(10)
    assert quotas.check(solo, 200) is None
    u = quotas.check(solo, 300)
    assert u is not None and "1000 tokens per minute" in u.reason and u.until == NOON + 60
    u = quotas.check(solo, 700)
    assert u is not None and u.until == NOON + 70  # both earlier requests must expire
    assert quotas.snapshot(solo)["tpm"] == {"used": 800, "limit": 1000, "scope": "model 'solo'"}


def test_one_request_larger_than_tpm_is_not_sent(quotas: Quotas, config: Config) -> None:
    # Groq answers a request over the model's TPM with a refusal whatever the minute holds: skip the model
    why = quotas.check(config.models["solo"], 5000)
    assert why is not None and "5000-token request is over its 1000 tokens per minute" in why.reason
    assert quotas.check(config.models["solo"], 1000) is None


def test_an_account_wide_cool_skips_the_whole_pool(quotas: Quotas, config: Config, clock: Clock) -> None:
    quotas.cool(config.models["a"], MIDNIGHT, "free-models-per-day", whole_pool=True)
    u = quotas.check(config.models["b"])
    assert u is not None and u.until == MIDNIGHT and "free-models-per-day" in u.reason
    assert quotas.snapshot(config.models["a"])["pool_cooling_until"] == MIDNIGHT
    assert quotas.check(config.models["solo"]) is None
    clock.t = MIDNIGHT
    assert quotas.check(config.models["b"]) is None


def test_latest_until_wins_when_several_limits_hit(quotas: Quotas, config: Config, clock: Clock) -> None:
    a = config.models["a"]
    clock.t = MIDNIGHT - 600
    for _ in range(3):
        quotas.record(a)
        clock.advance(100)
    quotas.record(a)
    quotas.record(a)  # 5 today and 2 in this minute
    u = quotas.check(a)
    assert u is not None and u.until == MIDNIGHT


def test_update_config_keeps_counts_and_applies_new_limits(quotas: Quotas, config: Config) -> None:
    a = config.models["a"]
    quotas.record(a)
    quotas.record(a)
    assert quotas.check(a) is not None
    looser = parse(TOML.replace("rpm = 2", "rpm = 3"), env={})
    quotas.update_config(looser)
    assert quotas.check(looser.models["a"]) is None
    quotas.record(looser.models["a"])
    assert quotas.check(looser.models["a"]) is not None
    assert quotas.snapshot(looser.models["a"])["rpd"]["used"] == 3  # type: ignore[index]


def test_snapshot_shape_without_limits(quotas: Quotas, config: Config) -> None:
    snap = quotas.snapshot(config.models["solo"])
    assert snap["rpm"] == {"used": 0, "limit": 3, "scope": "model 'solo'"}
    assert snap["rpd"]["limit"] is None  # type: ignore[index]
    assert snap["pool"] is None


def test_memory_stays_bounded(quotas: Quotas, config: Config, clock: Clock) -> None:
    solo = config.models["solo"]
    for _ in range(5000):
        quotas.record(solo, 1)
        clock.advance(7)
    assert quotas.snapshot(solo)["rpm"]["used"] <= 9  # type: ignore[index]
    assert len(quotas._models[("solo", "")].minute) <= 9


def test_next_utc_midnight() -> None:
    assert next_utc_midnight(NOON) == MIDNIGHT
    assert next_utc_midnight(MIDNIGHT) == MIDNIGHT + 86400


def test_a_pacific_day_resets_at_pacific_midnight() -> None:
    from gateway.config import ConfigError
    from gateway.routing.quotas import day_bounds

    winter = datetime(2027, 1, 15, 12, 0, tzinfo=UTC).timestamp()
    summer = datetime(2027, 7, 15, 3, 0, tzinfo=UTC).timestamp()
    assert day_bounds(winter, "America/Los_Angeles") == (datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp(),
                                                        datetime(2027, 1, 16, 8, 0, tzinfo=UTC).timestamp())
    assert day_bounds(summer, "America/Los_Angeles")[0] == datetime(2027, 7, 14, 7, 0, tzinfo=UTC).timestamp()
    cfg = parse(TOML.replace("rpd = 5\n", 'rpd = 5\nday_tz = "America/Los_Angeles"\n'), env={})
    clock = Clock(datetime(2027, 1, 15, 7, 0, tzinfo=UTC).timestamp())  # 23:00 in Los Angeles
    q = Quotas(cfg, clock)
    a = cfg.models["a"]
    for _ in range(5):
        q.record(a)
        clock.advance(61)
    why = q.check(a)
    assert why is not None and "per day (America/Los_Angeles)" in why.reason
    assert why.until == datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
    clock.t = datetime(2027, 1, 15, 8, 0, 1, tzinfo=UTC).timestamp()  # Pacific midnight, not UTC's
    assert q.check(a) is None
    with pytest.raises(ConfigError, match=r"pools.free.day_tz: unknown time zone 'Mars/Olympus'"):
        parse(TOML.replace("rpd = 5\n", 'rpd = 5\nday_tz = "Mars/Olympus"\n'), env={})
