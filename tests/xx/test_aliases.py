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


@pytest.mark.parametrize("before", [None, "", "export A=1\n", "export A=1", "# x\n# >>> not ours\n"])
@pytest.mark.parametrize("shell", aliases.SHELLS)
def test_install_uninstall_round_trip(before: str | None, shell: str) -> None:
    once = aliases.install_text(before, shell, ALIASES)
    assert aliases.install_text(once, shell, ALIASES) == once, "install twice changes nothing"
    after, found = aliases.uninstall_text(once)
    assert found and after == before
    changed = aliases.install_text(once, shell, {"cc": "xx cib"})
    assert "xx cib" in changed and "xx cipd" not in changed
    assert aliases.uninstall_text(changed)[0] == before


def test_unterminated_block_is_refused() -> None:
    with pytest.raises(ValueError):
        aliases.strip_block(f"{aliases.BEGIN}\nalias cc='x'\n")


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
