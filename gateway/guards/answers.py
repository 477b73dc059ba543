"""What the gateway answers to each in-chat command: plain text a person reads in the agent.

Pure over the config, the guard state and a quota lookup, so every answer is testable without a
server. Every answer starts with ANSWER_MARK: that is how later requests recognise (and drop)
the gateway's own turns from the history the agent replays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.config import Config, Model
from gateway.guards.commands import ANSWER_MARK, HELP, Command
from gateway.guards.session import GuardState

OFF_WORDS = ("auto", "off", "default", "reset", "none")


def answer(cmd: Command, key: str, state: GuardState, config: Config,
           quotas: Callable[[Model], dict[str, Any]] | None = None) -> str:
    if cmd.name == "model":
        return _model(cmd.arg, key, state, config)
    if cmd.name == "tier":
        return _tier(cmd.arg, key, state, config)
    if cmd.name == "status":
        return _status(key, state, config, quotas)
    if cmd.name == "why":
        return _why(key, state)
    if cmd.name == "help":
        return HELP
    return f"{ANSWER_MARK} Unknown command {cmd.text.split()[0]!r}.\n" + HELP.removeprefix(ANSWER_MARK + " ")


def model_named(arg: str, config: Config) -> str | None:
    """The configured model a `!/model` argument names (its name, or its upstream id), or None."""
    return arg if arg in config.models else next((m.name for m in config.models.values() if m.id == arg), None)


def recover(cmds: list[Command], config: Config) -> tuple[str | None, str | None]:
    """(model, tier) override left by the `!/model` and `!/tier` commands of a history, in order.

    What the answers set at the time, rebuilt from the history the agent replays, so an override
    survives a gateway restart (names the config no longer knows are ignored, as they were then).
    """
    model: str | None = None
    tier: str | None = None
    for cmd in cmds:
        if cmd.name == "model" and cmd.arg:
            model = None if cmd.arg.lower() in OFF_WORDS else model_named(cmd.arg, config) or model
        elif cmd.name == "tier" and cmd.arg:
            named = config.tier_named(cmd.arg)
            tier = None if cmd.arg.lower() in OFF_WORDS else named.name if named is not None else tier
    return model, tier


def _model(arg: str, key: str, state: GuardState, config: Config) -> str:
    s = state.ensure(key)
    if not arg:  # a question, not a change
        if s.model is None:
            return (f"{ANSWER_MARK} No model override: this conversation is routed by its tier. "
                    f"`!/model NAME` sets one; configured models: {', '.join(config.models) or 'none'}.")
        return f"{ANSWER_MARK} This conversation uses {s.model} (model override). `!/model auto` undoes it."
    if arg.lower() in OFF_WORDS:
        s.model = None
        return f"{ANSWER_MARK} Model override cleared: this conversation is routed by its tier again."
    name = model_named(arg, config)
    if name is None:
        known = ", ".join(config.models) or "none"
        return f"{ANSWER_MARK} No configured model is called {arg!r}. Configured models: {known}."
    s.model = name
    m = config.models[name]
    return (f"{ANSWER_MARK} From the next turn on, this conversation uses {name} ({m.id} at {m.provider}); "
            f"no fallback while the override is set. `!/model auto` undoes it.")


def _tier(arg: str, key: str, state: GuardState, config: Config) -> str:
    s = state.ensure(key)
    if not arg:  # a question, not a change
        if s.tier is None:
            return f"{ANSWER_MARK} No tier override: this conversation uses its launch tier. `!/tier LETTER` sets one."
        return f"{ANSWER_MARK} This conversation uses tier {s.tier} (tier override). `!/tier auto` undoes it."
    if arg.lower() in OFF_WORDS:
        s.tier = None
        return f"{ANSWER_MARK} Tier override cleared: this conversation uses its launch tier again."
    tier = config.tier_named(arg)
    if tier is None:
        known = ", ".join(f"{t.letter} ({t.name})" for t in config.tiers.values()) or "none"
        return f"{ANSWER_MARK} No tier {arg!r}. Tiers: {known}."
    s.tier = tier.name
    big = ", ".join(tier.models_for("big")) or "ranked by health"
    return f"{ANSWER_MARK} From the next turn on, this conversation uses tier {tier.name} ({tier.letter}): {big}."


def _status(key: str, state: GuardState, config: Config, quotas: Callable[[Model], dict[str, Any]] | None) -> str:
    s = state.get(key)
    lines = [f"{ANSWER_MARK} Status of this conversation"]
    if s is not None and (s.model or s.tier):
        lines.append(f"  override: model={s.model or '-'} tier={s.tier or '-'}")
    rows = state.recent(key)
    if not rows:
        lines.append("  no turn of this conversation has been served yet")
    total_in = sum(r["input"] for r in rows)
    total_read = sum(r["cache_read"] for r in rows)
    for r in rows[-5:]:
        lines.append(f"  {r['role']:<6} {r['model'] or '-':<24} {r['outcome']:<7} cache {r['cache_class']}")
    if total_in:
        lines.append(f"  cache share: {total_read / total_in:.0%} of {total_in} input tokens read from cache")
    seen = list(dict.fromkeys(r["model"] for r in rows if r["model"] in config.models))
    for name in seen[-3:]:
        if quotas is None:
            break
        try:
            q = quotas(config.models[name])
        except Exception:  # a status line must never fail the request
            continue
        parts = [f"{k} {q[k]['used']}/{q[k]['limit']}" for k in ("rpm", "rpd") if isinstance(q.get(k), dict)
                 and q[k].get("limit")]
        lines.append(f"  quota {name}: {', '.join(parts) or 'no limits configured'}")
    return "\n".join(lines)


def _why(key: str, state: GuardState) -> str:
    rows = state.recent(key)
    row = rows[-1] if rows else state.last
    if row is None:
        return f"{ANSWER_MARK} No request has been served yet."
    lines = [f"{ANSWER_MARK} The last request ({row['role']}, tier {row['tier'] or '-'}) was answered by "
             f"{row['model'] or 'no model'} ({row['outcome']}, HTTP {row['status']})."]
    for model, outcome, status, error in row["attempts"]:
        lines.append(f"  tried {model}: {outcome}{f' HTTP {status}' if status else ''}{f' - {error}' if error else ''}")
    for model, reason in row["skipped"]:
        lines.append(f"  skipped {model}: {reason}")
    return "\n".join(lines)
