"""`xx install [--dry-run] [--uninstall] [--shell bash|zsh|fish]`: the alias table in shell rc files.

The block sits between marker comments so it can be replaced in place (install twice changes
nothing) and removed exactly: when install had to add a newline before the block, or created
the file, the begin marker says so, and uninstall undoes that too, leaving the file
byte-identical to before. Everything works on bytes, so any encoding, CRLF line endings, a
missing final newline and symlinked rc files survive. The original bytes are kept in
`<rc>.xx-backup` while the block is installed; uninstall removes that backup.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
from collections.abc import Callable, Mapping
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


def _eol(data: bytes) -> bytes:
    """The file's own line ending: CRLF when its first line ends so, else LF."""
    first = data.find(b"\n")
    return b"\r\n" if first > 0 and data[first - 1 : first] == b"\r" else b"\n"


def _block(shell: str, aliases: Mapping[str, str], flags: str, eol: bytes) -> bytes:
    return eol.join(line.encode() for line in [BEGIN + flags, *block_lines(shell, aliases)])


def _span(data: bytes) -> tuple[int, int, bytes] | None:
    """(start, end, begin-marker line) of our block, `end` past END and its line ending."""
    b_begin, b_end = BEGIN.encode(), END.encode()
    start = data.find(b_begin)
    if start < 0:
        return None
    end = data.find(b_end, start)
    if end < 0:
        raise ValueError(f"found {BEGIN!r} without {END!r}: fix the file by hand")
    end += len(b_end)
    for eol in (b"\r\n", b"\n"):
        if data[end : end + len(eol)] == eol:
            end += len(eol)
            break
    line_end = data.find(b"\n", start)
    return start, end, data[start : line_end if line_end >= 0 else len(data)].rstrip(b"\r")


def strip_block(data: bytes) -> tuple[bytes, bool]:
    """The bytes without our block (and without the line ending install added before it); found?"""
    span = _span(data)
    if span is None:
        return data, False
    start, end, marker = span
    if ADDED_NL.encode() in marker:
        for eol in (b"\r\n", b"\n"):
            if start >= len(eol) and data[start - len(eol) : start] == eol:
                start -= len(eol)
                break
    return data[:start] + data[end:], True


def install_text(before: bytes | None, shell: str, aliases: Mapping[str, str]) -> bytes:
    """The new bytes of an rc file; replaces an existing block in place. Works on bytes: any
    encoding and any line ending survive, and our block uses the file's line ending."""
    data = before or b""
    eol = _eol(data)
    span = _span(data)
    if span is not None:
        start, end, marker = span
        flags = marker[len(BEGIN) :].decode(errors="replace")
        return data[:start] + _block(shell, aliases, flags, eol) + eol + data[end:]
    flags = ""
    if before is None:
        flags = CREATED
    elif data and not data.endswith(b"\n"):
        flags = ADDED_NL
        data += eol
    return data + _block(shell, aliases, flags, eol) + eol


def uninstall_text(before: bytes) -> tuple[bytes | None, bool]:
    """(new bytes, or None to delete a file install created; found?)"""
    span = _span(before)
    created = span is not None and CREATED.encode() in span[2]
    after, found = strip_block(before)
    if found and created and after == b"":
        return None, True
    return after, found


