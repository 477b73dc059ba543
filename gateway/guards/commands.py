"""In-chat commands: a user message starting with `!/` is for the gateway, not the model.

`find_command` reads the last user message as the person typed it (Claude Code and Codex add
reminder and context blocks around it: those are skipped). `strip_commands` removes earlier
command turns, and the gateway's answers to them (they start with ANSWER_MARK), from the
history before it goes upstream: agents replay the whole conversation, and a model should
never see `!/model kimi` nor have its cache prefix broken by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "!/"
ALT_PREFIX = "//"  # Claude Code eats a leading `!` (its shell mode): `//model NAME` is the same command there
ANSWER_MARK = "[xx]"
GATEWAY = "xx"  # the model and provider recorded for a turn the gateway answered itself
NAMES = ("model", "tier", "status", "why", "help")
HELP = (f"{ANSWER_MARK} Commands for the xx gateway (answered here, never sent to a model):\n"
        "  !/model NAME   use this configured model for the rest of this conversation (!/model auto: undo)\n"
        "  !/tier LETTER  route the rest of this conversation through that tier (!/tier auto: undo)\n"
        "  !/status       which models served the last turns, their quotas, the cache share\n"
        "  !/why          the last request's attempts, and why other models were skipped\n"
        "  !/help         this text\n"
        "In Claude Code, where a leading ! runs a shell command, type //model NAME, //status and so on.")
_INJECTED = ("<system-reminder>", "<environment_context>", "<user_instructions>", "<ide_", "# AGENTS.md",
             "<command-", "<local-command")


@dataclass(frozen=True)
class Command:
    name: str  # one of NAMES, or "" for an unknown command (answered with the help text)
    arg: str
    text: str  # the whole line, as typed


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") in (None, "text", "input_text") and isinstance(part.get("text"), str):
            out.append(part["text"])
    return out


def typed_text(content: Any) -> str | None:
    """The text the person typed: the first text part that is not an agent's injected context."""
    for text in _texts(content):
        s = text.lstrip()
        if s and not s.startswith(_INJECTED):
            return s
    return None


def parse(text: str | None) -> Command | None:
    """`!/NAME ARG`; `//NAME ARG` only for a known NAME (a message may well start with a `//` comment)."""
    if not text or not text.startswith((PREFIX, ALT_PREFIX)):
        return None
    rest = text[2:]
    line = rest.strip().splitlines()[0] if rest.strip() else ""
    word, _, arg = line.partition(" ")
    word = word.strip().lower()
    if "(" in word and word.endswith(")"):  # !/model(kimi) as llm-interactive-proxy writes it
        word, _, arg = word[:-1].partition("(")
    if text.startswith(ALT_PREFIX) and (word not in NAMES or rest[:1].isspace()):
        return None
    return Command(word if word in NAMES else "", arg.strip(), text.strip())


def _user_messages(body: dict[str, Any], dialect: str) -> tuple[list[Any], str]:
    """(the list of turns, the key of the role field's user value) for the dialect."""
    if dialect == "responses":
        inp = body.get("input")
        return (inp if isinstance(inp, list) else []), "user"
    if dialect == "gemini":
        return (body.get("contents") or []), "user"
    return (body.get("messages") or []), "user"


def _content(turn: Any, dialect: str) -> Any:
    if not isinstance(turn, dict):
        return None
    if dialect == "gemini":
        return [{"type": "text", "text": p["text"]} for p in turn.get("parts") or () if isinstance(p, dict)
                and isinstance(p.get("text"), str)]
    return turn.get("content")


def _is_user(turn: Any, dialect: str) -> bool:
    if not isinstance(turn, dict) or turn.get("role") != "user":
        return False
    return dialect != "responses" or turn.get("type", "message") == "message"


def has_answer(body: dict[str, Any], dialect: str) -> bool:
    """Does any model turn of the history start with ANSWER_MARK? The cheap test before `strip_commands`.

    A walk over the turns reading one string each (about 8 us for Claude Code's 41-turn request of
    60 KB, where a substring search of the raw body costs about 60 us): every request pays it.
    """
    turns, _ = _user_messages(body, dialect)
    role = "model" if dialect == "gemini" else "assistant"
    for turn in turns:
        if not isinstance(turn, dict) or turn.get("role") != role:
            continue
        content = turn.get("parts") if dialect == "gemini" else turn.get("content")
        if isinstance(content, str):
            if content.lstrip().startswith(ANSWER_MARK):
                return True
            continue
        for part in content if isinstance(content, list) else ():
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str):
                if text.lstrip().startswith(ANSWER_MARK):
                    return True
                break
    return False


def _is_answer(turn: Any, dialect: str) -> bool:
    role = "model" if dialect == "gemini" else "assistant"
    if not isinstance(turn, dict) or turn.get("role") != role:
        return False
    if dialect == "openai" and turn.get("tool_calls"):
        return False
    content = _content(turn, dialect)
    texts = [t for t in _texts(content) if t.strip()] if not isinstance(content, str) else [content]
    if dialect == "responses":
        texts = [p.get("text", "") for p in content or () if isinstance(p, dict)] if isinstance(content, list) else texts
    return bool(texts) and texts[0].lstrip().startswith(ANSWER_MARK)


def find_command(body: dict[str, Any], dialect: str) -> Command | None:
    """The command in the last turn, when that turn is the user's."""
    turns, _ = _user_messages(body, dialect)
    if dialect == "responses" and isinstance(body.get("input"), str):
        return parse(body["input"].lstrip())
    if not turns or not _is_user(turns[-1], dialect):
        return None
    return parse(typed_text(_content(turns[-1], dialect)))


def strip_commands(body: dict[str, Any], dialect: str) -> list[Command]:
    """Remove earlier command turns the gateway answered, with their answers, from `body` (in place).

    Decided from the history alone (no memory of the conversation), so it holds after a gateway
    restart, an eviction from the session limit, or on another team instance: a user turn that
    parses as a command *and* whose next assistant turn starts with ANSWER_MARK is a pair the
    gateway wrote. Both go, so the turns still alternate. Returns the commands removed, in order.
    """
    turns, _ = _user_messages(body, dialect)
    if len(turns) < 3:
        return []
    drop: set[int] = set()
    found: list[Command] = []
    last = len(turns) - 1  # the turn being asked now is never dropped
    for i, turn in enumerate(turns[:last]):
        if not _is_user(turn, dialect):
            continue
        cmd = parse(typed_text(_content(turn, dialect)))
        if cmd is None:
            continue
        j = i + 1
        while j < last and dialect == "responses" and isinstance(turns[j], dict) and turns[j].get("type") == "reasoning":
            j += 1
        if j < last and _is_answer(turns[j], dialect):
            drop.update(range(i, j + 1))
            found.append(cmd)
    if not drop:
        return []
    key = "input" if dialect == "responses" else "contents" if dialect == "gemini" else "messages"
    body[key] = [t for i, t in enumerate(turns) if i not in drop]
    return found
