"""Agent profiles: one TOML file per agent CLI, the only place that knows its flags.

Shipped profiles sit next to the package (the repo's `profiles/` in an editable install,
`xx/_profiles/` in a wheel); a file of the same name in the user's profiles dir replaces the
shipped one whole, so a user can fix a flag without waiting for a release. Loaded with
tomllib on every launch, so this module stays stdlib-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config import tomlcache
from gateway.config.record import field, record

MODES = ("i", "c", "n", "s", "r")
HEADLESS_MODES = ("c", "s")
DIALECTS = ("anthropic", "openai", "responses", "gemini")
# Tokens a mode's argv template may hold besides literal words and {placeholders}.
SLOTS = ("@always", "@bypass", "@route", "@model", "@extra", "@prompt")
_TOP_KEYS = {
    "name", "letter", "binary", "package", "dialect", "verified", "versions", "bypass", "root_bypass_env",
    "model", "prompt", "always", "session_pattern", "session_hint", "modes", "unsupported", "env",
    "gateway", "proxy", "direct", "headless", "context",
}
# [context]: how the CLI learns the model's context window (see xx.plan.context_values).
_CONTEXT_KEYS = {"env", "args", "default", "floor", "reserve", "note"}
_ROUTE_KEYS = {"env", "args", "strip", "files", "model", "default_model", "overlay"}


class ProfileError(ValueError):
    """One or more problems in profile files; each line names the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@record
class Overlay:
    """A per-launch directory that mirrors the first existing source dir by symlinks."""

    dir: str
    sources: tuple[str, ...]


@record
class Wiring:
    """What one route adds: env to set, inherited env to strip, argv, per-launch files."""

    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    model: tuple[str, ...] | None = None
    default_model: str | None = None
    overlay: Overlay | None = None


@record
class Profile:
    name: str
    letter: str
    binary: str
    package: str
    dialect: str
    verified: bool
    versions: str
    bypass: tuple[str, ...]
    model: tuple[str, ...]
    prompt: tuple[str, ...] | None
    always: tuple[str, ...]
    root_bypass_env: Mapping[str, str]
    modes: Mapping[str, tuple[str, ...]]
    unsupported: Mapping[str, str]
    env: Mapping[str, str]
    gateway: Wiring
    proxy: Wiring
    direct: Wiring
    session_pattern: str | None = None
    session_hint: str | None = None
    source: str = "<memory>"
    # mode -> argv template for one headless turn in that mode when `-p` is given (c, s):
    # `xx ccf -p "again"` continues the last session without a UI, like mode n does for a new one.
    headless: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)


def shipped_dir() -> Path:
    """`xx/_profiles` inside a wheel, else the checkout's `profiles/` beside the package."""
    here = Path(__file__).resolve().parent
    bundled = here / "_profiles"
    return bundled if bundled.is_dir() else here.parent / "profiles"


def user_dir() -> Path:
    from gateway.config import paths

    return paths.user_profiles_dir()


def profile_files(shipped: Path | None = None, user: Path | None = None) -> dict[str, Path]:
    """File stem -> path; a user file replaces the shipped file of the same name."""
    out: dict[str, Path] = {}
    for d in (shipped or shipped_dir(), user or user_dir()):
        if d.is_dir():
            for p in sorted(d.glob("*.toml")):
                out[p.stem] = p
    return out


