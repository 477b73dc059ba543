"""Before an agent gets the terminal: is the gateway ours, and can the tier serve it now?

Two questions, asked the same way by the launcher, `xx doctor` and `xx gateway up|status`,
so they tell the same truth:

1. `decide(expected, health)` — may we use the gateway answering on our port? Only when it
   serves the same config file (path and hash) with the keys the launching shell holds.
   Otherwise restart it (nothing in flight: a graceful drain costs nobody anything) or refuse
   with a one-line reason and the command that fixes it. A demo's gateway is never restarted.
2. `local_check` / `remote_check` — can the tier's main role be served? Locally from the keys
   in the launching environment (when the gateway will be started or restarted with them),
   else by asking the running gateway's `GET /xx/ready`.

Pure decisions; stdlib only (this is the launch path). HTTP goes through `supervisor._get`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from gateway.config import Config
from gateway.config import identity as ident

MAIN_ROLE = "big"
RELOAD_WAIT_S = 2.0  # the gateway re-reads an edited config within a second
BRIEF_WAIT_S = 5.0  # a tier back within this long is waited for, not refused (a 1 s cool-down is no reason to fail)


class Decision(NamedTuple):
    action: str  # "attach" | "restart" | "refuse" | "wait" (its config file changed: let it reload)
    reason: str = ""
    fix: str = ""


class Verdict(NamedTuple):
    ok: bool
    reason: str = ""
    fix: str = ""
    warnings: tuple[str, ...] = ()
    retry_after: float | None = None  # seconds until the earliest model is back, when it is a wait


def expected(config: Config, environ: Mapping[str, str]) -> dict[str, Any]:
    """The identity a gateway serving this launch must have (see gateway.config.identity)."""
    return ident.describe(config.source, environ)


def decide(want: Mapping[str, Any], health: Mapping[str, Any], *, port: int, waited: bool = False) -> Decision:
    """Attach, restart, refuse, or wait for a hot reload; the reason says what differs."""
    if "config_hash" not in health:
        reason = "it does not say which config it serves (an older xx gateway, or one answering without the token)"
    elif health.get("config") != want["config"] or health.get("config_hash") != want["config_hash"]:
        if health.get("demo"):
            return Decision("refuse", f"port {port} is served by `xx demo`'s gateway ({health.get('config')}), "
                            f"not by your config ({want['config']})",
                            f"stop the demo, or set gateway.port to another port in {want['config']}")
        if health.get("config") == want["config"] and not waited:
            return Decision("wait", "its config file changed and it has not reloaded it yet")
        if health.get("config") == want["config"]:
            reason = f"it serves an older version of {want['config']}"
        else:
            reason = f"it serves another config ({health.get('config')})"
    else:
        diffs = ident.key_differences(want["keys"], health.get("keys") or {})
        if not diffs:
            return Decision("attach")
        reason = "; ".join(diffs)
    busy = int(health.get("in_flight") or 0)
    if health.get("demo"):
        return Decision("refuse", f"the gateway on port {port} is `xx demo`'s: {reason}", "stop the demo first")
    if busy:
        return Decision("refuse", f"the gateway on port {port} must restart ({reason}) but has {busy} "
                        "request(s) in flight", "run `xx gateway restart` in this shell once they finish")
    return Decision("restart", reason)


def _main_models(config: Config, tier_name: str | None) -> tuple[str, list[str]] | None:
    tier = config.tier_named(tier_name or config.gateway.default_tier)
    if tier is None:
        return None
    names = list(dict.fromkeys(tier.models_for(MAIN_ROLE)))
    if not names and tier.rank:
        names = list(config.models)
    return tier.name, names


def local_check(config: Config, route: str, tier: str | None, model: str | None = None) -> Verdict:
    """From the keys in the launching environment alone: can any model of the main role be called?

    Used when the gateway will be (re)started with this environment, so it answers before any
    process is started. Quota and breaker state are the running gateway's to judge.
    """
    if route == "b":
        names = [m.name for m in config.models.values() if not model or model in (m.name, m.id)]
        what = f"model {model!r}" if model else "any configured model"
    else:
        found = _main_models(config, tier)
        if found is None:
            known = ", ".join(f"{t.name} ({t.letter})" for t in config.tiers.values()) or "none"
            return Verdict(False, f"unknown tier {tier!r}", f"use one of: {known}")
        tier_name, names = found
        what = f"tier {tier_name!r} ({MAIN_ROLE})"
    missing: dict[str, None] = {}  # in cascade order: the first is the tier's first choice
    for name in names:
        m = config.models.get(name)
        provider = config.providers.get(m.provider) if m else None
        if provider is None:
            continue
        if not provider.api_key_ref or provider.api_key:
            return Verdict(True)
        missing[provider.api_key_ref.strip("${}")] = None
    if not missing:
        return Verdict(False, f"no model is configured for {what}", f"list models for it in {config.source}")
    first, *others = missing
    any_one = " (any one of them will do)" if others else ""
    return Verdict(False, f"no API key for {what}: {' or '.join(missing)} unset in this shell",
                   f"export {first}=…{any_one} and launch again (or try `xx demo`, which needs no key)")


def from_ready(doc: Mapping[str, Any]) -> Verdict:
    """The gateway's `/xx/ready` answer as a verdict."""
    if doc.get("ok"):
        return Verdict(True, warnings=tuple(doc.get("warnings") or ()))
    retry = doc.get("retry_after") if doc.get("status") == 429 else None
    return Verdict(False, str(doc.get("reason") or "the gateway cannot serve this tier now"), str(doc.get("fix") or ""),
                   retry_after=float(retry) if isinstance(retry, int | float) else None)


