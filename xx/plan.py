"""Turn (code, profile, config, options) into the exact argv, env changes and per-launch files.

Pure: everything it needs (inherited environment, uid, state dir, home) comes in through
`Options`, so one test can check every agent × mode × route without touching a disk or a
process. `launch` performs the plan; `--dry-run` prints it.

Placeholders in profile templates: {url} gateway root, {base} `<url>/x/<agent>/<route>/<tier>`,
{token}, {agent}, {model}, {tier}, {route}, {session}, {prompt}, {dir} the per-launch directory,
{file:NAME} a per-launch file's path, {window} {compact_at} {compact_pct} the context window
(see `context_values`). Unknown braces (JSON, `{env:VAR}`) are left alone.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from pathlib import Path

from gateway.config import Config
from gateway.config.record import field, record
from gateway.scan.view import ScanView
from gateway.scrubbing import scrub
from xx.codes import Spec
from xx.profiles import Profile, Wiring
from xx.remote import target

UNGUARDED = "+unguarded"  # on the URL's agent segment: the gateway leaves tool calls alone (gateway/guards)

PLACEHOLDER_TOKEN = "xx-local"  # a fixed, non-secret token for a loopback gateway without one
KEY_ENV = "XX_GATEWAY_KEY"
# Inherited variables that would send an agent's traffic somewhere other than the gateway.
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_SECRET_NAME = re.compile(r"KEY|TOKEN(?!S)|SECRET|PASSWORD|AUTH", re.I)  # *_TOKENS are counts, not secrets
_PLACE = re.compile(r"\{(url|base|token|agent|model|tier|route|session|prompt|dir|window|compact_at|compact_pct"
                    r"|compact_frac|output|limit_json|file:[^{}]+)\}")
COMPACT_AT = 0.75  # compact at this share of the real window: room for the answer and for estimate slack


class PlanError(ValueError):
    """Options that cannot work with this agent and mode; the message says what to do."""


@record
class Options:
    model: str | None = None
    session: str | None = None
    prompt: str | None = None
    extra: tuple[str, ...] = ()
    safe: bool = False                      # leave the bypass-approval flags off
    gateway_url: str | None = None          # what ensure_running returned; default config's url
    environ: Mapping[str, str] = field(default_factory=dict)
    is_root: bool = False
    state_dir: Path = Path("/nonexistent/xx-state")
    home: Path = Path("~")
    scan: ScanView | None = None            # the last model scan (windows of models the config leaves open)
    unguarded: bool = False                 # --unguarded: the URL tells the gateway to leave tool calls alone


@record
class LaunchPlan:
    agent: str
    binary: str
    package: str
    argv: list[str]
    env: dict[str, str | None]              # NAME -> value, or None to remove it
    files: dict[str, str]                   # absolute path -> content
    overlays: dict[str, str]                # per-launch dir -> the user's dir it mirrors
    route: str
    tier: str | None
    gateway: str | None
    launch_dir: str | None
    secrets: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The `--dry-run --json` contract, secret values masked."""
        return {
            "argv": [mask_text(a, self.secrets) for a in self.argv],
            "env": {k: mask_env(k, v, self.secrets) for k, v in self.env.items()},
            "route": self.route,
            "tier": self.tier,
            "gateway": self.gateway,
            "files": dict(self.files),
        }


def plan(spec: Spec, profile: Profile, config: Config, options: Options) -> LaunchPlan:
    mode = spec.mode
    if mode not in profile.modes:
        reason = profile.unsupported.get(mode) or f"{profile.name} has no mode {mode!r}"
        raise PlanError(f"{spec.code}: {reason}")
    _check_options(spec, profile, options)
    gated = spec.route in ("p", "b")
    tier = _tier_name(spec, config) if gated else None
    remote = target(options.environ) if gated else None  # XX_GATEWAY_URL: a team gateway (xx/remote.py)
    url = (remote[0] if remote else (options.gateway_url or config.gateway.url)).rstrip("/") if gated else None
    token = (remote[1] if remote else None) or config.gateway.token or PLACEHOLDER_TOKEN

    wiring = _merge(profile.gateway, profile.proxy) if spec.route == "p" else profile.gateway if gated else profile.direct
    model = options.model or wiring.default_model
    values: dict[str, str] = {"agent": profile.name, "route": spec.route, "tier": tier or ""}
    if url:
        values |= {"url": url, "base": f"{url}/x/{profile.name}{UNGUARDED if options.unguarded else ''}/{spec.route}/{tier}", "token": token}
    values |= {"model": model or "", "session": options.session or "", "prompt": options.prompt or ""}
    # Route b forwards the model the agent asked for: the tier's windows say nothing about it (defaults only).
    context = context_values(profile, config, tier if spec.route == "p" else None, options.scan)
    values |= {k: v for k, v in context.items() if k != "apply"}
    values["limit_json"] = limit_json(context)

    # Files first: their content decides the per-launch directory, which env and argv then name.
    contents = {name: render(text, values) for name, text in wiring.files.items()}
    launch_dir = _launch_dir(options.state_dir, profile.name, contents) if (contents or wiring.overlay) else None
    if launch_dir:
        values["dir"] = str(launch_dir)
    files = {str(launch_dir / name): text for name, text in contents.items()} if launch_dir else {}
    overlays: dict[str, str] = {}
    if wiring.overlay and launch_dir:
        src = _overlay_source(wiring.overlay.sources, options)
        if src:
            overlays[str(launch_dir / wiring.overlay.dir)] = src

    argv = _argv(profile, mode, wiring, values, options, apply_context=bool(context.get("apply")), model=model)
    env = _env(profile, wiring, values, config, options, gated=gated, apply_context=bool(context.get("apply")))
    secrets = tuple(s for s in config.secrets() if s) + ((token,) if remote and remote[1] else ())
    return LaunchPlan(
        agent=profile.name, binary=profile.binary, package=profile.package, argv=argv, env=env,
        files=files, overlays=overlays, route=spec.route, tier=tier, gateway=url,
        launch_dir=str(launch_dir) if launch_dir else None, secrets=secrets,
    )


