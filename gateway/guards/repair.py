"""Tool-call argument repair: broken JSON and obvious shape slips, fixed before the agent sees them.

Small and free models often end a tool call with trailing garbage, single quotes, unquoted keys,
a missing brace, a double-encoded string, or a string where the tool's schema wants an object.
An agent that receives such a call fails the turn ("invalid tool input") or loops asking again.
`json-repair` (a maintained PyPI library) does the parsing repairs; `coerce` does the light,
schema-guided ones (top-level properties only: we never guess deeper).

The fast path matters: valid arguments that match their schema cost one `orjson.loads`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Repaired:
    arguments: dict[str, Any] | None  # None: could not be made into an object
    text: str  # what to send: the original text when nothing changed
    changed: bool = False
    notes: list[str] = field(default_factory=list)  # what was fixed, for the Exchange (no argument values)

    @property
    def ok(self) -> bool:
        return self.arguments is not None


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _NOT_JSON


_NOT_JSON = object()


def _repair_json(text: str) -> Any:
    import json_repair  # imported on first use: most requests never need it

    try:
        return json_repair.loads(text)
    except Exception:  # a library bug must not take the stream down
        return _NOT_JSON


def parse_loose(text: str, notes: list[str]) -> Any:
    """JSON, or json-repair's best reading of it (noted), or `_NOT_JSON`."""
    value = _loads(text)
    if value is not _NOT_JSON:
        return value
    value = _repair_json(text)
    if value is not _NOT_JSON and value != "":
        notes.append("invalid JSON repaired")
        return value
    return _NOT_JSON


def _as_object(value: Any, notes: list[str]) -> dict[str, Any] | None:
    for _ in range(2):  # a double-encoded object: "{\"a\": 1}"
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value.strip().startswith("{"):
            notes.append("arguments were a JSON string")
            value = parse_loose(value, notes)
            continue
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            notes.append("arguments were a one-item list")
            value = value[0]
            continue
        return None
    return value if isinstance(value, dict) else None


def repair(text: str | None, schema: Mapping[str, Any] | None = None) -> Repaired:
    """Repaired arguments for one tool call; `schema` is the tool's declared JSON schema, if any."""
    if text is None or not text.strip():
        return Repaired({}, text or "", False)
    notes: list[str] = []
    value = parse_loose(text, notes)
    obj = None if value is _NOT_JSON else _as_object(value, notes)
    if obj is None:
        return Repaired(None, text, False, notes or ["arguments are not a JSON object"])
    if schema:
        obj = coerce(obj, schema, notes)
    if not notes:
        return Repaired(obj, text, False)
    return Repaired(obj, orjson.dumps(obj).decode(), True, notes)


def coerce(obj: dict[str, Any], schema: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Top-level properties whose value is plainly the wrong JSON type for the declared one."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return obj
    out = obj
    for key, value in obj.items():
        spec = props.get(key)
        if not isinstance(spec, Mapping):
            continue
        fixed = _coerce_value(value, spec.get("type"))
        if fixed is not _NOT_JSON:
            if out is obj:
                out = dict(obj)
            out[key] = fixed
            notes.append(f"{key}: {type(value).__name__} coerced to {spec.get('type')}")
    return out


def _coerce_value(value: Any, wanted: Any) -> Any:
    """The value in the wanted type, or `_NOT_JSON` when it is fine or cannot be fixed safely."""
    if not isinstance(wanted, str) or not isinstance(value, str):
        if wanted == "string" and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return _NOT_JSON
    s = value.strip()
    if wanted in ("object", "array"):
        parsed = parse_loose(s, []) if s[:1] in "{[" else _NOT_JSON
        kind = dict if wanted == "object" else list
        return parsed if isinstance(parsed, kind) else _NOT_JSON
    if wanted == "integer" and s.lstrip("-").isdigit():
        return int(s)
    if wanted == "number":
        try:
            return float(s) if any(c in s for c in ".eE") else int(s)
        except ValueError:
            return _NOT_JSON
    if wanted == "boolean" and s.lower() in ("true", "false"):
        return s.lower() == "true"
    return _NOT_JSON


def tool_schemas(body: Mapping[str, Any], dialect: str) -> dict[str, Mapping[str, Any]]:
    """name -> input schema of every tool the request declares, in any dialect."""
    out: dict[str, Mapping[str, Any]] = {}
    tools = body.get("tools")
    if not isinstance(tools, list):
        return out
    for t in tools:
        if not isinstance(t, Mapping):
            continue
        fn = t.get("function") if isinstance(t.get("function"), Mapping) else t
        name = fn.get("name")
        schema = fn.get("input_schema") or fn.get("parameters") or fn.get("parametersJsonSchema")
        if isinstance(name, str) and isinstance(schema, Mapping):
            out[name] = schema
        for decl in t.get("functionDeclarations") or ():  # Gemini
            if isinstance(decl, Mapping) and isinstance(decl.get("name"), str):
                out[decl["name"]] = decl.get("parameters") or decl.get("parametersJsonSchema") or {}
    return out
