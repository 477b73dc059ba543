"""Gemini CLI launched through xx by a user who is not root, with HOME below /tmp (issue 12).

Gemini 0.61.0 skips a SYSTEM settings file unless root owns it and every directory above it, so
xx's per-launch settings, once a system file under the user's state dir, were ignored for every
non-root user ("Invalid auth method selected", exit 41) while root CI passed. They are now user
settings in a per-launch GEMINI_CLI_HOME (profiles/gemini.toml).

As non-root, this test is simply `xx mnp` in a world under /tmp. As root (CI), the agent runs as an
unprivileged account (tests/support/accounts.py): xx itself stays root (its Python may live in
root's home), and a `gemini` shim first on PATH gives the world to that account (as if xx had
written it as that user) and drops to it before exec'ing the real CLI, copied where that account
can read it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents.harness import World
from agents.installer import Installed
from support.accounts import unprivileged

pytestmark = pytest.mark.agents

SHIM = """#!{python}
# Runs as root in place of gemini: hand the world to {name}, drop to it, exec the real CLI.
import os, sys
uid, gid = {uid}, {gid}
for top, dirs, files in os.walk({world!r}):
    os.lchown(top, uid, gid)
    for entry in dirs + files:
        os.lchown(os.path.join(top, entry), uid, gid)
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def unavailable(reason: str) -> None:
    """Skip with the reason printed; under CI a skip would hide the very failure this test exists for."""
    print(f"[agents] gemini non-root SKIPPED: {reason}")
    if os.environ.get("XX_CI"):
        pytest.fail(f"CI must run Gemini as a non-root user, but {reason}")
    pytest.skip(reason)


def readable_by(user: pwd.struct_passwd, path: Path) -> bool:
    probe = subprocess.run(["test", "-r", str(path)], user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                           env={"PATH": "/usr/bin:/bin"}, capture_output=True, check=False)
    return probe.returncode == 0


def gemini_for(user: pwd.struct_passwd, installed: Installed, scratch: Path) -> Path:
    """The gemini binary, or a copy of its npm prefix (hard links when possible) the user can read."""
    real = installed.bins["gemini"]
    if readable_by(user, real.resolve()):
        return real
    prefix = real.parents[2]  # <prefix>/node_modules/.bin/gemini
    copy = scratch / "gemini-cli"
    linked = subprocess.run(["cp", "-al", str(prefix), str(copy)], capture_output=True, check=False)
    if linked.returncode != 0:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(prefix, copy, symlinks=True)
    return copy / real.relative_to(prefix)


@pytest.fixture(scope="module")
def tmp_world(installed: Installed) -> Iterator[tuple[World, pwd.struct_passwd]]:
    """A world under /tmp (HOME included) whose `gemini` runs as an unprivileged account."""
    if "gemini" in installed.skipped:
        pytest.skip(f"gemini not installed: {installed.skipped['gemini']}")
    user, why = unprivileged()
    if user is None:
        unavailable(why)
    assert user is not None
    root = Path(tempfile.mkdtemp(prefix="xx-gemini-nonroot-"))
    scratch = Path(tempfile.mkdtemp(prefix="xx-gemini-cli-"))  # never chowned: its files may be hard links
    bins = [str(installed.bin_dir())]
    if os.geteuid() == 0:
        scratch.chmod(0o755)
        real = gemini_for(user, installed, scratch)
        shim_dir = scratch / "shim"
        shim_dir.mkdir()
        shim = shim_dir / "gemini"
        shim.write_text(SHIM.format(python=sys.executable, name=user.pw_name, uid=user.pw_uid, gid=user.pw_gid,
                                    world=str(root), real=str(real)))
        shim.chmod(0o700)
        bins.insert(0, str(shim_dir))
    w = World(root, bins)
    try:
        yield w, user
    finally:
        w.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def test_gemini_launch_as_non_root_with_home_under_tmp(tmp_world: tuple[World, pwd.struct_passwd]) -> None:
    w, user = tmp_world
    assert str(w.home).startswith(tempfile.gettempdir())
    since = time.time()
    run = w.xx("mnp", "-p", "say hi", cwd=w.project("gemini"))
    assert run.returncode == 0 and "SIM-ANSWER(" in run.stdout, run.describe()
    assert "Security Warning" not in run.stderr and "Invalid auth method" not in run.stderr, run.describe()
    assert w.wait_ledger(since, "gemini"), "the gateway saw no Gemini request"
    home = Path(w.dry_run("mnp", "-p", "say hi")["env"]["GEMINI_CLI_HOME"])
    written = [p for p in (home / ".gemini").rglob("*") if p.name != "settings.json" and not p.is_symlink()]
    assert written, f"Gemini wrote nothing in its per-launch home {home}"
    assert {p.lstat().st_uid for p in written} == {user.pw_uid}, "Gemini did not run as the unprivileged user"
