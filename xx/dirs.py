"""Which state and cache directories a command means: those of the gateway serving its config.

`xx capture`, `xx usage`, `xx cache` and `xx gateway logs` read or write files the gateway
owns (flag file, ledger, replay cache, log). They must use the directories of the gateway
that serves the config they target, or `XX_CONFIG=<the demo's config> xx capture on` would
switch capture on for the user's real gateway and `xx usage` would read the real ledger.

The rule, simple on purpose: `XX_STATE_DIR` wins (it is what every gateway itself obeys);
otherwise a config file that `xx demo` wrote (a `config.toml` beside the demo's `demo.lock`)
means the demo's directories, the very ones the demo hands its gateway (`DemoLayout`);
otherwise the platform directories. Stdlib only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from gateway.config import paths
from gateway.config.record import record


@record  # not a dataclass: `dataclasses` costs the launch path ~9 ms (gateway/config/record.py)
class DemoLayout:
    """Where `xx demo` keeps its files; its gateway gets `state_dir` and `cache_home` from here."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def lock(self) -> Path:  # held while a demo runs; its presence marks the directory as a demo's
        return self.root / "demo.lock"

    @property
    def state_home(self) -> Path:  # the gateway's XDG_STATE_HOME
        return self.root / "state"

    @property
    def state_dir(self) -> Path:  # the gateway's XX_STATE_DIR
        return self.state_home / paths.APP

    @property
    def cache_home(self) -> Path:  # the gateway's XDG_CACHE_HOME
        return self.root / "cache"

    @property
    def cache_dir(self) -> Path:
        return self.cache_home / paths.APP

    @property
    def ledger(self) -> Path:
        return self.state_dir / "ledger.sqlite3"

    @property
    def pids(self) -> Path:
        return self.root / "demo.json"

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"


def demo_of(config_file: Path) -> DemoLayout | None:
    """The demo whose config this is, or None for any other config."""
    layout = DemoLayout(config_file.expanduser().absolute().parent)
    return layout if config_file.name == "config.toml" and layout.lock.exists() else None


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("XX_STATE_DIR"):
        return Path(env["XX_STATE_DIR"]).expanduser()
    demo = demo_of(paths.config_file())
    return demo.state_dir if demo else paths.state_dir()


def cache_dir() -> Path:
    demo = demo_of(paths.config_file())
    return demo.cache_dir if demo else paths.cache_dir()


def gateway_log() -> Path:
    """The log of the gateway serving the targeted config: the demo writes its gateway's beside its config."""
    demo = None if os.environ.get("XX_STATE_DIR") else demo_of(paths.config_file())
    return demo.log("gateway") if demo else paths.log_file()
