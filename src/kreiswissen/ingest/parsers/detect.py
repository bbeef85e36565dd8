"""Which parser a file needs: magic bytes decide, the suffix only confirms (or exposes a mislabelled file)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Literal

from kreiswissen.errors import InputError, UnsupportedFormat

from .limits import check_xml_members, open_zip
from .source import Source

Format = Literal[
    "pdf", "docx", "xlsx", "odt", "ods", "png", "jpeg", "tiff", "html", "markdown", "text", "email"
]

SUFFIX_FORMATS: dict[str, Format] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".odt": "odt",
    ".ods": "ods",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".eml": "email",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(SUFFIX_FORMATS)

_ZIP_FORMATS = frozenset({"docx", "xlsx", "odt", "ods"})
_IMAGE_FORMATS = frozenset({"png", "jpeg", "tiff"})
_TEXT_FORMATS = frozenset({"html", "markdown", "text", "email"})

# Human names for messages; the same words work in English and German.
LABELS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word (DOCX)",
    "xlsx": "Excel (XLSX)",
    "odt": "OpenDocument-Text (ODT)",
    "ods": "OpenDocument-Tabelle (ODS)",
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "html": "HTML",
    "markdown": "Markdown",
    "text": "Text",
    "email": "E-Mail (EML)",
    "zip": "ZIP",
    "pptx": "PowerPoint (PPTX)",
    "odp": "OpenDocument-Präsentation (ODP)",
    "odg": "OpenDocument-Zeichnung (ODG)",
    "ole": "Office 97–2003/Outlook (DOC/XLS/PPT/MSG)",
    "gif": "GIF",
    "bmp": "BMP",
    "webp": "WebP",
    "rtf": "RTF",
    "gzip": "GZIP",
    "7z": "7-Zip",
    "rar": "RAR",
    "elf": "ELF",
    "exe": "EXE",
    "ps": "PostScript",
}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"{\\rtf", "rtf"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x7fELF", "elf"),
    (b"%!PS", "ps"),
)
_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.graphics": "odg",
}
_EMAIL_HEADER = re.compile(
    rb"^(?:Return-Path|Received|From|To|Date|Subject|Message-ID|MIME-Version|Delivered-To|X-[\w-]+):",
    re.IGNORECASE,
)


def sniff_magic(data: bytes) -> str | None:
    """Container/binary format from the first bytes, or ``None`` for text and unknown data."""
    # The PDF header may legally follow some junk (the spec allows 1024 bytes of it).
    if b"%PDF-" in data[:1024]:
        return "pdf"
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"MZ" and len(data) > 64 and b"\x00" in data[:64]:
        return "exe"
    if data[:2] == b"BM" and len(data) > 26 and data[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    return None


def zip_kind(zf: zipfile.ZipFile) -> str:
    names = set(zf.namelist())
    if "mimetype" in names:
        with zf.open("mimetype") as stream:
            mimetype = stream.read(200).decode("ascii", "replace").strip()
        if mimetype in _ODF_MIMETYPES:
            return _ODF_MIMETYPES[mimetype]
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def _sniff_text(data: bytes) -> Format:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if _EMAIL_HEADER.match(data[:200].lstrip(b"\xef\xbb\xbf")):
        return "email"
    return "text"


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(sample) // 100


def _mislabelled(src: Source, expected: str, actual: str | None) -> InputError:
    if actual is None:
        actual_label = "Text" if _looks_like_text(src.data) else None
        actual_en = actual_label or "unknown data"
        actual_de = actual_label or "unbekannte Daten"
    else:
        actual_en = actual_de = LABELS.get(actual, actual)
    return src.error(
        f"mislabelled: the name says {LABELS[expected]} but the content is {actual_en}",
        f"Dateiendung passt nicht zum Inhalt: laut Name {LABELS[expected]}, tatsächlich {actual_de}",
    )


def _unsupported(src: Source, what: str) -> InputError:
    return src.error(
        f"unsupported format ({what})",
        f"Format wird nicht unterstützt ({what})",
        cls=UnsupportedFormat,
    )


def _container_format(src: Source) -> str:
    zf = open_zip(src)
    kind = zip_kind(zf)
    if kind in _ZIP_FORMATS:
        check_xml_members(zf, src, full=frozenset({"content.xml", "meta.xml", "styles.xml", "settings.xml"}))
    return kind


def _peek_zip(data: bytes) -> str:
    try:
        return zip_kind(zipfile.ZipFile(io.BytesIO(data)))
    except Exception:  # noqa: BLE001 - any failure just means "some ZIP"
        return "zip"


def detect_format(src: Source) -> Format:
    """The parser to use, or an :class:`InputError` explaining why there is none."""
    data = src.data
    magic = sniff_magic(data)
    expected = SUFFIX_FORMATS.get(src.suffix)
    if magic == "pdf" and expected in _TEXT_FORMATS and not data.startswith(b"%PDF-"):
        # A note that merely mentions "%PDF-1.7" near its start is still a text file.
        magic = None
    actual: str | None = magic
    if magic == "zip":
        # Only a container we are about to parse needs the full bomb check; for a mislabelled one the
        # directory and the tiny mimetype member are enough to name what it really is.
        actual = _container_format(src) if expected is None or expected in _ZIP_FORMATS else _peek_zip(data)

    if expected is None:
        if actual in SUFFIX_FORMATS.values():
            return actual  # type: ignore[return-value]
        if actual is not None:
            raise _unsupported(src, LABELS.get(actual, actual))
        if src.suffix:
            raise _unsupported(src, f"Dateiendung '{src.suffix}'")
        return _sniff_text(data)

    if expected in _TEXT_FORMATS:
        if actual is not None:
            raise _mislabelled(src, expected, actual)
        return expected

    if actual == expected:
        return expected
    # Photos saved as .jpg that are really PNG are common and harmless: Pillow reads them all the same.
    if expected in _IMAGE_FORMATS and actual in _IMAGE_FORMATS:
        return actual  # type: ignore[return-value]
    if expected in _ZIP_FORMATS and actual == "ole":
        raise src.error(
            "password-protected (encrypted Office files are OLE containers) or an old Office format",
            "verschlüsselt (passwortgeschützt) oder im alten Office-Format gespeichert",
        )
    raise _mislabelled(src, expected, actual)
