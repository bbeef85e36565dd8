"""Word (DOCX) through python-docx: headings, paragraphs, list items, tables and core properties.

Only text a reader of the printed document sees is kept: tracked deletions, hidden runs (``w:vanish``),
runs under one point and white runs on an unshaded white page are left out; comments, which live in
their own part, are never read. Tracked insertions are part of the text.
"""

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
_OFF = frozenset({"0", "false", "off"})
# Half-points: text under one point cannot be read.
_MIN_SIZE = 2
_NO_COLOUR = frozenset({"", "AUTO", "FFFFFF"})
# Containers of runs inside a paragraph whose text is shown; everything else (w:del, w:moveFrom: tracked
# deletions; drawings, field instructions) is not paragraph text.
_RUN_CONTAINERS = frozenset(
    qn(tag)
    for tag in ("w:hyperlink", "w:ins", "w:moveTo", "w:smartTag", "w:customXml", "w:fldSimple", "w:dir", "w:bdo")
)


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


class _Visibility:
    """Decides which runs a reader sees, following run, character-style and paragraph-style properties."""

    def __init__(self, document: Any) -> None:
        styles = document.styles.element
        self.styles: dict[str, Any] = {
            str(style.get(qn("w:styleId"))): style for style in styles.iterchildren(qn("w:style"))
        }
        self.default_rpr = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
        background = document.element.find(qn("w:background"))
        self.coloured_page = background is not None and _colour(background, "w:color") not in _NO_COLOUR

    def _style_chain(self, style_id: str | None) -> Iterator[Any]:
        for _ in range(_MAX_STYLE_DEPTH):
            style = self.styles.get(style_id) if style_id else None
            if style is None:
                return
            yield style
            based_on = style.find(qn("w:basedOn"))
            style_id = based_on.get(qn("w:val")) if based_on is not None else None

    def _property(self, run: Any, paragraph: Any, tag: str) -> Any:
        """The run property ``tag`` in force: direct formatting, character style, paragraph style, defaults."""
        rpr = run.find(qn("w:rPr"))
        if rpr is not None and (found := rpr.find(qn(tag))) is not None:
            return found
        sources = [_val(rpr, "w:rStyle"), _val(paragraph.find(qn("w:pPr")), "w:pStyle")]
        for style_id in sources:
            for style in self._style_chain(style_id):
                style_rpr = style.find(qn("w:rPr"))
                if style_rpr is not None and (found := style_rpr.find(qn(tag))) is not None:
                    return found
        return self.default_rpr.find(qn(tag)) if self.default_rpr is not None else None

    def _shaded(self, run: Any, paragraph: Any) -> bool:
        highlight = self._property(run, paragraph, "w:highlight")
        if highlight is not None and str(highlight.get(qn("w:val"), "none")).lower() not in ("none", "white"):
            return True
        if _is_shading(self._property(run, paragraph, "w:shd")):
            return True
        ppr = paragraph.find(qn("w:pPr"))
        if ppr is not None and _is_shading(ppr.find(qn("w:shd"))):
            return True
        for style in self._style_chain(_val(ppr, "w:pStyle")):
            style_ppr = style.find(qn("w:pPr"))
            if style_ppr is not None and _is_shading(style_ppr.find(qn("w:shd"))):
                return True
        return False

    def hidden(self, run: Any, paragraph: Any, *, in_table: bool) -> bool:
        vanish = self._property(run, paragraph, "w:vanish")
        if vanish is not None and str(vanish.get(qn("w:val"), "1")).lower() not in _OFF:
            return True
        size = self._property(run, paragraph, "w:sz")
        points2 = _int(size.get(qn("w:val"))) if size is not None else None
        if points2 is not None and points2 < _MIN_SIZE:
            return True
        colour = self._property(run, paragraph, "w:color")
        # White on white; white on a shaded cell, paragraph or page is the ordinary banner or table header,
        # and table styles (not read here) shade cells, so table text is never judged by its colour.
        return (
            colour is not None
            and _colour(colour, "w:val") == "FFFFFF"
            and not in_table
            and not self.coloured_page
            and not self._shaded(run, paragraph)
        )

    def text(self, paragraph: Any, *, in_table: bool = False) -> str:
        """The paragraph's visible text."""
        parts: list[str] = []
        stack = list(reversed(list(paragraph.iterchildren())))
        while stack:
            node = stack.pop()
            if node.tag == qn("w:r"):
                if not self.hidden(node, paragraph, in_table=in_table):
                    parts.append(node.text)
            elif node.tag in _RUN_CONTAINERS:
                stack.extend(reversed(list(node.iterchildren())))
            elif node.tag == qn("w:sdt"):
                content = node.find(qn("w:sdtContent"))
                if content is not None:
                    stack.extend(reversed(list(content.iterchildren())))
        return "".join(parts)


def _val(parent: Any, tag: str) -> str | None:
    node = parent.find(qn(tag)) if parent is not None else None
    return str(node.get(qn("w:val"))) if node is not None and node.get(qn("w:val")) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _colour(element: Any, attribute: str) -> str:
    return str(element.get(qn(attribute), "")).upper()


def _is_shading(shd: Any) -> bool:
    if shd is None:
        return False
    # A pattern other than "clear" paints its own colour (black for "auto") over the fill.
    return _colour(shd, "w:fill") not in _NO_COLOUR or str(shd.get(qn("w:val"), "clear")) not in ("clear", "nil")


def _table(table: Table, out: BlockCollector, visibility: _Visibility, depth: int = 0) -> None:
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        nested: list[Table] = []
        # Merged cells come back once per grid column; the underlying <w:tc> identifies them.
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append("\n".join(visibility.text(p._p, in_table=True) for p in cell.paragraphs))
            nested.extend(cell.tables)
        out.add("table_row", table_row_text(cells))
        if depth < 3:
            for inner in nested:
                _table(inner, out, visibility, depth + 1)


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
    visibility = _Visibility(document)
    body = document.element.body
    for item in _body_items(document._body, body):
        if isinstance(item, Table):
            _table(item, out, visibility)
            continue
        text = visibility.text(item._p)
        if (level := _heading_level(item)) is not None:
            out.heading(text, level)
        elif (depth := _list_level(item)) is not None:
            out.add("list_item", text, level=depth)
        else:
            out.add("paragraph", text)
    metadata = _core_properties(document)
    title = metadata.get("title") or out.first_heading() or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="docx")
