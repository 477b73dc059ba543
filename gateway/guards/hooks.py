"""The guards as the proxy sees them: three calls at three points of a request.

- `before(inc, ex)`: right after the session is known, before routing. Answers commands and
  stopped loops itself (returns the text), strips earlier command turns, adds a loop's steering
  note, and applies `!/model` / `!/tier` overrides to `inc` (route and tier).
- `stream(tr, inc, ex, dialect)`: wraps the stream translator so tool calls are judged before
  the client sees them.
- `body(parsed, dialect, inc, ex)`: the same for a whole answer, before translation.

Cheap when there is nothing to do: a request whose last turn is no command, whose history
holds no answer of the gateway, whose last message carries no tool result and which declares
no tools costs a few dict reads and one string read per model turn (`commands.has_answer`:
does one start with the gateway's `[xx]`?). Answered command turns are stripped by
what the history itself shows, not by this process's memory of the conversation, so they never
reach a model after a restart, an eviction from the session limit, or on another team instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway.config import Config
from gateway.guards import commands, loop
from gateway.guards.answers import answer, recover
from gateway.guards.body import guard_body
from gateway.guards.policy import OFF, GuardSettings, Tally
from gateway.guards.repair import tool_schemas
from gateway.guards.reply import json_answer, stream_answer
from gateway.guards.session import GuardState, key_for
from gateway.guards.sse_guard import wrap

BROKEN = "could not be repaired"  # in the error of an attempt whose tool call was unrepairable (policy.judge)
GATEWAY = commands.GATEWAY
UNGUARDED = "+unguarded"  # the launcher's `--unguarded`: /x/<agent>+unguarded/<route>/<tier>


class LazySchemas(Mapping[str, Mapping[str, Any]]):
    """The request's tool schemas, read only when a tool call is judged."""

    def __init__(self, body: Mapping[str, Any], dialect: str) -> None:
        self._body, self._dialect = body, dialect
        self._map: dict[str, Mapping[str, Any]] | None = None

    def _get(self) -> dict[str, Mapping[str, Any]]:
        if self._map is None:
            self._map = tool_schemas(self._body, self._dialect)
        return self._map

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return self._get()[key]

    def __iter__(self) -> Any:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def unguarded(path: str) -> bool:
    return UNGUARDED in path


