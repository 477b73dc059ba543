"""The `[guards]` and `[capture]` config sections, and a tier's `guards = {...}` override.

```toml
[guards]
loop = 4                 # same tool call N times in a row: steering note; 2N: stop. false or 0: off
danger = true            # block dangerous shell commands
repair = true            # repair broken tool-call arguments
commands = true          # answer !/model, !/tier, !/status, !/why, !/help
allow = ["git-force-push-main"]   # danger rules to let through (names in gateway/guards/danger.py)

[tiers.free]
guards = { loop = 6 }    # per tier: any key of [guards]

[capture]
enabled = false          # wire capture (xx capture on|off|tail|show)
max_mb = 20              # per file; one rotated file is kept beside it
```
Stdlib only (the launcher reads the config too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.config.record import field, record

GUARD_KEYS = {"loop", "danger", "repair", "commands", "allow"}


@record
class Guards:
    loop: int = 4
    danger: bool = True
    repair: bool = True
    commands: bool = True
    allow: tuple[str, ...] = ()
    tiers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # tier name -> overrides

    def for_tier(self, tier: str | None) -> Guards:
        """These settings with the tier's overrides applied."""
        over = self.tiers.get(tier or "")
        if not over:
            return self
        values = {k: getattr(self, k) for k in GUARD_KEYS}
        values.update(over)
        return Guards(**values)


@record
class Capture:
    enabled: bool = False
    max_mb: float = 20.0


def parse_guards(t: Mapping[str, Any], where: str, bad: Callable[[str, str], None]) -> dict[str, Any]:
    """The validated keys of a guards table (the section or a tier's override)."""
    out: dict[str, Any] = {}
    for key in t:
        if key not in GUARD_KEYS:
            bad(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(GUARD_KEYS))})")
    if "loop" in t:
        loop = t["loop"]
        if isinstance(loop, bool):
            out["loop"] = 4 if loop else 0
        elif isinstance(loop, int) and loop >= 0:
            out["loop"] = loop
        else:
            bad(f"{where}.loop", f"must be a count of repeats (0 or false: off), got {loop!r}")
    for key in ("danger", "repair", "commands"):
        if key in t:
            if isinstance(t[key], bool):
                out[key] = t[key]
            else:
                bad(f"{where}.{key}", f"must be true or false, got {t[key]!r}")
    if "allow" in t:
        allow = t["allow"]
        if isinstance(allow, list) and all(isinstance(a, str) for a in allow):
            out["allow"] = tuple(allow)
        else:
            bad(f"{where}.allow", "must be a list of danger rule names")
    return out


def build_guards(t: Mapping[str, Any], tiers: Mapping[str, Mapping[str, Any]],
                 bad: Callable[[str, str], None]) -> Guards:
    base = parse_guards(t, "guards", bad)
    overrides = {}
    for name, tier in tiers.items():
        g = tier.get("guards")
        if g is None:
            continue
        if not isinstance(g, Mapping):
            bad(f"tiers.{name}.guards", "must be a table of [guards] keys")
            continue
        overrides[name] = parse_guards(g, f"tiers.{name}.guards", bad)
    return Guards(**base, tiers=overrides)


def build_capture(t: Mapping[str, Any], bad: Callable[[str, str], None]) -> Capture:
    for key in t:
        if key not in ("enabled", "max_mb"):
            bad(f"capture.{key}", "unknown key (known: enabled, max_mb)")
    enabled = t.get("enabled", False)
    if not isinstance(enabled, bool):
        bad("capture.enabled", f"must be true or false, got {enabled!r}")
        enabled = False
    max_mb = t.get("max_mb", 20.0)
    if isinstance(max_mb, bool) or not isinstance(max_mb, int | float) or max_mb <= 0:
        bad("capture.max_mb", f"must be a positive number of megabytes, got {max_mb!r}")
        max_mb = 20.0
    return Capture(enabled=enabled, max_mb=float(max_mb))
