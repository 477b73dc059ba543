"""Request shaping on realistic Claude-Code-shaped bodies, in each upstream protocol."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import config
from gateway.caching import shaping
from gateway.caching.shaping import ShapingOptions, count_breakpoints, options_for, shape

CC_SYSTEM = (
    "You are Claude Code, Anthropic's official CLI for Claude. You are an interactive agent that helps "
    "users with software engineering tasks. " * 40
)


def billing(cch: str) -> str:
    return f"x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli; cch={cch};"


def tools(n: int = 24) -> list[dict[str, Any]]:
    return [
        {
            "name": f"Tool{i}",
            "description": f"Tool number {i}. " * 20,
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        }
        for i in range(n)
    ]


def conversation(turns: int) -> list[dict[str, Any]]:
    """user, assistant(tool_use), user(tool_result), … growing by two messages a turn."""
    msgs: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Fix the failing test in foo.py"}]}
    ]
    for t in range(turns - 1):
        msgs.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"step {t}", "signature": "sig" + str(t)},
                    {"type": "text", "text": f"Looking at step {t}."},
                    {"type": "tool_use", "id": f"toolu_{t}", "name": "Tool1", "input": {"path": f"f{t}.py"}},
                ],
            }
        )
        msgs.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"toolu_{t}", "content": "ok " * 50}],
            }
        )
    return msgs


def cc_body(turns: int = 3, cch: str = "4f2a1", client_breakpoints: bool = True) -> dict[str, Any]:
    """What Claude Code sends to /v1/messages: billing block first, cached system, 24 tools."""
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 32000,
        "stream": True,
        "metadata": {"user_id": json.dumps({"device_id": "d1", "session_id": "s1"})},
        "system": [
            {"type": "text", "text": billing(cch)},
            {"type": "text", "text": CC_SYSTEM, "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools(),
        "messages": conversation(turns),
    }
    if client_breakpoints:
        body["messages"][-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    else:
        del body["system"][1]["cache_control"]
    return body


def chat_body(cch: str = "4f2a1", parts: bool = False) -> dict[str, Any]:
    """The same request after translation to OpenAI Chat."""
    system: Any = (
        [{"type": "text", "text": billing(cch)}, {"type": "text", "text": CC_SYSTEM}]
        if parts
        else billing(cch) + "\n" + CC_SYSTEM
    )
    return {
        "model": "moonshotai/kimi-k2.6:free",
        "stream": True,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "Fix the failing test in foo.py"},
        ],
        "tools": [
            {"type": "function", "function": {"name": f"Tool{i}", "parameters": {}}} for i in range(24)
        ],
    }


TOML = """
[gateway]
default_tier = "t"
[providers.openrouter]
protocol = "openai"
base_url = "https://openrouter.ai/api/v1"
privacy = { data_collection = "deny", zdr = true }
[providers.anthropic]
protocol = "anthropic"
base_url = "https://api.anthropic.com"
[providers.deepseek]
protocol = "anthropic"
base_url = "https://api.deepseek.com/anthropic"
[providers.local]
protocol = "openai"
base_url = "http://127.0.0.1:11434/v1"
[providers.oai]
protocol = "responses"
base_url = "https://api.openai.com/v1"
[providers.tuned]
protocol = "anthropic"
base_url = "https://example.com"
shaping = { strip_billing_header = false, top_up_cache_control = true, cache_ttl_1h = true }
[models.kimi]
provider = "openrouter"
id = "moonshotai/kimi-k2.6"
pin = ["moonshotai"]
[models.kimi-nopin]
provider = "openrouter"
id = "moonshotai/kimi-k2.6"
shaping = { privacy = false, prompt_cache_key = false }
[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-6"
[models.ds]
provider = "deepseek"
id = "deepseek-chat"
[models.llama]
provider = "local"
id = "llama3"
[models.gpt]
provider = "oai"
id = "gpt-5"
[models.tuned]
provider = "tuned"
id = "x"
shaping = { strip_billing_header = true }
[tiers.t]
letter = "t"
big = ["kimi"]
"""


@pytest.fixture(scope="module")
def cfg() -> config.Config:
    return config.parse(TOML, env={})


def opts(cfg: config.Config, model: str) -> ShapingOptions:
    m = cfg.models[model]
    return options_for(cfg.providers[m.provider], m)


def test_options_defaults_per_provider(cfg: config.Config) -> None:
    kimi = opts(cfg, "kimi")
    assert kimi.strip_billing_header and kimi.prompt_cache_key
    assert not kimi.inject_cache_control and not kimi.lift_system
    assert kimi.pin == ("moonshotai",)
    assert dict(kimi.privacy) == {"data_collection": "deny", "zdr": True}

    sonnet = opts(cfg, "sonnet")  # the real Anthropic API bills by the header: keep it
    assert not sonnet.strip_billing_header
    assert sonnet.inject_cache_control and sonnet.lift_system
    assert not sonnet.prompt_cache_key and not sonnet.pin and not sonnet.privacy

    ds = opts(cfg, "ds")  # an Anthropic-compatible third party: strip
    assert ds.strip_billing_header and ds.inject_cache_control

    llama = opts(cfg, "llama")  # unknown OpenAI-compatible server: add no new fields
    assert llama.strip_billing_header and not llama.prompt_cache_key and not llama.pin

    assert opts(cfg, "gpt").prompt_cache_key


def test_options_model_overrides_provider(cfg: config.Config) -> None:
    nopin = opts(cfg, "kimi-nopin")
    assert nopin.pin == () and nopin.privacy == () and not nopin.prompt_cache_key
    tuned = opts(cfg, "tuned")
    assert tuned.strip_billing_header  # model table wins over the provider's false
    assert tuned.top_up_cache_control and tuned.cache_ttl == "1h"


# -- strip_billing_header -----------------------------------------------------------------


def test_strip_anthropic_list_form_makes_turns_share_a_prefix() -> None:
    a, b = cc_body(cch="4f2a1"), cc_body(cch="9c0de")
    assert a["system"] != b["system"]
    assert shaping.strip_billing_header(a, "anthropic")
    assert shaping.strip_billing_header(b, "anthropic")
    assert (
        a["system"]
        == b["system"]
        == [{"type": "text", "text": CC_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    )
    assert not shaping.strip_billing_header(a, "anthropic")  # idempotent: nothing left to change


def test_strip_anthropic_string_form() -> None:
    body = {"system": billing("abc") + "\n" + CC_SYSTEM, "messages": []}
    assert shaping.strip_billing_header(body, "anthropic")
    assert body["system"] == CC_SYSTEM
    only = {"system": billing("abc"), "messages": []}
    assert shaping.strip_billing_header(only, "anthropic")
    assert "system" not in only


@pytest.mark.parametrize("parts", [False, True])
def test_strip_chat_system_message(parts: bool) -> None:
    a, b = chat_body("4f2a1", parts), chat_body("77777", parts)
    assert shaping.strip_billing_header(a, "openai")
    assert shaping.strip_billing_header(b, "openai")
    assert a == b
    content = a["messages"][0]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert text == CC_SYSTEM
    assert a["messages"][1] == {"role": "user", "content": "Fix the failing test in foo.py"}


def test_strip_chat_drops_a_system_message_that_was_only_the_header() -> None:
    body = {"messages": [{"role": "system", "content": billing("1")}, {"role": "user", "content": "hi"}]}
    assert shaping.strip_billing_header(body, "openai")
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_strip_responses_instructions_and_system_items() -> None:
    body = {
        "instructions": billing("1") + "\n\n" + CC_SYSTEM,
        "input": [
            {"role": "developer", "content": [{"type": "input_text", "text": billing("2")}]},
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        ],
    }
    assert shaping.strip_billing_header(body, "responses")
    assert body["instructions"] == CC_SYSTEM
    assert body["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]


def test_strip_never_touches_user_text() -> None:
    body = {"messages": [{"role": "user", "content": billing("1") + " is what the header looks like"}]}
    before = copy.deepcopy(body)
    assert not shaping.strip_billing_header(body, "openai")
    assert body == before


# -- inject_cache_control ------------------------------------------------------------------


def marked(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, ttl) of every breakpoint, in prompt order."""
    out = []
    for i, t in enumerate(body.get("tools") or []):
        if "cache_control" in t:
            out.append((f"tool{i}", t["cache_control"].get("ttl", "5m")))
    for i, b in enumerate(body["system"] if isinstance(body.get("system"), list) else []):
        if "cache_control" in b:
            out.append((f"system{i}", b["cache_control"].get("ttl", "5m")))
    for m, msg in enumerate(body["messages"]):
        if isinstance(msg["content"], list):
            for i, b in enumerate(msg["content"]):
                if "cache_control" in b:
                    out.append((f"msg{m}.{i}", b["cache_control"].get("ttl", "5m")))
    return out


def ttl_ordered(body: dict[str, Any]) -> bool:
    ranks = [1 if ttl == "1h" else 0 for _, ttl in marked(body)]
    return ranks == sorted(ranks, reverse=True)


def test_inject_into_a_body_without_breakpoints_stable_head_first() -> None:
    body = cc_body(turns=4, client_breakpoints=False)
    shaping.strip_billing_header(body, "anthropic")
    assert count_breakpoints(body) == 0
    assert shaping.inject_cache_control(body)
    n = len(body["messages"])
    assert marked(body) == [
        ("tool23", "5m"),
        ("system0", "5m"),
        (f"msg{n - 3}.0", "5m"),
        (f"msg{n - 1}.0", "5m"),
    ]
    assert count_breakpoints(body) == 4
    assert all(
        "cache_control" not in b for m in body["messages"] for b in m["content"] if b["type"] == "thinking"
    )


def test_inject_converts_string_content_and_skips_empty_text() -> None:
    body = {
        "system": "be brief",
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": ""}]},
        ],
    }
    assert shaping.inject_cache_control(body)
    assert body["system"] == [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "first question", "cache_control": {"type": "ephemeral"}}
    ]
    # assistant turns are not breakpoint targets, but every string becomes a block the same way each
    # turn, so an earlier turn serialises identically when the breakpoints move forward
    assert body["messages"][1]["content"] == [{"type": "text", "text": "answer"}]
    assert body["messages"][2]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][2]["content"][1]


