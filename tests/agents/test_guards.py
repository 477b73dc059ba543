"""The guards with the real Claude Code and Codex, through `xx` and the simulator.

- a simulated model that asks the agent's shell tool to run `rm -rf ~` is blocked by the gateway
  and the agent shows the explanation (the scratch home is still there); Claude Code and Codex, and
  (marked slow) Qwen Code, Gemini CLI, OpenCode, Pi and Hermes with their own shell tools;
- `!/model NAME` is answered by the gateway, the next turn of that conversation is served by
  NAME, and the command never reaches the upstream (the simulator's recorded requests);
- a tool call with broken JSON arguments reaches the agent repaired, and the agent runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from agents.harness import World, text_of

pytestmark = pytest.mark.agents

# agent: (letter, tier, shell tool, argument name). Tier f: the agent's dialect is translated to Chat.
AGENTS = {"claude": ("c", "f", "Bash", "command"), "codex": ("x", "f", "exec_command", "cmd")}
# The other CLIs' shell tools (names read from their own requests), for the danger rule only.
MORE = {"qwen": ("q", "c", "run_shell_command", "command"), "gemini": ("m", "f", "run_shell_command", "command"),
        "opencode": ("o", "f", "bash", "command"), "pi": ("p", "g", "bash", "command"),
        "hermes": ("h", "c", "terminal", "command")}


@pytest.mark.parametrize("name", [*AGENTS, *(pytest.param(n, marks=pytest.mark.slow) for n in MORE)])
def test_dangerous_call_blocked(world: World, need: Callable[[str], None], name: str) -> None:
    need(name)
    letter, tier, tool, arg = {**AGENTS, **MORE}[name]
    marker = world.home / "still-here.txt"
    marker.write_text("x")
    prompt = f"tidy up [[tool:{tool} {json.dumps({arg: 'rm -rf ~'})}]]"
    if name in MORE:  # no double quotes (OpenCode quotes the prompt): broken JSON, repaired, then blocked
        prompt = f"tidy up [[rawtool:{tool} {{{arg}: 'rm -rf ~'}}]]"
    run = world.xx(f"{letter}n{tier}", "-p", prompt, cwd=world.project(f"{name}-guards"))
    assert run.returncode == 0, run.describe()
    assert "Blocked a dangerous" in run.stdout and "rm-root" in run.stdout, run.describe()
    assert marker.exists()
    rows = world.wait_ledger(run.started, name)
    assert any(r.get("blocks") == 1 for r in rows), rows


@pytest.mark.parametrize("name", list(AGENTS))
def test_model_command(world: World, need: Callable[[str], None], name: str) -> None:
    need(name)
    letter, tier, _, _ = AGENTS[name]
    project = world.project(f"{name}-command")
    # Claude Code eats a leading `!` (its shell mode), so it takes the `//` spelling
    command = "//model sim-nemotron" if name == "claude" else "!/model sim-nemotron"
    run = world.xx(f"{letter}n{tier}", "-p", command, cwd=project)
    assert run.returncode == 0, run.describe()
    assert "[xx]" in run.stdout and "sim-nemotron" in run.stdout, run.describe()
    assert not any("/model" in text_of(c["body"]) for c in world.sim_calls(run.started)), "the command went upstream"
    again = world.xx(f"{letter}c{tier}", "-p", "and now hello", cwd=project)
    assert again.returncode == 0, again.describe()
    assert "SIM-ANSWER(sim/nemotron-3-super:free)" in again.stdout, again.describe()
    sent = [text_of(c["body"]) for c in world.sim_calls(again.started)]
    assert any("and now hello" in b for b in sent), "the continued turn never reached the model"
    assert not any("/model sim" in b or "[xx] From the next turn" in b for b in sent), "the command turn was replayed"


@pytest.mark.parametrize("name", list(AGENTS))
def test_broken_arguments_repaired_and_run(world: World, need: Callable[[str], None], name: str) -> None:
    need(name)
    letter, tier, tool, arg = AGENTS[name]
    project = world.project(f"{name}-repair")
    # unquoted key, single quotes, no closing brace; the shell prints 42, which the prompt never says
    prompt = f"say it [[rawtool:{tool} {{{arg}: 'echo repaired-ok-$((40+2))']]"
    run = world.xx(f"{letter}n{tier}", "-p", prompt, cwd=project)
    assert run.returncode == 0, run.describe()
    sent = [text_of(c["body"]) for c in world.sim_calls(run.started)]
    assert any("repaired-ok-42" in b for b in sent), "the repaired call never ran: " + run.describe()
    assert "tool result:" in run.stdout, run.describe()
    rows = world.wait_ledger(run.started, name, count=2)
    assert any(r.get("repairs") == 1 for r in rows), rows
