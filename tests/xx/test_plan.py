"""`xx <code> --dry-run --json` for every agent × mode × route, checked against reference/agents.md."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gateway.config import parse
from xx import codes, launch, profiles
from xx.plan import Options, PlanError, plan

PROFILES = profiles.load_all(user=Path("/nonexistent"))
MODES = list(codes.MODES)
ROUTES = list(codes.ROUTES)
ID = "0b9f3c1e-5b7a-4c1e-9a63-2f1d2b3c4d5e"

# The argv each (agent, mode) must contain, in order (a subsequence), from agents.md section 2.
MODE_ARGV: dict[tuple[str, str], list[str]] = {
    ("claude", "i"): [], ("claude", "c"): ["--continue"], ("claude", "r"): ["--resume"],
    ("claude", "s"): ["--resume", ID], ("claude", "n"): ["-p", "hello"],
    ("codex", "i"): [], ("codex", "c"): ["resume", "--last"], ("codex", "r"): ["resume"],
    ("codex", "s"): ["resume", ID], ("codex", "n"): ["exec", "--skip-git-repo-check", "hello"],
    ("qwen", "i"): [], ("qwen", "c"): ["--continue"], ("qwen", "r"): ["--resume"],
    ("qwen", "s"): ["--resume", ID], ("qwen", "n"): ["hello"],
    ("pi", "i"): [], ("pi", "c"): ["--continue"], ("pi", "r"): ["--resume"],
    ("pi", "s"): ["--session", ID], ("pi", "n"): ["-p", "hello"],
    ("opencode", "i"): [], ("opencode", "c"): ["--continue"], ("opencode", "s"): ["--session", ID],
    ("opencode", "n"): ["run", "hello"],
    ("gemini", "i"): [], ("gemini", "c"): ["--resume", "latest"], ("gemini", "s"): ["--resume", "3"],
    ("gemini", "n"): ["--skip-trust", "-p", "hello"],
    ("hermes", "i"): [], ("hermes", "c"): ["--continue"], ("hermes", "r"): ["sessions", "browse"],
    ("hermes", "s"): ["--resume", ID], ("hermes", "n"): ["chat", "-Q", "-q", "hello"],
    ("ante", "i"): [],
    ("antigravity", "i"): [], ("antigravity", "s"): ["--conversation", ID],
}
BYPASS = {
    "claude": "--dangerously-skip-permissions", "codex": "--dangerously-bypass-approvals-and-sandbox",
    "qwen": "--yolo", "opencode": "--auto", "gemini": "--yolo", "hermes": "--yolo",
}
# Modes that take no bypass flag by design (a picker subcommand).
NO_BYPASS = {("hermes", "r")}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("XX_CONFIG", raising=False)
    monkeypatch.delenv("HERMES_HOME", raising=False)
    # Inherited variables that would send traffic elsewhere.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://old-proxy.example")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-user")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://other.example/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://corp:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    return tmp_path


def dry(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    cut = args.index("--") if "--" in args else len(args)
    assert launch.main([*args[:cut], "--dry-run", "--json", *args[cut:]]) == 0
    return json.loads(capsys.readouterr().out)


def case_args(agent: str, mode: str, route: str) -> list[str]:
    args = [PROFILES[agent].letter + mode + route]
    if mode == "n":
        args += ["-p", "hello"]
    if mode == "s":
        args += ["-s", "3" if agent == "gemini" else ID]
    return args


def is_subsequence(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(x == y for y in it) for x in needle)


CASES = [(a, m, r) for a in sorted(PROFILES) for m in MODES for r in ROUTES]


@pytest.mark.parametrize(("agent", "mode", "route"), CASES, ids=[f"{a}-{m}{r}" for a, m, r in CASES])
def test_every_agent_mode_route(agent: str, mode: str, route: str, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = PROFILES[agent]
    args = case_args(agent, mode, route)
    if (agent, mode) not in MODE_ARGV:
        with pytest.raises(SystemExit) as info:
            launch.main([*args, "--dry-run", "--json"])
        assert info.value.code == 2
        assert args[0] in capsys.readouterr().err
        return
    out = dry(args, capsys)
    assert set(out) == {"argv", "env", "route", "tier", "gateway", "files"}
    argv, env, files = out["argv"], out["env"], out["files"]
    assert argv[0] == prof.binary
    assert is_subsequence(MODE_ARGV[(agent, mode)], argv[1:]), argv
    if agent in BYPASS and (agent, mode) not in NO_BYPASS:
        assert BYPASS[agent] in argv
    everything = json.dumps(out)
    assert out["route"] == route
    if route == "d":
        assert out["gateway"] is None and out["tier"] is None
        assert "/x/" not in everything and "xx-local" not in everything
        assert "HTTPS_PROXY" not in env  # a direct launch may need the user's proxy
        assert env.get("XX_GATEWAY_KEY", "absent") is None
    else:
        assert out["gateway"] == "http://127.0.0.1:8082" and out["tier"] == "free"
        if (agent, mode) != ("hermes", "r"):
            assert f"http://127.0.0.1:8082/x/{agent}/{route}/free" in everything
        assert env["HTTPS_PROXY"] is None and "NO_PROXY" not in env
        if agent != "antigravity":
            assert "x-xx-agent" in everything
    for path in files:
        assert path.startswith(str(scratch / "xdg_state_home")), "per-launch files live under the state dir"
    for value in env.values():
        assert value is None or "sk-ant-user" not in value


def test_claude_proxy_env(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = dry(["cip"], capsys)["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8082/x/claude/p/free"
    assert env["ANTHROPIC_AUTH_TOKEN"] == "xx-local"
    assert env["ANTHROPIC_API_KEY"] is None  # stripped: the gateway token replaces a provider key
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == "x-xx-agent: claude"
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "xx-big"
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == env["ANTHROPIC_SMALL_FAST_MODEL"] == "xx-small"
    for name, value in {"CLAUDE_CODE_ATTRIBUTION_HEADER": "0", "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
                        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}.items():
        assert env[name] == value
    assert (env.get("IS_SANDBOX") == "1") is (os.geteuid() == 0)


def test_claude_bypass_route_keeps_models_and_direct_keeps_the_users_key(
    scratch: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_DEFAULT_OPUS_MODEL", "claude-opus-old")
    env = dry(["cib"], capsys)["env"]
    assert env["ANTHROPIC_BASE_URL"].endswith("/x/claude/b/free")
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] is None  # inherited one stripped, none set
    assert "ANTHROPIC_SMALL_FAST_MODEL" not in env
    env = dry(["cid"], capsys)["env"]
    assert env["ANTHROPIC_BASE_URL"] is None and "ANTHROPIC_API_KEY" not in env
    assert env["DISABLE_AUTOUPDATER"] == "1"


def test_safe_leaves_bypass_off_and_root_sandbox_unset(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["cip", "--safe"], capsys)
    assert "--dangerously-skip-permissions" not in out["argv"] and "IS_SANDBOX" not in out["env"]


def test_tier_and_model_and_passthrough(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["xipd", "-m", "gpt-x", "--", "--search", "-c", "a=b"], capsys)
    assert out["tier"] == "deepseek"
    argv = out["argv"]
    assert is_subsequence(["-m", "gpt-x", "--search", "-c", "a=b"], argv)
    provider = next(a for a in argv if a.startswith("model_providers.xx="))
    assert 'base_url="http://127.0.0.1:8082/x/codex/p/deepseek/v1"' in provider
    assert 'wire_api="responses"' in provider and 'env_key="XX_GATEWAY_KEY"' in provider
    assert "model_provider=xx" in argv and out["env"]["XX_GATEWAY_KEY"] == "xx-local"


def test_qwen_gemini_settings_files(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["qip"], capsys)
    path = out["env"]["QWEN_CODE_SYSTEM_SETTINGS_PATH"]
    settings = json.loads(out["files"][path])
    assert settings["general"]["enableAutoUpdate"] is False
    assert settings["model"]["generationConfig"]["customHeaders"] == {"x-xx-agent": "qwen"}
    assert out["env"]["OPENAI_BASE_URL"] == "http://127.0.0.1:8082/x/qwen/p/free/v1"
    assert is_subsequence(["--auth-type", "openai", "-m", "xx-big"], out["argv"])
    out = dry(["mnp", "-p", "hi"], capsys)
    # User settings in a per-launch GEMINI_CLI_HOME: Gemini skips a system settings file not owned by root.
    assert "GEMINI_CLI_SYSTEM_SETTINGS_PATH" not in out["env"]
    settings = json.loads(out["files"][out["env"]["GEMINI_CLI_HOME"] + "/.gemini/settings.json"])
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert out["env"]["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:8082/x/gemini/p/free"


def test_pi_extension_and_opencode_config(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["pip"], capsys)
    ext = out["argv"][out["argv"].index("-e") + 1]
    assert 'baseUrl: "http://127.0.0.1:8082/x/pi/p/free/v1"' in out["files"][ext]
    assert is_subsequence(["--model", "xx/xx-big"], out["argv"])
    out = dry(["onp", "-p", "hi"], capsys)
    conf = json.loads(out["env"]["OPENCODE_CONFIG_CONTENT"])
    xx = conf["provider"]["xx"]
    assert xx["options"]["baseURL"] == "http://127.0.0.1:8082/x/opencode/p/free/v1"
    assert xx["options"]["apiKey"] == "{env:XX_GATEWAY_KEY}" and "xx-big" in xx["models"]
    assert is_subsequence(["run", "--auto", "-m", "xx/xx-big", "hi"], out["argv"])


def test_hermes_overlay_config(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dry(["hnp", "-p", "hi"], capsys)
    home = out["env"]["HERMES_HOME"]
    config = out["files"][home + "/config.yaml"]
    assert "provider: xx" in config and 'base_url: "http://127.0.0.1:8082/x/hermes/p/free/v1"' in config
    assert "key_env: XX_GATEWAY_KEY" in config


def test_secrets_are_masked(scratch: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = scratch / "xx.toml"
    from gateway.config import default_text

    cfg.write_text(default_text().replace('# token = "$XX_GATEWAY_TOKEN"', 'token = "$XX_GATEWAY_TOKEN"'))
    monkeypatch.setenv("XX_CONFIG", str(cfg))
    monkeypatch.setenv("XX_GATEWAY_TOKEN", "s3cret-token-value")
    out = dry(["cip"], capsys)
    assert "s3cret-token-value" not in json.dumps(out)
    assert out["env"]["ANTHROPIC_AUTH_TOKEN"] == "***"


def test_direct_removes_leftover_gateway_variables() -> None:
    config = parse("")
    env = {"ANTHROPIC_AUTH_TOKEN": "xx-local", "SOME_URL": "http://127.0.0.1:8082/x/claude/p/free", "OK": "1"}
    spec = codes.decode("cid", {"c": "claude"}, [])
    lp = plan(spec, PROFILES["claude"], config, Options(environ=env))
    assert lp.env["ANTHROPIC_AUTH_TOKEN"] is None and lp.env["SOME_URL"] is None and "OK" not in lp.env


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cnp"], "needs a prompt"),
        (["csp"], "needs its id"),
        (["cip", "-s", "x"], "-s only applies to mode s"),
        (["hip", "-p", "x"], "takes no first prompt"),
        (["orp"], "no resume-picker"),
        (["msp", "-s", "not-an-index"], "index"),
        (["acp"], "unknown for Ante"),
    ],
)
def test_option_refusals(args: list[str], message: str, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        launch.main([*args, "--dry-run"])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_plan_error_for_unknown_tier_letter_in_config() -> None:
    spec = codes.Spec("cipz", "claude", "i", "p", "z")
    with pytest.raises(PlanError):
        plan(spec, PROFILES["claude"], parse(""), Options())


# One headless turn in an existing session (`-p` with mode c or s), from agents.md section 2.
HEADLESS_ARGV: dict[tuple[str, str], list[str]] = {
    ("claude", "c"): ["--continue", "-p", "again"], ("claude", "s"): ["--resume", ID, "-p", "again"],
    ("codex", "c"): ["exec", "resume", "--last", "again"], ("codex", "s"): ["exec", "resume", ID, "again"],
    ("qwen", "c"): ["--continue", "again"], ("qwen", "s"): ["--resume", ID, "again"],
    ("pi", "c"): ["--continue", "-p", "again"], ("pi", "s"): ["--session", ID, "-p", "again"],
    ("opencode", "c"): ["run", "--continue", "again"], ("opencode", "s"): ["run", "--session", ID, "again"],
    ("gemini", "c"): ["--resume", "latest", "--skip-trust", "-p", "again"],
    ("gemini", "s"): ["--resume", "3", "--skip-trust", "-p", "again"],
    ("hermes", "c"): ["chat", "-Q", "-q", "again", "--continue"],
    ("hermes", "s"): ["chat", "-Q", "-q", "again", "--resume", ID],
}


@pytest.mark.parametrize(("agent", "mode"), list(HEADLESS_ARGV), ids=[f"{a}-{m}" for a, m in HEADLESS_ARGV])
def test_headless_turn_in_a_session(agent: str, mode: str, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [PROFILES[agent].letter + mode + "p", "-p", "again"]
    if mode == "s":
        args += ["-s", "3" if agent == "gemini" else ID]
    argv = dry(args, capsys)["argv"]
    assert is_subsequence(HEADLESS_ARGV[agent, mode], argv), argv
    assert argv.count("again") == 1, argv


def test_headless_template_only_for_c_and_s() -> None:
    problems: list[str] = []
    data = {"name": "t", "letter": "t", "dialect": "openai", "modes": {"i": ["x"], "n": ["-p", "{prompt}"]},
            "headless": {"n": ["-p", "{prompt}"], "c": ["--continue"]}}
    assert profiles.parse(data, "t.toml", problems) is None
    assert any("headless.n" in p for p in problems) and any("headless.c" in p and "not in [modes]" in p for p in problems)
