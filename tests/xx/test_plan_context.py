"""The launcher tells each agent the context window of its tier's smallest `big` model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import parse
from gateway.scan.view import ScanView
from xx import codes, profiles
from xx.plan import Options, context_values, plan

PROFILES = profiles.load_all(user=Path("/nonexistent"))
TOML = """
[gateway]
default_tier = "free"
[providers.p]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.a]
provider = "p"
id = "a"
context = 32768
free = true
[models.b]
provider = "p"
id = "b"
context = 131072
free = true
[models.c]
provider = "p"
id = "c"
free = true
[tiers.free]
letter = "f"
big = ["b", "a"]
small = ["c"]
[tiers.wide]
letter = "w"
big = ["b"]
[tiers.open]
letter = "o"
big = ["c"]
[tiers.best]
letter = "m"
rank = "scan"
"""


def launch(code: str, scan: ScanView | None = None):
    cfg = parse(TOML, env={})
    letters = {p.letter: p.name for p in PROFILES.values()}
    spec = codes.decode(code, letters, [t.letter for t in cfg.tiers.values()])
    return plan(spec, PROFILES[spec.agent], cfg, Options(scan=scan))


def test_claude_code_gets_its_compaction_window_from_the_smallest_big_model() -> None:
    lp = launch("cipf")
    assert lp.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "32768"
    # The answer gets a quarter of the window (max_tokens 8192); Claude Code then works from
    # max(100000, window) - min(20000, 8192) = 91808, and 75 % of 32768 = 24576 is 26 % of that:
    # it compacts at 23870 tokens, and 23870 + 8192 fits in 32768.
    assert lp.env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
    assert lp.env["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == "26"
    assert "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in lp.env  # read only with DISABLE_COMPACT (2.1.197)


@pytest.mark.parametrize("code", ["cipo", "cibf", "cid"])
def test_no_compaction_variables_without_a_smaller_known_window_or_off_route_p(code: str) -> None:
    lp = launch(code)
    assert not any("COMPACT" in k for k in lp.env), lp.env


def test_the_scanned_window_fills_in_for_a_model_without_one_in_the_config() -> None:
    lp = launch("cipo", ScanView(scanned_at=1.0, windows={"c": 65536}))
    assert lp.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "65536"
    assert lp.env["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == str(int(65536 * 0.75) * 100 // (100000 - 16384))  # 58


def test_a_scan_ranked_tier_uses_the_windows_of_the_models_the_scan_ranks() -> None:
    scan = ScanView(scanned_at=1.0, windows={"c": 16384, "b": 131072}, scores={"b": 0.9, "c": 0.5}, ranked=("b", "c"))
    lp = launch("cipm", scan)
    assert lp.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "16384"


def test_codex_gets_its_config_keys_and_pi_its_model_entry() -> None:
    lp = launch("xipf")
    assert "model_context_window=32768" in lp.argv and "model_auto_compact_token_limit=24576" in lp.argv
    assert "model_context_window=131072" not in launch("xipo").argv
    pi = launch("pipf")
    assert any("contextWindow: 32768," in text for text in pi.files.values())
    assert any("contextWindow: 200000," in text for text in launch("pipo").files.values())
    qwen = launch("qipf")
    assert any('"contextWindowSize": 32768' in t for t in qwen.files.values())
    assert any('"contextWindowSize": 131072' in t for t in launch("qipo").files.values())
    gemini = [json.loads(t) for t in launch("mipf").files.values()]
    assert gemini[0]["model"]["compressionThreshold"] == round(24576 / 1048576, 4)  # 0.0234 x 1048576 = 75 % of 32k
    assert next(json.loads(t) for t in launch("mipo").files.values())["model"]["compressionThreshold"] == 0.5
    oc = json.loads(launch("oipf").env["OPENCODE_CONFIG_CONTENT"])["provider"]["xx"]["models"]["xx-big"]
    assert oc == {"limit": {"context": 32768, "output": 8192}}
    oc = json.loads(launch("oipo").env["OPENCODE_CONFIG_CONTENT"])["provider"]["xx"]["models"]["xx-big"]
    assert oc == {}  # no window known: no limit (a written 0/0 is a broken value)
    for code in ("pibf", "pid", "xibf", "cibf", "qibf", "qid", "mibf", "mid", "oibf", "oid"):  # no placeholder is ever left unrendered
        lp = launch(code)
        texts = [*lp.files.values(), *lp.argv, *(v for v in lp.env.values() if v)]
        assert not any("{window}" in t or "{compact" in t or "{output}" in t for t in texts), code


def test_context_values_is_a_pure_table() -> None:
    cfg = parse(TOML, env={})
    claude = PROFILES["claude"]
    assert context_values(claude, cfg, "open", None) == {"window": "200000", "output": "50000"}  # no window known
    # 131072 < the 200000 Claude Code assumes: compact at 98304 = 88 % of (131072 - 20000)
    assert context_values(claude, cfg, "wide", None) == {"window": "131072", "compact_at": "98304", "compact_pct": "88",
                                                         "compact_frac": "0.8850", "output": "32000", "apply": "1"}
    assert context_values(claude, cfg, "free", None)["compact_at"] == "24576"
    assert context_values(claude, cfg, None, None) == {"window": "200000", "output": "50000"}


def test_token_counts_are_not_masked_as_secrets_in_the_dry_run() -> None:
    from xx.plan import mask_env

    assert mask_env("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8192", ()) == "8192"
    assert mask_env("GITHUB_TOKEN", "ghp_abc", ()) == "***" and mask_env("API_TOKENS_SECRET", "x", ()) == "***"
    assert launch("cipf").to_json()["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