def test_inject_leaves_client_breakpoints_alone_unless_top_up() -> None:
    body = cc_body(turns=4)  # Claude Code's own: system block + last message
    before = copy.deepcopy(body)
    assert not shaping.inject_cache_control(body)
    assert body == before
    assert shaping.inject_cache_control(body, top_up=True)
    assert count_breakpoints(body) == 4
    where = [w for w, _ in marked(body)]
    assert where[:2] == ["tool23", "system1"] and len(set(where)) == 4


def test_four_existing_breakpoints_are_left_alone_even_with_top_up() -> None:
    body = cc_body(turns=4)
    body["tools"][5]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    body["messages"][0]["content"][0]["cache_control"] = {"type": "ephemeral"}
    assert count_breakpoints(body) == 4
    before = copy.deepcopy(body)
    assert not shaping.inject_cache_control(body, top_up=True)
    assert body == before


def test_top_up_with_1h_never_places_1h_after_a_5m_breakpoint() -> None:
    body = cc_body(turns=4)  # 5m on system1 and on the last message
    assert shaping.inject_cache_control(body, top_up=True, ttl="1h")
    assert ttl_ordered(body)
    assert dict(marked(body))["tool23"] == "1h"  # before every 5m one: the wanted TTL fits
    assert count_breakpoints(body) == 4


