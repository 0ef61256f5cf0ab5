"""The env-file format (manifest-and-runtime §7.2): reading, quoting, errors with path:line, file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from angee.errors import RuntimeFailure
from angee.secrets.envfile import (
    EnvFileError,
    format_env,
    parse_env,
    quote_value,
    read_env_file,
    read_env_file_lenient,
    unquote_value,
    write_env_file,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------- reader


def test_reader_skips_blank_and_comment_lines_and_trims() -> None:
    text = "\n  # a comment\n\tFOO = bar  \n\n   BAZ=qux\r\n#KEY=ignored\n"
    assert parse_env(text, ".env") == {"FOO": "bar", "BAZ": "qux"}


def test_reader_splits_at_the_first_equals() -> None:
    assert parse_env("URL=postgres://u:p@h/db?x=1&y=2", ".env") == {"URL": "postgres://u:p@h/db?x=1&y=2"}


def test_reader_keeps_unquoted_values_raw() -> None:
    entries = parse_env("A=a # not a comment\nB=$HOME\nC=\nD='unterminated\nE=\"x", ".env")
    assert entries == {"A": "a # not a comment", "B": "$HOME", "C": "", "D": "'unterminated", "E": '"x'}


def test_reader_key_may_hold_dots_dashes_underscores() -> None:
    assert parse_env("my.key-1_X=v", ".env") == {"my.key-1_X": "v"}


def test_last_duplicate_key_wins() -> None:
    assert parse_env("K=1\nK=2\n", ".env") == {"K": "2"}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("'literal \\n $x \"q\"'", 'literal \\n $x "q"'),
        ("`literal \\t 'q'`", "literal \\t 'q'"),
        ("''", ""),
        ('""', ""),
        ("'  padded  '", "  padded  "),
        ("'it's'", "it's"),
    ],
)
def test_single_quotes_and_backticks_are_literal(raw: str, value: str) -> None:
    assert unquote_value(raw) == value
    assert parse_env(f"K={raw}", ".env") == {"K": value}


@pytest.mark.parametrize(
    ("escape", "char"),
    [
        ("\\\\", "\\"),
        ('\\"', '"'),
        ("\\'", "'"),
        ("\\n", "\n"),
        ("\\r", "\r"),
        ("\\t", "\t"),
        ("\\a", "\a"),
        ("\\b", "\b"),
        ("\\f", "\f"),
        ("\\v", "\v"),
        ("\\x41", "A"),
        ("\\x7e", "~"),
        ("\\u00e9", "é"),
        ("\\u65E5", "日"),
        ("\\U0001F600", "😀"),
        ("\\101", "A"),
        ("\\000", "\x00"),
        ("\\xc3\\xa9", "é"),  # hex escapes are bytes: two of them make one UTF-8 character
        ("\\303\\251", "é"),
    ],
)
def test_double_quoted_escapes(escape: str, char: str) -> None:
    assert parse_env(f'K="<{escape}>"', ".env") == {"K": f"<{char}>"}


@pytest.mark.parametrize(
    "raw",
    [
        '"bad \\q escape"',
        '"short hex \\x4"',
        '"short unicode \\u12"',
        '"surrogate \\ud800"',
        '"too big \\U00110000"',
        '"octal \\18"',
        '"octal over 255 \\400"',
        '"lone \\xff byte"',
        '"bare " quote"',
        '"trailing backslash \\"',
    ],
)
def test_invalid_double_quoted_value_is_kept_raw_with_quotes(raw: str) -> None:
    assert parse_env(f"K={raw}", ".env") == {"K": raw}


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    assert read_env_file(str(tmp_path / "absent.env")) == {}
    assert read_env_file_lenient(str(tmp_path / "absent.env")) == {}


def test_missing_equals_names_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# header\nGOOD=1\n\nthis-line-has-no-equals\n")
    with pytest.raises(EnvFileError) as err:
        read_env_file(str(path))
    assert str(err.value) == f"{path}:4: missing '='"
    assert isinstance(err.value, RuntimeFailure)


def test_invalid_key_character_names_key_and_character(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\nexport FOO=bar\n")
    with pytest.raises(EnvFileError) as err:
        read_env_file(str(path))
    assert str(err.value) == f"{path}:2: secret key \"export FOO\" contains invalid character ' '"
    assert "bar" not in str(err.value)


def test_non_ascii_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text("CLÉ=v\n")
    with pytest.raises(EnvFileError, match=r"x\.env:1: secret key \"CLÉ\" contains invalid character 'É'"):
        read_env_file(str(path))


def test_empty_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("=value\n")
    with pytest.raises(EnvFileError, match=r":1: secret key is empty$"):
        read_env_file(str(path))


def test_lenient_reader_skips_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "service.env"
    path.write_text("A=1\nno equals here\nexport B=2\n=3\nC='c'\n")
    assert read_env_file_lenient(str(path)) == {"A": "1", "C": "c"}


# --------------------------------------------------------------------------- writer


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "'plain'"),
        ("", "''"),
        ("$HOME and spaces", "'$HOME and spaces'"),
        ('has "double" quotes', "'has \"double\" quotes'"),
        ("it's", '"it\'s"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\\nlines"'),
        ("cr\rhere", '"cr\\rhere"'),
        ("all ' \" \\ \n \r", '"all \' \\" \\\\ \\n \\r"'),
        ("tab\tstays", "'tab\tstays'"),
        ("ünïcode 😀", "'ünïcode 😀'"),
    ],
)
def test_quoting_rules(value: str, written: str) -> None:
    assert quote_value(value) == written
    assert parse_env(f"K={written}", ".env") == {"K": value}


def test_format_sorts_keys_by_code_point() -> None:
    text = format_env({"b": "2", "B": "1", "a.x": "3", "A_": "4"})
    assert text == "A_='4'\nB='1'\na.x='3'\nb='2'\n"


def test_format_can_keep_the_given_order(tmp_path: Path) -> None:
    assert format_env({"b": "2", "a": "1"}, keep_order=True) == "b='2'\na='1'\n"
    write_env_file(str(tmp_path / "secrets.env"), {"b": "2", "a": "1"}, keep_order=True)
    assert (tmp_path / "secrets.env").read_text() == "b='2'\na='1'\n"


def test_write_creates_0600_file_and_0755_parents(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "secrets.env"
    old = os.umask(0o077)  # a strict umask must not leak into the directory modes
    try:
        write_env_file(str(path), {"ANGEE_SECRET_X": "x"})
    finally:
        os.umask(old)
    assert path.read_text() == "ANGEE_SECRET_X='x'\n"
    assert mode(path) == 0o600
    assert mode(tmp_path / "deep") == 0o755
    assert mode(tmp_path / "deep" / "er") == 0o755


def test_rewrite_tightens_an_existing_loose_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chmod(path, 0o644)
    write_env_file(str(path), {"A": "2"})
    assert mode(path) == 0o600
    assert path.read_text() == "A='2'\n"
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temp file left behind


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    entries = {
        "ANGEE_SECRET_A": "multi\nline\r\nvalue",
        "ANGEE_SECRET_B": "quote ' and \" and \\",
        "ANGEE_SECRET_C": "  spaced  ",
        "ANGEE_SECRET_D": "= # $ ` ${X}",
        "OTHER": "日本語",
    }
    write_env_file(str(path), entries)
    assert read_env_file(str(path)) == entries
    write_env_file(str(path), read_env_file(str(path)))
    assert read_env_file(str(path)) == entries


def test_write_failure_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "sub" / ".env"
    with pytest.raises(RuntimeFailure) as err:
        write_env_file(str(target), {"A": "secret-value"})
    assert str(err.value).startswith(f"cannot write {target}: ")
    assert "secret-value" not in str(err.value)
