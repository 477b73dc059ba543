"""The launch-code grammar: `<agent><mode>[<route>][<tier>]`, decoded by a pure function.

The third letter is a route when it is p, b or d, otherwise it is a tier and the route is p
(`hcf` = Hermes, continue, proxy, free). `d` in third place is always direct, so the DeepSeek
tier takes the long form `cipd`. Errors name what is wrong and offer the nearest valid codes,
found by edit distance over every code the current agents and tiers allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from gateway.config.record import record

MODES: dict[str, str] = {
    "i": "init (new session)",
    "c": "continue the last session",
    "n": "non-interactive (needs -p PROMPT)",
    "s": "a given session (needs -s ID)",
    "r": "the agent's resume picker",
}
ROUTES: dict[str, str] = {
    "p": "proxy: the gateway routes by role and tier, falls back",
    "b": "bypass: through the gateway, the agent's own model",
    "d": "direct: no gateway",
}


class CodeError(ValueError):
    """An invalid code; `suggestions` holds the nearest valid codes."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        self.reason = message
        self.suggestions = suggestions
        if suggestions:
            message += f" (did you mean: {', '.join(suggestions)}?)"
        super().__init__(message)


@record
class Spec:
    code: str
    agent: str          # the profile name, e.g. "claude"
    mode: str           # a key of MODES
    route: str          # a key of ROUTES
    tier: str | None    # a tier letter, or None for the config's default tier


def decode(code: str, agents: Mapping[str, str], tiers: Iterable[str]) -> Spec:
    """`agents` maps agent letter -> agent name; `tiers` are the configured tier letters."""
    tier_letters = frozenset(tiers)

    def fail(msg: str) -> CodeError:
        return CodeError(msg, nearest(code, agents, tier_letters))

    if not code:
        raise fail("empty code")
    if code != code.lower() or not code.isalnum():
        raise fail(f"{code!r}: a code is lowercase letters and digits only")
    a = code[0]
    if a not in agents:
        raise fail(f"{code!r}: unknown agent {a!r} (agents: {_list(agents)})")
    if len(code) < 2:
        raise fail(f"{code!r}: missing the mode after the agent letter (modes: {_list(MODES)})")
    m = code[1]
    if m not in MODES:
        raise fail(f"{code!r}: unknown mode {m!r} (modes: {_list(MODES)})")
    route, tier = _route_and_tier(code, code[2:], tier_letters, fail)
    return Spec(code=code, agent=agents[a], mode=m, route=route, tier=tier)


def _route_and_tier(code: str, rest: str, tier_letters: frozenset[str],
                    fail: Callable[[str], CodeError]) -> tuple[str, str | None]:
    """What follows agent and mode: nothing, a route, a tier (route p), or a route and a tier."""
    if len(rest) > 2:
        raise fail(f"{code!r}: too long: a code is <agent><mode>[<route>][<tier>]")
    if not rest:
        return "p", None
    if len(rest) == 1:
        if rest in ROUTES:
            return rest, None
        if rest in tier_letters:
            return "p", rest
        raise fail(f"{code!r}: {rest!r} is neither a route ({_list(ROUTES)}) nor a tier ({_list(tier_letters)})")
    route, tier = rest
    if route not in ROUTES:
        raise fail(f"{code!r}: {route!r} is not a route ({_list(ROUTES)}); the route comes before the tier")
    if tier not in tier_letters:
        raise fail(f"{code!r}: unknown tier {tier!r} (tiers: {_list(tier_letters)})")
    if route == "d":
        raise fail(f"{code!r}: route d (direct) skips the gateway, so a tier means nothing there")
    return route, tier


def all_codes(agents: Iterable[str], tiers: Iterable[str]) -> Iterator[str]:
    """Every valid code, short forms included (`cif` and `cipf` both)."""
    tier_list = sorted(tiers)
    for a in sorted(agents):
        for m in MODES:
            yield a + m
            for r in ROUTES:
                yield a + m + r
            for t in tier_list:
                if t not in ROUTES:
                    yield a + m + t
                yield a + m + "p" + t
                yield a + m + "b" + t


def nearest(code: str, agents: Iterable[str], tiers: Iterable[str], limit: int = 4) -> tuple[str, ...]:
    """The valid codes at the smallest edit distance (at most 2): same agent, then shortest first."""
    scored: list[tuple[int, bool, int, str]] = []
    for cand in all_codes(agents, tiers):
        d = distance(code, cand)
        if d <= 2:
            scored.append((d, cand[:1] != code[:1], len(cand), cand))
    if not scored:
        return ()
    best = min(s[0] for s in scored)
    return tuple(s[-1] for s in sorted(s for s in scored if s[0] == best)[:limit])


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swapped pair counts as one typo."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _list(letters: Iterable[str]) -> str:
    return ", ".join(sorted(letters)) or "none"
