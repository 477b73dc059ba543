"""`xx doctor [--json]`: what a launch needs, checked; exit 1 when something it needs is broken.

Broken (exit 1) exactly when a launch on the default tier would fail: the config or a
profile does not load, no agent is installed, the gateway port is taken by something that
is not our gateway, the launcher would refuse the running gateway, or no model of the
default tier can serve now (the same preflight the launcher runs). Warnings: an agent binary missing, a version outside the
profile's verified range, an unverified profile, no provider key set, tmux missing.
Provider keys are reported by variable name only, never by value.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from gateway.config import Config, ConfigError, load
from xx import profiles

VERSION_TIMEOUT_S = 20.0  # node CLIs take 2-3 s alone; doctor runs them all at once on a busy machine
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@dataclass
class Check:
    name: str
    status: str            # "ok" | "warn" | "fail"
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def agent_version(binary: str, timeout: float = VERSION_TIMEOUT_S) -> tuple[str | None, str | None]:
    """(path, version) — version None when `<bin> --version` fails or prints no number."""
    path = shutil.which(binary)
    if path is None:
        return None, None
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return path, None
    # The first line with a number that is not a warning: Codex prints a warning line before its
    # version, Hermes prints its own version first and then its SDK's (`OpenAI SDK: 2.24.0`).
    for line in (out.stdout + "\n" + out.stderr).splitlines():
        m = _VERSION.search(line)
        if m and "WARNING" not in line:
            return path, m.group(1)
    return path, None


def check_agents(profs: dict[str, profiles.Profile]) -> list[Check]:
    ordered = sorted(profs.values(), key=lambda p: p.letter)
    with ThreadPoolExecutor(max_workers=max(1, len(ordered))) as pool:
        results = list(pool.map(lambda p: agent_version(p.binary), ordered))
    checks = []
    for prof, (path, version) in zip(ordered, results, strict=True):
        data = {"letter": prof.letter, "binary": prof.binary, "path": path, "version": version,
                "verified": prof.verified, "versions": prof.versions}
        name = f"agent {prof.name} ({prof.letter})"
        if path is None:
            unverified = "" if prof.verified else " (profile unverified: its flags were never checked against the CLI)"
            checks.append(Check(name, "warn", f"`{prof.binary}` not found; install: {prof.package}{unverified}", data))
        elif not prof.verified:
            checks.append(Check(name, "warn", f"{path} {version or '?'}: profile unverified (flags not checked against this CLI)", data))
        elif version is None:
            checks.append(Check(name, "warn", f"{path}: `{prof.binary} --version` gave no version", data))
        elif prof.versions and not profiles.in_range(version, prof.versions):
            checks.append(Check(name, "warn", f"{version} is outside the verified range {prof.versions}: flags may have changed", data))
        else:
            checks.append(Check(name, "ok", f"{version} at {path}", data))
    return checks


def check_keys(config: Config, health: dict[str, Any] | None = None) -> list[Check]:
    """Each provider's key variables, by name: set here, and whether the running gateway holds them."""
    served = (health or {}).get("keys") or {}
    out = []
    for p in config.providers.values():
        if not p.api_key_ref:
            out.append(Check(f"key {p.name}", "ok", "no key needed", {"provider": p.name}))
            continue
        var = p.api_key_ref.strip("${}")
        status, detail = ("ok", f"{var} is set") if p.api_key else ("warn", f"{var} is not set: {p.name} models will be skipped")
        if not p.api_key and served.get(var):  # launches attach to a gateway that holds it: nothing is skipped
            status, detail = "ok", f"{var} is not set here, but the running gateway holds it"
        if p.api_key and health is not None and var in served and served[var] is None:
            detail += " here, but the running gateway started without it (the next launch restarts it)"
        out.append(Check(f"key {p.name}", status, detail, {"provider": p.name, "variable": var, "set": bool(p.api_key)}))
    return out


