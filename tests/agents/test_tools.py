"""A tool-use turn through the gateway: the simulated model asks the agent to read a file.

The prompt carries `[[tool:NAME {args}]]`, so the simulator answers with a call to that CLI's own
read-file tool; the agent runs it; its next request carries the tool result, which the
simulator echoes (`SIM-ANSWER(...): tool result: …`) and which must hold the file's content. The tiers make each turn cross a
translation in both directions (tool call out, tool result back).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from agents.harness import World, text_of

pytestmark = pytest.mark.agents

SECRET = "the-notes-say-4217"
# agent: (code, tool name, argument builder). Codex has no read-file tool: its shell tool reads it.
TOOL_TURNS: dict[str, tuple[str, str, Callable[[str], dict[str, str]]]] = {
    "claude": ("cnf", "Read", lambda p: {"file_path": p}),              # Anthropic agent -> Chat model
    "codex": ("xnc", "exec_command", lambda p: {"cmd": f"cat {p}"}),     # Responses agent -> Anthropic model
    "qwen": ("qnf", "read_file", lambda p: {"file_path": p}),           # Chat agent -> Chat model
}


@pytest.mark.parametrize("name", list(TOOL_TURNS))
def test_tool_turn(world: World, need: Callable[[str], None], name: str) -> None:
    need(name)
    code, tool, args = TOOL_TURNS[name]
    project = world.project(f"{name}-tools")
    notes = project / "notes.txt"
    notes.write_text(SECRET + "\n")
    prompt = f"read the notes [[tool:{tool} {json.dumps(args(str(notes)))}]]"
    run = world.xx(code, "-p", prompt, cwd=project)
    assert run.returncode == 0, run.describe()
    assert "tool result:" in run.stdout, run.describe()
    # The answer echoes only 60 characters of the result (Codex's shell output starts with a
    # header), so the file's content is looked for in the request that carried the result.
    sent = [text_of(c["body"]) for c in world.sim_calls(run.started)]
    assert any(SECRET in b for b in sent[1:]), "the tool result never reached the model"
    rows = world.wait_ledger(run.started, name, count=2)
    roles = [r["role"] for r in rows]
    assert "middle" in roles, f"the tool-result turn should be role middle: {roles}"
    assert all(r["status"] == 200 for r in rows), rows
