"""Recognising heading-like lines in formats without markup (plain text, PDF, OCR output)."""

from __future__ import annotations

import re

_PART = re.compile(
    r"^(Teil|Kapitel|Abschnitt|Unterabschnitt|Artikel|Art\.|Anlage|Anhang)\s+([\dIVXLC]+[a-z]?)\b", re.I
)
_PARAGRAPH = re.compile(r"^§+\s*\d+\s*[a-z]?\b\.?\s*(?P<rest>.*)$")
# "§ 12 Absatz 8 ..." at the start of a wrapped line is a citation, not the heading of § 12.
_CITATION_WORDS = re.compile(
    r"^(Abs\.|Absatz|Absätze|Satz|S\.|Nr\.|Nummer|Ziff\.|Ziffer|Buchst\.|bis|und|oder|i\.\s?V\.)", re.I
)
# A heading does not end in an article, preposition or conjunction; a line broken mid-sentence does.
_DANGLING = frozenset(
    {
        "der", "die", "das", "des", "dem", "den", "ein", "eine", "einer", "eines", "einem", "und", "oder",
        "von", "vom", "mit", "zu", "zur", "zum", "für", "in", "im", "an", "am", "auf", "aus", "bei", "nach",
        "über", "unter", "vor", "durch", "gegen", "ohne", "sowie", "bzw", "als", "wie", "dass",
    }
)  # fmt: skip
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+[A-ZÄÖÜ]")
_MAX_HEADING_CHARS = 100
_MAX_PARAGRAPH_HEADING_CHARS = 160


def heading_level(line: str, *, strong_only: bool = False) -> int | None:
    """Level (1–6) if ``line`` looks like a heading on its own, else ``None``.

    ``strong_only`` restricts the answer to patterns that are headings even when body text follows on the
    next line without a blank line ("§ 3 Gebühren", "Abschnitt II", all-caps titles). Numbered lines
    ("1. Allgemeines") are only headings when they stand alone, because numbered list items look the same.
    """
    line = line.strip()
    if not line or line[-1] in ".,;:" or line.split()[-1].lower() in _DANGLING:
        return None
    if paragraph := _PARAGRAPH.match(line):
        # "§ 10" alone on its line is a heading whose title follows; "§ 12 Abs. 2 ..." is a citation.
        rest = paragraph.group("rest")
        if rest and (_CITATION_WORDS.match(rest) or rest[0].islower()):
            return None
        return 2 if len(line) <= _MAX_PARAGRAPH_HEADING_CHARS else None
    if len(line) > _MAX_HEADING_CHARS or not any(c.isalpha() for c in line):
        return None
    if _PART.match(line):
        return 1
    letters = [c for c in line if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() or c == "ß" for c in letters) and len(line) <= 60:
        return 1
    if strong_only:
        return None
    numbered = _NUMBERED.match(line)
    if numbered and len(line.split()) <= 10:
        return min(numbered.group(1).count(".") + 1, 6)
    return None


def is_bare_paragraph_number(line: str) -> bool:
    """ "§ 10" on a line of its own: the title of the section follows on the next line."""
    match = _PARAGRAPH.match(line.strip())
    return match is not None and not match.group("rest")


def is_title_line(line: str) -> bool:
    """A short line that can finish a heading (the title after a bare "§ 10")."""
    line = line.strip()
    return bool(line) and len(line) <= _MAX_HEADING_CHARS and line[-1] not in ".,;:" and line[0].isupper()