def test_top_up_with_5m_before_a_client_1h_breakpoint_uses_1h() -> None:
    body = cc_body(turns=4, client_breakpoints=False)
    body["messages"][-1]["content"][-1]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    assert shaping.inject_cache_control(body, top_up=True, ttl="5m")
    assert ttl_ordered(body)
    assert all(ttl == "1h" for _, ttl in marked(body))


def test_top_level_cache_control_means_the_client_manages_caching() -> None:
    body = cc_body(turns=2, client_breakpoints=False)
    body["cache_control"] = {"type": "ephemeral"}
    assert not shaping.inject_cache_control(body)


TTLS = st.sampled_from([None, "5m", "1h"])


@settings(max_examples=150, deadline=None)
@given(
    n_tools=st.integers(0, 3),
    n_system=st.integers(0, 3),
    n_turns=st.integers(1, 4),
    marks=st.lists(TTLS, min_size=12, max_size=12),
    wanted=st.sampled_from(["5m", "1h"]),
    top_up=st.booleans(),
)
def test_inject_property_never_more_than_4_and_ttls_ordered(
    n_tools: int, n_system: int, n_turns: int, marks: list[str | None], wanted: str, top_up: bool
) -> None:
    body: dict[str, Any] = {
        "tools": tools(n_tools),
        "system": [{"type": "text", "text": f"s{i}"} for i in range(n_system)],
        "messages": conversation(n_turns),
    }
    positions = shaping._positions(body)
    rank_floor = 1  # client breakpoints are themselves valid: 1h ones first
    existing = 0
    for block, ttl in zip(positions, marks, strict=False):
        if ttl is None or existing == 4 or not shaping._cacheable(block):
            continue
        rank = min(rank_floor, 1 if ttl == "1h" else 0)
        rank_floor = rank
        block["cache_control"] = {"type": "ephemeral", "ttl": "1h"} if rank else {"type": "ephemeral"}
        existing += 1
    before = marked(body)
    changed = shaping.inject_cache_control(body, top_up=top_up, ttl=wanted)
    after = marked(body)
    assert len(after) <= 4
    assert ttl_ordered(body)
    assert set(before) <= set(after)  # the client's breakpoints are never moved or changed
    if existing and not top_up:
        assert not changed and after == before


