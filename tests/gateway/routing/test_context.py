"""Context that fits: the routing filter (pure) and the compaction error through the real gateway."""

from __future__ import annotations

import re

import anthropic
import httpx
import openai
import pytest
from support.servers import config_for, free_port

from gateway.config import parse
from gateway.config.record import replace
from gateway.routing import context
from gateway.routing.affinity import Affinity
from gateway.routing.health import Health
from gateway.routing.plan import RouteRequest, RoutingState, plan
from gateway.routing.quotas import Quotas
from gateway.scan.view import ScanView

T0 = 1_800_000_000.0
# The pattern Claude Code 2.1.197 applies to an API error before it compacts (from its binary).
CLAUDE_CODE_PATTERN = re.compile(r"prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)", re.I)

TOML = """
[gateway]
default_tier = "free"
[providers.p]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[pools.tiny]
rpm = 1
[models.small]
provider = "p"
id = "small-32k"
context = 32768
[models.large]
provider = "p"
id = "large-128k"
context = 131072
[models.unknown]
provider = "p"
id = "no-window"
[models.busy]
provider = "p"
id = "busy-128k"
context = 131072
pool = "tiny"
[tiers.free]
letter = "f"
big = ["small", "large"]
[tiers.tight]
letter = "t"
big = ["small"]
[tiers.open]
letter = "o"
big = ["small", "unknown"]
[tiers.busy]
letter = "b"
big = ["small", "busy"]
[tiers.lng]
letter = "l"
big = ["small"]
long = ["small", "large"]
"""


def state(cfg, scan: ScanView | None = None) -> RoutingState:
    clock = lambda: T0  # noqa: E731
    return RoutingState(Health(cfg.breaker, clock), Quotas(cfg, clock), Affinity(clock=clock), clock,
                        scan or ScanView())


def route(cfg, st, tier: str, tokens: int):
    return plan(RouteRequest("claude", "p", tier, "big", tokens=tokens), cfg, st)


@pytest.mark.parametrize(("tier", "tokens", "chosen", "skipped"), [
    ("free", 1_000, ["small", "large"], []),
    ("free", 32_768, ["small", "large"], []),           # exactly the window fits
    ("free", 32_769, ["large"], ["small"]),
    ("free", 131_073, [], ["small", "large"]),
    ("open", 50_000, ["unknown"], ["small"]),           # an unknown window is never guessed
])  # fmt: skip
def test_a_model_whose_window_the_prompt_exceeds_is_skipped(tier, tokens, chosen, skipped) -> None:
    cfg = parse(TOML, env={})
    p = route(cfg, state(cfg), tier, tokens)
    assert [c.model.name for c in p.candidates] == chosen
    assert [s.model for s in p.skipped] == skipped
    assert all(s.reason.startswith("context window") for s in p.skipped)


def test_when_nothing_fits_the_error_is_the_one_claude_code_compacts_on() -> None:
    cfg = parse(TOML, env={})
    p = route(cfg, state(cfg), "free", 200_000)
    assert p.error is not None and p.error.status == 400
    m = CLAUDE_CODE_PATTERN.search(p.error.message)
    assert m and (int(m.group(1)), int(m.group(2))) == (200_000, 131_072), p.error.message


def test_the_long_role_and_bypass_are_filtered_alike() -> None:
    cfg = parse(TOML, env={})
    p = plan(RouteRequest("claude", "p", "lng", "long", tokens=100_000), cfg, state(cfg))
    assert [c.model.name for c in p.candidates] == ["large"] and p.skipped[0].model == "small"
    p = plan(RouteRequest("claude", "b", None, "big", requested_model="small-32k", tokens=40_000), cfg, state(cfg))
    assert p.error is not None and p.error.status == 400 and "40000 tokens > 32768" in p.error.message
    assert "model 'small-32k'" in p.error.message


def test_a_fitting_model_that_is_only_busy_gives_429_not_compaction() -> None:
    cfg = parse(TOML, env={})
    st = state(cfg)
    st.quotas.record(cfg.models["busy"], 10)  # rpm 1: spent
    p = route(cfg, st, "busy", 50_000)
    assert p.error is not None and p.error.status == 429


def test_the_scanned_window_counts_when_the_config_has_none() -> None:
    cfg = parse(TOML, env={})
    scan = ScanView(scanned_at=T0, windows={"unknown": 16_384})
    p = route(cfg, state(cfg, scan), "open", 40_000)
    assert p.error is not None and p.error.status == 400 and "40000 tokens > 32768" in p.error.message
    cfg2 = replace(cfg, models={**cfg.models, "unknown": replace(cfg.models["unknown"], context=65_536)})
    assert [c.model.name for c in route(cfg2, state(cfg2, scan), "open", 40_000).candidates] == ["unknown"]


# -- through the real gateway -------------------------------------------------------------------------------


