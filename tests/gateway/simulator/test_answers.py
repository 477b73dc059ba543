"""The pure answer decisions: directive parsing, scripts, word splitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.simulator.answers import (
    Prompt,
    Reply,
    ToolCall,
    decide,
    parse_directive,
    script_item,
    split_json,
    split_words,
)


def prompt(**kw) -> Prompt:
    return Prompt("chat", "m", False, **kw)


@given(st.text())
def test_split_words_joins_back(text: str) -> None:
    assert "".join(split_words(text)) == text


@given(st.text(min_size=1))
def test_split_json_joins_back(text: str) -> None:
    assert "".join(split_json(text)) == text


def test_directive_with_nested_args_and_without_args() -> None:
    assert parse_directive('x [[tool:Edit {"a": {"b": [1]}}]] y') == ToolCall("Edit", {"a": {"b": [1]}})
    assert parse_directive("[[tool:ls]]") == ToolCall("ls", {})
    assert parse_directive("[[tool:ls {not json}]]") is None
    assert parse_directive("no directive") is None


def test_precedence_script_then_tool_result_then_directive() -> None:
    p = prompt(user_text="[[tool:a {}]]", directive_text="[[tool:a {}]]", tool_result="done")
    assert decide(p).text == "SIM-ANSWER(m): tool result: done"
    assert decide(p, Reply(text="scripted")).text == "scripted"
    p.tool_result = None
    assert decide(p).tool == ToolCall("a", {})
    assert decide(prompt(user_text="x" * 100)).text == "SIM-ANSWER(m): " + "x" * 60


def test_script_items() -> None:
    assert script_item("hi") == Reply(text="hi")
    assert script_item({"tool": {"name": "t", "arguments": '{"k": 1}'}}).tool == ToolCall("t", {"k": 1})
    for bad in ({}, {"text": 1}, {"tool": {"arguments": {}}}, {"extra": 1}, 5):
        with pytest.raises(ValueError):
            script_item(bad)


def test_output_tokens_count_words() -> None:
    assert Reply(text="a b c").output_tokens == 3
    assert Reply(tool=ToolCall("t", {"k": "v"})).output_tokens == 3