def _argv(profile: Profile, mode: str, wiring: Wiring, values: dict[str, str], options: Options, *,
          apply_context: bool, model: str | None) -> list[str]:
    """The mode's template with its @slots filled (values rendered, extra args passed as given)."""
    headless = bool(options.prompt) and mode in profile.headless
    slots = {
        "@always": list(profile.always),
        "@bypass": list(profile.bypass) if not options.safe else [],
        "@route": list(wiring.args) + (list(profile.context.get("args", ())) if apply_context else []),
        "@model": list(wiring.model if wiring.model is not None else profile.model) if model else [],
        "@extra": list(options.extra),
        "@prompt": list(profile.prompt or ()) if options.prompt and mode != "n" and not headless else [],
    }
    argv = [profile.binary]
    for tok in profile.headless[mode] if headless else profile.modes[mode]:
        if tok in slots:
            argv += [render(t, values) for t in slots[tok]] if tok != "@extra" else slots[tok]
        else:
            argv.append(render(tok, values))
    return argv


def _env(profile: Profile, wiring: Wiring, values: dict[str, str], config: Config, options: Options, *,
         gated: bool, apply_context: bool) -> dict[str, str | None]:
    """Variables to set (str) or remove (None): stripped first, then the profile's, the route's, the context's."""
    env: dict[str, str | None] = {}
    strip = list(wiring.strip) + (list(PROXY_VARS) if gated else [])
    for pattern in strip:
        if any(c in pattern for c in "*?["):
            env |= {name: None for name in options.environ if fnmatch.fnmatchcase(name, pattern)}
        else:
            env[pattern] = None
    if not gated:
        env |= _gateway_leftovers(profile, config, options)
    env |= {k: render(v, values) for k, v in profile.env.items()}
    env |= {k: render(v, values) for k, v in wiring.env.items()}
    if apply_context:
        env |= {k: render(v, values) for k, v in profile.context.get("env", {}).items()}
    if not options.safe and options.is_root and profile.bypass:
        env |= dict(profile.root_bypass_env)
    return env