class Guards:
    """Owned by the Runtime: settings from the live config, per-session state."""

    def __init__(self, config: Callable[[], Config], clock: Callable[[], float]) -> None:
        self.config = config
        self.state = GuardState(clock)

    def settings(self, tier: str | None, path: str) -> GuardSettings:
        if unguarded(path):
            return OFF
        cfg = self.config()
        named = cfg.tier_named(tier or cfg.gateway.default_tier)
        g = cfg.guards.for_tier(named.name if named is not None else None)
        return GuardSettings(repair=g.repair, danger=g.danger, allow=frozenset(g.allow), loop=g.loop)

    # -- before routing ------------------------------------------------------------------------
    def before(self, inc: Any, ex: Any, quotas: Callable[[Any], dict[str, Any]] | None = None) -> str | None:
        """The text to answer with (no upstream call), or None to go on (maybe with `inc` changed)."""
        cfg = self.config()
        key = key_for(ex.session, inc.ident.agent, inc.ident.route)
        body, dialect = inc.body, inc.dialect
        changed = False
        if cfg.guards.commands:
            changed = self._strip(inc, key, cfg)  # earlier commands: out of the history, overrides recovered
            cmd = commands.find_command(body, dialect)  # the last turn only: no scan of the body
            if cmd is not None:
                self.state.ensure(key).commands += 1
                ex.guards.append({"action": "command", "tool": None, "rule": cmd.name or "unknown", "notes": []})
                answered_here(ex, inc, cfg, "command")
                return answer(cmd, key, self.state, cfg, quotas)
        self._override(inc, key)
        settings = self.settings(inc.ident.tier, inc.path)
        if settings.loop:
            verdict, n, tool = loop.verdict(body, dialect, settings.loop)
            if verdict == "stop":
                ex.guards.append({"action": "stop", "tool": tool, "rule": "loop", "notes": [f"{n} repeats"]})
                answered_here(ex, inc, cfg, "loop")
                return loop.STOP.format(tool=tool, n=n)
            if verdict == "steer":
                ex.guards.append({"action": "steer", "tool": tool, "rule": "loop", "notes": [f"{n} repeats"]})
                loop.add_note(body, dialect, loop.STEER.format(tool=tool, n=n))
                changed = True
        if changed:
            inc.raw = orjson.dumps(body)
        return None

    def _strip(self, inc: Any, key: str, cfg: Config) -> bool:
        """Drop answered command turns from the history; True when the body changed.

        Only a history with a model turn that starts with the gateway's mark is walked for
        commands (`commands.has_answer`, one string read per turn). When this process has no
        memory of the conversation's commands (a restart, an eviction, another team instance),
        the `!/model` / `!/tier` override is rebuilt from them.
        """
        if not commands.has_answer(inc.body, inc.dialect):
            return False
        found = commands.strip_commands(inc.body, inc.dialect)
        if not found:
            return False
        s = self.state.get(key)
        if s is None or not s.commands:
            s = self.state.ensure(key)
            s.model, s.tier = recover(found, cfg)
            s.commands = len(found)
        return True

    def _override(self, inc: Any, key: str) -> None:
        s = self.state.get(key)
        if s is None or not (s.model or s.tier):
            return
        from gateway.identify import Ident

        if s.model:
            inc.ident = Ident(inc.ident.agent, "b", inc.ident.tier)
            inc.model = s.model
        elif s.tier:
            inc.ident = Ident(inc.ident.agent, inc.ident.route, s.tier)

    # -- answers -----------------------------------------------------------------------------
    def stream(self, tr: Any, inc: Any, ex: Any) -> Any:
        """`tr` guarded, or `tr` itself when the request declares no tools or guards are off."""
        if not inc.body.get("tools"):
            return tr
        settings = self.settings(inc.ident.tier, inc.path)
        if not settings.tools_on:
            return tr
        return wrap(tr, inc.dialect, LazySchemas(inc.body, inc.dialect), settings, Tally(ex=ex))

    def body(self, parsed: Any, dialect: str, inc: Any, ex: Any) -> bool:
        """Guard a whole answer in the upstream's `dialect`; True when it changed. Raises body.Broken."""
        if not inc.body.get("tools"):
            return False
        settings = self.settings(inc.ident.tier, inc.path)
        return guard_body(parsed, dialect, LazySchemas(inc.body, inc.dialect), settings, Tally(ex=ex))

    def ask_again(self, ex: Any) -> bool:
        """True once per model when its last attempt failed on a tool call that could not be repaired.

        Nothing reached the client (else the attempt would not have failed), and models are not
        deterministic: the same model usually gets it right the second time, and keeps the cache.
        """
        if not ex.attempts or not ex.attempts[-1].error or BROKEN not in ex.attempts[-1].error:
            return False
        model = ex.attempts[-1].model
        return sum(1 for a in ex.attempts if a.model == model) == 1

    def remember(self, ex: Any) -> None:
        self.state.remember(ex)


def answered_here(ex: Any, inc: Any, cfg: Config, outcome: str) -> None:
    """Record a turn the gateway answers itself as such: no upstream model, no cache, its tier by name.

    `outcome` ("command" or "loop") is what the row says instead of "ok"; the proxy's
    `guard_answer` ends the flow with it.
    """
    named = cfg.tier_named(inc.ident.tier or cfg.gateway.default_tier)
    if named is not None:
        ex.tier = named.name
    ex.model = ex.provider = GATEWAY
    ex.outcome = outcome


def local_answer(text: str, dialect: str, stream: bool, model: str) -> tuple[bytes, str]:
    """(body, content type) of the gateway's own answer in the client's dialect."""
    if stream:
        return stream_answer(text, dialect, model or "xx-gateway"), "text/event-stream"
    return orjson.dumps(json_answer(text, dialect, model or "xx-gateway")), "application/json"
