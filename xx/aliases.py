"""`xx install [--dry-run] [--uninstall] [--shell bash|zsh|fish]`: the alias table in shell rc files.

The block sits between marker comments so it can be replaced in place (install twice changes
nothing) and removed exactly: when install had to add a newline before the block, or created
the file, the begin marker says so, and uninstall undoes that too, leaving the file
byte-identical to before. The previous content is kept in `<rc>.xx-backup`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

BEGIN = "# >>> xx aliases >>>"
END = "# <<< xx aliases <<<"
NOTE = "# managed by `xx install`; remove with `xx install --uninstall`"
SHELLS = ("bash", "zsh", "fish")
ADDED_NL = " [added-newline]"
CREATED = " [new-file]"


def rc_file(shell: str, environ: Mapping[str, str]) -> Path:
    home = Path(environ.get("HOME") or Path.home())
    if shell == "bash":
        return home / ".bashrc"
    if shell == "zsh":
        return Path(environ.get("ZDOTDIR") or home) / ".zshrc"
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "fish" / "config.fish"


def quote(value: str) -> str:
    """POSIX single quotes: nothing inside is special, so only a quote needs the '\\'' dance."""
    return "'" + value.replace("'", "'\\''") + "'"


def quote_fish(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def block_lines(shell: str, aliases: Mapping[str, str]) -> list[str]:
    if shell == "fish":
        body = [f"alias {name} {quote_fish(cmd)}" for name, cmd in aliases.items()]
    else:
        body = [f"alias {name}={quote(cmd)}" for name, cmd in aliases.items()]
    return [NOTE, *body, END]


def strip_block(text: str) -> tuple[str, bool]:
    """The text without our block (and without what install added around it); found?"""
    start = text.find(BEGIN)
    if start < 0:
        return text, False
    end = text.find(END, start)
    if end < 0:
        raise ValueError(f"found {BEGIN!r} without {END!r}: fix the file by hand")
    end += len(END)
    if text[end : end + 1] == "\n":
        end += 1
    marker = text[start : text.find("\n", start)]
    if ADDED_NL in marker and start > 0 and text[start - 1] == "\n":
        start -= 1
    return text[:start] + text[end:], True


def install_text(before: str | None, shell: str, aliases: Mapping[str, str]) -> str:
    """The new content of an rc file; replaces an existing block in place."""
    text = before or ""
    if BEGIN in text:
        start = text.find(BEGIN)
        marker = text[start : text.find("\n", start)]
        flags = marker[len(BEGIN) :]
        end = text.find(END, start) + len(END)
        return text[:start] + "\n".join([BEGIN + flags, *block_lines(shell, aliases)]) + text[end:]
    flags = ""
    if before is None:
        flags = CREATED
    elif text and not text.endswith("\n"):
        flags = ADDED_NL
        text += "\n"
    return text + "\n".join([BEGIN + flags, *block_lines(shell, aliases)]) + "\n"


def uninstall_text(before: str) -> tuple[str | None, bool]:
    """(new content, or None to delete a file install created; found?)"""
    start = before.find(BEGIN)
    created = start >= 0 and CREATED in before[start : before.find("\n", start)]
    after, found = strip_block(before)
    if found and created and after == "":
        return None, True
    return after, found


def default_shells(environ: Mapping[str, str]) -> list[str]:
    """The shells installed here, plus any whose rc file already exists."""
    return [s for s in SHELLS if shutil.which(s) or rc_file(s, environ).exists()]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="xx install", description="Write the [aliases] of the config into shell rc files.")
    ap.add_argument("--dry-run", action="store_true", help="show a unified diff, change nothing")
    ap.add_argument("--uninstall", action="store_true", help="remove exactly the block install wrote")
    ap.add_argument("--shell", action="append", choices=SHELLS, help="only this shell (repeatable)")
    args = ap.parse_args(argv)
    environ = os.environ
    aliases: Mapping[str, str] = {}
    if not args.uninstall:
        from gateway.config import ConfigError, load

        try:
            aliases = load().aliases
        except ConfigError as exc:
            print(f"xx install: {exc}", file=sys.stderr)
            return 1
    status = 0
    shadowed = {name: found for name in aliases if (found := shutil.which(name))}
    if shadowed and not args.uninstall:
        listed = ", ".join(f"{n} ({p})" for n, p in sorted(shadowed.items()))
        print(f"note: these aliases hide commands of the same name in interactive shells: {listed}; "
              "rename or remove them under [aliases] in the config if you need those commands", file=sys.stderr)
    for shell in args.shell or default_shells(environ):
        path = rc_file(shell, environ)
        try:
            before = path.read_text() if path.exists() else None
            if args.uninstall:
                if before is None:
                    continue
                after, found = uninstall_text(before)
                if not found:
                    print(f"{path}: no xx aliases block")
                    continue
            else:
                after = install_text(before, shell, aliases)
        except (OSError, ValueError) as exc:
            print(f"xx install: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        if after == before:
            print(f"{path}: up to date")
            continue
        if args.dry_run:
            diff = difflib.unified_diff(
                (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
                fromfile=str(path), tofile=f"{path} (after)",
            )
            sys.stdout.writelines(diff)
            continue
        _write(path, before, after)
        print(f"{path}: xx aliases removed (backup: {path}.xx-backup)" if args.uninstall
              else f"{path}: {len(aliases)} xx aliases written (backup: {path}.xx-backup)")
    if not args.dry_run and not args.uninstall:
        print("open a new shell (or `source` the file) to use them")
    return status


def _write(path: Path, before: str | None, after: str | None) -> None:
    path = path.resolve() if path.is_symlink() else path  # keep a dotfile manager's link
    if before is not None:
        Path(str(path) + ".xx-backup").write_text(before)
    if after is None:
        path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".xx-tmp")
    tmp.write_text(after)
    if path.exists():
        shutil.copymode(path, tmp)
    tmp.replace(path)
