"""`xx <code> [options] [-- agent args]`: decode, plan, make sure the gateway is up, exec the agent.

The agent replaces this process (`os.execvpe`), so it owns the terminal and its exit code is
xx's. This is the hot path: stdlib, gateway.config and the pure xx modules only; the
supervisor is imported only when a gateway route really launches.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn

from gateway.config import Config, ConfigError, load, paths
from xx import codes, overlay, profiles
from xx.plan import LaunchPlan, Options, PlanError, plan

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127


USAGE = "usage: xx <code> [-m MODEL] [-s SESSION] [-p PROMPT] [--safe] [--unguarded] [--force] [--dry-run [--json]] [--tmux] [-- AGENT ARGS]"
HELP = USAGE + """

Launch an agent: <agent><mode>[<route>][<tier>], e.g. cip. `xx codes` prints the table.

options:
  -m, --model MODEL      the model the agent asks for
  -s, --session ID       session id for mode s (mapped to the agent's own resume flag)
  -p, --prompt PROMPT    the prompt: mode n runs it one-shot; modes c and s run one headless
                         turn in that session (where the agent can); mode i starts with it
  --safe                 leave the approval-bypass flags off
  --unguarded            the gateway neither repairs nor blocks this agent's tool calls, nor stops loops
  --dry-run              print the plan instead of launching (--json: one JSON object)
  --tmux                 run inside a named tmux session; re-attach if it exists
  --force                launch even when the gateway says the tier cannot serve now
  --                     everything after it goes to the agent
"""
_VALUED = {"-m": "model", "--model": "model", "-s": "session", "--session": "session", "-p": "prompt", "--prompt": "prompt"}
_FLAGS = {"--safe": "safe", "--dry-run": "dry_run", "--json": "json", "--tmux": "tmux", "--force": "force", "--unguarded": "unguarded"}


def parse_args(argv: list[str]) -> SimpleNamespace:
    """A hand parser: argparse alone costs more import time than the whole plan on this path."""
    ns = SimpleNamespace(code=None, model=None, session=None, prompt=None, safe=False, dry_run=False, json=False, tmux=False,
                         force=False, unguarded=False)
    it = iter(argv)
    for arg in it:
        if arg in ("-h", "--help"):
            print(HELP)
            raise SystemExit(0)
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUED:
            if not eq:
                value = next(it, None)  # type: ignore[assignment]
                if value is None or value in _FLAGS or value in _VALUED or value == "--":
                    # `-p --dry-run` must not turn a dry run into a real launch with the prompt "--dry-run"
                    _die(f"{name} needs a value\n{USAGE}")
            setattr(ns, _VALUED[name], value)
        elif arg in _FLAGS:
            setattr(ns, _FLAGS[arg], True)
        elif arg.startswith("-") and arg != "-":
            _die(f"unknown option {arg!r}\n{USAGE}")
        elif ns.code is None:
            ns.code = arg
        else:
            _die(f"unexpected argument {arg!r} (agent arguments go after `--`)\n{USAGE}")
    if ns.code is None:
        _die(f"missing the code\n{USAGE}")
    return ns


def split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def build(argv: list[str], environ: Mapping[str, str], gateway_url: str | None = None) -> tuple[SimpleNamespace, LaunchPlan, Config]:
    """Parse and plan without side effects; raises SystemExit(2) with a message when invalid."""
    own, extra = split_passthrough(argv)
    args = parse_args(own)
    try:
        config = load(env=environ)
        known = profiles.letters()
    except ConfigError as exc:
        _die(str(exc))
    try:
        spec = codes.decode(args.code, {letter: name for letter, (name, _) in known.items()},
                            [t.letter for t in config.tiers.values()])
        try:
            profile = profiles.load_one(known[spec.code[0]][1]) if spec.code[:1] in known else None
        except profiles.ProfileError as exc:
            _die(str(exc))
        if profile is None or profile.name != spec.agent:
            profile = profiles.load_all()[spec.agent]
        opts = Options(
            model=args.model, session=args.session, prompt=args.prompt, extra=tuple(extra), safe=args.safe,
            gateway_url=gateway_url, environ=dict(environ), is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
            state_dir=paths.state_dir(), home=Path(environ.get("HOME") or Path.home()),
            scan=_last_scan(config) if spec.route == "p" else None, unguarded=args.unguarded,
        )
        lp = plan(spec, profile, config, opts)
        return args, lp, config
    except codes.CodeError as exc:
        bare = Options(model=args.model, session=args.session, prompt=args.prompt, gateway_url=gateway_url,
                       environ=dict(environ), state_dir=paths.state_dir(), home=Path(environ.get("HOME") or Path.home()))
        _die(str(codes.CodeError(exc.reason, _launchable(args.code, exc, known, config, bare))))
    except PlanError as exc:
        _die(str(exc))


def _launchable(typed: str, exc: codes.CodeError, known: Mapping[str, tuple[str, Path]], config: Config,
                opts: Options, limit: int = 4) -> tuple[str, ...]:
    """The nearest codes that decode AND plan (a code whose agent lacks the mode is no suggestion)."""
    if not exc.suggestions:
        return ()
    agents = {letter: name for letter, (name, _) in known.items()}
    tiers = [t.letter for t in config.tiers.values()]
    found: list[str] = []
    loaded: dict[str, profiles.Profile] = {}
    for code in codes.nearest(typed, agents, tiers, limit=10_000):
        try:
            spec = codes.decode(code, agents, tiers)
            profile = loaded.get(code[0]) or loaded.setdefault(code[0], profiles.load_one(known[code[0]][1]))
            plan(spec, profile, config, opts)
        except (codes.CodeError, PlanError, profiles.ProfileError, KeyError):
            continue
        found.append(code)
        if len(found) == limit:
            break
    return tuple(found)


def _last_scan(config: Config):
    """The last model scan (context windows the config leaves open, the `m`/`f` ranking); a few hundred µs."""
    from gateway.scan import store
    from gateway.scan.view import build

    return build(store.load(store.default_path()), config)


def _die(message: str) -> NoReturn:
    print(f"xx: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def main(argv: list[str]) -> int:
    environ = dict(os.environ)
    args, lp, config = build(argv, environ)
    if args.dry_run:
        print_plan(lp, as_json=args.json)
        if lp.gateway is not None and os.environ.get("XX_GATEWAY_URL") is None:  # what the keys alone would say
            from xx import preflight

            verdict = preflight.local_check(config, lp.route, lp.tier, args.model)
            if not verdict.ok:
                print(f"xx: note: a real launch would be refused unless a running gateway holds a key: "
                      f"{verdict.reason}\n    fix: {verdict.fix}", file=sys.stderr)
        return 0
    import shutil

    if shutil.which(lp.binary, path=apply_env(environ, lp.env).get("PATH")) is None:
        print(f"xx: {lp.binary!r} is not on PATH. Install it: {lp.package}", file=sys.stderr)
        return EXIT_NOT_FOUND  # before starting a gateway nothing will use
    terminal = bool(os.environ.get("TMUX")) or (sys.stdin.isatty() and sys.stdout.isatty())
    use_tmux = args.tmux or (config.launcher.tmux and terminal)  # the config default yields to scripts
    if args.tmux and not terminal:
        print("xx: --tmux needs a terminal (stdin and stdout are not one); run from a terminal or without --tmux",
              file=sys.stderr)
        return EXIT_USAGE  # before starting a gateway nothing will use
    if lp.gateway is not None:
        code = connect(args, lp, config, environ)
        if code:
            return code
        url = config.gateway.url
        if url.rstrip("/") != lp.gateway:
            args, lp, config = build(argv, environ, gateway_url=url)
    env = apply_env(environ, lp.env)
    exe = shutil.which(lp.binary, path=env.get("PATH"))
    if exe is None:
        print(f"xx: {lp.binary!r} is not on PATH. Install it: {lp.package}", file=sys.stderr)
        return EXIT_NOT_FOUND
    write_files(lp)
    if use_tmux:
        return exec_tmux(args.code, lp, env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(exe, lp.argv, env)
    return 0  # unreachable


class _Refused(Exception):
    def __init__(self, verdict: object) -> None:
        self.verdict = verdict


def connect(args: SimpleNamespace, lp: LaunchPlan, config: Config, environ: Mapping[str, str]) -> int:
    """Attach to (or start, or restart) our gateway, then preflight the tier: 0, or the exit code.

    The key check runs before any gateway is started, so a launch with no usable key exits
    at once; quota and breaker state are the running gateway's to judge (`/xx/ready`).
    """
    from xx import preflight, remote, supervisor  # not on the dry-run path: keep it light

    if remote.target(environ) is not None:  # XX_GATEWAY_URL: a team gateway, never started from here
        problem = remote.check(environ, lp.agent, lp.route, lp.tier, args.model)
        if problem and not args.force:
            print(f"xx: {lp.agent} not started: {problem}\n    fix: `--force` launches anyway", file=sys.stderr)
            return 1
        return 0

    def keys_or_refuse() -> None:
        verdict = preflight.local_check(config, lp.route, lp.tier, args.model)
        if not verdict.ok and not args.force:
            raise _Refused(verdict)

    try:
        supervisor.ensure_running(config, environ=environ, before_start=keys_or_refuse)
    except _Refused as refused:
        print(preflight.message(lp.agent, refused.verdict), file=sys.stderr)  # type: ignore[arg-type]
        return 1
    except supervisor.SupervisorError as exc:
        print(f"xx: the gateway is not usable: {exc}\n    (`xx {args.code[:2]}d` launches direct, without it)",
              file=sys.stderr)
        return 1
    if args.force:
        return 0
    verdict = preflight.wait_briefly(lambda: preflight.remote_check(config, lp.agent, lp.route, lp.tier, args.model),
                                     progress=_progress_line)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[2K")
    if not verdict.ok:
        print(preflight.message(lp.agent, verdict), file=sys.stderr)
        return 1
    for warning in verdict.warnings:
        print(f"xx: warning: {warning}", file=sys.stderr)
    return 0


def _progress_line(text: str) -> None:
    """On a terminal, one line rewritten in place; elsewhere nothing (a script sees only the outcome)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[2K{text}")
        sys.stderr.flush()


def print_plan(lp: LaunchPlan, as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(lp.to_json(), indent=2))
        return
    import shlex

    data = lp.to_json()
    print(f"# route {lp.route}" + (f", tier {lp.tier}, gateway {lp.gateway}" if lp.gateway else " (direct, no gateway)"))
    for name, value in sorted(data["env"].items()):  # type: ignore[union-attr]
        print(f"unset {name}" if value is None else f"export {name}={shlex.quote(value)}")
    for path, content in lp.files.items():
        print(f"# per-launch file {path}:\n" + "".join(f"#   {line}\n" for line in content.strip().splitlines()), end="")
    print(shlex.join(data["argv"]))  # type: ignore[arg-type]


def apply_env(environ: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    env = dict(environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def write_files(lp: LaunchPlan) -> None:
    """Per-launch files, private to the user; an overlay mirrors the user's dir by symlinks.

    A file inside an overlay whose source has the same name is laid over the user's file
    (xx/overlay.py: YAML text appended, JSON deep-merged; our keys win either way).
    """
    for odir, source in lp.overlays.items():
        dest = Path(odir)
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        src = Path(source)
        if not src.is_dir():
            continue
        for entry in src.iterdir():
            link = dest / entry.name
            if str(link) in lp.files:
                continue
            if link.is_symlink() or not link.exists():
                if link.is_symlink():
                    link.unlink()
                link.symlink_to(entry)
    for path, content in lp.files.items():
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for odir, source in lp.overlays.items():
            if p.is_relative_to(odir):
                content, warning = overlay.layered(Path(source) / p.relative_to(odir), content)
                if warning:
                    print(f"xx: warning: {warning}", file=sys.stderr)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(content)
        tmp.chmod(0o600)
        tmp.replace(p)


def tmux_session_name(code: str, cwd: str) -> str:
    """`xx-cip-myrepo-1a2b`: tmux forbids '.' and ':'; the hash keeps two same-named dirs apart."""
    import hashlib

    base = re.sub(r"[^A-Za-z0-9_-]", "_", Path(cwd).name or "root")[:24]
    return f"xx-{code}-{base}-{hashlib.sha1(cwd.encode()).hexdigest()[:4]}"


# Runs inside the tmux pane: replaces the pane's environment with the planned one (a tmux
# server keeps its own, possibly stale, environment) but keeps the TMUX variables the pane got.
_PANE_EXEC = (
    "import json, os, sys; env = json.loads(sys.argv[1]); "
    "env.update({k: v for k, v in os.environ.items() if k in ('TMUX', 'TMUX_PANE')}); "
    "os.execvpe(sys.argv[2], sys.argv[2:], env)"
)


def tmux_argv(code: str, lp: LaunchPlan, env: Mapping[str, str], cwd: str, inside_tmux: bool) -> list[list[str]]:
    """The tmux commands to run: attach to the named session, creating it if needed."""
    import json

    name = tmux_session_name(code, cwd)
    command = [sys.executable, "-c", _PANE_EXEC, json.dumps(dict(env)), *lp.argv]
    if inside_tmux:
        return [
            ["tmux", "has-session", "-t", f"={name}"],
            ["tmux", "new-session", "-d", "-s", name, "-c", cwd, "--", *command],
            ["tmux", "switch-client", "-t", f"={name}"],
        ]
    return [["tmux", "new-session", "-A", "-s", name, "-c", cwd, "--", *command]]


def exec_tmux(code: str, lp: LaunchPlan, env: dict[str, str]) -> int:
    import shutil

    tmux = shutil.which("tmux")
    if tmux is None:
        print("xx: --tmux needs tmux: install it (apt-get install tmux / brew install tmux)", file=sys.stderr)
        return EXIT_NOT_FOUND
    inside = bool(os.environ.get("TMUX"))
    steps = tmux_argv(code, lp, env, os.getcwd(), inside)
    if inside:
        import subprocess

        exists = subprocess.run(steps[0], capture_output=True).returncode == 0
        if not exists:
            subprocess.run(steps[1], check=False)
        os.execv(tmux, steps[2])
    os.execv(tmux, steps[0])
    return 0  # unreachable
