"""Size and container checks that run before any parsing library sees the bytes."""

from __future__ import annotations

import io
import zipfile
import zlib
from xml.sax import SAXException, handler

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser

from kreiswissen.config import Settings
from kreiswissen.errors import FileTooLarge

from .problems import input_error
from .source import Source

MAX_ZIP_MEMBERS = 10_000
# Tiny members reach absurd ratios harmlessly (an empty sheet); a bomb needs volume, which the total catches.
_RATIO_FLOOR_BYTES = 64 * 1024
_XML_SUFFIXES = (".xml", ".rels", ".rdf", ".vml")
_CHUNK = 64 * 1024


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_size(size: int, *, label: str, name: str, settings: Settings) -> None:
    if size == 0:
        raise input_error(label, name, "file is empty (0 bytes)", "Datei ist leer (0 Byte)")
    if size > settings.max_file_bytes:
        raise input_error(
            label,
            name,
            f"file too large ({size} bytes, limit {settings.max_file_bytes})",
            f"Datei ist zu groß ({_mb(size)}, erlaubt sind {_mb(settings.max_file_bytes)})",
            cls=FileTooLarge,
        )


def open_zip(src: Source) -> zipfile.ZipFile:
    """Open an Office/OpenDocument container after checking its directory against bombs.

    The declared sizes are trustworthy enough: ``zipfile`` stops at the declared size and fails the CRC
    check when a member lies about it, and every parsing library reads members through ``zipfile``.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(src.data))
        members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise src.error(
            f"corrupt or truncated ZIP container ({exc})",
            "beschädigt oder unvollständig (ZIP-Container kann nicht gelesen werden)",
        ) from exc
    settings = src.settings
    if len(members) > MAX_ZIP_MEMBERS:
        raise src.error(
            f"ZIP bomb suspected: {len(members)} members (limit {MAX_ZIP_MEMBERS})",
            f"ZIP-Bombe vermutet: {len(members)} Bestandteile (erlaubt sind {MAX_ZIP_MEMBERS})",
        )
    total = sum(m.file_size for m in members)
    if total > settings.max_unpacked_bytes:
        raise src.error(
            f"unpacked size too large ({total} bytes, limit {settings.max_unpacked_bytes})",
            f"entpackt zu groß ({_mb(total)}, erlaubt sind {_mb(settings.max_unpacked_bytes)})",
        )
    for member in members:
        if member.file_size < _RATIO_FLOOR_BYTES:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > settings.max_compression_ratio:
            raise src.error(
                f"ZIP bomb suspected: member '{member.filename}' expands {ratio:.0f}-fold "
                f"(limit {settings.max_compression_ratio:.0f})",
                f"ZIP-Bombe vermutet: Bestandteil '{member.filename}' entpackt sich auf das "
                f"{ratio:.0f}-Fache (erlaubt ist das {settings.max_compression_ratio:.0f}-Fache)",
            )
    if any(m.flag_bits & 0x1 for m in members):
        raise src.error("encrypted ZIP members", "verschlüsselt (passwortgeschützt)")
    return zf


class _RootReached(Exception):
    pass


class _StopAtRoot(handler.ContentHandler):
    def startElement(self, name: str, attrs: object) -> None:  # noqa: N802 - SAX API
        raise _RootReached


def check_xml_members(zf: zipfile.ZipFile, src: Source, *, full: frozenset[str] = frozenset()) -> None:
    """Reject DTDs and entity declarations in every XML member before a library parses them.

    python-docx, openpyxl and odfpy each disable entity resolution in their own way; a DTD never occurs
    in legitimate OOXML/ODF, so refusing it outright closes XXE and billion laughs whatever they do.
    Only the prolog is read, except for the members in ``full``, which are checked for well-formedness
    because odfpy prints unparseable XML to stdout and carries on with an empty document.
    """
    for info in zf.infolist():
        if not info.filename.lower().endswith(_XML_SUFFIXES) or info.is_dir():
            continue
        check_whole = info.filename in full
        parser = make_parser()
        parser.forbid_dtd = True  # type: ignore[attr-defined]
        parser.forbid_entities = True  # type: ignore[attr-defined]
        parser.forbid_external = True  # type: ignore[attr-defined]
        parser.setFeature(handler.feature_external_ges, False)
        if not check_whole:
            parser.setContentHandler(_StopAtRoot())
        try:
            with zf.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    parser.feed(chunk)  # type: ignore[attr-defined]
                parser.close()  # type: ignore[attr-defined]
        except _RootReached:
            continue
        except DefusedXmlException as exc:
            raise src.error(
                f"forbidden XML construct in '{info.filename}' ({type(exc).__name__})",
                f"unzulässiger XML-Inhalt in '{info.filename}' (DTD/Entitäten, mögliche XML-Bombe)",
            ) from exc
        except (
            SAXException,
            zipfile.BadZipFile,
            zlib.error,
            NotImplementedError,
            OSError,
            EOFError,
            ValueError,
        ) as exc:
            raise src.error(
                f"corrupt XML member '{info.filename}' ({exc})",
                f"beschädigt (Bestandteil '{info.filename}' ist kein gültiges XML)",
            ) from exc