def check_launch(config: Config, environ: Mapping[str, str]) -> list[Check]:
    """What `xx <agent>ip` on the default tier would do now: the launcher's own two decisions."""
    from xx import preflight, supervisor

    url, port = config.gateway.url, config.gateway.port
    health = supervisor.probe(config)
    served = None  # the running gateway's key fingerprints, when a launch attaches to it as it is
    if health is None:
        if supervisor.port_in_use(config.gateway.host, port):
            return [Check("gateway", "fail", f"port {port} is taken by something that is not the xx gateway: "
                          "change gateway.port")]
        gw = Check("gateway", "ok", f"not running; `xx <code>` starts it at {url}")
        verdict = preflight.local_check(config, "p", None)
    else:
        decision = preflight.decide(preflight.expected(config, environ), health, port=port, waited=True)
        who = f"{health.get('service')} {health.get('version', '')} pid {health.get('pid')}"
        if decision.action == "refuse":
            return [Check("gateway", "fail", f"up at {url} ({who}), but a launch would be refused: "
                          f"{decision.reason}; {decision.fix}", {"health": health})]
        if decision.action == "restart":
            gw = Check("gateway", "ok", f"up at {url} ({who}); the next launch restarts it: {decision.reason}",
                       {"health": health})
            verdict = preflight.local_check(config, "p", None)
        else:
            gw = Check("gateway", "ok", f"up at {url}: {who}", {"health": health})
            verdict = preflight.remote_check(config, "unknown", "p", None, None)
            served = health.get("keys") if isinstance(health.get("keys"), dict) else None  # it holds its own keys
    tier = config.tier_named(config.gateway.default_tier)
    label = f"{tier.name} ({tier.letter})" if tier else config.gateway.default_tier
    if verdict.ok:
        return [gw, Check("default tier", "ok", f"{label}: {_usable(config, tier, served)}")]
    return [gw, Check("default tier", "fail", f"{label}: {verdict.reason}; fix: {verdict.fix}")]


def _usable(config: Config, tier: Any, served: Mapping[str, Any] | None = None) -> str:
    """'N of M models have their key': distinct models of the tier whose provider has a key, counted in this shell,
    or in the running gateway (`served`: its /health key fingerprints) when a launch would attach to it as it is."""
    if tier is None:
        return "usable"
    names = {n for names in tier.roles.values() for n in names if n in config.models} or set(config.models)

    def keyed(p: Any) -> bool:
        refs = [ref for ref, _ in p.keys] or ([p.api_key_ref] if p.api_key_ref else [])
        if not refs:
            return True
        return any(served.get(ref.lstrip("$")) or served.get(ref) for ref in refs) if served is not None else bool(p.api_key)

    count = sum(1 for n in names if keyed(config.providers[config.models[n].provider]))
    return f"{count} of {len(names)} models have their key" + (" in the running gateway" if served is not None else "")


def check_team(config: Config) -> list[Check]:
    """Team mode's drivers (the `team` extra), named with the fix; nothing for the single-user default."""
    if not (config.state.url or config.ledger.url):
        return []
    from gateway.startup import ledger_problem, missing_driver, where

    missing = missing_driver(config)
    if missing is not None:
        return [Check("team", "fail", missing)]
    if config.ledger.url and (problem := ledger_problem(config.ledger.url)) is not None:
        return [Check("team", "fail", problem)]
    urls = [f"[{s}] {where(u)}" for s, u in (("state", config.state.url), ("ledger", config.ledger.url)) if u]
    return [Check("team", "ok", "drivers installed; " + ", ".join(urls))]


def run_checks() -> list[Check]:
    checks: list[Check] = []
    config: Config | None = None
    try:
        config = load()
        checks.append(Check("config", "ok", f"{config.source}: {len(config.tiers)} tiers, {len(config.models)} models"))
    except ConfigError as exc:
        checks.append(Check("config", "fail", str(exc)))
    try:
        profs = profiles.load_all()
        unverified = sorted(p.name for p in profs.values() if not p.verified)
        detail = f"{len(profs)} profiles" + (f"; unverified: {', '.join(unverified)}" if unverified else "")
        checks.append(Check("profiles", "ok", detail, {"unverified": unverified}))
        checks += check_agents(profs)
    except profiles.ProfileError as exc:
        checks.append(Check("profiles", "fail", str(exc)))
    agents = [c for c in checks if c.name.startswith("agent ")]
    if agents and not any((c.data or {}).get("path") for c in agents):
        checks.append(Check("agents", "fail", "no agent CLI is installed: nothing can be launched (install one of the above)"))
    if config is not None:
        from xx.supervisor import probe

        checks += check_team(config)
        checks += check_keys(config, probe(config))
        checks += check_launch(config, os.environ)
    from xx.dash.demo_probe import running_demo

    demo = running_demo()
    if demo:
        checks.append(Check("demo", "ok", f"xx demo is running; its gateway is {demo} (xx dash --url {demo})", {"url": demo}))
    tmux = shutil.which("tmux")
    checks.append(Check("tmux", "ok" if tmux else "warn", tmux or "not found: --tmux and launcher.tmux will not work"))
    return checks


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="xx doctor", description="Diagnose agents, config, keys and the gateway.")
    ap.add_argument("--json", action="store_true", help="machine-readable")
    args = ap.parse_args(argv)
    checks = run_checks()
    broken = any(c.status == "fail" for c in checks)
    if args.json:
        print(json.dumps({"ok": not broken, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for c in checks:
            print(f"[{mark[c.status]}] {c.name}: {c.detail}")
        print("\nsomething a launch needs is broken" if broken else "\nready", file=sys.stderr if broken else sys.stdout)
    return 1 if broken else 0