def context_values(profile: Profile, config: Config, tier_name: str | None, scan: ScanView | None) -> dict[str, str]:
    """The smallest context window among the tier's `big` models, and where the agent should compact.

    `{window}` is that window, or the profile's `default` (what the CLI assumes) when none is known.
    The profile's `[context]` env and args apply only when the window is smaller than that default.
    `{compact_at}` is COMPACT_AT of the window in tokens; `{output}` the answer's room, a quarter of the
    window (at most the profile's `max_output`); `{compact_pct}` compact_at as a percentage of the window
    the CLI itself works from, `max(floor, window) - min(reserve, output)` (Claude Code 2.1.197 raises
    CLAUDE_CODE_AUTO_COMPACT_WINDOW to at least 100000 and keeps min(20000, its max output) for the answer),
    so compaction plus one answer stays inside the real window; `{compact_frac}` the same as a fraction
    (the profile's `default_frac` when no window is known).
    """
    ctx = profile.context
    default = ctx.get("default") or 0
    values = {"window": str(default), "output": str(default // 4)} if "default" in ctx else {}
    if "default_frac" in ctx:
        values["compact_frac"] = f"{ctx['default_frac']:g}"
    tier = config.tiers.get(tier_name or "")
    windows = (scan or ScanView()).big_windows(tier, config) if tier is not None else []
    if not windows or (default and min(windows) >= default):
        return values  # no window known, or none smaller than what the CLI assumes: leave it alone
    window = min(windows)
    target = int(window * COMPACT_AT)
    output = min(window // 4, ctx.get("max_output") or window)
    effective = max(ctx.get("floor", 0), window) - min(ctx.get("reserve", 0), output)
    pct = max(1, min(100, target * 100 // effective)) if effective > 0 else 100
    frac = f"{target / effective:.4f}" if effective > 0 else "1"
    return {"window": str(window), "compact_at": str(target), "compact_pct": str(pct), "compact_frac": frac,
            "output": str(output), "apply": "1"}


def limit_json(context: Mapping[str, str]) -> str:
    """`"limit":{"context":W,"output":O}` when a window applies, else nothing: OpenCode takes a written 0 as the
    window itself (a broken value), so an unknown window must leave the key out."""
    if not context.get("apply"):
        return ""
    return f'"limit":{{"context":{context["window"]},"output":{context["output"]}}}'


def render(text: str, values: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.startswith("file:"):
            return f"{values.get('dir', '')}/{key[5:]}"
        return values.get(key, m.group(0))

    return _PLACE.sub(sub, text)


def _check_options(spec: Spec, profile: Profile, options: Options) -> None:
    code, mode = spec.code, spec.mode
    if mode == "n" and not options.prompt:
        raise PlanError(f"{code}: mode n (non-interactive) needs a prompt: xx {code} -p 'PROMPT'")
    if mode == "s" and not options.session:
        raise PlanError(f"{code}: mode s resumes a given session and needs its id: xx {code} -s ID")
    if options.session and mode != "s":
        raise PlanError(f"{code}: -s only applies to mode s (e.g. xx {code[0]}s{code[2:]} -s ID)")
    if options.prompt and mode != "n" and mode not in profile.headless and profile.prompt is None:
        raise PlanError(f"{code}: {profile.name} takes no first prompt in mode {mode}; use mode n for a one-shot prompt")
    if options.session and profile.session_pattern and not re.fullmatch(profile.session_pattern, options.session):
        raise PlanError(f"{code}: {options.session!r}: {profile.session_hint or 'not a session id this agent accepts'}")


def _tier_name(spec: Spec, config: Config) -> str:
    if spec.tier is None:
        if not config.gateway.default_tier:
            raise PlanError(f"{spec.code}: {config.source} defines no tier (gateway.default_tier); route d works without one")
        return config.gateway.default_tier
    tier = config.tier_for_letter(spec.tier)
    if tier is None:
        raise PlanError(f"{spec.code}: no tier with letter {spec.tier!r} in {config.source}")
    return tier.name


def _merge(base: Wiring, extra: Wiring) -> Wiring:
    """Route p = the gateway wiring plus the proxy-only additions."""
    return Wiring(
        env={**base.env, **extra.env},
        args=base.args + extra.args,
        strip=base.strip + extra.strip,
        files={**base.files, **extra.files},
        model=extra.model if extra.model is not None else base.model,
        default_model=extra.default_model or base.default_model,
        overlay=extra.overlay or base.overlay,
    )


def _launch_dir(state_dir: Path, agent: str, contents: Mapping[str, str]) -> Path:
    """Same content, same directory: a later `continue` finds the state an earlier launch left."""
    import hashlib  # ~ms of OpenSSL loading: only for agents that have per-launch files

    h = hashlib.sha256(agent.encode())
    for name in sorted(contents):
        h.update(b"\0" + name.encode() + b"\0" + contents[name].encode())
    return state_dir / "launch" / f"{agent}-{h.hexdigest()[:12]}"


def _overlay_source(sources: tuple[str, ...], options: Options) -> str | None:
    """The first source that names a directory: `$VAR` (or `$VAR/sub`) from the environment, `~` from home."""
    for s in sources:
        if s.startswith("$"):
            name, slash, sub = s[1:].partition("/")
            value = options.environ.get(name)
            if value:
                return f"{value.rstrip('/')}/{sub}" if slash and sub else value
        elif s.startswith("~"):
            return str(options.home / s[2:]) if s.startswith("~/") else str(options.home)
        elif s:
            return s
    return None


def _gateway_leftovers(profile: Profile, config: Config, options: Options) -> dict[str, None]:
    """Route d: any inherited variable still pointing at the gateway (an old alias) goes too."""
    token = config.gateway.token or PLACEHOLDER_TOKEN
    hostport = f"{config.gateway.host}:{config.gateway.port}"
    out: dict[str, None] = {KEY_ENV: None}
    for name, value in options.environ.items():
        if value == token or hostport in value or f"localhost:{config.gateway.port}" in value:
            out[name] = None
    return out


def mask_env(name: str, value: str | None, secrets: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if _SECRET_NAME.search(name) and value != PLACEHOLDER_TOKEN and not value.startswith("x-xx"):
        return "***"  # masked by position: a secret variable's value, whatever its length
    return mask_text(value, secrets)


def mask_text(text: str, secrets: tuple[str, ...]) -> str:
    """Whole secret values masked, only those long enough to be told from text (see gateway.scrubbing)."""
    return scrub(text, secrets)
