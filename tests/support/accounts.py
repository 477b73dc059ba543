"""An unprivileged account for tests that must run something as a user who is not root.

Why: CI runs as root, and some behaviour only shows for other users (Gemini CLI skips settings
files root does not own; PostgreSQL refuses to run as root). Same recipe as
tests/support/dbservers.py: reuse the account when it exists, else `useradd --system` it. As a
non-root user the current account is returned: the test then simply runs as itself.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

ACCOUNT = "xxagent"


def unprivileged(name: str = ACCOUNT) -> tuple[pwd.struct_passwd | None, str]:
    """(the account, "") or (None, why not). Root creates `name` with no home and no login shell."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()), ""
    try:
        return pwd.getpwnam(name), ""
    except KeyError:
        pass
    useradd = shutil.which("useradd") or next((p for p in ("/usr/sbin/useradd", "/sbin/useradd") if os.path.exists(p)), None)
    if useradd is None:
        return None, "useradd not found (package passwd)"
    res = subprocess.run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                         capture_output=True, text=True, check=False)
    try:
        return pwd.getpwnam(name), ""
    except KeyError:
        return None, f"useradd {name} failed (rc={res.returncode}): {res.stderr.strip()[-300:]}"
