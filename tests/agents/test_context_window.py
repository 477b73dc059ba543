"""A real Claude Code on a tier whose models have a 32k window: the launcher's compaction variables,
no over-window request upstream, and the "prompt is too long" answer Claude Code acts on.

Its own world (simulator, config, gateway port): the tier `f` here has `context = 32768` on every
model, which the shared world's config must not have.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents.harness import World
from agents.installer import Installed

pytestmark = pytest.mark.agents

WINDOW = 32768
CLAUDE_CODE_PATTERN = re.compile(r"prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)", re.I)


@pytest.fixture(scope="module")
def small_world(installed: Installed, runs_dir: Path) -> Iterator[World]:
    if "claude" in installed.skipped:
        pytest.skip(f"claude not installed: {installed.skipped['claude']}")
    from gateway.simulator.config import sim_config_text

    root = Path(tempfile.mkdtemp(prefix="ctx-", dir=runs_dir))
    w = World(root, [str(installed.bin_dir())])
    text = sim_config_text(w.sim_url, port=w.gateway_port, rpm=100_000, rpd=1_000_000)
    text = re.sub(r"(\[models\.sim-[a-z]+\]\n)", rf"\1context = {WINDOW}\n", text)  # every model: a 32k window
    w.config.write_text(text)
    try:
        yield w
    finally:
        w.close()
        shutil.rmtree(root, ignore_errors=True)


def test_the_plan_sets_claude_codes_compaction_window(small_world: World) -> None:
    env = small_world.dry_run("cipf")["env"]
    assert env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == str(WINDOW)
    # Claude Code 2.1.197 compacts at pct % of (max(100000, window) - min(20000, max output)): 26 % of 91808 = 23870,
    # and its answers are capped at 8192 tokens: 23870 + 8192 < 32768
    assert env["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == "26" and env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
    assert "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in env


def test_a_real_turn_fits_and_an_over_window_one_never_goes_upstream(small_world: World) -> None:
    w = small_world
    ok = w.xx("cnpf", "-p", "say hi", cwd=w.project("claude"))
    assert ok.returncode == 0 and "SIM-ANSWER(" in ok.stdout, ok.describe()
    # ~120 KB of prompt: over the 32k window by the gateway's estimate, under Linux's 128 KB argument limit
    big = w.xx("cnpf", "-p", "summarise this: " + "lorem ipsum dolor sit amet " * 4400, cwd=w.project("claude"))
    rows = w.wait_ledger(ok.started, "claude", count=2)
    refused = [r for r in rows if r["status"] == 400]
    assert refused, f"no refused request\n{big.describe()}\n{[(r['role'], r['status'], r['error']) for r in rows]}"
    for r in refused:
        m = CLAUDE_CODE_PATTERN.search(r["error"] or "")
        assert m and int(m.group(1)) > WINDOW and int(m.group(2)) == WINDOW, r["error"]
        assert not r["attempts"], "a refused request must not have been tried upstream"
    # Claude Code read both numbers out of the error (its own message: "Prompt is too long · the request is
    # ~N tokens (limit 32768) ..."): the shape it acts on, compacting when the conversation allows it
    assert big.returncode != 0 and f"limit {WINDOW}" in big.stdout, big.describe()
    for call in w.sim_calls(ok.started):
        size = len(json.dumps(call["body"]))
        assert size // 4 <= WINDOW, f"an over-window request reached the provider: ~{size // 4} tokens"


def test_a_conversation_that_outgrows_the_window_is_compacted_and_goes_on(small_world: World) -> None:
    """Three turns in one session on a 32k tier: before the third, Claude Code compacts (its usage passed the
    threshold the launcher set: CLAUDE_AUTOCOMPACT_PCT_OVERRIDE of 91808), the summary request fits the window,
    and the turn is answered. Nothing over the window reaches the provider."""
    w = small_world
    project = w.project("claude-long")
    first = w.xx("cnpf", "-p", "say hi", cwd=project)
    assert first.returncode == 0, first.describe()
    for n, words in (("two", 1000), ("three", 1400)):  # ~5.7k and ~8k tokens on top of ~19.5k of system and tools
        run = w.xx("ccpf", "-p", f"turn {n}: " + "iota kappa lambda mu " * words, cwd=project)
        assert run.returncode == 0 and f"turn {n}" in run.stdout, run.describe()
    calls = w.sim_calls(first.started)
    summaries = [c for c in calls if "<summary> block" in json.dumps(c["body"])]
    assert summaries, "Claude Code never compacted"
    for call in calls:
        assert len(json.dumps(call["body"])) // 4 <= WINDOW, "an over-window request reached the provider"
    rows = w.ledger(first.started, "claude")
    assert all(r["status"] == 200 for r in rows), [(r["status"], r["error"]) for r in rows]


def test_gemini_cli_takes_its_compression_threshold_from_the_window(small_world: World, installed: Installed) -> None:
    """Gemini CLI compresses at compressionThreshold x 1048576 (what it assumes for xx-big): 0.0234 is 75 % of 32k."""
    if "gemini" in installed.skipped:
        pytest.skip(f"gemini not installed: {installed.skipped['gemini']}")
    files = small_world.dry_run("mipf")["files"]
    settings = json.loads(next(t for p, t in files.items() if p.endswith("/.gemini/settings.json")))
    assert settings["model"]["compressionThreshold"] == 0.0234
    run = small_world.xx("mnpf", "-p", "say hi", cwd=small_world.project("gemini"))
    assert run.returncode == 0 and "SIM-ANSWER(" in run.stdout, run.describe()


def test_opencode_takes_the_window_as_its_model_limit(small_world: World, installed: Installed) -> None:
    if "opencode" in installed.skipped:
        pytest.skip(f"opencode not installed: {installed.skipped['opencode']}")
    env = small_world.dry_run("oipf")["env"]
    limit = json.loads(env["OPENCODE_CONFIG_CONTENT"])["provider"]["xx"]["models"]["xx-big"]["limit"]
    assert limit == {"context": WINDOW, "output": WINDOW // 4}
    run = small_world.xx("onpf", "-p", "say hi", cwd=small_world.project("opencode"))
    assert run.returncode == 0 and "SIM-ANSWER(" in run.stdout, run.describe()


def test_hermes_reads_the_window_from_the_gateways_model_metadata(small_world: World, installed: Installed) -> None:
    """Hermes asks GET /v1/models/<m> before each turn; the gateway answers the tier's largest big window.
    Hermes needs 64K: on this tier of 32k models it refuses at once and says why, instead of failing
    mid-conversation (with one larger model in the tier it would be told that one's window and run)."""
    if "hermes" in installed.skipped:
        pytest.skip(f"hermes not installed: {installed.skipped['hermes']}")
    import urllib.request

    run = small_world.xx("hnpf", "-p", "say hi", cwd=small_world.project("hermes"))
    assert run.returncode != 0 and "context window of 32,768 tokens" in run.stdout, run.describe()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{small_world.gateway_url}/x/hermes/p/f/v1/models/xx-big", timeout=10) as resp:
        assert json.loads(resp.read())["context_length"] == WINDOW


@pytest.mark.parametrize(("name", "code", "expect"), [
    ("codex", "xnpf", ["model_context_window=32768", "model_auto_compact_token_limit=24576"]),
    ("qwen", "qnpf", ['"contextWindowSize": 32768']),
    ("pi", "pnpf", ["contextWindow: 32768,"]),
])  # fmt: skip
def test_other_clis_take_the_window_and_still_answer(small_world: World, installed: Installed, name: str, code: str,
                                                     expect: list[str]) -> None:
    if name in installed.skipped:
        pytest.skip(f"{name} not installed: {installed.skipped[name]}")
    plan = small_world.dry_run(code, "-p", "say hi")
    texts = [*plan["argv"], *plan["files"].values(), *(v for v in plan["env"].values() if v)]
    assert all(any(e in t for t in texts) for e in expect), (expect, texts)
    run = small_world.xx(code, "-p", "say hi", cwd=small_world.project(name))
    assert run.returncode == 0 and "SIM-ANSWER(" in run.stdout, run.describe()
