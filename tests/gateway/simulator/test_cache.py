"""The prefix cache: unit behaviour of the two policies, then through the SDKs."""

from __future__ import annotations

import anthropic
import openai

from gateway.simulator import SimulatorThread
from gateway.simulator.cache import ManualClock, PrefixCache, prompt_tokens


def segs(*sizes: int, fill: str = "a") -> list[bytes]:
    """Prompt parts of the given token sizes (4 bytes per token)."""
    return [(fill * (4 * n)).encode() for n in sizes]


# -- automatic (OpenAI) ---------------------------------------------------------------------


def test_automatic_hits_a_repeated_prefix_in_128_token_steps() -> None:
    c = PrefixCache(clock=ManualClock())
    first = segs(1500, 10)
    assert c.automatic("m", first).read == 0
    again = c.automatic("m", [*first, b"new turn" * 50])
    assert again.read >= 1024 and again.read % 128 == 0
    assert again.read <= prompt_tokens(first)
    assert c.stats()["models"]["m"]["hits"] == 1


def test_automatic_misses_after_an_early_byte_changes_and_per_model() -> None:
    c = PrefixCache(clock=ManualClock())
    base = segs(10, 2000)
    c.automatic("m", base)
    changed = [b"b" + base[0][1:], base[1]]
    assert c.automatic("m", changed).read == 0
    assert c.automatic("other", base).read == 0


def test_nothing_is_cached_below_the_minimum() -> None:
    c = PrefixCache(clock=ManualClock())
    small = segs(1000)
    c.automatic("m", small)
    assert c.automatic("m", small).read == 0
    assert c.stats()["models"]["m"]["entries"] == 0


def test_ttl_expires_and_a_hit_refreshes_it() -> None:
    clock = ManualClock()
    c = PrefixCache(clock=clock, ttl=300)
    p = segs(2000)
    c.automatic("m", p)
    clock.advance(250)
    assert c.automatic("m", p).read > 0  # hit: refreshed to 250 + 300
    clock.advance(250)
    assert c.automatic("m", p).read > 0
    clock.advance(301)
    assert c.automatic("m", p).read == 0


# -- breakpoints (Anthropic) ----------------------------------------------------------------


def test_breakpoints_write_then_read() -> None:
    c = PrefixCache(clock=ManualClock())
    p = segs(1200, 50, 50)
    r1 = c.breakpoints("m", p, [(0, 300.0)])
    assert (r1.read, r1.write) == (0, 1200)
    r2 = c.breakpoints("m", p, [(0, 300.0), (2, 300.0)])
    assert r2.read == 1200
    assert r2.write == (sum(map(len, p)) + 2) // 4 - 1200  # to the end of the last marked block


def test_no_breakpoint_no_cache_and_lookback_finds_an_earlier_block() -> None:
    c = PrefixCache(clock=ManualClock())
    p = segs(1100, 30, 30, 30)
    assert c.breakpoints("m", p, []).write == 0
    c.breakpoints("m", p, [(1, 300.0)])  # turn 1 marks block 1
    r = c.breakpoints("m", p, [(3, 300.0)])  # turn 2 moved the mark two blocks on
    assert r.read == (len(p[0]) + 1 + len(p[1])) // 4
    assert r.write > 0


def test_breakpoint_below_minimum_writes_nothing() -> None:
    c = PrefixCache(clock=ManualClock())
    p = segs(500, 20)
    assert c.breakpoints("m", p, [(1, 300.0)]).write == 0
    assert c.breakpoints("m", p, [(1, 300.0)]).read == 0


def test_one_hour_breakpoints_outlive_five_minutes() -> None:
    clock = ManualClock()
    c = PrefixCache(clock=clock)
    p = segs(1500)
    assert c.breakpoints("m", p, [(0, 3600.0)]).write_1h == 1500
    clock.advance(1000)
    assert c.breakpoints("m", p, [(0, 3600.0)]).read == 1500


# -- through the SDKs -----------------------------------------------------------------------

BIG = "You are a careful assistant. " * 250  # ~1800 tokens


def test_anthropic_cache_control_through_the_sdk() -> None:
    clock = ManualClock()
    with SimulatorThread(clock=clock) as sim:
        c = anthropic.Anthropic(base_url=sim.url, api_key="k", max_retries=0)
        system = [{"type": "text", "text": BIG, "cache_control": {"type": "ephemeral"}}]

        def ask(text: str, system=system) -> anthropic.types.Usage:
            return c.messages.create(model="claude-sim", max_tokens=50, system=system,
                                     messages=[{"role": "user", "content": text}]).usage  # fmt: skip

        first = ask("one")
        assert first.cache_read_input_tokens == 0 and first.cache_creation_input_tokens > 1024
        second = ask("two")
        assert second.cache_read_input_tokens == first.cache_creation_input_tokens
        assert second.cache_creation_input_tokens == 0
        assert second.input_tokens < 50  # input_tokens excludes the cached part
        # no cache_control: nothing cached at all
        plain = ask("three", system=[{"type": "text", "text": BIG}])
        assert plain.cache_read_input_tokens == 0 and plain.cache_creation_input_tokens == 0
        # a changed early byte misses
        changed = ask("four", system=[{"type": "text", "text": "X" + BIG, "cache_control": {"type": "ephemeral"}}])
        assert changed.cache_read_input_tokens == 0
        clock.advance(301)
        assert ask("five").cache_read_input_tokens == 0
        assert sim.cache_stats()["models"]["claude-sim"]["hits"] == 1


def test_moving_breakpoint_like_claude_code_hits() -> None:
    with SimulatorThread() as sim:
        c = anthropic.Anthropic(base_url=sim.url, api_key="k", max_retries=0)
        cc = {"type": "ephemeral"}
        turn1 = [{"role": "user", "content": [{"type": "text", "text": BIG, "cache_control": cc}]}]
        u1 = c.messages.create(model="m", max_tokens=50, messages=turn1).usage
        turn2 = [
            {"role": "user", "content": [{"type": "text", "text": BIG}]},
            {"role": "assistant", "content": "SIM-ANSWER"},
            {"role": "user", "content": [{"type": "text", "text": "next", "cache_control": cc}]},
        ]
        u2 = c.messages.create(model="m", max_tokens=50, messages=turn2).usage
        assert u2.cache_read_input_tokens == u1.cache_creation_input_tokens > 0
        assert u2.cache_creation_input_tokens > 0


def test_openai_chat_and_responses_report_cached_tokens() -> None:
    with SimulatorThread() as sim:
        o = openai.OpenAI(base_url=sim.url + "/v1", api_key="k", max_retries=0)
        msgs = [{"role": "system", "content": BIG}, {"role": "user", "content": "q1"}]
        assert o.chat.completions.create(model="m", messages=msgs).usage.prompt_tokens_details.cached_tokens == 0
        u = o.chat.completions.create(model="m", messages=[*msgs, {"role": "user", "content": "q2"}]).usage
        assert u.prompt_tokens_details.cached_tokens >= 1024 and u.prompt_tokens > u.prompt_tokens_details.cached_tokens
        o.responses.create(model="r", instructions=BIG, input="q1")
        r = o.responses.create(model="r", instructions=BIG, input="q2")
        assert r.usage.input_tokens_details.cached_tokens >= 1024
