"""Where xx keeps its files. Everything comes from platformdirs so `XDG_*` relocates it."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "xx"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def config_file() -> Path:
    """`XX_CONFIG` wins over the platform location."""
    override = os.environ.get("XX_CONFIG")
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def state_dir() -> Path:
    """`XX_STATE_DIR` wins (the demo isolates its ledger this way on every OS, macOS included)."""
    override = os.environ.get("XX_STATE_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_state_dir(APP))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


def ledger_file() -> Path:
    return state_dir() / "ledger.sqlite3"


def log_file() -> Path:
    return state_dir() / "gateway.log"


def runtime_file() -> Path:
    """Written by a running gateway: pid, port, start time, instance id."""
    return state_dir() / "gateway.json"


def user_profiles_dir() -> Path:
    return config_dir() / "profiles"
