"""Plain text: robust decoding of German legacy encodings, paragraphs, heading-like lines and lists."""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector
from .headings import heading_level, is_bare_paragraph_number, is_title_line
from .source import Source

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Characters a German office document plausibly contains, and the ones that speak for a German reading.
_PLAUSIBLE_NON_ASCII = frozenset("äöüÄÖÜß€§„“”‚‘’–—…°²³½¼¾«»·•µ×÷éèêëáàâóòôúùûíìîïçñÉÈÊÀÁÂÇÓÔÚØøåÅæÆ\u00a0")
_GERMAN_SIGNALS = frozenset("äöüÄÖÜß„“€§–")
# Old DOS files (cp850) are the other German 8-bit encoding still found in archives.
_GERMAN_CODEPAGES = ("cp1252", "cp850")
_BINARY_CONTROL_RATIO = 0.02


class UndecodableText(ValueError):
    pass


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 written without BOM shows as NUL in every other byte for Latin text."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    for ratio, encoding in ((odd_nuls, "utf-16-le"), (even_nuls, "utf-16-be")):
        if ratio > 0.3:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _german_score(text: str) -> int:
    score = 0
    for char in text:
        if ord(char) < 128:
            continue
        if char in _GERMAN_SIGNALS:
            score += 1
        elif char not in _PLAUSIBLE_NON_ASCII:
            score -= 1
    return score


def _mostly_foreign_letters(text: str) -> bool:
    """German text has few non-ASCII letters; Cyrillic or Greek read as cp1252 has almost only those."""
    letters = [c for c in text if c.isalpha()]
    foreign = sum(1 for c in letters if ord(c) > 127 and c not in _GERMAN_SIGNALS)
    return bool(letters) and foreign / len(letters) > 0.4


def _legacy(data: bytes) -> tuple[str, str]:
    """8-bit text: the German code pages first, charset-normalizer for everything else.

    charset-normalizer alone misreads short German cp1252 text (as cp037, cp1250, cp1006 ...), so it only
    gets a say when no German reading is plausible.
    """
    readings: list[tuple[int, int, str, str]] = []
    for rank, codepage in enumerate(_GERMAN_CODEPAGES):
        try:
            text = data.decode(codepage)
        except UnicodeDecodeError:
            continue
        # Ties go to cp1252 (lower rank): it is by far the more common of the two.
        readings.append((_german_score(text), -rank, text, codepage))
    if readings:
        score, _, text, codepage = max(readings)
        if score >= 0 and not _mostly_foreign_letters(text):
            return text, codepage
    best = from_bytes(data).best()
    if best is not None and best.encoding not in ("utf_16", "utf_16_le", "utf_16_be", "utf_32"):
        return str(best), best.encoding
    if readings:
        return max(readings)[2], max(readings)[3]
    # Bytes undefined in every candidate: Latin-1 reads anything, and the binary check judges the result.
    return data.decode("latin-1"), "latin-1"


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    if "\x00" in text:
        return True
    bad = sum(1 for c in text if c == "\ufffd" or (unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v"))
    return bad / len(text) > _BINARY_CONTROL_RATIO


def decode_text(data: bytes) -> tuple[str, str]:
    """Decoded text and the encoding used; :class:`UndecodableText` for binary data."""
    text: str | None = None
    encoding = ""
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            try:
                text, encoding = data[len(bom) :].decode(bom_encoding), bom_encoding
            except UnicodeDecodeError as exc:
                raise UndecodableText(f"invalid {bom_encoding} after byte order mark") from exc
            break
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            utf16 = _utf16_without_bom(data)
            if utf16 is not None:
                text, encoding = utf16, "utf-16"
            elif b"\x00" in data:
                raise UndecodableText("binary data (NUL bytes)") from None
            else:
                text, encoding = _legacy(data)
    if _looks_binary(text):
        raise UndecodableText("binary data (control characters)")
    return text, encoding


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
