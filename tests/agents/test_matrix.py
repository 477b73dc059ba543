"""Each real agent CLI completes turns through `xx` and the gateway, against the simulator.

Every run is `xx <code> -p PROMPT` in a subprocess, exactly what a user types: the launcher
decodes the code, starts the gateway if needed, and execs the agent with the profile's flags.
Nothing here passes an agent flag itself, so a wrong or missing flag fails the run.

No request leaves the machine: the world's environment sets HTTP(S)_PROXY to a dead loopback
port that records every connection. The launcher strips proxy variables from the agent's
environment on gateway routes by design (Qwen ignores NO_PROXY and would tunnel even the
gateway's loopback traffic through them), so the agents never see that proxy: the tests show
both halves, that the plan removes the variables and that the dead proxy saw no connection.
The agents' own outbound attempts (update checks, telemetry) are turned off by the profiles'
env and settings; on this machine anything else would fail to connect anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from agents.harness import AGENTS, World, text_of

pytestmark = pytest.mark.agents

IDS = [a[0] for a in AGENTS]
# agent -> the ledger rows of its first (mode n) turn; the continue test compares against them.
FIRST_TURN: dict[str, list[dict[str, Any]]] = {}


def _main_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agent's own turns (big or middle), not its side calls."""
    return [r for r in rows if r["role"] in ("big", "middle")]


def _assert_answered(world: World, run: Any, prompt: str) -> None:
    """Exit 0, the simulated answer on stdout, and the prompt really sent upstream.

    The answer echoes the first text part of the last user message, which for Gemini is its
    `<session_context>` preamble, so the prompt itself is looked for in the upstream request.
    """
    assert run.returncode == 0, run.describe()
    assert "SIM-ANSWER(" in run.stdout, run.describe()
    sent = [text_of(c["body"]) for c in world.sim_calls(run.started)]
    assert any(prompt in b for b in sent), f"{prompt!r} never reached the simulator\n{run.describe()}"


@pytest.mark.parametrize(("name", "letter", "tier"), AGENTS, ids=IDS)
def test_headless_turn(world: World, need: Callable[[str], None], name: str, letter: str, tier: str) -> None:
    """`xx <a>n<t> -p "say hi"`: the simulated answer printed, exit 0, the turn in the ledger as that agent."""
    need(name)
    hits_before = len(world.proxy.hits)
    run = world.xx(f"{letter}n{tier}", "-p", "say hi", cwd=world.project(name))
    _assert_answered(world, run, "say hi")
    rows = world.wait_ledger(run.started, name)
    assert rows, f"no ledger row attributed to {name}\n{run.describe()}\nall rows: {world.ledger(run.started)}"
    assert all(r["route"] == "p" for r in rows), rows
    assert all(r["status"] == 200 for r in rows), [(r["role"], r["status"], r["error"]) for r in rows]
    main = _main_rows(rows)
    assert main and main[0]["role"] == "big", [(r["role"], r["requested_model"]) for r in rows]
    assert world.proxy.hits[hits_before:] == [], "something used the dead proxy"
    FIRST_TURN[name] = rows


@pytest.mark.parametrize(("name", "letter", "tier"), AGENTS, ids=IDS)
def test_continue_turn(world: World, need: Callable[[str], None], name: str, letter: str, tier: str) -> None:
    """`xx <a>c<t> -p "again"`: one headless turn in the last session, on the model that served the first.

    The request that reaches the simulator must carry the first turn's prompt too: that is what
    proves the agent really continued instead of starting over.
    """
    need(name)
    if name not in FIRST_TURN:
        pytest.skip(f"{name}: the first turn failed, nothing to continue")
    run = world.xx(f"{letter}c{tier}", "-p", "again", cwd=world.project(name))
    _assert_answered(world, run, "again")
    rows = world.wait_ledger(run.started, name)
    main = _main_rows(rows)
    assert main, f"no main turn in the ledger for {name}: {rows}"
    first_model = _main_rows(FIRST_TURN[name])[0]["model"]
    assert {r["model"] for r in main} == {first_model}, (first_model, [(r["role"], r["model"]) for r in rows])
    bodies = [text_of(c["body"]) for c in world.sim_calls(run.started)]
    assert any("say hi" in b and "again" in b for b in bodies), "the continued request lost the first turn"


@pytest.mark.parametrize("name", IDS)
def test_proxy_vars_stripped(world: World, need: Callable[[str], None], name: str) -> None:
    """The plan removes the dead proxy from the agent's env, so even a proxy-honouring CLI can't use it."""
    need(name)
    letter = next(a[1] for a in AGENTS if a[0] == name)
    env = world.dry_run(f"{letter}nf", "-p", "x")["env"]
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        assert var in env and env[var] is None, (var, env.get(var))


# Side calls each agent is known to make in one-shot mode (reference/agents.md, section 5.10),
# and the role the gateway must give them. Gemini's router call happens only without -m, and the
# launcher always passes -m on route p; Claude -p makes no side call; Pi makes none.
SIDE_CALLS: dict[str, str] = {
    "opencode": "title generator",
    "qwen": "memory extractor",
}


@pytest.mark.parametrize("name", IDS)
def test_side_requests(world: World, need: Callable[[str], None], name: str) -> None:
    """Every request the agent made was served (200), and its known side call went to role small."""
    need(name)
    if name not in FIRST_TURN:
        pytest.skip(f"{name}: no turn ran")
    rows = world.ledger(agent=name)
    assert all(r["status"] == 200 for r in rows), [(r["role"], r["path"], r["status"], r["error"]) for r in rows]
    if name in SIDE_CALLS:
        roles = [r["role"] for r in rows]
        assert "small" in roles, f"{name}'s {SIDE_CALLS[name]} was not routed to small: {roles}"
