"""Durations (§0) and workspace naming (§5.2 step 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from angee.errors import InvalidInput
from angee.workspaces.durations import parse_duration, parse_ttl
from angee.workspaces.naming import check_workspace_name, resolve_workspace_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("-2m", timedelta(minutes=-2)),
        ("+1m", timedelta(minutes=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("10us", timedelta(microseconds=10)),
        ("10\u00b5s", timedelta(microseconds=10)),
        (".5s", timedelta(milliseconds=500)),
        ("1h0m0.5s", timedelta(hours=1, milliseconds=500)),
    ],
)
def test_duration_grammar_accepts_go_style_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "1d", "PT1H", "1h 30m", "h", ".s", "1..5s", "abc", "1hm"])
def test_duration_grammar_rejects_other_forms_naming_the_ttl_field(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_duration(text)
    assert err.value.field == "ttl"
    assert f'invalid duration "{text}"' in str(err.value)


@pytest.mark.parametrize("text", ["0", "-1h", "0s", "0.0h"])
def test_ttl_must_be_positive(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_ttl(text)
    assert err.value.field == "ttl"
    assert "must be positive" in str(err.value)


def test_ttl_value() -> None:
    assert parse_ttl("4h") == timedelta(hours=4)
    assert parse_ttl("1ns") > timedelta(0)


# --------------------------------------------------------------------------- naming


def test_explicit_name_wins_and_is_checked() -> None:
    assert resolve_workspace_name("fix-1", {"name": "other"}) == "fix-1"
    with pytest.raises(InvalidInput) as err:
        resolve_workspace_name("bad name", {})
    assert err.value.field == "name"
    assert "bad name" in str(err.value)


def test_default_pattern_slugs_the_name_input() -> None:
    assert resolve_workspace_name(None, {"name": "Fix Issue #123"}) == "fix-issue-123"


def test_pattern_fallback_and_max_length() -> None:
    naming = {"pattern": "${inputs.topic | slug}", "fallback": "ws-${inputs.user}", "max_length": 8}
    assert resolve_workspace_name(None, {"topic": "Hello World Again"}, **naming) == "hello-wo"
    # the cut leaves a trailing separator, which is trimmed
    assert resolve_workspace_name(None, {"topic": "abcdefg-xyz"}, **naming) == "abcdefg"
    # empty result → fallback
    assert resolve_workspace_name(None, {"topic": "!!!", "user": "bob"}, **naming) == "ws-bob"


def test_default_pattern_without_name_input_uses_fallback_or_fails_empty() -> None:
    assert resolve_workspace_name(None, {}, fallback="scratch") == "scratch"
    with pytest.raises(InvalidInput) as err:
        resolve_workspace_name(None, {})
    assert str(err.value) == "workspace name resolved empty"


def test_explicit_pattern_with_unset_input_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        resolve_workspace_name(None, {}, pattern="${inputs.topic}")
    assert 'input "topic" is not set' in str(err.value)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("-x", "must match"),
        ("a" * 65, "must match"),
        ("a..b", '".."'),
        ("x.lock", ".lock"),
        ("pool", "reserved"),
        ("preflight", "reserved"),
        ("reap", "reserved"),
        ("a/b", "must match"),
    ],
)
def test_name_rules(name: str, why: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_workspace_name(name)
    assert why in str(err.value)


def test_valid_names() -> None:
    for name in ("a", "A.b_c-1", "x" * 64, "9lives"):
        assert check_workspace_name(name) == name