# -- lift_system -----------------------------------------------------------------------------


def test_lift_stray_system_messages_into_system() -> None:
    body = cc_body(turns=2)
    shaping.strip_billing_header(body, "anthropic")
    body["messages"].insert(1, {"role": "system", "content": "SessionStart hook: repo is clean"})
    body["messages"].append({"role": "system", "content": [{"type": "text", "text": "reminder"}]})
    assert shaping.lift_system(body)
    assert all(m["role"] != "system" for m in body["messages"])
    assert [b["text"] for b in body["system"][1:]] == ["SessionStart hook: repo is clean", "reminder"]
    assert not shaping.lift_system(body)


def test_lift_into_string_or_missing_system() -> None:
    body = {
        "system": "base",
        "messages": [{"role": "system", "content": "extra"}, {"role": "user", "content": "q"}],
    }
    assert shaping.lift_system(body)
    assert body == {"system": "base\n\nextra", "messages": [{"role": "user", "content": "q"}]}
    body = {"messages": [{"role": "system", "content": "only"}, {"role": "user", "content": "q"}]}
    assert shaping.lift_system(body)
    assert body["system"] == "only"


# -- OpenRouter pin and privacy, prompt_cache_key ------------------------------------------


PIN_AND_PRIVACY = ShapingOptions(
    pin=("moonshotai", "fireworks"), privacy=(("data_collection", "deny"), ("zdr", True))
)


def test_pin_and_privacy_build_one_provider_object() -> None:
    body = chat_body()
    assert shape(body, "openai", PIN_AND_PRIVACY, session=None) == ["pin", "privacy"]
    assert body["provider"] == {
        "order": ["moonshotai", "fireworks"],
        "allow_fallbacks": False,
        "data_collection": "deny",
        "zdr": True,
    }