def wait_briefly(check: Callable[[], Verdict], *, budget_s: float = BRIEF_WAIT_S,
                 progress: Callable[[str], None] = lambda _: None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> Verdict:
    """`check()` again after the wait it names, while the total stays within `budget_s`.

    A tier whose models are all cooling for a second or two (a 429 with Retry-After, a breaker's
    short open) is served a moment later; refusing the launch would make the user retry by hand.
    A longer wait is refused at once with its reason, as before.
    """
    verdict = check()
    t0 = clock()
    while not verdict.ok and verdict.retry_after is not None:
        waited = clock() - t0
        if waited + verdict.retry_after > budget_s:
            break
        progress(f"xx: waiting {verdict.retry_after:g}s for the tier to come back ({verdict.reason})")
        sleep(max(verdict.retry_after, 0.1))
        verdict = check()
    return verdict


def ready_query(agent: str, route: str, tier: str | None, model: str | None) -> str:
    from urllib.parse import urlencode

    params = {"agent": agent, "route": route}
    if tier:
        params["tier"] = tier
    if model and route == "b":
        params["model"] = model
    return "/xx/ready?" + urlencode(params)


def remote_check(config: Config, agent: str, route: str, tier: str | None, model: str | None) -> Verdict:
    """Ask the running gateway; a gateway that cannot answer (older, timing out) is not blocked on."""
    from xx.supervisor import _get

    if route == "b" and not model:
        return Verdict(True)
    try:
        status, doc = _get(config, ready_query(agent, route, tier, model), timeout=1.5)
    except (OSError, ValueError):
        return Verdict(True, warnings=("the gateway did not answer the preflight in 1.5s",))
    if status == 404 and isinstance(doc, dict) and "error" in doc:
        message = str(doc["error"].get("message", ""))
        if message.startswith("unknown tier"):
            return Verdict(False, message, "pick a tier from the list")
        return Verdict(True)  # an older gateway without /xx/ready
    if status != 200 or not isinstance(doc, dict):
        return Verdict(True)
    return from_ready(doc)


def message(agent: str, verdict: Verdict) -> str:
    """Two lines for stderr: what is wrong, and what fixes it (with the --force escape)."""
    fix = f"{verdict.fix}; " if verdict.fix else ""
    return f"xx: {agent} not started: {verdict.reason}\n    fix: {fix}`--force` launches anyway"
