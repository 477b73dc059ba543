"""`xx <code>` for real: recording stub agents on PATH, run in a pseudo-terminal.

Each stub writes the argv and environment it received as JSON and exits with a chosen code,
so the test sees exactly what the agent would see, and that xx's exit code is the agent's.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from xx import launch, profiles
from xx.plan import LaunchPlan

STUB = """#!{python}
import json, os, sys
out = os.path.join(os.environ["XX_STUB_OUT"], os.path.basename(sys.argv[0]) + ".json")
with open(out, "w") as f:
    json.dump({{"argv": sys.argv, "env": dict(os.environ), "tty": sys.stdin.isatty() and sys.stdout.isatty()}}, f)
print("stub ran")
sys.exit(int(os.environ.get("XX_STUB_EXIT", "0")))
"""
BINARIES = [p.binary for p in profiles.load_all(user=Path("/nonexistent")).values()]


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A scratch HOME/XDG tree and a PATH whose first entry holds the stub agents."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BINARIES:
        p = bin_dir / name
        p.write_text(STUB.format(python=sys.executable))
        p.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XX_STUB_OUT": str(out),
        "TERM": "xterm",
        "ANTHROPIC_BASE_URL": "https://somewhere-else.example",
        "HTTPS_PROXY": "http://corp:3128",
    }
    return {"env": env, "out": out, "tmp": tmp_path}


def run_pty(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run `python -m xx ARGS` with a pseudo-terminal as stdin/stdout/stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "xx", *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=max(1.0, deadline - time.monotonic())), b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def received(world: dict[str, Any], binary: str) -> dict[str, Any]:
    return json.loads((world["out"] / f"{binary}.json").read_text())


@pytest.mark.parametrize(
    ("args", "binary", "argv_tail", "exit_code"),
    [
        (["cnd", "-p", "say hi"], "claude", ["--dangerously-skip-permissions", "--settings",
                                             '{"skipDangerousModePermissionPrompt":true}', "-p", "say hi"], 0),
        (["xcd", "--safe"], "codex", ["resume", "--last", "-c", "check_for_update_on_startup=false"], 3),
        (["qnd", "-p", "hi", "--", "--debug"], "qwen", ["--yolo", "--debug", "hi"], 7),
        (["gsd", "-s", "conv-1"], "agy", ["--conversation", "conv-1"], 42),
    ],
)
def test_direct_launch_execs_the_agent_in_a_terminal(world: dict[str, Any], args: list[str], binary: str, argv_tail: list[str], exit_code: int) -> None:
    env = {**world["env"], "XX_STUB_EXIT": str(exit_code)}
    code, output = run_pty(args, env)
    assert code == exit_code, output
    got = received(world, binary)
    assert got["tty"] is True, "the agent owns the terminal"
    assert Path(got["argv"][0]).name == binary and got["argv"][1:] == argv_tail
    assert "ANTHROPIC_BASE_URL" not in got["env"] if binary == "claude" else True
    assert got["env"]["HTTPS_PROXY"] == "http://corp:3128", "direct keeps the user's proxy"
    assert "stub ran" in output


def test_missing_binary_names_the_package(world: dict[str, Any]) -> None:
    env = {**world["env"], "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "xx", "oid"], env=env, capture_output=True, text=True, input="", timeout=60)
    assert proc.returncode == 127
    assert "npm install -g opencode-ai" in proc.stderr


@pytest.mark.parametrize("args", [["zz"], ["c"], ["cz"], ["cipz"], ["cipdd"], ["cnp"], ["csp"], ["cip", "--bogus"]])
def test_invalid_codes_exit_2_with_a_message(world: dict[str, Any], args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "xx", *args], env=world["env"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() and not proc.stdout
    assert not list(world["out"].iterdir()), "nothing was launched"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_route_p_starts_the_real_gateway_and_points_the_agent_at_it(world: dict[str, Any]) -> None:
    try:
        from xx import supervisor  # noqa: F401
    except ImportError:
        print("skipping: xx.supervisor is not in this tree yet")
        pytest.skip("xx.supervisor missing")
    port = _free_port()
    cfg = world["tmp"] / "config.toml"
    from gateway.config import default_text

    cfg.write_text(default_text().replace("port = 8082", f"port = {port}"))
    # a key in the launching shell: the preflight lets the launch through (no request is sent)
    env = {**world["env"], "XX_CONFIG": str(cfg), "XX_STUB_EXIT": "5", "OPENROUTER_API_KEY": "sk-or-test-dummy"}
    try:
        code, output = run_pty(["cnp", "-p", "hello"], env, timeout=90)
        assert code == 5, output
        got = received(world, "claude")
        base = f"http://127.0.0.1:{port}"
        assert got["env"]["ANTHROPIC_BASE_URL"] == f"{base}/x/claude/p/free"
        assert got["env"]["ANTHROPIC_AUTH_TOKEN"] == "xx-local"
        assert got["env"]["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "xx-small"
        assert "HTTPS_PROXY" not in got["env"]
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{base}/health", timeout=5) as resp:
            assert json.loads(resp.read())["service"] == "xx-gateway"
    finally:
        subprocess.run([sys.executable, "-m", "xx", "gateway", "down"], env=env, capture_output=True, timeout=60)


def test_per_launch_files_and_overlay_leave_the_users_dir_alone(tmp_path: Path) -> None:
    user = tmp_path / "hermes-user"
    user.mkdir()
    (user / "config.yaml").write_text("display:\n  skin: mono\nmodel:\n  provider: openrouter")
    (user / "state.db").write_text("sessions")
    before = {p.name: p.read_bytes() for p in user.iterdir()}
    odir = tmp_path / "launch" / "hermes-home"
    lp = LaunchPlan(
        agent="hermes", binary="hermes", package="", argv=["hermes"], env={}, route="p", tier="free", gateway="x",
        files={str(odir / "config.yaml"): "\nmodel:\n  provider: xx\n"}, overlays={str(odir): str(user)}, launch_dir=None,
    )
    launch.write_files(lp)
    launch.write_files(lp)  # idempotent
    assert (odir / "state.db").is_symlink() and (odir / "state.db").read_text() == "sessions"
    text = (odir / "config.yaml").read_text()
    assert text.startswith("display:\n  skin: mono\n") and text.rstrip().endswith("provider: xx")
    assert oct((odir / "config.yaml").stat().st_mode & 0o777) == "0o600"
    assert {p.name: p.read_bytes() for p in user.iterdir()} == before


def test_tmux_plan_names_the_session_and_passes_the_whole_env() -> None:
    lp = LaunchPlan(agent="claude", binary="claude", package="", argv=["claude", "-c"], env={}, files={}, overlays={},
                    route="d", tier=None, gateway=None, launch_dir=None)
    outside = launch.tmux_argv("ccd", lp, {"A": "1"}, "/home/u/my.repo", inside_tmux=False)
    assert len(outside) == 1
    cmd = outside[0]
    name = cmd[cmd.index("-s") + 1]
    assert name.startswith("xx-ccd-my_repo-") and "." not in name and ":" not in name
    assert cmd[:3] == ["tmux", "new-session", "-A"] and cmd[-2:] == ["claude", "-c"]
    assert json.loads(cmd[cmd.index("claude") - 1]) == {"A": "1"}
    inside = launch.tmux_argv("ccd", lp, {}, "/home/u/my.repo", inside_tmux=True)
    assert [c[1] for c in inside] == ["has-session", "new-session", "switch-client"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_tmux_launch_runs_the_agent_in_a_named_session(world: dict[str, Any]) -> None:
    sock = world["tmp"] / "tmux.sock"
    env = {**world["env"], "XX_STUB_EXIT": "0", "TMUX_TMPDIR": str(world["tmp"])}
    env.pop("TMUX", None)
    code, output = run_pty(["cnd", "-p", "hi", "--tmux"], env)
    assert code == 0, output
    got = received(world, "claude")
    assert got["env"]["TMUX"], "the agent ran inside tmux"
    assert got["env"]["DISABLE_AUTOUPDATER"] == "1" and "ANTHROPIC_BASE_URL" not in got["env"]
    subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True)


HEAVY = ("textual", "quart", "httpx", "aiohttp", "tomlkit", "psutil", "hypercorn", "rich")


@pytest.mark.parametrize("args", [["--help"], ["cip", "--dry-run"], ["cip", "--dry-run", "--json"]])
def test_hot_path_imports_nothing_heavy(world: dict[str, Any], args: list[str]) -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from xx import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    cli.main({args!r})\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], env=world["env"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def _best_ms(cmd: list[str], env: dict[str, str], runs: int = 7) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t)
    return best * 1000


def test_hot_path_is_fast(world: dict[str, Any]) -> None:
    """The launcher's own share (beyond loading the config module) stays within 40 ms; the
    absolute budget, `xx cip --dry-run` within ~40 ms of `python -c pass`, is printed."""
    env = {**world["env"], "PYTHONDONTWRITEBYTECODE": ""}
    env.pop("PYTHONDONTWRITEBYTECODE")
    py = sys.executable
    base = _best_ms([py, "-c", "pass"], env)
    config_only = _best_ms([py, "-c", "import gateway.config; gateway.config.load()"], env)
    help_ms = _best_ms([py, "-m", "xx", "--help"], env)
    dry_ms = _best_ms([py, "-m", "xx", "cip", "--dry-run"], env)
    print(f"python -c pass {base:.0f} ms · config {config_only:.0f} ms · --help {help_ms:.0f} ms · cip --dry-run {dry_ms:.0f} ms")
    assert help_ms - base < 40
    assert dry_ms - config_only < 40


def test_bare_xx_without_a_terminal_says_the_picker_needs_one(tmp_path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "xx"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "the picker needs a terminal" in r.stderr and "xx --help" in r.stderr
    assert r.stderr.count("\n") == 1, "one line, not the whole help"


def test_tmux_without_a_terminal_is_refused_before_any_gateway_starts(world: dict[str, Any]) -> None:
    port = _free_port()
    cfg = world["tmp"] / "config.toml"
    from gateway.config import default_text

    cfg.write_text(default_text().replace("port = 8082", f"port = {port}"))
    env = {**world["env"], "XX_CONFIG": str(cfg), "OPENROUTER_API_KEY": "sk-or-test-dummy"}
    env.pop("TMUX", None)
    r = subprocess.run([sys.executable, "-m", "xx", "cip", "--tmux"], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2 and "--tmux needs a terminal" in r.stderr
    assert "open terminal failed" not in r.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "no gateway was started"
    assert not list(world["out"].iterdir())


def test_an_option_after_p_is_not_taken_as_the_prompt(tmp_path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "xx", "cnp", "-p", "--dry-run"], capture_output=True, text=True,
                       timeout=30, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "-p needs a value" in r.stderr


def test_suggested_codes_all_launch(world: dict[str, Any]) -> None:
    """`xx zz` once offered `ac`, which Ante refuses (no mode c): every suggestion must plan."""
    proc = subprocess.run([sys.executable, "-m", "xx", "zz"], env=world["env"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "did you mean: " in proc.stderr, proc.stderr
    offered = proc.stderr.split("did you mean: ")[1].split("?")[0].split(", ")
    assert offered and all(offered)
    for code in offered:
        dry = subprocess.run([sys.executable, "-m", "xx", code, "--dry-run"], env=world["env"],
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, f"`xx zz` suggested {code}, which is refused: {dry.stderr}"


def test_gemini_settings_stay_in_the_state_dir_below_tmp(world: dict[str, Any]) -> None:
    """HOME (and so the state dir) under /tmp: Gemini's per-launch settings are user settings in its own
    GEMINI_CLI_HOME there, which Gemini reads wherever they are (a system settings file it skips unless
    root owns every directory above it)."""
    proc = subprocess.run([sys.executable, "-m", "xx", "mnp", "-p", "hi", "--dry-run", "--json"], env=world["env"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    state = world["env"]["XDG_STATE_HOME"]
    assert out["env"]["GEMINI_CLI_HOME"].startswith(state) and "GEMINI_CLI_SYSTEM_SETTINGS_PATH" not in out["env"]
    assert list(out["files"]) == [out["env"]["GEMINI_CLI_HOME"] + "/.gemini/settings.json"]
