"""An app with the gateway's own token set, a peer from off loopback, and URLs for every rule in the URL map:
what the auth tests (routes/test_auth.py, routes/test_team_auth.py) walk."""

from __future__ import annotations

import re
from pathlib import Path

from quart import Quart

from gateway.app import create_app
from gateway.config import parse

TOKEN = "tok-0123456789-secret"  # the gateway's own (admin) token
OUTSIDE = {"client": ("203.0.113.7", 40000)}  # a non-loopback peer (TEST-NET-3)


def token_app(tmp_path: Path) -> Quart:
    cfg = parse(f'[gateway]\nhost = "127.0.0.1"\nport = 1\ntoken = "{TOKEN}"\n', source="<test>", env={})
    return create_app(cfg, ledger_path=tmp_path / "ledger.sqlite3", replay_path=tmp_path / "replay.sqlite3")


def concrete(rule: str) -> str:
    """A URL that matches the rule: every converter filled with a harmless value."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: {"call": "m:countTokens", "route": "p"}.get(m.group(1), "c"), rule)
