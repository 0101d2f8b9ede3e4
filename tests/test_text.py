"""generator.lib.text.one_line: typed text made fit for a name, a tag or a search."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.lib.text import one_line


@pytest.mark.parametrize(
    ("typed", "line"),
    [
        ("  Golden   hour ", "Golden hour"),
        ("a\x00b", "a b"),  # PostgreSQL refuses NUL in text
        ("tab\there\nnew\rline", "tab here new line"),
        ("\x1b[31mred\x7f\x9b", "[31mred"),
        ("\x00", ""),
        (None, ""),
        ("café ☕", "café ☕"),
    ],
)
def test_controls_read_as_spaces_and_whitespace_collapses(typed, line):
    assert one_line(typed) == line


def test_the_limit_cuts_after_cleaning():
    assert one_line("  ab   cd  ", 4) == "ab c"


@given(st.text())
def test_no_control_character_or_double_space_survives(text):
    line = one_line(text)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in line)
    assert "  " not in line and line == line.strip()
