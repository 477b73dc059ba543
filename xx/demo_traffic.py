"""Synthetic agents for `xx demo`: steady multi-turn traffic and a scripted run of trouble.

Each simulated agent speaks the API its real CLI speaks, through the URL the launcher would
give it (`/x/<agent>/p/<tier>`), with the headers the real CLI sends, so the gateway sees
what it sees in production. Conversations grow turn by turn from a system prompt above the
1024-token cache minimum, so the simulator's prefix cache warms and the dashboard shows HITs.
A director scripts faults on the simulator (429s with Retry-After, a model failing long
enough to open its breaker) on a repeating timeline; the low free-pool quota in the demo
config does the rest. Request bodies are pure functions of (agent, conversation, turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.tasks import spawn

ANTHROPIC_VERSION = "2023-06-01"
CYCLE_S = 60.0  # the director's timeline repeats with this period


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str  # the agent in the URL, as the launcher would set it
    dialect: str  # anthropic | chat | responses
    tier: str
    model: str  # what the agent asks for (the gateway routes by tier and role)
    headers: Mapping[str, str]
    stream: bool
    period_s: float  # mean seconds between turns
    turns: int  # turns before the agent starts a new conversation
    small_model: str | None = None  # a side call now and then (Claude Code's haiku calls)

    @property
    def path(self) -> str:
        suffix = {"anthropic": "/v1/messages", "chat": "/v1/chat/completions", "responses": "/v1/responses"}
        return f"/x/{self.name}/p/{self.tier}{suffix[self.dialect]}"


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("claude", "anthropic", "claude", "claude-sonnet-4-5",
              {"user-agent": "claude-cli/2.0.14 (external, cli)", "anthropic-version": ANTHROPIC_VERSION,
               "x-api-key": "demo"}, stream=True, period_s=2.0, turns=8, small_model="claude-haiku-4-5"),
    AgentSpec("claude", "anthropic", "free", "claude-sonnet-4-5",
              {"user-agent": "claude-cli/2.0.14 (external, cli)", "anthropic-version": ANTHROPIC_VERSION,
               "x-api-key": "demo"}, stream=False, period_s=3.0, turns=6),
    AgentSpec("codex", "responses", "gpt", "gpt-5-codex",
              {"user-agent": "codex_cli_rs/0.46.0 (Debian 12; x86_64) xterm", "originator": "codex_cli_rs",
               "authorization": "Bearer demo"}, stream=True, period_s=2.5, turns=7),
    AgentSpec("qwen", "chat", "free", "qwen3-coder-plus",
              {"user-agent": "QwenCode/0.0.14 (linux; x64)", "authorization": "Bearer demo"},
              stream=True, period_s=2.5, turns=6),
    AgentSpec("opencode", "chat", "mixed", "anthropic/claude-sonnet-4.5",
              {"user-agent": "opencode/0.15.0", "authorization": "Bearer demo"},
              stream=False, period_s=3.0, turns=5),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fault:
    at: float  # seconds into the cycle
    model: str  # the simulator's (upstream) model id
    body: Mapping[str, Any]  # the rest of the /_sim/faults body
    note: str


# The timeline of trouble. Starts within the first seconds so a short run shows a cascade.
SCHEDULE: tuple[Fault, ...] = (
    Fault(
        0.0,
        "sim/kimi-k2.6:free",
        {"always": {"kind": "status", "status": 503}},
        "sim-kimi starts failing (503)",
    ),
    Fault(
        1.5, "claude-sim-sonnet", {"faults": [{"kind": "rate_limit", "retry_after": 5}]}, "429 on sim-claude"
    ),
    Fault(4.0, "gpt-sim-5", {"faults": [{"kind": "rate_limit", "retry_after": 8}]}, "429 on sim-gpt"),
    Fault(
        20.0, "claude-sim-haiku", {"faults": [{"kind": "rate_limit", "retry_after": 4}]}, "429 on sim-haiku"
    ),
    Fault(30.0, "sim/kimi-k2.6:free", {"always": None}, "sim-kimi recovers"),
    Fault(33.0, "claude-sim-sonnet", {"faults": [{"kind": "overloaded"}]}, "529 on sim-claude"),
    Fault(45.0, "gpt-sim-5", {"faults": [{"kind": "rate_limit", "retry_after": 6}]}, "429 on sim-gpt"),
)

_WORDS = (
    "parser", "router", "cache", "ledger", "stream", "token", "quota", "breaker", "config", "schema", "adapter",
    "session", "retry", "window", "prefix", "handler", "buffer", "encoder", "fixture", "migration",
)  # fmt: skip
_TASKS = (
    "Add a test for {a} when the {b} is empty.", "Refactor the {a} so the {b} is injected.",
    "Why does the {a} drop the last {b}?", "Rename {a} to {b} everywhere and fix the imports.",
    "Make the {a} bounded; the {b} grows without limit.", "Explain how the {a} talks to the {b}.",
)  # fmt: skip
TOOLS = [
    {"name": "Read", "description": "Read a file from the workspace.",
     "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
    {"name": "Bash", "description": "Run a shell command in the workspace.",
     "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
]  # fmt: skip


def system_prompt(agent: str, conversation: int) -> str:
    """About 1,600 tokens (above every cache minimum), distinct per agent and conversation."""
    rng = random.Random(f"{agent}/{conversation}")
    rules = [
        f"- When you touch the {rng.choice(_WORDS)}, keep the {rng.choice(_WORDS)} and its tests in step."
        for _ in range(90)
    ]
    return (
        f"You are {agent}, a coding agent working in a Python repository (session {conversation}).\n"
        + "\n".join(rules)
    )


def user_text(agent: str, conversation: int, turn: int) -> str:
    rng = random.Random(f"{agent}/{conversation}/{turn}")
    task = rng.choice(_TASKS).format(a=rng.choice(_WORDS), b=rng.choice(_WORDS))
    context = " ".join(f"{rng.choice(_WORDS)}_{rng.randrange(1000)}()" for _ in range(60))
    return f"{task}\nRelevant symbols: {context}"


def assistant_text(turn: int) -> str:
    return f"Done with step {turn + 1}: edited the module, ran the tests, all green."


@dataclass
class Conversation:
    """One agent session: the turns so far. The next request is a pure function of it."""

    spec: AgentSpec
    number: int
    turn: int = 0
    session: str = field(default_factory=lambda: str(uuid.uuid4()))

    def next_turn(self) -> None:
        self.turn += 1


def request_for(conv: Conversation, *, small: bool = False) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(path, headers, body) for the conversation's current turn, in its agent's dialect."""
    spec = conv.spec
    headers = {"content-type": "application/json", **spec.headers, "x-xx-agent": spec.name}
    if spec.dialect == "anthropic":
        headers["x-claude-code-session-id"] = conv.session
        body = _anthropic(conv, small)
    elif spec.dialect == "chat":
        body = _chat(conv)
    else:
        headers["session_id"] = conv.session
        body = _responses(conv)
    return spec.path, headers, body