def test_privacy_alone_and_never_into_the_clients_provider_object() -> None:
    body = chat_body()
    assert shape(body, "openai", ShapingOptions(privacy=(("zdr", True),)), session=None) == ["privacy"]
    assert body["provider"] == {"zdr": True}
    client = chat_body()
    client["provider"] = {"sort": "price"}
    assert shape(client, "openai", PIN_AND_PRIVACY, session=None) == []
    assert client["provider"] == {"sort": "price"}


def test_prompt_cache_key_is_stable_per_session_and_never_overwrites() -> None:
    o = ShapingOptions(prompt_cache_key=True)
    a, b, c = chat_body(), chat_body(), chat_body()
    assert shape(a, "openai", o, session="conv-1") == ["prompt_cache_key"]
    shape(b, "openai", o, session="conv-1")
    shape(c, "responses", o, session="conv-2")
    assert a["prompt_cache_key"] == b["prompt_cache_key"] != c["prompt_cache_key"]
    assert "conv-1" not in a["prompt_cache_key"] and len(a["prompt_cache_key"]) <= 64
    mine = chat_body()
    mine["prompt_cache_key"] = "codex-thread-9"
    assert shape(mine, "openai", o, session="conv-1") == []
    assert mine["prompt_cache_key"] == "codex-thread-9"
    assert shape(chat_body(), "openai", o, session=None) == []
    assert shape(cc_body(), "anthropic", o, session="conv-1") == []  # not an Anthropic field


# -- shape ----------------------------------------------------------------------------------
# (that the proxy forwards the client's bytes untouched when no step changed anything is
# tested through the gateway: tests/gateway/test_proxy.py)


def test_real_anthropic_upstream_with_claude_code_breakpoints_changes_nothing(cfg: config.Config) -> None:
    body = cc_body()
    assert shape(body, "anthropic", opts(cfg, "sonnet"), session="s") == []
    assert body == cc_body()


def test_openrouter_chat_body_gets_every_step(cfg: config.Config) -> None:
    body = chat_body()
    steps = shape(body, "openai", opts(cfg, "kimi"), session="conv-1")
    assert steps == ["strip_billing_header", "pin", "privacy", "prompt_cache_key"]
    assert shape(body, "openai", opts(cfg, "kimi"), session="conv-1") == []  # a second pass is a no-op


def test_third_party_anthropic_upstream_strips_and_lifts(cfg: config.Config) -> None:
    body = cc_body(turns=2)
    body["messages"].append({"role": "system", "content": "hook output"})
    keys = list(body)
    steps = shape(body, "anthropic", opts(cfg, "ds"), session=None)
    assert steps == ["strip_billing_header", "lift_system"]
    assert body["system"][0]["text"] == CC_SYSTEM and body["system"][-1]["text"] == "hook output"
    assert list(body) == keys  # key order kept


# -- against the simulated provider's prefix cache ------------------------------------------
#
# A scripted 10-turn Claude-Code-shaped conversation, sent as the gateway would send it
# upstream. The only difference between the two runs is the shaping, so the difference in
# cached share is what the shaping buys.

BIG_SYSTEM = (
    "You are Claude Code, Anthropic's official CLI for Claude. "
    + "Follow the repository's conventions. " * 1300
)
TURNS = 10


def chat_turn(turn: int) -> dict[str, Any]:
    """Turn `turn` (1-based) in Chat form: a fresh cch every turn, as Claude Code sends it."""
    msgs: list[dict[str, Any]] = [
        {"role": "system", "content": billing(f"{turn * 7919:05x}") + "\n" + BIG_SYSTEM},
        {"role": "user", "content": "Fix the failing test in foo.py"},
    ]
    for t in range(turn - 1):
        call = {
            "id": f"call_{t}",
            "type": "function",
            "function": {"name": "Read", "arguments": f'{{"path":"f{t}.py"}}'},
        }
        msgs.append({"role": "assistant", "content": f"Reading f{t}.py.", "tool_calls": [call]})
        msgs.append({"role": "tool", "tool_call_id": f"call_{t}", "content": f"line {t}: ok\n" * 60})
    fn_tools = [
        {
            "type": "function",
            "function": {"name": f"Tool{i}", "description": "does a thing", "parameters": {}},
        }
        for i in range(20)
    ]
    return {"model": "sim-chat", "max_tokens": 64, "tools": fn_tools, "messages": msgs}


