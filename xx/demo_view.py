"""What `xx demo` shows: its one status line, the headless summary and the how-to hints.

Apart from xx.demo (which starts and stops processes) so each stays small. The hints name
the command the user can really type (`.venv/bin/xx` right after the README's set-up).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from xx.demo import Layout

SUMMARY_EVERY_S = 3.0


class _Status:
    """The one progress line on stderr: rewritten in place and colored on a terminal only."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.color = self.tty and "NO_COLOR" not in os.environ
        self.last_key: str | None = None

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def step(self, text: str, key: str | None = None) -> None:
        """Show `text`; off a terminal, only the first text of each `key` (no ticking timers in logs)."""
        if self.tty:
            sys.stderr.write(f"\r\033[2K{self.paint('xx demo', '1;36')} {text}")
            sys.stderr.flush()
        elif (key or text) != self.last_key:
            self.last_key = key or text
            print(f"xx demo: {text}", file=sys.stderr, flush=True)

    def line(self, text: str = "") -> None:
        sys.stderr.write("\r\033[2K" if self.tty else "")
        print(text, file=sys.stderr, flush=True)


def summary(client: httpx.Client, url: str, elapsed: float) -> str:
    """One line from the gateway's own numbers: totals, cache classes, cascades, model trouble."""
    stats = client.get(url + "/xx/stats").json()
    models = client.get(url + "/xx/models").json().get("models", [])
    recent = client.get(url + "/xx/requests", params={"limit": 200}).json().get("requests", [])
    req, classes = stats.get("requests", {}), stats.get("cache", {}).get("classes", {})
    agents = sorted({r.get("agent", "?") for r in recent})
    cascades = sum(1 for r in recent if len(r.get("attempts") or []) > 1)
    trouble = [f"{m['name']} {m['state']}" for m in models if m.get("state") not in (None, "healthy", "ok")]
    cache = " ".join(f"{k} {v}" for k, v in classes.items() if v)
    return (f"[{elapsed:4.0f}s] {req.get('total', 0)} requests ({req.get('ok', 0)} ok, {req.get('error', 0)} error) · "
            f"cache {cache or '-'} · cascades {cascades} · agents {','.join(agents) or '-'} · "
            f"{'; '.join(trouble) or 'all models healthy'}")  # fmt: skip


def _headless(url: str, duration: float | None, alive: Callable[[], bool] = lambda: True) -> None:
    """A summary line every few seconds until `duration` ends or the gateway is no longer `alive`."""
    t0 = time.monotonic()
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while (duration is None or time.monotonic() - t0 < duration) and alive():
            wait = (
                SUMMARY_EVERY_S
                if duration is None
                else min(SUMMARY_EVERY_S, duration - (time.monotonic() - t0))
            )
            time.sleep(max(wait, 0.0))
            try:
                print(summary(client, url, time.monotonic() - t0), flush=True)
            except (httpx.HTTPError, ValueError) as e:
                if not alive():
                    return
                print(f"[{time.monotonic() - t0:4.0f}s] gateway did not answer: {e}", flush=True)


def _user_port() -> int | None:
    """The port the user's own config gives its gateway (the demo stays off it)."""
    from gateway.config import ConfigError, load

    try:
        return load().gateway.port
    except ConfigError:
        return 8082


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd().resolve()))
    return str(path)


def command_name(argv0: str | None = None, which: Callable[[str], str | None] | None = None) -> str:
    """How the user runs xx: `xx` when that name on PATH is this program, else the path they used
    (`.venv/bin/xx` right after the README's set-up, before anything is on PATH)."""
    import shutil

    here = Path(argv0 if argv0 is not None else sys.argv[0]).resolve()
    found = (which or shutil.which)("xx")
    if found and (here.name != "xx" or Path(found).resolve() == here):
        return "xx"
    if here.name == "xx":
        return _shown(here)
    return f"{_shown(Path(sys.executable))} -m xx"


def _how_to(url: str, layout: Layout, status: _Status) -> None:
    b = lambda s: status.paint(s, "1")  # noqa: E731
    status.line(f"{status.paint('xx demo', '1;32')} gateway {b(url)} on the simulated provider (no API key)")
    status.line(f"  config  {layout.config}\n  ledger  {layout.ledger}\n  logs    {layout.root}/*.log")
    status.line(f"  try     curl {url}/health")
    xx = command_name()
    status.line(f"  agents  XX_CONFIG={layout.config} {xx} cif   (any agent: {xx} <agent>i<tier>)")
    status.line("          tiers: f free, c claude, g gpt, x mixed; xx wires each CLI the way it really honours")