@pytest.fixture
def windowed(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port())
    small = {"sim-kimi": 32_768, "sim-nemotron": 32_768, "sim-deepseek": 65_536, "sim-gptoss": 32_768,
             "sim-claude": 32_768, "sim-haiku": 32_768}
    cfg = replace(cfg, models={n: replace(m, context=small.get(n)) for n, m in cfg.models.items()})
    return simulator_thread, make_gateway(cfg)


def _prompt(tokens: int) -> str:
    return "word " * (tokens)  # ~5 bytes a word: the gateway's estimate (bytes / 4) is above `tokens`


def test_anthropic_sdk_gets_prompt_is_too_long_and_nothing_goes_upstream(windowed) -> None:
    sim, gw = windowed
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/free", api_key="x", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model="xx-big", max_tokens=100, messages=[{"role": "user", "content": _prompt(70_000)}])
    assert err.value.status_code == 400
    body = err.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    m = CLAUDE_CODE_PATTERN.search(body["error"]["message"])
    assert m and int(m.group(1)) > 70_000 and int(m.group(2)) == 65_536
    assert sim.calls() == 0, "an over-window request must never reach a provider"
    row = gw.rows(1)[0]
    assert row["status"] == 400 and {s["model"] for s in row["skipped"]} >= {"sim-kimi", "sim-deepseek"}


def test_a_prompt_between_the_windows_goes_to_the_model_it_fits(windowed) -> None:
    sim, gw = windowed
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/free", api_key="x", max_retries=0)
    msg = client.messages.with_raw_response.create(model="xx-big", max_tokens=100,
                                                   messages=[{"role": "user", "content": _prompt(40_000)}])
    assert msg.headers["x-xx-model"] == "sim-deepseek"
    assert sim.calls() == 1 and sim.calls("sim/deepseek-v4-flash:free") == 1


def test_a_screenshot_counts_as_an_image_not_as_its_bytes(windowed) -> None:
    """A 400 KB base64 PNG is ~100k tokens by bytes / 4 (over every window here) but ~1,600 to a model."""
    import base64

    sim, gw = windowed
    png = base64.b64encode(bytes(range(256)) * 1200).decode()  # 307 KB of data, 410 KB of base64
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/free", api_key="x", max_retries=0)
    msg = client.messages.with_raw_response.create(model="xx-big", max_tokens=100, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "text", "text": "what is on this screen?"}]}])
    assert msg.http_response.status_code == 200 and sim.calls() == 1


def test_the_estimate_counts_base64_runs_as_images() -> None:
    text = b'{"messages":[{"role":"user","content":"' + b"word " * 4000 + b'"}]}'
    assert context.estimate_tokens(text) == len(text) // 4  # text: bytes / 4, as before
    image = b'{"data":"' + b"QUJD" * 100_000 + b'","type":"base64"}'
    assert context.estimate_tokens(image) == len(image) // 4 - 100_000 + context.IMAGE_TOKENS
    gemini = b'{"inlineData":{"data":"' + b"QUJD" * 100_000 + b'"}}'
    assert context.estimate_tokens(gemini, "gemini") < 2_000


def test_openai_sdk_gets_a_400_naming_both_numbers(windowed) -> None:
    sim, gw = windowed
    client = openai.OpenAI(base_url=f"{gw.url}/x/test/p/free/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": _prompt(70_000)}])
    assert CLAUDE_CODE_PATTERN.search(str(err.value)) and sim.calls() == 0
    assert err.value.code == "context_length_exceeded" and err.value.type == "invalid_request_error"
    assert httpx.get(gw.url + "/health", timeout=5).status_code == 200


def test_model_metadata_tells_agents_the_window(windowed) -> None:
    _, gw = windowed
    one = httpx.get(f"{gw.url}/x/hermes/p/free/v1/models/xx-big", timeout=5).json()
    assert one["context_length"] == 65536  # the tier's largest big window: what it can serve at all
    listed = {m["id"]: m["context_length"] for m in httpx.get(f"{gw.url}/v1/models", timeout=5).json()["data"]}
    assert listed["sim-deepseek"] == 65536 and listed["sim-gpt"] == 131072  # its own, or the old default


@pytest.mark.parametrize(("message", "expected"), [
    ("This model's maximum context length is 32768 tokens. However, you requested 40000 tokens (39000 in the "
     "messages, 1000 in the completion).", (40000, 32768)),  # OpenAI
    ("This endpoint's maximum context length is 131072 tokens. However, you requested about 140000 tokens",
     (140000, 131072)),  # OpenRouter
    ("prompt is too long: 201234 tokens > 200000 maximum", (201234, 200000)),  # Anthropic
    ("The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", (1200000, 1048576)),
    ("Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
     (40000, 32768)),  # Mistral
    ("Please reduce the length of the messages or completion.", (None, None)),
    ("Rate limit reached for requests", None),
    ("max_tokens: 100000 > 64000, which is the maximum allowed", None),
])
def test_a_providers_context_length_error_is_read(message: str, expected) -> None:
    assert context.overflow(message) == expected
