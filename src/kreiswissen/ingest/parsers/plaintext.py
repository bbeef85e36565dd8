"""Plain text: robust decoding of German legacy encodings, paragraphs, heading-like lines and lists."""

from __future__ import annotations

import re

from kreiswissen.ingest.model import ParsedDocument
from kreiswissen.text.encoding import UndecodableText, decode_text

from .cleanup import BlockCollector
from .headings import heading_level, is_bare_paragraph_number, is_title_line
from .source import Source

_BULLET = re.compile(r"^\s*(?:[-*•–▪◦]|\d{1,3}[.)]|[a-z][.)])\s+")
_ABSATZ = re.compile(r"^\s*\(\d{1,3}[a-z]?\)\s")
_NEWLINES = re.compile(r"\r\n?|\u2028|\u2029|\x0c")


def blocks_from_text(
    text: str, *, page: int | None = None, collector: BlockCollector | None = None
) -> BlockCollector:
    """Paragraphs split on blank lines; heading-like lines and list lines become their own blocks."""
    out = collector or BlockCollector()
    text = _NEWLINES.sub("\n", text)
    for paragraph in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and (level := heading_level(lines[0])) is not None:
            out.heading(lines[0], level, page=page)
            continue
        if len(lines) >= 2 and is_bare_paragraph_number(lines[0]) and is_title_line(lines[1]):
            out.heading(f"{lines[0]} {lines[1]}", 2, page=page)
            lines = lines[2:]
        elif (level := heading_level(lines[0], strong_only=True)) is not None:
            out.heading(lines[0], level, page=page)
            lines = lines[1:]
        _units(lines, out, page)
    return out


def _units(lines: list[str], out: BlockCollector, page: int | None) -> None:
    """Split a paragraph where a new list item or a numbered Absatz starts; other lines continue it."""
    is_item = False
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            joined = " ".join(buffer)
            if is_item:
                out.add("list_item", joined, level=1, page=page)
            else:
                out.add("paragraph", joined, page=page)
            buffer.clear()

    many_markers = sum(1 for line in lines if _BULLET.match(line)) >= 2
    for line in lines:
        if _BULLET.match(line) and (many_markers or line.lstrip()[:1] in "-*•–▪◦"):
            flush()
            is_item = True
        elif _ABSATZ.match(line):
            flush()
            is_item = False
        buffer.append(line)
    flush()


def parse(src: Source) -> ParsedDocument:
    try:
        text, encoding = decode_text(src.data)
    except UndecodableText as exc:
        raise src.error(
            f"not a text file ({exc})", "ist keine lesbare Textdatei (Binärdaten oder unbekannte Kodierung)"
        ) from exc
    out = blocks_from_text(text)
    title = out.first_heading() or _first_line(out) or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata={"encoding": encoding}, doc_type="text")


def _first_line(out: BlockCollector) -> str | None:
    # A short first line without sentence punctuation is how plain-text documents carry their title.
    if out.blocks and len(out.blocks[0].text) <= 100 and out.blocks[0].text[-1] not in ".,;:!?":
        return out.blocks[0].text
    return None
