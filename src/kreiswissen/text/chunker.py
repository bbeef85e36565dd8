"""Structure-aware chunking: sections (headings, §), Absätze and list items, pages.

A chunk never spans two sections or two pages, so its section path and page are exact. Blocks of one
section are packed up to ``max_chars``; a block longer than that is cut at sentence boundaries.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kreiswissen.ingest.model import Block, ParsedDocument
from kreiswissen.text.sentences import sentence_spans

SECTION_SEPARATOR = " › "
# "§ 5 Steuersatz", "§ 12a Ordnungswidrigkeiten", "Art. 3 Inkrafttreten" on a line of its own.
_PARAGRAPH_HEADING = re.compile(r"^(?:§{1,2}|Art\.|Artikel)\s*\d+[a-z]?\b(?:\s+\S.{0,110})?$")
_SKIP_SECTIONS = re.compile(r"^(inhaltsverzeichnis|inhalt|inhaltsübersicht)$", re.IGNORECASE)


@dataclass(frozen=True)
class Chunk:
    ord: int
    text: str
    section: str | None
    page: int | None
    char_start: int
    char_end: int

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _heading_level(block: Block) -> int | None:
    if block.kind == "heading":
        return max(1, block.level or 1)
    if block.kind == "paragraph" and _PARAGRAPH_HEADING.match(block.text):
        return 6  # an implicit § heading sits below any explicit heading
    return None


def chunk_document(doc: ParsedDocument, max_chars: int = 900, min_chars: int = 200) -> list[Chunk]:
    """Chunks with exact offsets into ``doc.text`` (blocks joined by newlines)."""
    chunks: list[Chunk] = []
    headings: list[tuple[int, str]] = []
    pending: list[tuple[int, int, Block]] = []  # (start, end, block) of the chunk being filled
    offset = 0

    def section_path() -> str | None:
        parts = [doc.title] if doc.title else []
        for _, text in headings:
            if not parts or text.casefold() != parts[-1].casefold():
                parts.append(text)
        return SECTION_SEPARATOR.join(parts) if parts else None

    def flush() -> None:
        if not pending:
            return
        text = "\n".join(b.text for _, _, b in pending)
        chunks.append(
            Chunk(
                ord=len(chunks),
                text=text,
                section=section_path(),
                page=pending[0][2].page,
                char_start=pending[0][0],
                char_end=pending[-1][1],
            )
        )
        pending.clear()

    skipping = False
    for block in doc.blocks:
        start, end = offset, offset + len(block.text)
        offset = end + 1
        level = _heading_level(block)
        if level is not None:
            flush()
            if skipping and headings:
                headings.pop()  # a table of contents ends at the next heading, whatever its level
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, block.text.strip()))
            skipping = bool(_SKIP_SECTIONS.match(block.text.strip()))
            continue
        if skipping:
            continue  # a table of contents only repeats the headings
        if pending and (pending[-1][2].page != block.page):
            flush()
        size = sum(e - s + 1 for s, e, _ in pending)
        if pending and size + len(block.text) > max_chars:
            flush()
        if len(block.text) <= max_chars:
            pending.append((start, end, block))
            continue
        flush()
        for piece_start, piece_end in _split_long(block.text, max_chars):
            piece = Block(block.kind, block.text[piece_start:piece_end], block.level, block.page)
            pending.append((start + piece_start, start + piece_end, piece))
            flush()
    flush()
    return _merge_small(chunks, min_chars, max_chars)


def _split_long(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut a long block at sentence ends into pieces of at most ``max_chars`` (a longer sentence: at spaces)."""
    pieces: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for s, e in sentence_spans(text):
        if current and e - current[0] <= max_chars:
            current = (current[0], e)
            continue
        if current:
            pieces.append(current)
        while e - s > max_chars:
            cut = text.rfind(" ", s, s + max_chars)
            cut = cut if cut > s else s + max_chars
            pieces.append((s, cut))
            s = cut + 1 if text[cut : cut + 1] == " " else cut
        current = (s, e)
    if current:
        pieces.append(current)
    return pieces


def _merge_small(chunks: list[Chunk], min_chars: int, max_chars: int) -> list[Chunk]:
    """Join a too-small chunk with its successor of the same section and page (never across sections)."""
    merged: list[Chunk] = []
    for chunk in chunks:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and len(prev.text) < min_chars
            and prev.section == chunk.section
            and prev.page == chunk.page
            and prev.char_end + 1 == chunk.char_start
            and len(prev.text) + 1 + len(chunk.text) <= max_chars
        ):
            merged[-1] = Chunk(prev.ord, prev.text + "\n" + chunk.text, prev.section, prev.page,
                               prev.char_start, chunk.char_end)
            continue
        merged.append(chunk)
    return [Chunk(i, c.text, c.section, c.page, c.char_start, c.char_end) for i, c in enumerate(merged)]
