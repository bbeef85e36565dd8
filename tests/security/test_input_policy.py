"""Input checks on questions (BSI guidance on generative AI): limits, control and invisible characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kreiswissen.errors import InputError
from kreiswissen.security.input_policy import INPUT_NOTICE, MAX_QUESTION_CHARS, check_question


def test_invisible_characters_are_removed_and_whitespace_collapsed() -> None:
    hidden = "Hunde\u200bsteuer\u202e in  Bad\u00adBoll?\n"
    assert check_question(hidden) == "Hundesteuer in BadBoll?"
    assert check_question("Cafe\u0301") == "Café"  # NFC


@pytest.mark.parametrize("text,message", [
    ("", "Bitte geben Sie eine Frage"),
    ("  \u200b ", "Bitte geben Sie eine Frage"),
    ("Hundesteuer\x00 Bad Boll", "Steuerzeichen"),
    ("Hundesteuer\x1b[31m", "Steuerzeichen"),
    ("x" * (MAX_QUESTION_CHARS + 1), "zu lang"),
])
def test_bad_input_gets_a_german_message(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        check_question(text)
    assert message in info.value.user_message


def test_the_notice_names_what_must_not_be_entered_and_the_ai_label() -> None:
    assert "Keine Namen" in INPUT_NOTICE and "KI-generiert" in INPUT_NOTICE


@given(st.text(max_size=300))
def test_any_text_is_either_rejected_clearly_or_cleaned(text: str) -> None:
    try:
        clean = check_question(text)
    except InputError as exc:
        assert exc.user_message
    else:
        assert clean == clean.strip() and "\u200b" not in clean and 0 < len(clean) <= MAX_QUESTION_CHARS
        assert not any(ord(c) < 32 for c in clean)