def default_shells(environ: Mapping[str, str], which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The user's login shell ($SHELL) and any shell whose rc file already exists; without a
    known $SHELL, the shells on PATH. A shell merely installed (zsh and fish on a bash user's
    machine) gets no new rc file: `--shell` asks for one explicitly."""
    login = Path(environ.get("SHELL") or "").name
    if login in SHELLS:
        return [s for s in SHELLS if s == login or rc_file(s, environ).exists()]
    return [s for s in SHELLS if which(s) or rc_file(s, environ).exists()]


def prune_empty_dirs(start: Path, home: Path) -> None:
    """Remove `start` and its parents while empty, staying below `home`: uninstalling fish's
    config.fish that install created must not leave the ~/.config/fish/ made for it."""
    d = start
    while d != home and home in d.parents:
        try:
            d.rmdir()
        except OSError:  # not empty (or not ours to remove): stop here
            return
        d = d.parent


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
        if not aliases:  # a hand-written config without [aliases]: an empty marker block helps nobody
            print("xx install: the config has no [aliases] table, so there is nothing to write; add one (the default "
                  "config, `xx config init` in a scratch XX_CONFIG, shows its own) or remove a block with --uninstall",
                  file=sys.stderr)
            return 1
        if not shutil.which("xx"):
            print(f"note: `xx` is not on PATH, so the aliases will not run until it is (this one is {sys.argv[0]}); "
                  "install/install.sh links it into ~/.local/bin", file=sys.stderr)
        shadowed = {name: found for name in aliases if (found := shutil.which(name))}
        if shadowed:
            listed = ", ".join(f"{n} ({p})" for n, p in sorted(shadowed.items()))
            print(f"note: these aliases hide commands of the same name in interactive shells: {listed}; "
                  "rename or remove them under [aliases] in the config if you need those commands", file=sys.stderr)
    results = [_one(rc_file(shell, environ), shell, aliases, args) for shell in args.shell or default_shells(environ)]
    failed = [r for r in results if r == "failed"]
    if "written" in results and not args.dry_run and not args.uninstall:
        print("open a new shell (or `source` the file) to use them" if not failed
              else "the files above that were written are ready in a new shell; fix the failures and run it again")
    return 1 if failed else 0


def _one(path: Path, shell: str, aliases: Mapping[str, str], args: argparse.Namespace) -> str:
    """Install into (or uninstall from) one rc file; prints one line; 'written', 'same', 'skipped' or 'failed'."""
    try:
        before = path.read_bytes() if path.exists() else None
        if args.uninstall:
            if before is None:
                return "skipped"
            after, found = uninstall_text(before)
            if not found:
                print(f"{path}: no xx aliases block")
                return "skipped"
        else:
            after = install_text(before, shell, aliases)
    except ValueError as exc:
        print(f"xx install: {path}: {exc}", file=sys.stderr)
        return "failed"
    except OSError as exc:
        print(f"xx install: {path}: cannot read it: {exc.strerror or exc}", file=sys.stderr)
        return "failed"
    if after == before:
        print(f"{path}: up to date")
        return "same"
    if args.dry_run:
        diff = difflib.unified_diff(
            (before or b"").decode(errors="replace").splitlines(keepends=True),
            (after or b"").decode(errors="replace").splitlines(keepends=True),
            fromfile=str(path), tofile=f"{path} (after)",
        )
        sys.stdout.writelines(diff)
        return "same"
    try:
        backup = _write(path, before, after, uninstall=args.uninstall)
    except OSError as exc:
        print(f"xx install: {path}: cannot write it: {exc.strerror or exc}; the file is unchanged", file=sys.stderr)
        return "failed"
    if args.uninstall:
        print(f"{path}: xx aliases removed" + (" (and the file install created)" if after is None else ""))
    else:
        print(f"{path}: {len(aliases)} xx aliases written" + (f" (backup of the original: {backup})" if backup else
                                                             " (new file)" if before is None else ""))
    return "written"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".xx-backup")


def _write(path: Path, before: bytes | None, after: bytes | None, *, uninstall: bool) -> Path | None:
    """Write atomically through a symlink (a dotfile manager's link stays a link). Install keeps
    the original bytes in `<rc>.xx-backup` (only when the file has no block yet: a re-install
    must not back up our own block); uninstall removes that backup. Returns the backup written, if any."""
    target = path.resolve() if path.is_symlink() else path
    backup = backup_path(path)
    written = None
    if not uninstall and before is not None and _span(before) is None:
        backup.write_bytes(before)
        written = backup
    if after is None:
        target.unlink()
        prune_empty_dirs(target.parent, Path(os.environ.get("HOME") or Path.home()))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".xx-tmp")
        tmp.write_bytes(after)
        if target.exists():
            shutil.copymode(target, tmp)
        tmp.replace(target)
    if uninstall:
        backup.unlink(missing_ok=True)
    return written
