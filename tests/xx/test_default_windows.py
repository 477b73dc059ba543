"""The default config's documented context windows reach `xx models`, Claude Code's and OpenCode's launch plans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.config import default_text, parse
from xx import codes, profiles
from xx.plan import Options, plan

PROFILES = profiles.load_all(user=Path("/nonexistent"))


def _launch(code: str):
    cfg = parse(default_text(), env={})
    letters = {p.letter: p.name for p in PROFILES.values()}
    spec = codes.decode(code, letters, [t.letter for t in cfg.tiers.values()])
    return plan(spec, PROFILES[spec.agent], cfg, Options(environ={}))


def test_documented_windows_are_configured() -> None:
    cfg = parse(default_text(), env={})
    assert cfg.models["gpt-oss-free"].context == 131072 and cfg.models["gemini-flash-lite"].context == 1048576
    assert cfg.models["nemotron-free"].context == 1000000


def test_the_free_tier_sets_claude_codes_window_and_opencodes_limit() -> None:
    assert _launch("cipf").env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "131072"  # the smallest known big window
    oc = json.loads(_launch("oipf").env["OPENCODE_CONFIG_CONTENT"])["provider"]["xx"]["models"]["xx-big"]
    assert oc == {"limit": {"context": 131072, "output": 32768}}


def test_xx_models_shows_the_windows(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XX_CONFIG"}
    env |= {"XX_STATE_DIR": str(tmp_path / "s"), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    out = subprocess.run([sys.executable, "-m", "xx", "models", "--json"], env=env, capture_output=True, text=True,
                         timeout=60)
    rows = {m["name"]: m for m in json.loads(out.stdout)["models"]}
    assert rows["gpt-oss-free"]["context"] == 131072, rows["gpt-oss-free"]
