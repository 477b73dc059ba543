"""Install the pinned real agent CLIs into a cache outside the repo, once, and reuse them.

Why a cache: the six npm CLIs take ~1.4 GB and a few minutes; every run after the first must
reuse them. Why one `npm install --prefix` per package: one registry failure (or one package
that stops resolving on node 20) must skip that CLI only, not the whole matrix.

Run as a script (`python tests/agents/installer.py`) to warm the cache outside pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

NPM_PINS: dict[str, tuple[str, str, str]] = {
    # agent name: (package, version, binary)
    "claude": ("@anthropic-ai/claude-code", "2.1.197", "claude"),
    "codex": ("@openai/codex", "0.169.0", "codex"),
    "qwen": ("@qwen-code/qwen-code", "0.15.10", "qwen"),
    "pi": ("@mariozechner/pi-coding-agent", "0.73.1", "pi"),
    "opencode": ("opencode-ai", "1.18.33", "opencode"),
    "gemini": ("@google/gemini-cli", "0.61.0", "gemini"),
}
HERMES_PIN = ("hermes-agent", "0.19.0", "hermes")
# chat_completions needs only the openai SDK, which hermes-agent already depends on; the
# [anthropic] extra is what its anthropic_messages transport would need, so it is not installed.
HERMES_EXTRAS: tuple[str, ...] = ()

INSTALL_TIMEOUT_S = 900


@dataclass
class Installed:
    """Where each CLI's binary ended up, and why the missing ones are missing."""

    root: Path
    bins: dict[str, Path] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def bin_dir(self) -> Path:
        """One directory of symlinks to the installed binaries, to put first on PATH.

        Not the install dirs themselves: Hermes's venv bin also holds `python` and `pip`, which
        must not shadow the interpreter running xx.
        """
        d = self.root / "bin"
        d.mkdir(parents=True, exist_ok=True)
        for target in self.bins.values():
            link = d / target.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
        return d


def cache_root() -> Path:
    return Path(os.environ.get("XX_AGENTS_DIR") or Path.home() / ".cache" / "xx-agent-matrix")


def _npm_dir(root: Path, name: str) -> Path:
    return root / "npm" / name


def _installed_npm_version(prefix: Path, package: str) -> str | None:
    manifest = prefix / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _tail(text: str, n: int = 600) -> str:
    text = text.strip()
    return text[-n:] if len(text) > n else text


def install_npm(root: Path, name: str, log: list[str]) -> tuple[Path | None, str]:
    """(binary, version) on success; (None, reason) when npm could not install it."""
    package, version, binary = NPM_PINS[name]
    prefix = _npm_dir(root, name)
    bin_path = prefix / "node_modules" / ".bin" / binary
    if _installed_npm_version(prefix, package) == version and bin_path.exists():
        return bin_path, version
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm not found on PATH"
    prefix.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
           f"{package}@{version}"]
    log.append(" ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None, f"npm install {package}@{version} timed out after {INSTALL_TIMEOUT_S}s"
    if proc.returncode != 0 or not bin_path.exists():
        return None, f"npm install {package}@{version} failed (rc={proc.returncode}): {_tail(proc.stderr)}"
    return bin_path, version


def _venv_version(venv: Path, package: str) -> str | None:
    py = venv / "bin" / "python"
    if not py.exists():
        return None
    proc = subprocess.run([str(py), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def install_hermes(root: Path, log: list[str]) -> tuple[Path | None, str]:
    package, version, binary = HERMES_PIN
    venv = root / "hermes-venv"
    bin_path = venv / "bin" / binary
    if _venv_version(venv, package) == version and bin_path.exists():
        return bin_path, version
    base_python = os.environ.get("XX_AGENTS_PYTHON") or sys.executable
    steps = [
        [base_python, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"{package}=={version}", *HERMES_EXTRAS],
    ]
    for cmd in steps:
        log.append(" ".join(cmd))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return None, f"{cmd[2]} timed out after {INSTALL_TIMEOUT_S}s"
        if proc.returncode != 0:
            return None, f"{' '.join(cmd[:4])} failed (rc={proc.returncode}): {_tail(proc.stderr)}"
    if not bin_path.exists():
        return None, f"{package}=={version} installed but {bin_path} is missing"
    return bin_path, version


def install_all(root: Path | None = None, only: list[str] | None = None) -> tuple[Installed, list[str]]:
    """Install (or reuse) every pinned CLI; never raises for one CLI's failure."""
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    result = Installed(root=root)
    log: list[str] = []
    names = [*NPM_PINS, "hermes"]
    for name in names:
        if only and name not in only:
            continue
        binary, info = install_hermes(root, log) if name == "hermes" else install_npm(root, name, log)
        if binary is None:
            result.skipped[name] = info
        else:
            result.bins[name] = binary
            result.versions[name] = info
    return result, log


def main(argv: list[str]) -> int:
    installed, log = install_all(only=argv or None)
    for line in log:
        print("ran:", line)
    for name, path in installed.bins.items():
        print(f"{name:9} {installed.versions[name]:10} {path}")
    for name, why in installed.skipped.items():
        print(f"{name:9} SKIPPED    {why}")
    return 1 if len(installed.skipped) > 1 else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
