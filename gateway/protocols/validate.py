"""Small shape checks shared by the dialects' request validators.

Each returns a problem sentence a person can act on (naming the field and what it must be),
or None. They never raise: a client sending garbage gets a 4xx, never a 500.
"""

from __future__ import annotations

from typing import Any


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def need_object(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"the request body must be a JSON object, got {type_name(body)}"
    return None


def need_model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    if model is None:
        return "`model` is required (a model name string)"
    if not isinstance(model, str) or not model.strip():
        return f"`model` must be a non-empty string, got {type_name(model)}"
    return None


def need_int(body: dict[str, Any], key: str, *, required: bool = False, minimum: int = 1) -> str | None:
    value = body.get(key)
    if value is None:
        return f"`{key}` is required (an integer >= {minimum})" if required else None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"`{key}` must be an integer, got {type_name(value)}"
    if value < minimum:
        return f"`{key}` must be >= {minimum}, got {value}"
    return None


def need_number(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return None
    return f"`{key}` must be a number, got {type_name(value)}"


def need_bool(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return None
    return f"`{key}` must be true or false, got {type_name(value)}"


def need_list(
    body: dict[str, Any], key: str, *, required: bool = False, non_empty: bool = False
) -> str | None:
    value = body.get(key)
    if value is None:
        return f"`{key}` is required (a non-empty array)" if required else None
    if not isinstance(value, list):
        return f"`{key}` must be an array, got {type_name(value)}"
    if non_empty and not value:
        return f"`{key}` must not be empty"
    return None


def first(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)
