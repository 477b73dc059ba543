from __future__ import annotations

import pytest

from gateway.config import Config, parse
from gateway.routing.affinity import Affinity
from gateway.routing.health import Health
from gateway.routing.plan import Plan, RouteRequest, RoutingState, plan
from gateway.routing.quotas import Quotas

T0 = 1_800_000_000.0

TOML = """
[gateway]
default_tier = "free"

[providers.openrouter]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "$OPENROUTER_API_KEY"
pool = "openrouter-free"

[providers.anthropic]
protocol = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "$ANTHROPIC_API_KEY"

[providers.ollama]
protocol = "openai"
base_url = "http://127.0.0.1:11434/v1"

[pools.openrouter-free]
rpm = 2
rpd = 50

[models.kimi-free]
provider = "openrouter"
id = "moonshotai/kimi-k2.6:free"

[models.nemotron-free]
provider = "openrouter"
id = "nvidia/nemotron-3-super-120b-a12b:free"

[models.nano-free]
provider = "openrouter"
id = "nvidia/nemotron-3-nano-30b-a3b:free"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-6"

[models.qwen-local]
provider = "ollama"
id = "qwen3:8b"

[tiers.free]
letter = "f"
big = ["kimi-free", "nemotron-free", "qwen-local"]
middle = ["nemotron-free", "kimi-free"]
small = ["nano-free", "qwen-local"]

[tiers.paid]
letter = "p"
big = ["sonnet", "kimi-free"]

[tiers.best]
letter = "m"
rank = "health"

[breaker]
failures = 3
cooldown_s = 60
"""


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config() -> Config:
    return parse(TOML, env={"OPENROUTER_API_KEY": "sk-or-test"})


@pytest.fixture
def state(config: Config, clock: Clock) -> RoutingState:
    return RoutingState(Health(config.breaker, clock), Quotas(config, clock), Affinity(clock=clock), clock)


def names(p: Plan) -> list[str]:
    return [c.model.name for c in p.candidates]


def req(**kw: object) -> RouteRequest:
    base: dict = {"agent": "claude", "route": "p", "tier": None, "role": "big"}
    base.update(kw)
    return RouteRequest(**base)


def test_default_tier_and_role_lists(config: Config, state: RoutingState) -> None:
    p = plan(req(), config, state)
    assert p.error is None and p.tier == "free"
    assert names(p) == ["kimi-free", "nemotron-free", "qwen-local"]
    assert p.candidates[0].provider.name == "openrouter"
    # small goes to the most plentiful first (the governor): the local model has no limit, the free pool 50 a day
    assert names(plan(req(role="small", tier="f"), config, state)) == ["qwen-local", "nano-free"]
    assert names(plan(req(role="middle", tier="free"), config, state)) == ["nemotron-free", "kimi-free"]
    # a role the tier does not list falls back to big
    assert names(plan(req(role="long"), config, state)) == ["kimi-free", "nemotron-free", "qwen-local"]


def test_unknown_tier_names_the_tiers(config: Config, state: RoutingState) -> None:
    p = plan(req(tier="z"), config, state)
    assert p.error is not None and p.error.status == 400
    assert p.error.message == "unknown tier 'z' (tiers: free f, paid p, best m)"
    assert p.candidates == []


def test_missing_key_is_skipped_with_the_variable_named(config: Config, state: RoutingState) -> None:
    p = plan(req(tier="paid"), config, state)
    assert names(p) == ["kimi-free"]
    assert [s.as_dict() for s in p.skipped] == [
        {"model": "sonnet", "reason": "no API key ($ANTHROPIC_API_KEY unset)", "until": None}
    ]


def test_only_unkeyed_models_is_a_401_naming_the_variables_not_a_retry(config: Config, state: RoutingState) -> None:
    """Not 503/overloaded: agents retry those for minutes, and a missing key never heals by waiting."""
    cfg = parse(TOML, env={})
    p = plan(req(tier="paid"), cfg, RoutingState(state.health, Quotas(cfg, state.clock), state.affinity, state.clock))
    assert p.error is not None and p.error.status == 401 and p.error.retry_after is None
    assert "no API key" in p.error.message
    assert "$ANTHROPIC_API_KEY unset" in p.error.message and "$OPENROUTER_API_KEY unset" in p.error.message


def test_429_retry_after_30_skips_for_exactly_30_s(config: Config, state: RoutingState, clock: Clock) -> None:
    state.health.failure("kimi-free", 429, "rate limited", retry_after_s=30)
    p = plan(req(), config, state)
    assert names(p) == ["nemotron-free", "qwen-local"]
    assert p.skipped[0].model == "kimi-free" and p.skipped[0].until == T0 + 30
    clock.advance(29.99)
    assert names(plan(req(), config, state))[0] == "nemotron-free"
    clock.advance(0.01)
    assert names(plan(req(), config, state))[0] == "kimi-free"


def test_pool_rpm_2_third_request_skips_the_whole_pool(config: Config, state: RoutingState, clock: Clock) -> None:
    for _ in range(2):
        p = plan(req(), config, state)
        first = p.candidates[0].model
        assert first.name == "kimi-free"
        state.quotas.record(first, 1000)
        clock.advance(1)
    p = plan(req(), config, state)
    assert names(p) == ["qwen-local"]
    assert {s.model for s in p.skipped} == {"kimi-free", "nemotron-free"}
    assert all("pool 'openrouter-free'" in s.reason and s.until == T0 + 60 for s in p.skipped)
    assert names(plan(req(role="small"), config, state)) == ["qwen-local"]


