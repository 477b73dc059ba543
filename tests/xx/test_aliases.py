"""`xx install`: real bash, zsh and fish read the aliases; uninstall restores the file byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xx import aliases

ALIASES = {"cc": "xx cip", "cc-ds": "xx cipd", "qw": "xx qip", "odd": "xx cip -p 'it''s'"}


BEFORES = [None, b"", b"export A=1\n", b"export A=1", b"# x\n# >>> not ours\n", b"export A=1\r\nexport B=2\r\n",
           b"export A=1\r\nexport B=2", "# caf\u00e9 na\u00efve\nexport A=1\n".encode("latin-1"), b"\r\n\r\n"]


@pytest.mark.parametrize("before", BEFORES)
@pytest.mark.parametrize("shell", aliases.SHELLS)
def test_install_uninstall_round_trip(before: bytes | None, shell: str) -> None:
    once = aliases.install_text(before, shell, ALIASES)
    assert aliases.install_text(once, shell, ALIASES) == once, "install twice changes nothing"
    after, found = aliases.uninstall_text(once)
    assert found and after == before
    changed = aliases.install_text(once, shell, {"cc": "xx cib"})
    assert b"xx cib" in changed and b"xx cipd" not in changed
    assert aliases.uninstall_text(changed)[0] == before


def test_unterminated_block_is_refused() -> None:
    with pytest.raises(ValueError):
        aliases.strip_block(f"{aliases.BEGIN}\nalias cc='x'\n".encode())


def test_a_crlf_file_gets_a_crlf_block() -> None:
    out = aliases.install_text(b"export A=1\r\n", "bash", {"cc": "xx cip"})
    assert out.count(b"\r\n") == out.count(b"\n"), "every line ends the file's way"


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ZDOTDIR", "XX_"))}
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_STATE_HOME": str(tmp_path / "state")}


def _xx(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", *args], env=env, capture_output=True, text=True, timeout=60)


def _type_in_shell(shell: str, name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = {"bash": ["bash", "-ic"], "zsh": ["zsh", "-ic"], "fish": ["fish", "-ic"]}[shell]
    return subprocess.run([*cmd, f"type {name}"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("shell", aliases.SHELLS)
def test_real_shell_sees_the_aliases(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        print(f"skipping: {shell} is not installed (apt-get install -y {shell})")
        pytest.skip(f"{shell} missing")
    env = _env(tmp_path)
    rc = aliases.rc_file(shell, env)
    rc.parent.mkdir(parents=True, exist_ok=True)
    original = b"# my rc\nexport KEEP=1"  # no trailing newline on purpose
    rc.write_bytes(original)

    dry = _xx(["install", "--dry-run", "--shell", shell], env)
    assert dry.returncode == 0 and "+alias cc" in dry.stdout
    assert rc.read_bytes() == original, "--dry-run changes nothing"

    assert _xx(["install", "--shell", shell], env).returncode == 0
    installed = rc.read_bytes()
    assert Path(str(rc) + ".xx-backup").read_bytes() == original
    seen = _type_in_shell(shell, "cc", env)
    assert "xx cip" in seen.stdout, seen.stdout + seen.stderr
    assert "xx cipd" in _type_in_shell(shell, "cc-ds", env).stdout

    assert _xx(["install", "--shell", shell], env).returncode == 0
    assert rc.read_bytes() == installed, "install twice changes nothing"

    assert _xx(["install", "--uninstall", "--shell", shell], env).returncode == 0
    assert rc.read_bytes() == original, "uninstall restores the file byte for byte"
    assert "xx cip" not in _type_in_shell(shell, "cc", env).stdout


def test_uninstall_deletes_a_file_install_created(tmp_path: Path) -> None:
    env = _env(tmp_path)
    rc = aliases.rc_file("zsh", env)
    assert not rc.exists()
    assert _xx(["install", "--shell", "zsh"], env).returncode == 0 and rc.exists()
    assert _xx(["install", "--uninstall", "--shell", "zsh"], env).returncode == 0
    assert not rc.exists()


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


ODD_FILES = {
    "crlf": b"# windows rc\r\nexport A=1\r\nalias ll='ls -l'\r\n",
    "latin1": "# r\u00e9sum\u00e9 of my aliases\nexport NAME='Jos\u00e9'\n".encode("latin-1"),
    "no-final-newline": b"# rc\nexport KEEP=1",
    "crlf-no-final-newline": b"export A=1\r\nexport B=2",
}


@pytest.mark.parametrize("kind", [*ODD_FILES, "symlink"])
def test_install_uninstall_is_byte_exact(kind: str, tmp_path: Path) -> None:
    """sha256 before and after: CRLF, latin-1, no final newline, a symlinked rc (dotfile managers)."""
    env = _env(tmp_path)
    rc = aliases.rc_file("bash", env)
    original = ODD_FILES.get(kind, b"# linked rc\nexport L=1\n")
    if kind == "symlink":
        target = tmp_path / "dotfiles" / "bashrc"
        target.parent.mkdir()
        target.write_bytes(original)
        rc.symlink_to(target)
    else:
        rc.write_bytes(original)
    digest = sha256(rc)
    r = _xx(["install", "--shell", "bash"], env)
    assert r.returncode == 0, r.stderr
    backup = Path(str(rc) + ".xx-backup")
    assert backup.read_bytes() == original, "the backup holds the original bytes"
    assert f"backup of the original: {backup}" in r.stdout and "open a new shell" in r.stdout
    assert b"alias cc=" in rc.read_bytes()
    if kind == "symlink":
        assert rc.is_symlink() and b"alias cc=" in target.read_bytes()
    r = _xx(["install", "--uninstall", "--shell", "bash"], env)
    assert r.returncode == 0, r.stderr
    assert sha256(rc) == digest, "uninstall restores the file byte for byte"
    assert not backup.exists(), "uninstall leaves no backup behind"
    assert kind != "symlink" or rc.is_symlink()
    assert not list(rc.parent.glob("*.xx-*"))


def test_no_backup_is_claimed_for_a_new_file_and_failures_are_true(tmp_path: Path) -> None:
    env = _env(tmp_path)
    r = _xx(["install", "--shell", "zsh"], env)
    assert r.returncode == 0 and "(backup" not in r.stdout and "(new file)" in r.stdout
    assert not list(Path(env["HOME"]).glob("*.xx-backup"))
    rc = aliases.rc_file("bash", env)
    rc.write_bytes(b"export A=1\n")
    rc.chmod(0o000)
    try:
        if os.access(rc, os.R_OK):
            print("skipping the unreadable-file half: running as root, which reads any file")
            return
        r = _xx(["install", "--shell", "bash"], env)
        assert r.returncode == 1 and "cannot read it: Permission denied" in r.stderr
        assert "open a new shell" not in r.stdout and not Path(str(rc) + ".xx-backup").exists()
    finally:
        rc.chmod(0o644)


def test_install_writes_only_the_login_shells_rc_and_uninstall_leaves_no_empty_dir(tmp_path: Path) -> None:
    """zsh and fish on PATH are not the user's shells: a bash user gets .bashrc only."""
    env = {**_env(tmp_path), "SHELL": "/bin/bash"}
    r = _xx(["install"], env)
    assert r.returncode == 0, r.stderr
    assert aliases.rc_file("bash", env).exists()
    assert not aliases.rc_file("zsh", env).exists() and not aliases.rc_file("fish", env).exists(), r.stdout
    fish_dir = aliases.rc_file("fish", env).parent
    assert _xx(["install", "--shell", "fish"], env).returncode == 0 and fish_dir.is_dir()
    assert _xx(["install", "--uninstall", "--shell", "fish"], env).returncode == 0
    assert not fish_dir.exists() and not fish_dir.parent.exists(), "the dirs install made for config.fish are gone"
    assert Path(env["HOME"]).is_dir()


def test_default_shells_without_shell_are_those_on_path(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "SHELL": ""}
    assert aliases.default_shells(env, which=lambda s: "/bin/x" if s == "zsh" else None) == ["zsh"]
    env["SHELL"] = "/usr/bin/fish"
    aliases.rc_file("bash", env).write_text("# mine\n")  # an rc file the user has: still kept up to date
    assert aliases.default_shells(env, which=lambda s: "/bin/x") == ["bash", "fish"]


def test_a_config_without_aliases_writes_nothing_and_says_why(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cfg = Path(env["XDG_CONFIG_HOME"]) / "xx" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[providers.p]\ndialect = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                   '[models.m]\nprovider = "p"\n[tiers.free]\nletter = "f"\nbig = ["m"]\n')
    rc = aliases.rc_file("bash", env)
    rc.write_bytes(b"export A=1\n")
    r = _xx(["install", "--shell", "bash"], env)
    assert r.returncode == 1 and "no [aliases] table" in r.stderr, (r.stdout, r.stderr)
    assert rc.read_bytes() == b"export A=1\n" and not Path(str(rc) + ".xx-backup").exists()
    assert "open a new shell" not in r.stdout
