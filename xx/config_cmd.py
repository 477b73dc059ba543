"""`xx config path|show|validate|init|set`: the config file, with the user's comments kept.

Reads with tomllib (through gateway.config); writes only with tomlkit so every comment and
blank line the user wrote survives an edit. Secrets stay `$VAR` references on disk; `show`
masks any literal secret and tells which referenced variables are set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, default_text, load, parse, paths

SECRET_KEYS = ("api_key", "token")


def mask(value: str) -> str:
    if value.startswith("$"):
        name = value.strip("${}")
        return f"{value} ({'set' if os.environ.get(name) else 'unset'})"
    return "****" + value[-4:] if len(value) > 8 else "****"


def masked(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: mask(v) if k in SECRET_KEYS and isinstance(v, str) else masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


def init(path: Path, force: bool = False) -> bool:
    """Write the commented default config; False if one exists and force is off."""
    if path.exists() and not force:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_suffix(".toml.bak"))
    path.write_text(default_text())
    return True


def set_value(path: Path, dotted: str, raw: str) -> str:
    """Edit one key with tomlkit: comments and formatting elsewhere are untouched.

    Returns the value as written (TOML, a secret masked), so the user sees what was stored.
    """
    import tomlkit

    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.parse(default_text())
    try:
        value: Any = tomlkit.parse(f"v = {raw}")["v"]
    except Exception:
        value = raw
    keys = dotted.split(".")
    table: Any = doc
    for key in keys[:-1]:
        if key not in table:
            table[key] = tomlkit.table()
        table = table[key]
    table[keys[-1]] = value
    text = tomlkit.dumps(doc)
    parse(text, source=str(path))  # refuse to write an invalid file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if keys[-1] in SECRET_KEYS and isinstance(value, str):
        return repr(mask(value))
    return tomlkit.item(value).as_string()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xx config", description="Show, validate or create the xx config file.")
    sub = ap.add_subparsers(dest="cmd", metavar="{path,show,validate,init,set}")
    sub.add_parser("path", help="print where the config file is (XX_CONFIG or the platform path)")
    p_show = sub.add_parser("show", help="print the effective config, secrets masked")
    p_show.add_argument("--json", action="store_true", help="machine-readable output")
    p_val = sub.add_parser("validate", help="check the file; exit 1 when it is invalid")
    p_val.add_argument("--json", action="store_true", help="machine-readable output")
    p_init = sub.add_parser("init", help="write the commented default config")
    p_init.add_argument("--force", action="store_true", help="overwrite (the old file is kept as .bak)")
    p_set = sub.add_parser("set", help="set one key, keeping comments (e.g. gateway.port 8090)")
    p_set.add_argument("key")
    p_set.add_argument("value")
    return ap


def main(argv: list[str]) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    path = paths.config_file()
    if args.cmd is None:
        ap.print_help()
        return 2
    if args.cmd == "path":
        print(path)
        return 0
    if args.cmd == "init":
        if init(path, args.force):
            print(f"wrote {path}")
            return 0
        print(f"{path} already exists (use --force to replace it)", file=sys.stderr)
        return 1
    if args.cmd == "set":
        try:
            shown = set_value(path, args.key, args.value)
        except ConfigError as exc:
            print(f"not written: {exc}", file=sys.stderr)
            return 1
        print(f"set {args.key} = {shown} in {path}")
        return 0
    return _validate(path, args.json) if args.cmd == "validate" else _show(path, args.json)


def _validate(path: Path, as_json: bool) -> int:
    try:
        cfg = load(path)
    except ConfigError as exc:
        if as_json:
            print(json.dumps({"valid": False, "file": exc.source, "problems": exc.problems}, indent=2))
        else:
            print(f"{exc.source}: invalid ({len(exc.problems)} problem{'s' * (len(exc.problems) != 1)})")
            for p in exc.problems:
                print(f"  {p}")
        return 1
    summary = {"valid": True, "file": cfg.source, "providers": len(cfg.providers), "models": len(cfg.models),
               "tiers": len(cfg.tiers)}
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{cfg.source}: valid ({summary['providers']} providers, {summary['models']} models, {summary['tiers']} tiers)")
    return 0


def _show(path: Path, as_json: bool) -> int:
    import tomllib

    text = path.read_text() if path.exists() else default_text()
    try:
        data = tomllib.loads(text)
        load(path)
    except tomllib.TOMLDecodeError as exc:
        print(f"xx config: {path}: not valid TOML: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"xx config: {exc}", file=sys.stderr)
        return 1
    shown = masked(data)
    if as_json:
        print(json.dumps({"file": str(path) if path.exists() else "<default>", "config": shown}, indent=2))
    else:
        import tomlkit

        print(f"# {path if path.exists() else '<built-in default; run `xx config init` to write it>'}")
        print(tomlkit.dumps(shown))
    return 0