def load_all(shipped: Path | None = None, user: Path | None = None) -> dict[str, Profile]:
    """Every profile by agent name; raises ProfileError listing all problems at once."""
    problems: list[str] = []
    profiles: dict[str, Profile] = {}
    for path in profile_files(shipped, user).values():
        try:
            data = tomlcache.load(path)
        except (OSError, tomlcache.TomlError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        found: list[str] = []
        prof = parse(data, str(path), found)
        problems += found
        if prof is None:
            continue
        if prof.name in profiles:
            problems.append(f"{path}: name {prof.name!r} is already used by {profiles[prof.name].source}")
            continue
        clash = next((p for p in profiles.values() if p.letter == prof.letter), None)
        if clash:
            problems.append(f"{path}: letter {prof.letter!r} is already used by {clash.name} ({clash.source})")
            continue
        profiles[prof.name] = prof
    if problems:
        raise ProfileError(problems)
    return profiles


_TOP_KEY = re.compile(r'^(name|letter)\s*=\s*"([^"]*)"', re.M)


def letters(shipped: Path | None = None, user: Path | None = None) -> dict[str, tuple[str, Path]]:
    """letter -> (agent name, file), read without parsing TOML: `xx <code>` must decode a code before it
    knows which one profile it needs, and parsing all nine costs more than the rest of a launch.

    Only top-level `name = "…"` / `letter = "…"` lines before the first table count; a file
    this scan cannot read is left to `load_one`/`load_all`, which report it properly.
    """
    out: dict[str, tuple[str, Path]] = {}
    for path in profile_files(shipped, user).values():
        try:
            head = path.read_text().split("\n[", 1)[0]
        except OSError:
            continue
        keys = dict(m.groups() for m in _TOP_KEY.finditer(head))
        if "letter" in keys:
            out.setdefault(keys["letter"], (keys.get("name", path.stem), path))
    return out


def load_one(path: Path) -> Profile:
    """One profile file, validated; raises ProfileError."""
    problems: list[str] = []
    try:
        data = tomlcache.load(path)
    except (OSError, tomlcache.TomlError) as exc:
        raise ProfileError([f"{path}: cannot read: {exc}"]) from None
    prof = parse(data, str(path), problems)
    if problems or prof is None:
        raise ProfileError(problems or [f"{path}: not a profile"])
    return prof


def by_letter(profiles: Mapping[str, Profile]) -> dict[str, Profile]:
    return {p.letter: p for p in profiles.values()}


def parse(data: Mapping[str, Any], source: str, problems: list[str]) -> Profile | None:
    """A Profile from parsed TOML, appending one line per problem; None when unusable."""
    start = len(problems)

    def bad(key: str, msg: str) -> None:
        problems.append(f"{source}: {key}: {msg}")

    def string(key: str, default: str | None = None, table: Mapping[str, Any] = data, where: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            bad(where + key, f"must be a string, got {value!r}")
            return ""
        return value

    def words(value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(key, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def strmap(value: Any, key: str) -> dict[str, str]:
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            bad(key, "must be a table of strings")
            return {}
        return dict(value)

    for key in data:
        if key not in _TOP_KEYS:
            bad(key, f"unknown key (expected one of: {', '.join(sorted(_TOP_KEYS))})")
    name = string("name")
    letter = string("letter")
    if not re.fullmatch(r"[a-z]", letter):
        bad("letter", f"must be one lowercase letter, got {letter!r}")
    dialect = string("dialect")
    if dialect not in DIALECTS:
        bad("dialect", f"must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        bad("verified", "must be true or false")
    versions = string("versions", "")
    if versions:
        try:
            parse_range(versions)
        except ValueError as exc:
            bad("versions", str(exc))
    modes: dict[str, tuple[str, ...]] = {}
    for mode, template in strmap_any(data.get("modes", {}), "modes", bad).items():
        if mode not in MODES:
            bad(f"modes.{mode}", f"unknown mode (modes: {', '.join(MODES)})")
            continue
        argv = words(template, f"modes.{mode}")
        for tok in argv:
            if tok.startswith("@") and tok not in SLOTS:
                bad(f"modes.{mode}", f"unknown slot {tok!r} (slots: {', '.join(SLOTS)})")
        modes[mode] = argv
    headless: dict[str, tuple[str, ...]] = {}
    for mode, template in strmap_any(data.get("headless", {}), "headless", bad).items():
        if mode not in HEADLESS_MODES:
            bad(f"headless.{mode}", f"only modes {', '.join(HEADLESS_MODES)} take a headless template (mode n is headless already)")
            continue
        if mode not in modes:
            bad(f"headless.{mode}", f"mode {mode!r} is not in [modes]")
        argv = words(template, f"headless.{mode}")
        for tok in argv:
            if tok.startswith("@") and tok not in SLOTS:
                bad(f"headless.{mode}", f"unknown slot {tok!r} (slots: {', '.join(SLOTS)})")
        headless[mode] = argv
    unsupported = strmap(data.get("unsupported", {}), "unsupported")
    if not modes:
        bad("modes", "at least one mode is required")
    pattern = data.get("session_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            bad("session_pattern", f"not a regular expression: {exc}")
    prompt = data.get("prompt")
    routes = {k: _wiring(strmap_any(data.get(k, {}), k, bad), k, bad, words, strmap) for k in ("gateway", "proxy", "direct")}
    context = _context(strmap_any(data.get("context", {}), "context", bad), bad, words, strmap)
    if len(problems) > start:
        return None
    return Profile(
        name=name,
        letter=letter,
        binary=string("binary", name),
        package=string("package", f"the `{name}` package"),
        dialect=dialect,
        verified=verified,
        versions=versions,
        bypass=words(data.get("bypass", []), "bypass"),
        model=words(data.get("model", []), "model"),
        prompt=words(prompt, "prompt") if prompt is not None else None,
        always=words(data.get("always", []), "always"),
        root_bypass_env=strmap(data.get("root_bypass_env", {}), "root_bypass_env"),
        modes=modes,
        unsupported=unsupported,
        env=strmap(data.get("env", {}), "env"),
        gateway=routes["gateway"],
        proxy=routes["proxy"],
        direct=routes["direct"],
        session_pattern=pattern,
        session_hint=data.get("session_hint"),
        source=source,
        headless=headless,
        context=context,
    )


def _context(t: Mapping[str, Any], bad: Any, words: Any, strmap: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in t.items():
        if key not in _CONTEXT_KEYS:
            bad(f"context.{key}", f"unknown key (expected one of: {', '.join(sorted(_CONTEXT_KEYS))})")
        elif key == "env":
            out[key] = strmap(value, "context.env")
        elif key == "args":
            out[key] = words(value, "context.args")
        elif key == "note":
            out[key] = str(value)
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad(f"context.{key}", f"must be a whole number of tokens, got {value!r}")
        else:
            out[key] = value
    return out


def strmap_any(value: Any, key: str, bad: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        bad(key, f"must be a table, got {type(value).__name__}")
        return {}
    return value


def _wiring(t: Mapping[str, Any], where: str, bad: Any, words: Any, strmap: Any) -> Wiring:
    for key in t:
        if key not in _ROUTE_KEYS:
            bad(f"{where}.{key}", f"unknown key (expected one of: {', '.join(sorted(_ROUTE_KEYS))})")
    overlay = None
    if "overlay" in t:
        o = t["overlay"]
        if not isinstance(o, Mapping) or not isinstance(o.get("dir"), str):
            bad(f"{where}.overlay", 'must be { dir = "...", sources = [...] }')
        else:
            overlay = Overlay(o["dir"], words(o.get("sources", []), f"{where}.overlay.sources"))
    default_model = t.get("default_model")
    if default_model is not None and not isinstance(default_model, str):
        bad(f"{where}.default_model", "must be a string")
        default_model = None
    return Wiring(
        env=strmap(t.get("env", {}), f"{where}.env"),
        args=words(t.get("args", []), f"{where}.args"),
        strip=words(t.get("strip", []), f"{where}.strip"),
        files=strmap(t.get("files", {}), f"{where}.files"),
        model=words(t["model"], f"{where}.model") if "model" in t else None,
        default_model=default_model,
        overlay=overlay,
    )


# -- version ranges ("">=2.1,<2.2"") without a packaging dependency ---------------------------------

_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def parse_range(spec: str) -> list[tuple[str, tuple[int, ...]]]:
    clauses = []
    for part in spec.split(","):
        m = _CLAUSE.match(part)
        if not m:
            raise ValueError(f"bad version clause {part.strip()!r} (use e.g. \">=2.1,<2.2\")")
        clauses.append((m.group(1), version_tuple(m.group(2))))
    return clauses


def in_range(version: str, spec: str) -> bool:
    """Clauses compare on as many components as they name: 2.1.197 satisfies ==2.1 and <2.2."""
    v = version_tuple(version)
    for op, ref in parse_range(spec):
        head = v[: len(ref)]
        full = ref + (0,) * max(0, len(v) - len(ref))
        ok = {
            ">=": v >= full, "<": v < full, ">": head > ref,
            "<=": head <= ref, "==": head == ref, "!=": head != ref,
        }[op]
        if not ok:
            return False
    return True
