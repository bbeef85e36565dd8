"""Text normalisation shared by all parsers, and a small collector that drops empty blocks."""

from __future__ import annotations

import re
import unicodedata

from kreiswissen.ingest.model import Block, BlockKind

# Zero-width characters and soft hyphens are invisible in the source but split words for search.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# PDF producers emit typographic ligatures; searching "Einfluss" must find "Einﬂuss".
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")

# PDFium replaces a hyphen it recognised at a line end with U+FFFE (or U+0002) and drops the line break.
_MARKED_HYPHEN = re.compile(r"(\w)[\ufffe\x02]\s*(\w+)")
_LINE_END_HYPHEN = re.compile(r"(\w)[-\u00ad]\n\s*(\w+)")
# "Straßen- und Wegebau": the hyphen marks an elided word part, not a split word, so it must stay.
_KEEP_HYPHEN_BEFORE = frozenset(
    {"und", "oder", "bzw", "sowie", "bis", "noch", "als", "wie", "beziehungsweise", "respektive", "u", "o"}
)


def _join(match: re.Match[str], *, marked: bool) -> str:
    head, word = match.group(1), match.group(2)
    if word[0].islower() and word.lower() not in _KEEP_HYPHEN_BEFORE:
        return head + word
    if word.lower() in _KEEP_HYPHEN_BEFORE:
        return f"{head}- {word}"
    # A capitalised continuation is a real compound hyphen ("Baden-\nWürttemberg").
    return f"{head}-{word}" if marked else f"{head}-\n{word}"


def join_hyphenation(text: str) -> str:
    """Undo line-end hyphenation in layout text (PDF, OCR): "Hunde-\\nsteuer" → "Hundesteuer"."""
    text = _MARKED_HYPHEN.sub(lambda m: _join(m, marked=True), text)
    text = text.replace("\ufffe", "-").replace("\x02", "-")
    return _LINE_END_HYPHEN.sub(lambda m: _join(m, marked=False), text)


def clean_text(text: str) -> str:
    """NFC, no invisible characters, no control characters, single spaces, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_INVISIBLE).translate(_LIGATURES)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


_GENERIC_HEADINGS = frozenset(
    {"inhaltsverzeichnis", "inhalt", "inhaltsübersicht", "übersicht", "präambel", "vorwort", "einleitung"}
)


class BlockCollector:
    """Appends cleaned blocks and silently drops the ones that end up empty."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def add(self, kind: BlockKind, text: str, *, level: int = 0, page: int | None = None) -> None:
        cleaned = clean_text(text)
        if cleaned:
            self.blocks.append(Block(kind=kind, text=cleaned, level=level, page=page))

    def heading(self, text: str, level: int, *, page: int | None = None) -> None:
        self.add("heading", text, level=max(1, min(level, 6)), page=page)

    def first_heading(self) -> str | None:
        """The first heading that can serve as a title ("Inhaltsverzeichnis" cannot)."""
        return next(
            (
                b.text
                for b in self.blocks
                if b.kind == "heading" and b.text.casefold() not in _GENERIC_HEADINGS
            ),
            None,
        )


def table_row_text(cells: list[str]) -> str:
    """One table row as "cell | cell"; empty cells are dropped so that sparse rows stay readable."""
    return " | ".join(c for c in (clean_text(cell) for cell in cells) if c)
