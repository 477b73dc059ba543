"""Dangerous shell commands: rules over the command text of the agents' shell tools.

A bypass-approvals launch (xx's default) runs whatever the model asks, so the gateway is the last
place that can refuse `rm -rf ~`. Each rule is a regular expression over one *simple command*:
the shell text is split on `;`, `&&`, `||`, `|` and newlines outside quotes, quotes are removed,
wrappers (`sudo`, `env X=1`, `nohup`, ...) dropped and `bash -c '...'` / `eval` looked into. So
`echo "rm -rf /"` is an `echo` (not blocked) while `sudo rm -rf /` and `bash -lc "rm -rf ~"` are
`rm`. Pipe rules look at two neighbours joined by `|` (a download piped into a shell).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The shell tools of the known agents, and where each keeps its command text.
SHELL_TOOLS: dict[str, tuple[str, ...]] = {
    "Bash": ("command",),  # Claude Code
    "bash": ("command",),  # OpenCode, Pi
    "shell": ("command",),  # Codex (older), argv list or string
    "local_shell": ("command",),  # Codex local_shell_call action
    "exec_command": ("cmd",),  # Codex
    "run_shell_command": ("command",),  # Qwen Code, Gemini CLI
    "terminal": ("command",),  # Hermes
    "shell_command": ("command",),  # Codex (some versions)
    "monitor": ("command",),  # Qwen Code: a long-running shell command
}

_FLAG_RECURSIVE = r"(?=(?:\S+\s)*?(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)(?:\s|$))"
_HOME_OR_ROOT = r"(?:/|/\*|~|~/|~/\*|\$HOME|\$\{HOME\}|\$HOME/|\$HOME/\*|\$\{HOME\}/\*?)"
_REPO_ROOT = r"(?:\.|\./|\./\*|\*|\.\.|\.\./|\.\./\*)"
_DOWNLOAD = r"(?:curl|wget|fetch)(?:\s|$)"
_SHELL = r"(?:ba|z|da|k|fi)?sh"
_INTERPRETER = r"(?:python[\d.]*|perl|ruby|node)"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    why: str
    after_pipe: re.Pattern[str] | None = None  # pipe rules: the command that reads `pattern`'s output


RULES: tuple[Rule, ...] = (
    Rule("rm-root", re.compile(rf"^rm\s{_FLAG_RECURSIVE}(?:\S+\s)*?{_HOME_OR_ROOT}(?:\s|$)"),
         "deletes the filesystem root or the home directory recursively"),
    Rule("rm-repo", re.compile(rf"^rm\s{_FLAG_RECURSIVE}(?:\S+\s)*?{_REPO_ROOT}(?:\s|$)"),
         "deletes the whole working directory recursively"),
    Rule("rm-no-preserve-root", re.compile(r"^rm\s(?:\S+\s)*?--no-preserve-root(?:\s|$)"),
         "asks rm not to protect the filesystem root"),
    Rule("git-force-push-main",
         re.compile(r"^git\s(?:\S+\s)*?push\s(?=(?:\S+\s)*?(?:-f|--force|-[a-zA-Z]*f[a-zA-Z]*|--force-with-lease"
                    r"(?:=\S*)?)(?:\s|$))"
                    r"(?:\S+\s)*?(?:\S+:)?(?:refs/heads/)?(?:main|master)(?:\s|$)"),
         "force-pushes over main or master, rewriting shared history"),
    Rule("git-force-push-main-refspec",
         re.compile(r"^git\s(?:\S+\s)*?push\s(?:\S+\s)*?\+(?:\S+:)?(?:refs/heads/)?(?:main|master)(?:\s|$)"),
         "force-pushes over main or master, rewriting shared history"),
    Rule("mkfs", re.compile(r"^mkfs(?:\.\w+)?(?:\s|$)"), "formats a filesystem"),
    Rule("dd-device", re.compile(r"^dd\s(?:\S+\s)*?of=/dev/(?!null(?:\s|$)|zero(?:\s|$)|stdout|stderr)\S+"),
         "writes raw bytes over a block device"),
    Rule("chmod-root", re.compile(rf"^(?:chmod|chown)\s{_FLAG_RECURSIVE}(?:\S+\s)*?{_HOME_OR_ROOT}(?:\s|$)"),
         "changes permissions of the whole filesystem or home directory recursively"),
    Rule("pipe-to-shell", re.compile(rf"^{_DOWNLOAD}"), "pipes a download straight into a shell",
         after_pipe=re.compile(rf"^{_SHELL}(?:\s+-\S*)*(?:\s*$|\s+-s(?:\s|$))|^{_INTERPRETER}(?:\s+-(?:\s.*)?)?$")),
    # the same under another spelling (one name, so one `allow` entry lets both through): `sh -c "$(curl URL)"`,
    # `eval "$(wget -qO- URL)"`, `bash <(curl URL)`, `source <(curl URL)`
    Rule("pipe-to-shell", re.compile(rf"^(?:{_SHELL}\s(?:-\S+\s)*?-[a-zA-Z]*c[a-zA-Z]*\s|eval\s)(?:\$\(|`)\s*{_DOWNLOAD}"
                                     rf"|^(?:{_SHELL}|source|\.|{_INTERPRETER})\s(?:-\S+\s)*<\(\s*{_DOWNLOAD}"),
         "runs a downloaded script in a shell"),
)
_WRAPPERS = {"sudo", "doas", "nohup", "time", "command", "exec", "nice", "builtin", "stdbuf", "env", "xargs"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
_SEPARATORS = {";", "&&", "||", "|", "&", "\n", "|&", ";;", "(", ")"}
_MAX_DEPTH = 3


@dataclass(frozen=True)
class Verdict:
    rule: str
    why: str
    command: str  # the simple command that matched, normalised

    def explain(self, tool: str) -> str:
        return (f"[xx] Blocked a dangerous {tool} call: `{self.command}` {self.why} (rule `{self.rule}`). "
                f"Nothing was run. To allow it, relaunch with --unguarded or add \"{self.rule}\" to "
                f"[guards] allow in the xx config.")


def command_text(tool: str, args: Mapping[str, Any]) -> str | None:
    """The shell text of a call to one of the known shell tools, or None for any other tool."""
    keys = SHELL_TOOLS.get(tool)
    if keys is None:
        return None
    for key in keys:
        value = args.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return shlex.join(value)
    return None


def _tokens(text: str) -> list[str]:
    lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()\n<>")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: judge the words as they stand
        return text.replace("\n", " \n ").split(" ")


def _strip_wrappers(words: list[str]) -> list[str]:
    while words:
        head = words[0].rsplit("/", 1)[-1]
        if head in _WRAPPERS:
            words = words[1:]
            while words and (words[0].startswith("-") or "=" in words[0]):
                words = words[1:]
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        else:
            return [head, *words[1:]]
    return words


def simple_commands(text: str, depth: int = 0) -> list[tuple[str, str]]:
    """(operator before it, normalised simple command) for each command in `text`, nested ones included."""
    out: list[tuple[str, str]] = []
    words: list[str] = []
    op = ""
    for tok in [*_tokens(text), ";"]:
        if tok not in _SEPARATORS:
            words.append(tok)
            continue
        words = _strip_wrappers(words)
        if words:
            out.append((op, " ".join(w.replace("\n", " ") for w in words)))
            if depth < _MAX_DEPTH:
                out.extend(_nested(words, depth))
        op, words = tok, []
    return out


def _nested(words: list[str], depth: int) -> list[tuple[str, str]]:
    """`bash -c 'X'`, `sh -lc X`, `eval X`: the commands inside X."""
    if words[0] == "eval" and len(words) > 1:
        return simple_commands(" ".join(words[1:]), depth + 1)
    if words[0] in _SHELLS:
        for i, w in enumerate(words[1:-1], start=1):
            if re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", w):
                return simple_commands(words[i + 1], depth + 1)
    return []


def check_command(text: str, allow: Iterable[str] = ()) -> Verdict | None:
    """The first rule (not in `allow`) that `text` breaks, or None."""
    allowed = set(allow)
    rules = [r for r in RULES if r.name not in allowed]
    if not rules:
        return None
    cmds = simple_commands(text)
    for i, (_, cmd) in enumerate(cmds):
        for rule in rules:
            if not rule.pattern.search(cmd):
                continue
            if rule.after_pipe is None:
                return Verdict(rule.name, rule.why, cmd)
            nxt = cmds[i + 1] if i + 1 < len(cmds) else None
            if nxt is not None and nxt[0] in ("|", "|&") and rule.after_pipe.search(nxt[1]):
                return Verdict(rule.name, rule.why, f"{cmd} | {nxt[1]}")
    return None


def check_call(tool: str, args: Mapping[str, Any], allow: Iterable[str] = ()) -> Verdict | None:
    """A verdict for one tool call; only the known shell tools are looked at."""
    text = command_text(tool, args)
    if text is None or not text.strip():
        return None
    return check_command(text, allow)
