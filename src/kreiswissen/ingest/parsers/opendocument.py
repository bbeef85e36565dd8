"""OpenDocument text (ODT) and spreadsheets (ODS) through odfpy; document properties from meta.xml.

In text documents only what a reader sees is kept: comments (``office:annotation``), tracked deletions,
hidden text and paragraph fields, hidden sections, text formatted as hidden (``text:display="none"``),
under one point, or white on an unshaded white page are left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from defusedxml import ElementTree as SafeET
from odf.element import Element, Node
from odf.namespaces import DCNS, FONS, METANS, OFFICENS, STYLENS, TABLENS, TEXTNS
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
        (OFFICENS, "annotation-end"),
        (OFFICENS, "forms"),
        (TABLENS, "named-expressions"),
    }
)


_MAX_STYLE_DEPTH = 10
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*(pt|pc|px|mm|cm|in|%)?\s*$")
_POINTS_PER_UNIT = {"pt": 1.0, "pc": 12.0, "px": 0.75, "mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0}
_NO_BACKGROUND = frozenset({"", "transparent", "#ffffff"})


def _attr(element: Element, namespace: str, name: str) -> str | None:
    value = element.attributes.get((namespace, name))
    return str(value) if value is not None else None


def _repeat(element: Element, name: str) -> int:
    try:
        return max(1, int(_attr(element, TABLENS, name) or 1))
    except ValueError:
        return 1


def _children(element: Element) -> Iterator[Element]:
    for child in element.childNodes:
        if child.nodeType == Node.ELEMENT_NODE:
            yield child


@dataclass(frozen=True)
class _Look:
    """The formatting in force that decides whether text can be seen."""

    display_none: bool = False
    tiny: bool = False
    white: bool = False
    backed: bool = False  # a background colour behind the text: white on it is the ordinary banner

    @property
    def hidden(self) -> bool:
        return self.display_none or self.tiny or (self.white and not self.backed)


_VISIBLE = _Look(backed=True)


class _Styles:
    """Named and automatic styles of a text document, resolved along ``style:parent-style-name``."""

    def __init__(self, document: Any) -> None:
        self.by_name: dict[tuple[str, str], Element] = {}
        coloured_page = False
        for container in (document.styles, document.automaticstyles):
            for style in _children(container):
                if style.qname == (STYLENS, "style"):
                    key = (_attr(style, STYLENS, "family") or "", _attr(style, STYLENS, "name") or "")
                    self.by_name[key] = style
                elif style.qname == (STYLENS, "page-layout"):
                    for props in _children(style):
                        background = (_attr(props, FONS, "background-color") or "").lower()
                        coloured_page |= background not in _NO_BACKGROUND
        self.page = _Look(backed=coloured_page)

    def look(self, family: str, name: str | None, base: _Look) -> _Look:
        chain: list[Element] = []
        while name and len(chain) < _MAX_STYLE_DEPTH:
            style = self.by_name.get((family, name))
            if style is None:
                break
            chain.append(style)
            name = _attr(style, STYLENS, "parent-style-name")
        look = base
        for style in reversed(chain):
            for props in _children(style):
                look = _apply(look, props)
        return look

    def paragraph(self, element: Element, *, in_table: bool = False) -> _Look:
        # Table cells are shaded by cell styles not read here: text in tables is never judged by colour.
        base = replace(self.page, backed=True) if in_table else self.page
        return self.look("paragraph", _attr(element, TEXTNS, "style-name"), base)


def _apply(look: _Look, props: Element) -> _Look:
    if props.qname == (STYLENS, "paragraph-properties"):
        background = (_attr(props, FONS, "background-color") or "").lower()
        return replace(look, backed=True) if background not in _NO_BACKGROUND else look
    if props.qname != (STYLENS, "text-properties"):
        return look
    if (display := _attr(props, TEXTNS, "display")) is not None:
        # "condition" depends on fields evaluated by the office suite: not visible for certain.
        look = replace(look, display_none=display != "true")
    if (size := _attr(props, FONS, "font-size")) is not None and (match := _LENGTH.match(size)):
        value, unit = float(match.group(1)), match.group(2) or "pt"
        if unit == "%":
            look = replace(look, tiny=look.tiny or value <= 0)
        else:
            look = replace(look, tiny=value * _POINTS_PER_UNIT[unit] < 1)
    if (colour := _attr(props, FONS, "color")) is not None:
        look = replace(look, white=colour.lower() == "#ffffff")
    if _attr(props, STYLENS, "use-window-font-color") == "true":
        look = replace(look, white=False)
    background = (_attr(props, FONS, "background-color") or "").lower()
    if background not in _NO_BACKGROUND:
        look = replace(look, backed=True)
    return look


def _shown(element: Element) -> bool:
    """Hidden-text fields and conditional paragraphs show unless the office suite last computed them hidden."""
    return _attr(element, TEXTNS, "is-hidden") == "false"


def _hides_paragraph(paragraph: Element) -> bool:
    stack = list(_children(paragraph))
    while stack:
        child = stack.pop()
        if child.qname == (TEXTNS, "hidden-paragraph") and not _shown(child):
            return True
        if child.qname not in _SKIP and child.qname != (TEXTNS, "note"):
            stack.extend(_children(child))
    return False


def inline_text(element: Element, styles: _Styles | None = None, look: _Look = _VISIBLE) -> str:
    """Visible text of a paragraph-like element: spaces, tabs and breaks kept, notes and comments left out."""
    parts: list[str] = []
    for child in element.childNodes:
        if child.nodeType == Node.TEXT_NODE:
            if not look.hidden:
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
        elif namespace == TEXTNS and (local == "note" or (local == "hidden-text" and not _shown(child))):
            continue
        elif styles is not None and namespace == TEXTNS and local == "span":
            parts.append(inline_text(child, styles, styles.look("text", _attr(child, TEXTNS, "style-name"), look)))
        else:
            parts.append(inline_text(child, styles, look))
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


def _cell_text(cell: Element, styles: _Styles | None) -> str:
    if styles is None:
        return "\n".join(inline_text(p) for p in _children(cell))
    return "\n".join(
        inline_text(p, styles, styles.paragraph(p, in_table=True)) for p in _children(cell) if not _hides_paragraph(p)
    )


def _cells(row: Element, styles: _Styles | None = None) -> list[str]:
    """Cell texts by column; empty repeated cells (often thousands up to the sheet edge) are not expanded."""
    cells: list[str] = []
    pending_empty = 0
    for cell in row.childNodes:
        if cell.nodeType != Node.ELEMENT_NODE or cell.qname not in (
            (TABLENS, "table-cell"),
            (TABLENS, "covered-table-cell"),
        ):
            continue
        text = _cell_text(cell, styles)
        repeat = _repeat(cell, "number-columns-repeated")
        if not text.strip():
            pending_empty += repeat
            continue
        cells.extend([""] * pending_empty)
        pending_empty = 0
        cells.extend([text] * min(repeat, _MAX_REPEAT))
    return cells


def _table_rows(table: Element, styles: _Styles | None = None) -> Iterator[list[str]]:
    for row in _rows(table):
        cells = _cells(row, styles)
        if any(c.strip() for c in cells):
            for _ in range(min(_repeat(row, "number-rows-repeated"), _MAX_REPEAT)):
                yield cells


class _TextWalker:
    def __init__(self, styles: _Styles) -> None:
        self.out = BlockCollector()
        self.styles = styles

    def text(self, paragraph: Element) -> str:
        return inline_text(paragraph, self.styles, self.styles.paragraph(paragraph))

    def walk(self, element: Element, list_depth: int = 0) -> None:
        for child in element.childNodes:
            if child.nodeType != Node.ELEMENT_NODE or child.qname in _SKIP:
                continue
            namespace, local = child.qname
            if namespace == TEXTNS and local in ("h", "p") and _hides_paragraph(child):
                continue
            if namespace == TEXTNS and local == "section" and _attr(child, TEXTNS, "display") in ("none", "condition"):
                continue
            if namespace == TEXTNS and local == "h":
                try:
                    level = int(_attr(child, TEXTNS, "outline-level") or 1)
                except ValueError:
                    level = 1
                self.out.heading(self.text(child), level)
            elif namespace == TEXTNS and local == "p":
                if list_depth:
                    self.out.add("list_item", self.text(child), level=list_depth)
                else:
                    self.out.add("paragraph", self.text(child))
                self._notes(child)
            elif namespace == TEXTNS and local == "list":
                self.walk(child, list_depth + 1)
            elif namespace == TABLENS and local == "table":
                for cells in _table_rows(child, self.styles):
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
    walker = _TextWalker(_Styles(document))
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