def _history(conv: Conversation) -> list[tuple[str, str]]:
    """(user, assistant) pairs already answered, then the current user text with no answer."""
    name, n = conv.spec.name, conv.number
    done = [(user_text(name, n, t), assistant_text(t)) for t in range(conv.turn)]
    return [*done, (user_text(name, n, conv.turn), "")]


def _anthropic(conv: Conversation, small: bool) -> dict[str, Any]:
    spec = conv.spec
    if small:  # Claude Code's side call: a title for the session, on the small model, no tools
        text = user_text(spec.name, conv.number, conv.turn)
        return {"model": spec.small_model, "max_tokens": 64, "stream": False,
                "system": [{"type": "text", "text": "Write a 5-word title for this coding session."}],
                "messages": [{"role": "user", "content": text}]}  # fmt: skip
    messages: list[dict[str, Any]] = []
    for i, (user, answer) in enumerate(_history(conv)):
        messages.append({"role": "user", "content": [{"type": "text", "text": user}]})
        if answer:
            tool_id = f"toolu_{conv.number:03d}{i:03d}"
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "Read",
                            "input": {"path": f"src/mod_{i}.py"},
                        }
                    ],
                }
            )
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_id,
                            "content": f"# mod_{i}.py\n" + user[:400],
                        }
                    ],
                }
            )
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}  # Claude Code marks the last turn
    system = [
        {
            "type": "text",
            "text": system_prompt(spec.name, conv.number),
            "cache_control": {"type": "ephemeral"},
        }
    ]
    return {"model": spec.model, "max_tokens": 1024, "stream": spec.stream, "system": system, "tools": TOOLS,
            "messages": messages}  # fmt: skip


