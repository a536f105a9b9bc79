"""Rewriting one hash attribute at the position Nix reports."""

from __future__ import annotations

import pytest

from fetcher.hash_rewrite import HashEdit, HashNotLiteral, apply_edits, locate_hash

NEW = "sha256-" + "A" * 43 + "="


def position(text: str, needle: str) -> tuple[int, int]:
    """(line, column), 1-based, of the first ``needle``: what unsafeGetAttrPos reports."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ('{ hash = "sha256-old="; }', "hash", f'{{ hash = "{NEW}"; }}'),
        ('{ hash = ""; }', "hash", f'{{ hash = "{NEW}"; }}'),
        ('{ hash=   "x"  ; }', "hash", f'{{ hash=   "{NEW}"  ; }}'),
        ('{ sha256 = "0000"; }', "sha256", f'{{ sha256 = "{NEW}"; }}'),
        ('{ outputHash = "abc"; }', "outputHash", f'{{ outputHash = "{NEW}"; }}'),
        ("{ hash = lib.fakeHash; }", "hash", f'{{ hash = "{NEW}"; }}'),
        ("{ hash = pkgs.lib.fakeHash; }", "hash", f'{{ hash = "{NEW}"; }}'),
        ("{ sha256 = lib.fakeSha256; }", "sha256", f'{{ sha256 = "{NEW}"; }}'),
        (
            '{\n  a = 1;\n  hash =\n    "old";\n}',
            "hash",
            f'{{\n  a = 1;\n  hash =\n    "{NEW}";\n}}',
        ),
        ('{ hash = "a\\"b"; }', "hash", f'{{ hash = "{NEW}"; }}'),
        ('{ hash = "cost $5"; }', "hash", f'{{ hash = "{NEW}"; }}'),
    ],
)
def test_literal_values_are_replaced(source: str, name: str, expected: str) -> None:
    line, column = position(source, name)
    edit = locate_hash(source, line, column, name, NEW)
    assert apply_edits(source, [edit]) == expected


@pytest.mark.parametrize(
    "source",
    [
        '{ hash = "sha256-${x}"; }',  # interpolation
        "{ hash = someVariable; }",
        '{ hash = "a" + "b"; }',
        '{ hash = if x then "a" else "b"; }',
        "{ hash = ''indented''; }",
    ],
)
def test_computed_values_are_refused(source: str) -> None:
    line, column = position(source, "hash")
    with pytest.raises(HashNotLiteral, match="plain string literal"):
        locate_hash(source, line, column, "hash", NEW)


def test_position_must_name_the_attribute() -> None:
    source = '{ name = "x"; hash = "y"; }'
    line, column = position(source, "name")
    with pytest.raises(HashNotLiteral):
        locate_hash(source, line, column, "hash", NEW)


@pytest.mark.parametrize(("line", "column"), [(0, 1), (5, 1), (1, 0)])
def test_position_outside_the_file_is_refused(line: int, column: int) -> None:
    with pytest.raises(HashNotLiteral, match="outside the file"):
        locate_hash('{ hash = "x"; }\n', line, column, "hash", NEW)


def test_several_edits_apply_from_the_end() -> None:
    source = '{ a = f { hash = "1"; }; b = f { hash = "22"; }; }'
    first = source.index("hash")
    second = source.index("hash", first + 1)
    edits = [
        locate_hash(source, 1, first + 1, "hash", "X"),
        locate_hash(source, 1, second + 1, "hash", "YY"),
    ]
    assert apply_edits(source, edits) == '{ a = f { hash = "X"; }; b = f { hash = "YY"; }; }'
    assert apply_edits(source, list(reversed(edits))) == apply_edits(source, edits)


def test_edit_is_plain_data() -> None:
    assert HashEdit(1, 2, "x") == HashEdit(1, 2, "x")
