"""Decoding text files of unknown encoding: byte order marks, UTF-8, UTF-16 without BOM, the German legacy
code pages (cp1252, cp850), then charset-normalizer; binary data is refused. One implementation for every
reader of text (documents, transcripts)."""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

BOMS: tuple[tuple[bytes, str], ...] = (
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
    for bom, bom_encoding in BOMS:
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