def anthropic_turn(turn: int, client_breakpoints: bool) -> dict[str, Any]:
    body = cc_body(turns=turn, cch=f"{turn * 7919:05x}", client_breakpoints=client_breakpoints)
    body["system"][1]["text"] = BIG_SYSTEM
    body["stream"] = False
    body["model"] = "sim-messages"
    from gateway.simulator.answers import thinking_signature  # the simulator checks them, as Anthropic does

    for msg in body["messages"]:
        for block in msg["content"]:
            if block["type"] == "thinking":
                block["signature"] = thinking_signature(body["model"], block["thinking"])
    return body


def cached_shares(url: str, protocol: str, bodies: list[dict[str, Any]], opts: ShapingOptions) -> list[float]:
    import httpx

    path = "/v1/messages" if protocol == "anthropic" else "/v1/chat/completions"
    shares = []
    with httpx.Client(
        base_url=url, timeout=30, headers={"x-api-key": "k", "authorization": "Bearer k"}
    ) as client:
        for body in bodies:
            shaped = json.loads(json.dumps(body))
            shape(shaped, protocol, opts, session="conv-1")
            raw = json.dumps(shaped).encode()
            r = client.post(path, content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 200, r.text
            usage = r.json()["usage"]
            if protocol == "anthropic":
                read = usage["cache_read_input_tokens"]
                total = usage["input_tokens"] + read + usage["cache_creation_input_tokens"]
            else:
                read = usage["prompt_tokens_details"]["cached_tokens"]
                total = usage["prompt_tokens"]
            shares.append(read / total)
    return shares


@pytest.fixture(scope="module")
def sim() -> Any:
    simulator = pytest.importorskip("gateway.simulator")
    with simulator.SimulatorThread() as s:
        yield s


def test_stripping_the_billing_header_is_what_makes_the_chat_cache_hit(sim: Any) -> None:
    bodies = [chat_turn(t) for t in range(1, TURNS + 1)]
    sim.reset()
    raw = cached_shares(sim.url, "openai", copy.deepcopy(bodies), ShapingOptions())
    sim.reset()
    shaped = cached_shares(sim.url, "openai", bodies, ShapingOptions(strip_billing_header=True))
    assert min(shaped[2:]) >= 0.90, shaped
    assert max(raw[2:]) <= 0.20, raw


def test_stripping_and_injecting_make_the_anthropic_cache_hit(sim: Any) -> None:
    # Claude Code's own breakpoints, but the billing block sits in front of them.
    sim.reset()
    raw = cached_shares(
        sim.url, "anthropic", [anthropic_turn(t, True) for t in range(1, TURNS + 1)], ShapingOptions()
    )
    sim.reset()
    strip = ShapingOptions(strip_billing_header=True)
    shaped = cached_shares(
        sim.url, "anthropic", [anthropic_turn(t, True) for t in range(1, TURNS + 1)], strip
    )
    assert min(shaped[2:]) >= 0.90, shaped
    assert max(raw[2:]) <= 0.20, raw
    # A client that sends no breakpoints at all: nothing is cached until the gateway adds them.
    sim.reset()
    bare = [anthropic_turn(t, False) for t in range(1, TURNS + 1)]
    none = cached_shares(sim.url, "anthropic", copy.deepcopy(bare), strip)
    sim.reset()
    injected = cached_shares(
        sim.url, "anthropic", bare, ShapingOptions(strip_billing_header=True, inject_cache_control=True)
    )
    assert max(none) == 0.0, none
    assert min(injected[2:]) >= 0.90, injected