def test_all_unavailable_is_429_with_the_earliest_retry(config: Config, state: RoutingState, clock: Clock) -> None:
    state.health.failure("kimi-free", 429, "rate limited", retry_after_s=40)
    for _ in range(3):
        state.health.failure("nemotron-free", 500, "upstream error")
    state.health.failure("qwen-local", 429, "rate limited", retry_after_s=12.5)
    p = plan(req(), config, state)
    assert p.candidates == []
    assert p.error is not None and p.error.status == 429
    assert p.error.retry_after == 13  # ceil of the earliest comeback
    msg = p.error.message
    assert msg.startswith("every model of tier 'free' (big) is unavailable: ")
    assert "kimi-free: cooling down (429 retry-after 40s) (back in 40s)" in msg
    assert "nemotron-free: breaker open (3 consecutive failures, last 500 upstream error) (back in 60s)" in msg
    assert "qwen-local: cooling down (429 retry-after 12.5s) (back in 13s)" in msg
    clock.advance(12.5)
    assert names(plan(req(), config, state)) == ["qwen-local"]


def test_half_open_probe_in_flight_makes_others_skip(config: Config, state: RoutingState, clock: Clock) -> None:
    for _ in range(3):
        state.health.failure("kimi-free", 502, "bad gateway")
    clock.advance(60)
    p = plan(req(), config, state)
    assert names(p)[0] == "kimi-free"
    assert state.health.begin("kimi-free")  # the proxy claims the probe
    p2 = plan(req(), config, state)
    assert names(p2)[0] == "nemotron-free"
    assert p2.skipped[0].reason == "half-open probe in flight"


def test_affinity_keeps_a_ten_turn_conversation_then_moves(config: Config, state: RoutingState, clock: Clock) -> None:
    session = "c0ffee0123456789"
    other = "feedface01234567"
    served: list[str] = []
    # turn 1 lands on nemotron because kimi is cooling; the conversation stays there
    state.health.failure("kimi-free", 429, "rate limited", retry_after_s=5)
    for _ in range(10):
        p = plan(req(session=session), config, state)
        chosen = p.candidates[0]
        served.append(chosen.model.name)
        state.affinity.remember(session, "big", chosen.model.name)
        clock.advance(30)  # kimi is back after the first turn
    assert served == ["nemotron-free"] * 10
    assert plan(req(session=session), config, state).candidates[0].sticky
    # a new conversation takes the tier's first choice
    assert names(plan(req(session=other), config, state))[0] == "kimi-free"
    # nemotron fails hard: the conversation moves on, then sticks to its new model
    state.health.failure("nemotron-free", 401, "key revoked")
    p = plan(req(session=session), config, state)
    assert names(p) == ["kimi-free", "qwen-local"]
    state.affinity.remember(session, "big", "kimi-free")
    clock.advance(61)
    state.health.success("nemotron-free", 100.0)
    assert names(plan(req(session=session), config, state))[0] == "kimi-free"


def test_affinity_ignored_when_the_model_is_not_in_the_role_list(config: Config, state: RoutingState) -> None:
    state.affinity.remember("s", "small", "sonnet")
    assert names(plan(req(session="s", role="small"), config, state)) == ["qwen-local", "nano-free"]


def test_bypass_forwards_by_name_or_upstream_id(config: Config, state: RoutingState) -> None:
    p = plan(req(route="b", requested_model="moonshotai/kimi-k2.6:free", tier="z"), config, state)
    assert p.error is None and names(p) == ["kimi-free"] and p.tier is None
    assert names(plan(req(route="b", requested_model="qwen-local"), config, state)) == ["qwen-local"]


def test_bypass_unknown_model_is_404_listing_models(config: Config, state: RoutingState) -> None:
    p = plan(req(route="b", requested_model="claude-opus-4-8"), config, state)
    assert p.error is not None and p.error.status == 404
    assert "'claude-opus-4-8' is not configured" in p.error.message
    assert "kimi-free (moonshotai/kimi-k2.6:free)" in p.error.message and "qwen-local (qwen3:8b)" in p.error.message


def test_bypass_does_not_cascade(config: Config, state: RoutingState) -> None:
    state.health.failure("kimi-free", 401, "bad key")
    p = plan(req(route="b", requested_model="kimi-free"), config, state)
    assert p.candidates == []
    assert p.error is not None and p.error.status == 429 and "model 'kimi-free'" in p.error.message


def test_health_ranked_tier(config: Config, state: RoutingState) -> None:
    h = state.health
    h.success("qwen-local", 100.0)
    h.success("nano-free", 400.0)
    h.success("kimi-free", 300.0)
    h.failure("kimi-free", 500, "x")
    p = plan(req(tier="m"), config, state)
    # sonnet has no key; never-called nemotron ranks after proven models, before flaky kimi
    assert names(p) == ["qwen-local", "nano-free", "nemotron-free", "kimi-free"]
    assert [s.model for s in p.skipped] == ["sonnet"]


def test_plan_does_not_claim_or_record(config: Config, state: RoutingState) -> None:
    for _ in range(5):
        plan(req(), config, state)
    assert state.quotas.snapshot(config.models["kimi-free"])["rpm"]["used"] == 0  # type: ignore[index]
    assert state.health.row("kimi-free")["requests"] == 0


def test_route_d_reaching_the_gateway_is_treated_as_bypass(config: Config, state: RoutingState) -> None:
    assert names(plan(req(route="d", requested_model="qwen3:8b"), config, state)) == ["qwen-local"]
