"""Tool-call argument repair: broken JSON and plain shape slips, and the untouched fast path."""

from __future__ import annotations

import orjson
import pytest

from gateway.guards.repair import repair, tool_schemas

BASH = {"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"},
                                         "opts": {"type": "object"}, "run": {"type": "boolean"},
                                         "n": {"type": "integer"}}}


@pytest.mark.parametrize("text,expected", [
    ('{"command": "ls"', {"command": "ls"}),  # missing brace
    ("{command: 'ls -la'}", {"command": "ls -la"}),  # unquoted key, single quotes
    ('{"command": "ls"} trailing garbage', {"command": "ls"}),
    ('"{\\"command\\": \\"ls\\"}"', {"command": "ls"}),  # double-encoded
    ('[{"command": "ls"}]', {"command": "ls"}),
    ('{"command": "ls",}', {"command": "ls"}),
])
def test_repairs(text: str, expected: dict) -> None:
    r = repair(text, BASH)
    assert r.ok and r.changed and r.arguments == expected
    assert orjson.loads(r.text) == expected
    assert r.notes


def test_valid_arguments_pass_untouched() -> None:
    text = '{"command":"ls",  "timeout": 5}'
    r = repair(text, BASH)
    assert not r.changed and r.text == text and r.arguments == {"command": "ls", "timeout": 5}


def test_empty_is_an_empty_object() -> None:
    assert repair("", BASH).arguments == {} and not repair("", BASH).changed
    assert repair(None).arguments == {}


def test_schema_coercion() -> None:
    r = repair('{"command": "ls", "opts": "{\\"a\\": 1}", "run": "true", "n": "3", "timeout": "2.5"}', BASH)
    assert r.arguments == {"command": "ls", "opts": {"a": 1}, "run": True, "n": 3, "timeout": 2.5}
    assert r.changed
    r = repair('{"command": 42}', BASH)
    assert r.arguments == {"command": "42"}


def test_unrepairable() -> None:
    for text in ("garbage", "[1, 2]", "42"):
        r = repair(text, BASH)
        assert not r.ok, text


def test_tool_schemas_every_dialect() -> None:
    assert "Bash" in tool_schemas({"tools": [{"name": "Bash", "input_schema": BASH}]}, "anthropic")
    assert "Bash" in tool_schemas({"tools": [{"type": "function", "function": {"name": "Bash", "parameters": BASH}}]},
                                  "openai")
    assert "Bash" in tool_schemas({"tools": [{"type": "function", "name": "Bash", "parameters": BASH}]}, "responses")
    assert "Bash" in tool_schemas({"tools": [{"functionDeclarations": [{"name": "Bash", "parameters": BASH}]}]},
                                  "gemini")
