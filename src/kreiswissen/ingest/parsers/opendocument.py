"""OpenDocument text (ODT) and spreadsheets (ODS) through odfpy; document properties from meta.xml."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from defusedxml import ElementTree as SafeET
from odf.element import Element, Node
from odf.namespaces import DCNS, METANS, OFFICENS, TABLENS, TEXTNS
from odf.opendocument import load

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector, clean_text, table_row_text
from .source import Source
from .spreadsheet import sheet_blocks

# Repeated rows/cells with content are rare and identical; capping them keeps a crafted file small.
_MAX_REPEAT = 100
# Generated or non-content parts: indexes duplicate headings, tracked changes hold deleted text.
_SKIP = frozenset(
    {
        (TEXTNS, "tracked-changes"),
        (TEXTNS, "table-of-content"),
        (TEXTNS, "alphabetical-index"),
        (TEXTNS, "illustration-index"),
        (TEXTNS, "object-index"),
        (TEXTNS, "user-index"),
        (TEXTNS, "bibliography"),
        (TEXTNS, "sequence-decls"),
        (TEXTNS, "variable-decls"),
        (OFFICENS, "annotation"),
        (OFFICENS, "forms"),
        (TABLENS, "named-expressions"),
    }
)


def _attr(element: Element, namespace: str, name: str) -> str | None:
    value = element.attributes.get((namespace, name))
    return str(value) if value is not None else None


def _repeat(element: Element, name: str) -> int:
    try:
        return max(1, int(_attr(element, TABLENS, name) or 1))
    except ValueError:
        return 1


def inline_text(element: Element) -> str:
    """Visible text of a paragraph-like element: spaces, tabs and breaks kept, notes and comments left out."""
    parts: list[str] = []
    for child in element.childNodes:
        if child.nodeType == Node.TEXT_NODE:
            parts.append(str(child.data))
            continue
        if child.nodeType != Node.ELEMENT_NODE or child.qname in _SKIP:
            continue
        namespace, local = child.qname
        if namespace == TEXTNS and local == "s":
            parts.append(" " * _count(child))
        elif namespace == TEXTNS and local == "tab":
            parts.append("\t")
        elif namespace == TEXTNS and local == "line-break":
            parts.append("\n")
        elif namespace == TEXTNS and local == "note":
            continue
        else:
            parts.append(inline_text(child))
    return "".join(parts)


def _count(element: Element) -> int:
    try:
        return max(1, min(int(_attr(element, TEXTNS, "c") or 1), 1000))
    except ValueError:
        return 1


def _rows(table: Element) -> Iterator[Element]:
    for child in table.childNodes:
        if child.nodeType != Node.ELEMENT_NODE or child.qname[0] != TABLENS:
            continue
        if child.qname[1] == "table-row":
            yield child
        elif child.qname[1] in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _rows(child)


def _cells(row: Element) -> list[str]:
    """Cell texts by column; empty repeated cells (often thousands up to the sheet edge) are not expanded."""
    cells: list[str] = []
    pending_empty = 0
    for cell in row.childNodes:
        if cell.nodeType != Node.ELEMENT_NODE or cell.qname not in (
            (TABLENS, "table-cell"),
            (TABLENS, "covered-table-cell"),
        ):
            continue
        text = "\n".join(inline_text(p) for p in cell.childNodes if p.nodeType == Node.ELEMENT_NODE)
        repeat = _repeat(cell, "number-columns-repeated")
        if not text.strip():
            pending_empty += repeat
            continue
        cells.extend([""] * pending_empty)
        pending_empty = 0
        cells.extend([text] * min(repeat, _MAX_REPEAT))
    return cells


def _table_rows(table: Element) -> Iterator[list[str]]:
    for row in _rows(table):
        cells = _cells(row)
        if any(c.strip() for c in cells):
            for _ in range(min(_repeat(row, "number-rows-repeated"), _MAX_REPEAT)):
                yield cells


class _TextWalker:
    def __init__(self) -> None:
        self.out = BlockCollector()

    def walk(self, element: Element, list_depth: int = 0) -> None:
        for child in element.childNodes:
            if child.nodeType != Node.ELEMENT_NODE or child.qname in _SKIP:
                continue
            namespace, local = child.qname
            if namespace == TEXTNS and local == "h":
                try:
                    level = int(_attr(child, TEXTNS, "outline-level") or 1)
                except ValueError:
                    level = 1
                self.out.heading(inline_text(child), level)
            elif namespace == TEXTNS and local == "p":
                if list_depth:
                    self.out.add("list_item", inline_text(child), level=list_depth)
                else:
                    self.out.add("paragraph", inline_text(child))
                self._notes(child)
            elif namespace == TEXTNS and local == "list":
                self.walk(child, list_depth + 1)
            elif namespace == TABLENS and local == "table":
                for cells in _table_rows(child):
                    self.out.add("table_row", table_row_text(cells))
            else:
                # Sections, list items, frames and text boxes just contain more of the same.
                self.walk(child, list_depth)

    def _notes(self, paragraph: Element) -> None:
        """Footnotes become paragraphs after the paragraph that cites them."""
        for child in paragraph.childNodes:
            if child.nodeType != Node.ELEMENT_NODE:
                continue
            if child.qname == (TEXTNS, "note"):
                for body in child.childNodes:
                    if body.nodeType == Node.ELEMENT_NODE and body.qname == (TEXTNS, "note-body"):
                        self.walk(body)
            elif child.qname not in _SKIP:
                self._notes(child)


def _meta(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "meta.xml" not in zf.namelist():
            return {}
        root = SafeET.fromstring(zf.read("meta.xml"), forbid_dtd=True)
    metadata: dict[str, Any] = {}

    def first(namespace: str, name: str) -> str:
        node = root.find(f".//{{{namespace}}}{name}")
        return clean_text(node.text or "") if node is not None else ""

    for key, namespace, name in (
        ("title", DCNS, "title"),
        ("author", METANS, "initial-creator"),
        ("subject", DCNS, "subject"),
        ("description", DCNS, "description"),
        ("created", METANS, "creation-date"),
        ("modified", DCNS, "date"),
        ("language", DCNS, "language"),
    ):
        if value := first(namespace, name):
            metadata[key] = value
    if "author" not in metadata and (creator := first(DCNS, "creator")):
        metadata["author"] = creator
    keywords = [clean_text(node.text or "") for node in root.iter(f"{{{METANS}}}keyword")]
    if any(keywords):
        metadata["keywords"] = ", ".join(k for k in keywords if k)
    return metadata


def parse_odt(src: Source) -> ParsedDocument:
    document = load(io.BytesIO(src.data))
    walker = _TextWalker()
    walker.walk(document.text)
    metadata = _meta(src.data)
    title = metadata.get("title") or walker.out.first_heading() or src.stem
    return ParsedDocument(title=title, blocks=walker.out.blocks, metadata=metadata, doc_type="odt")


def parse_ods(src: Source) -> ParsedDocument:
    document = load(io.BytesIO(src.data))
    out = BlockCollector()
    sheets: list[str] = []
    for table in document.spreadsheet.childNodes:
        if table.nodeType != Node.ELEMENT_NODE or table.qname != (TABLENS, "table"):
            continue
        name = _attr(table, TABLENS, "name") or f"Tabelle {len(sheets) + 1}"
        sheets.append(name)
        sheet_blocks(name, _table_rows(table), out)
    metadata = _meta(src.data)
    metadata["sheets"] = sheets
    title = metadata.get("title") or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="ods")
