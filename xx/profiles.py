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
_CONTEXT_KEYS = {"env", "args", "default", "floor", "reserve", "max_output", "default_frac", "note"}
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


def letters(shipped: Path | None = None, user: Path | None = None) -> dict[str, tuple[str, Path]]:
    """letter -> (agent name, file): `xx <code>` decodes a code before it knows which profile it needs.

    Read from the parsed TOML (tomlcache: a marshal cache, so nine files cost microseconds
    after the first run), never with a pattern over the text: any valid TOML spelling of
    `letter = 'z'` counts. A file that cannot be read is left to `load_one`/`load_all`, which
    report it properly.
    """
    out: dict[str, tuple[str, Path]] = {}
    for path in profile_files(shipped, user).values():
        try:
            data = tomlcache.load(path)
        except (OSError, tomlcache.TomlError):
            continue
        letter, name = data.get("letter"), data.get("name", path.stem)
        if isinstance(letter, str) and isinstance(name, str):
            out.setdefault(letter, (name, path))
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


class _Check:
    """Typed reads of one profile's table, each problem one line naming the file and key."""

    def __init__(self, data: Mapping[str, Any], source: str, problems: list[str]) -> None:
        self.data, self.source, self.problems = data, source, problems

    def bad(self, key: str, msg: str) -> None:
        self.problems.append(f"{self.source}: {key}: {msg}")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            self.bad(key, f"must be a string, got {value!r}")
            return ""
        return value

    def words(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(key, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def strmap(self, value: Any, key: str) -> dict[str, str]:
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            self.bad(key, "must be a table of strings")
            return {}
        return dict(value)

    def templates(self, table: str, allowed: tuple[str, ...], why: str) -> dict[str, tuple[str, ...]]:
        """[modes] / [headless]: mode -> argv template whose `@slots` are known."""
        out: dict[str, tuple[str, ...]] = {}
        for mode, template in strmap_any(self.data.get(table, {}), table, self.bad).items():
            if mode not in allowed:
                self.bad(f"{table}.{mode}", why)
                continue
            argv = self.words(template, f"{table}.{mode}")
            for tok in argv:
                if tok.startswith("@") and tok not in SLOTS:
                    self.bad(f"{table}.{mode}", f"unknown slot {tok!r} (slots: {', '.join(SLOTS)})")
            out[mode] = argv
        return out


def _checked_scalars(c: _Check) -> tuple[str, str, str, bool, str]:
    """name, letter, dialect, verified, versions; each problem reported."""
    data = c.data
    for key in data:
        if key not in _TOP_KEYS:
            c.bad(key, f"unknown key (expected one of: {', '.join(sorted(_TOP_KEYS))})")
    name, letter, dialect = c.string("name"), c.string("letter"), c.string("dialect")
    if len(letter) != 1 or not ("a" <= letter <= "z"):
        c.bad("letter", f"must be one lowercase letter, got {letter!r}")
    if dialect not in DIALECTS:
        c.bad("dialect", f"must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        c.bad("verified", "must be true or false")
    versions = c.string("versions", "")
    if versions:
        try:
            parse_range(versions)
        except ValueError as exc:
            c.bad("versions", str(exc))
    pattern = data.get("session_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            c.bad("session_pattern", f"not a regular expression: {exc}")
    return name, letter, dialect, verified is True, versions


def parse(data: Mapping[str, Any], source: str, problems: list[str]) -> Profile | None:
    """A Profile from parsed TOML, appending one line per problem; None when unusable."""
    start = len(problems)
    c = _Check(data, source, problems)
    name, letter, dialect, verified, versions = _checked_scalars(c)
    modes = c.templates("modes", MODES, f"unknown mode (modes: {', '.join(MODES)})")
    headless = c.templates("headless", HEADLESS_MODES,
                           f"only modes {', '.join(HEADLESS_MODES)} take a headless template (mode n is headless already)")
    for mode in headless:
        if mode not in modes:
            c.bad(f"headless.{mode}", f"mode {mode!r} is not in [modes]")
    unsupported = c.strmap(data.get("unsupported", {}), "unsupported")
    if not modes:
        c.bad("modes", "at least one mode is required")
    prompt = data.get("prompt")
    routes = {k: _wiring(strmap_any(data.get(k, {}), k, c.bad), k, c.bad, c.words, c.strmap)
              for k in ("gateway", "proxy", "direct")}
    context = _context(strmap_any(data.get("context", {}), "context", c.bad), c.bad, c.words, c.strmap)
    if len(problems) > start:
        return None
    return Profile(
        name=name, letter=letter, binary=c.string("binary", name), package=c.string("package", f"the `{name}` package"),
        dialect=dialect, verified=verified, versions=versions,
        bypass=c.words(data.get("bypass", []), "bypass"), model=c.words(data.get("model", []), "model"),
        prompt=c.words(prompt, "prompt") if prompt is not None else None,
        always=c.words(data.get("always", []), "always"),
        root_bypass_env=c.strmap(data.get("root_bypass_env", {}), "root_bypass_env"),
        modes=modes, unsupported=unsupported, env=c.strmap(data.get("env", {}), "env"),
        gateway=routes["gateway"], proxy=routes["proxy"], direct=routes["direct"],
        session_pattern=data.get("session_pattern"), session_hint=data.get("session_hint"),
        source=source, headless=headless, context=context,
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
        elif key == "default_frac":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
                bad("context.default_frac", f"must be a fraction in (0, 1], got {value!r}")
            else:
                out[key] = float(value)
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
