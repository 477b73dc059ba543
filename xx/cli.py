"""The `xx` entry point: a dispatcher that imports only the module a command needs.

`xx <code>` is the hot path (exec an agent), so this file imports nothing heavy: each
subcommand lives in its own module exposing `main(argv) -> int` with its own argparse.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gateway": ("xx.supervisor", "run and supervise the local gateway (up, down, status, logs, restart, run; token)"),
    "config": ("xx.config_cmd", "the config file: path, show, validate, init, set"),
    "dash": ("xx.dash", "live dashboard of requests, cache hits and model health"),
    "demo": ("xx.demo", "gateway + simulated provider + synthetic agents + dashboard; no API key needed"),
    "models": ("xx.models_cmd", "list models with tier roles, live health, score and context; `models scan` scores them"),
    "codes": ("xx.codes_cmd", "print the table of launch codes"),
    "install": ("xx.aliases", "write shell aliases (bash, zsh, fish)"),
    "doctor": ("xx.doctor", "diagnose agents, config, keys and the gateway"),
    "cache": ("xx.cache_cmd", "inspect or clear the exact replay cache"),
    "capture": ("xx.capture_cmd", "wire capture of the gateway's exchanges: on, off, status, tail, show ID"),
    "usage": ("xx.usage_cmd", "requests, tokens, cost and cache savings from the ledger, by day/agent/model/…"),
}

USAGE = """\
usage: xx <code> [-m MODEL] [-s SESSION] [-p PROMPT] [--safe] [--unguarded] [--force] [--dry-run [--json]] [--tmux]
              [-- AGENT ARGS]
       xx <command> [--help]

A code is <agent><mode>[<route>][<tier>], e.g. `xx cip` (Claude Code, init, proxy)
or `xx hcf` (Hermes, continue, free tier). `xx codes` prints the table. `xx` alone opens a picker.

commands:
{commands}
options:
  -h, --help     show this help
  --version      print the version
"""


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = "\n".join(f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items())
    return USAGE.format(commands=lines)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # `xx codes | head`: the reader left; not an error worth a traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv and argv[0] == "--version":
        from xx import __version__

        print(f"xx {__version__}")
        return 0
    if argv[:2] == ["gateway", "token"]:  # team tokens: xx/token_cmd.py
        from xx import token_cmd

        return int(token_cmd.main(argv[2:]) or 0)
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return int(module.main(argv[1:]) or 0)
    if not argv:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):  # a script, not a person: no full-screen picker
            print("xx: the picker needs a terminal (stdin and stdout are not one); give a code, e.g. `xx cnp -p 'hi'`,"
                  " or see `xx --help`", file=sys.stderr)
            return 2
        from xx import picker

        return int(picker.main([]) or 0)
    from xx import launch

    return int(launch.main(argv) or 0)
