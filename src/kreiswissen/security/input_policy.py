"""Checks on what users type, following the BSI's guidance on generative AI (input length limits, no control or
invisible characters that could smuggle instructions) and the notice of what may be entered."""

from __future__ import annotations

import re
import unicodedata

from kreiswissen.errors import InputError

MAX_QUESTION_CHARS = 2000

# Shown wherever a question is entered (CLI help, web form).
INPUT_NOTICE = (
    "Hinweis: Geben Sie nur ein, was für Ihre Frage nötig ist. Keine Namen, Anschriften, Aktenzeichen oder "
    "Gesundheitsdaten von Bürgerinnen und Bürgern und keine Verschlusssachen eintragen. Fragen werden "
    "pseudonymisiert protokolliert. Antworten eines Sprachmodells sind als KI-generiert gekennzeichnet und "
    "müssen anhand der Quellen geprüft werden."
)

# Zero-width characters, bidirectional overrides and other format characters: invisible to the reader,
# used to hide text from reviewers.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")


def check_question(text: str) -> str:
    """The question, normalised (NFC, invisible characters removed, whitespace collapsed); InputError if it is
    empty, too long or holds control characters."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise InputError("control characters in question",
                         user_message="Die Anfrage enthält Steuerzeichen. Bitte geben Sie nur normalen Text ein.")
    text = " ".join(text.split())
    if not text:
        raise InputError("empty query", user_message="Bitte geben Sie eine Frage oder Suchbegriffe ein.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError("query too long", user_message=f"Die Anfrage ist zu lang (höchstens {MAX_QUESTION_CHARS} "
                         f"Zeichen, eingegeben: {len(text)}).")
    return text
