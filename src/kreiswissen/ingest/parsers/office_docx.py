"""Word (DOCX) through python-docx: headings, paragraphs, list items, tables and core properties."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.styles.style import BaseStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector, clean_text, table_row_text
from .source import Source

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift)\s*(\d)$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|titel)$", re.I)
_LIST_STYLE = re.compile(r"^(?:list|liste|aufzählung|listenabsatz)\b.*?(\d)?$", re.I)
_BODY_OUTLINE_LEVEL = 9
_MAX_STYLE_DEPTH = 10


def _styles(paragraph: Paragraph) -> Iterator[BaseStyle]:
    style: BaseStyle | None = paragraph.style
    for _ in range(_MAX_STYLE_DEPTH):
        if style is None:
            return
        yield style
        style = getattr(style, "base_style", None)


def _ppr_value(element: Any, *path: str) -> int | None:
    """Integer ``w:val`` at ``w:pPr/path...`` of a paragraph or style element, if present."""
    node = element.find(qn("w:pPr"))
    for tag in path:
        if node is None:
            return None
        node = node.find(qn(tag))
    if node is None:
        return None
    try:
        return int(node.get(qn("w:val")))
    except (TypeError, ValueError):
        return None


def _has_numbering(element: Any) -> bool:
    ppr = element.find(qn("w:pPr"))
    return ppr is not None and ppr.find(qn("w:numPr")) is not None


def _outline_level(element: Any) -> int | None:
    value = _ppr_value(element, "w:outlineLvl")
    return value + 1 if value is not None and value < _BODY_OUTLINE_LEVEL else None


def _heading_level(paragraph: Paragraph) -> int | None:
    # Custom styles ("Satzung §-Überschrift") usually derive from a built-in heading, hence the chain.
    for style in _styles(paragraph):
        name = style.name or ""
        if match := _HEADING_STYLE.match(name):
            return int(match.group(1))
        if _TITLE_STYLE.match(name):
            return 1
        if (level := _outline_level(style.element)) is not None:
            return level
    return _outline_level(paragraph._p)


def _list_level(paragraph: Paragraph) -> int | None:
    if _has_numbering(paragraph._p):
        return (_ppr_value(paragraph._p, "w:numPr", "w:ilvl") or 0) + 1
    for style in _styles(paragraph):
        # "List Bullet 2" carries its depth in the name; its numbering definition may not say it.
        if match := _LIST_STYLE.match(style.name or ""):
            return int(match.group(1) or 1)
        if _has_numbering(style.element):
            return (_ppr_value(style.element, "w:numPr", "w:ilvl") or 0) + 1
    return None


def _body_items(parent: Any, container: Any) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in order, including those inside content controls (``w:sdt``)."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(parent, content)


def _table(table: Table, out: BlockCollector, depth: int = 0) -> None:
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        nested: list[Table] = []
        # Merged cells come back once per grid column; the underlying <w:tc> identifies them.
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
            nested.extend(cell.tables)
        out.add("table_row", table_row_text(cells))
        if depth < 3:
            for inner in nested:
                _table(inner, out, depth + 1)


def _core_properties(document: Any) -> dict[str, Any]:
    props = document.core_properties
    metadata: dict[str, Any] = {}
    for key in ("title", "author", "subject", "keywords"):
        value = clean_text(getattr(props, key) or "")
        if value:
            metadata[key] = value
    for key in ("created", "modified"):
        value = getattr(props, key)
        if value is not None:
            metadata[key] = value.isoformat()
    return metadata


def parse(src: Source) -> ParsedDocument:
    document = docx.Document(io.BytesIO(src.data))
    out = BlockCollector()
    body = document.element.body
    for item in _body_items(document._body, body):
        if isinstance(item, Table):
            _table(item, out)
            continue
        if (level := _heading_level(item)) is not None:
            out.heading(item.text, level)
        elif (depth := _list_level(item)) is not None:
            out.add("list_item", item.text, level=depth)
        else:
            out.add("paragraph", item.text)
    metadata = _core_properties(document)
    title = metadata.get("title") or out.first_heading() or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="docx")
