from __future__ import annotations

from pathlib import Path

import pytest

from gate.config.loader import load_file, load_text
from gate.errors import ConfigError


def test_lines_are_kept_for_nested_values() -> None:
    doc = load_text("a: 1\nb:\n  - x: 2\n    y: 3\n", "f.yaml")
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": 3}]}
    assert doc.line_of(("b", 0, "y")) == 4
    assert doc.line_of(("b", 0, "missing")) == 3


def test_timestamps_stay_strings() -> None:
    doc = load_text("t: 2026-11-20T10:00:00+01:00\nd: 2026-11-20\n", "f.yaml")
    assert doc.data == {"t": "2026-11-20T10:00:00+01:00", "d": "2026-11-20"}


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert info.value.one_line() == "f.yaml:3: a: duplicate key 'a' (first defined on line 1)"


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert info.value.file == "f.yaml"
    assert info.value.line is not None
    assert info.value.one_line().startswith("f.yaml:")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    with pytest.raises(ConfigError, match="alias bomb"):
        load_text("\n".join(lines) + "\n", "bomb.yaml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"  \n\n", "file is empty"),
        (b"\x00\x01bin", "binary file"),
        (b"a: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "c.yaml"
    f.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_file(f)
    assert info.value.file == str(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_file(tmp_path / "nope.yaml")