def _chat(conv: Conversation) -> dict[str, Any]:
    spec = conv.spec
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(spec.name, conv.number)}]
    for user, answer in _history(conv):
        messages.append({"role": "user", "content": user})
        if answer:
            messages.append({"role": "assistant", "content": answer})
    body: dict[str, Any] = {
        "model": spec.model,
        "messages": messages,
        "stream": spec.stream,
        "max_tokens": 1024,
    }
    if spec.stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _responses(conv: Conversation) -> dict[str, Any]:
    spec = conv.spec
    items: list[dict[str, Any]] = []
    for user, answer in _history(conv):
        items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": user}]})
        if answer:
            items.append(
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]}
            )
    return {"model": spec.model, "instructions": system_prompt(spec.name, conv.number), "input": items,
            "stream": spec.stream, "store": False}  # fmt: skip


def due_faults(schedule: tuple[Fault, ...], last: float, now: float, cycle: float = CYCLE_S) -> list[Fault]:
    """The faults whose time falls in (last, now], on a timeline repeating every `cycle` seconds.

    `last` < 0 means "nothing fired yet", so a fault at 0.0 fires on the first call.
    """
    out = []
    for f in schedule:
        k = int((now - f.at) // cycle)  # the latest occurrence at or before now is f.at + k * cycle
        if k >= 0 and f.at + k * cycle > last:
            out.append(f)
    return sorted(out, key=lambda f: f.at + int((now - f.at) // cycle) * cycle)


@dataclass
class Tally:
    """What the driver saw, for the headless summary (the gateway's own stats are the truth)."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    faults: list[str] = field(default_factory=list)


class Traffic:
    """Runs the agents and the director on an event loop in a background thread.

    A thread, not a task on the caller's loop: the dashboard owns the foreground loop, and
    the traffic must neither slow it down nor die with one of its screens.
    """

    def __init__(
        self,
        gateway_url: str,
        sim_url: str,
        *,
        agents: tuple[AgentSpec, ...] = AGENTS,
        schedule: tuple[Fault, ...] = SCHEDULE,
        seed: int = 7,
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.sim_url = sim_url.rstrip("/")
        self.agents = agents
        self.schedule = schedule
        self.seed = seed
        self.tally = Tally()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xx-demo-traffic", daemon=True)
            self._thread.start()
            self._started.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                self._loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
        async with httpx.AsyncClient(timeout=30.0, trust_env=False, limits=limits) as client:
            tasks = {spawn(self._director(client), name="director")}
            for i, spec in enumerate(self.agents):
                tasks.add(spawn(self._agent(client, spec, i), name=f"agent-{spec.name}-{i}"))
            await self._stop.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _director(self, client: httpx.AsyncClient) -> None:
        loop = asyncio.get_running_loop()
        t0, last = loop.time(), -1.0
        while True:
            now = loop.time() - t0
            for f in due_faults(self.schedule, last, now):
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(f"{self.sim_url}/_sim/faults", json={"model": f.model, **f.body})
                    self.tally.faults.append(f.note)
            last = now
            await asyncio.sleep(0.25)

    async def _agent(self, client: httpx.AsyncClient, spec: AgentSpec, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        await asyncio.sleep(rng.uniform(0.0, 0.6))  # agents do not start in lockstep
        number = index * 1000
        while True:
            conv = Conversation(spec, number)
            for _ in range(spec.turns):
                await self._send(client, *request_for(conv))
                if spec.small_model and conv.turn % 3 == 1:
                    await self._send(client, *request_for(conv, small=True))
                conv.next_turn()
                await asyncio.sleep(spec.period_s * rng.uniform(0.6, 1.4))
            number += 1

    async def _send(
        self, client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> None:
        self.tally.sent += 1
        try:
            async with client.stream("POST", self.gateway_url + path, headers=headers, json=body) as resp:
                async for _ in resp.aiter_raw():  # read it all, as an agent would; the content is not needed
                    pass
                self.tally.statuses[resp.status_code] += 1
        except httpx.HTTPError:
            self.tally.transport_errors += 1
