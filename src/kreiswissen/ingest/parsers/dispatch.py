"""The parse stage's boundary: limits, format detection, the format's parser, translated errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kreiswissen.config import Settings
from kreiswissen.errors import KreiswissenError
from kreiswissen.ingest.model import ParsedDocument

from . import html, image, mail, markdown, office_docx, opendocument, pdf, plaintext, spreadsheet
from .detect import LABELS, Format, detect_format
from .limits import check_size
from .problems import input_error
from .source import MAX_DEPTH, Source

_PARSERS: dict[Format, Callable[[Source], ParsedDocument]] = {
    "pdf": pdf.parse,
    "docx": office_docx.parse,
    "xlsx": spreadsheet.parse,
    "odt": opendocument.parse_odt,
    "ods": opendocument.parse_ods,
    "png": image.parse,
    "jpeg": image.parse,
    "tiff": image.parse,
    "html": html.parse,
    "markdown": markdown.parse,
    "text": plaintext.parse,
    "email": mail.parse,
}


def parse_source(src: Source) -> ParsedDocument:
    if src.depth > MAX_DEPTH:
        raise src.error(
            f"nested more than {MAX_DEPTH} levels deep",
            f"zu tief verschachtelt (mehr als {MAX_DEPTH} Ebenen)",
        )
    check_size(len(src.data), label=src.label, name=src.name, settings=src.settings)
    fmt: Format | None = None
    try:
        fmt = detect_format(src)
        document = _PARSERS[fmt](src)
    except KreiswissenError:
        raise
    except Exception as exc:  # noqa: BLE001 - no library exception may escape untranslated
        what = LABELS[fmt] if fmt else "Datei"
        raise src.error(
            f"cannot be read as {what} ({type(exc).__name__}: {exc})",
            f"beschädigt oder ungültig ({what} kann nicht gelesen werden)",
        ) from exc
    if not document.blocks:
        raise src.error("no readable text found", "enthält keinen lesbaren Text")
    return document


def parse_bytes(data: bytes, filename: str, settings: Settings) -> ParsedDocument:
    """Parse an in-memory file (an e-mail attachment, an upload); ``filename`` supplies the suffix."""
    name = Path(filename.replace("\\", "/")).name or filename
    return parse_source(Source(data=data, name=name, label=filename, settings=settings))


def parse_file(path: Path, settings: Settings) -> ParsedDocument:
    """Parse a file on disk; its size is checked before a single byte is read."""
    label, name = str(path), path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise input_error(label, name, "not a regular file", "ist keine reguläre Datei")
    except FileNotFoundError as exc:
        raise input_error(label, name, "file not found", "nicht gefunden") from exc
    except OSError as exc:
        raise input_error(
            label, name, f"cannot be read ({exc.strerror})", "kann nicht gelesen werden"
        ) from exc
    check_size(size, label=label, name=name, settings=settings)
    try:
        with path.open("rb") as stream:
            # Never read more than the limit allows, even if the file grew since stat().
            data = stream.read(settings.max_file_bytes + 1)
    except OSError as exc:
        raise input_error(
            label, name, f"cannot be read ({exc.strerror})", "kann nicht gelesen werden"
        ) from exc
    # parse_source checks the size again: the file may have changed between stat() and read().
    return parse_source(Source(data=data, name=name, label=label, settings=settings))
