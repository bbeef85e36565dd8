"""HTML: visible text only, structured by headings, paragraphs, list items and table rows."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from bs4.element import CData

from kreiswissen.ingest.model import BlockKind, ParsedDocument

from .cleanup import BlockCollector, clean_text, table_row_text
from .plaintext import UndecodableText, decode_text
from .source import Source

# Elements a browser never renders as text (fallback content included: an attacker's favourite hiding place).
INVISIBLE_ELEMENTS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "iframe",
        "object",
        "embed",
        "canvas",
        "datalist",
        "audio",
        "video",
    }
)
# ... and elements whose text is visible but not document content.
_DROP = INVISIBLE_ELEMENTS | {"nav", "footer", "svg", "button", "select"}
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_LENGTH = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))\s*([a-z%]*)$")
# CSS pixels per unit; a length below one pixel cannot be read.
_PX_PER_UNIT = {
    "": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 3.78, "q": 0.945, "cm": 37.8, "in": 96.0,
    "em": 16.0, "rem": 16.0, "ex": 8.0, "ch": 8.0, "%": 0.16,
}  # fmt: skip
_MIN_OPACITY = 0.05
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Browsers treat these declarations as windows-1252, and so must we (the WHATWG encoding standard).
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "l1"})

_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_CONTAINERS = frozenset(
    {
        "html",
        "body",
        "div",
        "section",
        "article",
        "main",
        "header",
        "aside",
        "blockquote",
        "figure",
        "details",
        "form",
        "fieldset",
        "center",
        "dl",
        "hgroup",
        "address",
        "search",
    }
)
_PARAGRAPHS = frozenset({"p", "pre", "dt", "dd", "figcaption", "caption", "summary", "legend"})
_LISTS = frozenset({"ul", "ol", "menu"})
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
_BLOCK_TAGS = _CONTAINERS | _PARAGRAPHS | _LISTS | {"li", "tr", "td", "th", "table"} | set(_HEADINGS)


def decode_html(data: bytes) -> str:
    """Honour a BOM or a ``<meta charset>``; otherwise fall back to plain-text detection."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data)[0]
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "cp1252" if name in _AS_CP1252 else name
        try:
            codecs.lookup(name)
        except LookupError:
            pass
        else:
            return data.decode(name, errors="replace")
    return decode_text(data)[0]


def _css_number(value: str) -> tuple[float, str] | None:
    match = _CSS_LENGTH.match(value)
    return (float(match.group(1)), match.group(2)) if match else None


def hidden_by_style(style: str) -> bool:
    """Whether an inline ``style`` makes an element's text unreadable.

    Only the declarations themselves are judged (the last one of a property wins, as in CSS); stylesheets
    are not evaluated: that needs the cascade and the page's scripts (an accordion's answers are hidden by
    a class until clicked, and are content), so text hidden by a class rule is still indexed.
    """
    declared: dict[str, str] = {}
    for declaration in _CSS_COMMENT.sub("", style).split(";"):
        prop, colon, value = declaration.partition(":")
        if colon:
            declared[prop.strip().lower()] = value.lower().replace("!important", "").strip()
    if declared.get("display") == "none" or declared.get("visibility") in ("hidden", "collapse"):
        return True
    if declared.get("color") == "transparent":
        return True
    opacity = _css_number(declared.get("opacity", ""))
    if opacity is not None and opacity[0] / (100 if opacity[1] == "%" else 1) < _MIN_OPACITY:
        return True
    size = _css_number(declared.get("font-size", ""))
    if size is not None:
        amount, unit = size
        if amount <= 0 or (unit in _PX_PER_UNIT and amount * _PX_PER_UNIT[unit] < 1):
            return True
    return False


def hidden_by_attributes(attrs: Mapping[str, Any]) -> bool:
    """``hidden``, ``aria-hidden="true"`` or a hiding inline style (attribute names in lower case)."""
    if "hidden" in attrs or str(attrs.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return hidden_by_style(str(attrs.get("style") or ""))


def _is_hidden(tag: Tag) -> bool:
    return hidden_by_attributes({str(k).lower(): v for k, v in tag.attrs.items()})


@dataclass
class HtmlContent:
    collector: BlockCollector
    title: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


def _inline_text(tag: Tag) -> str:
    """Text of a heading or cell: inline markup joined without gaps, line breaks and blocks as spaces."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                parts.append(str(node))
        elif isinstance(node, Tag) and (node.name == "br" or node.name in _BLOCK_TAGS):
            parts.append(" ")
    return "".join(parts)


class _Walker:
    """Depth-first over the tree with an explicit stack: generated pages nest deeper than Python recurses."""

    def __init__(self) -> None:
        self.out = BlockCollector()
        self.buffer: list[str] = []
        self.kind: BlockKind = "paragraph"
        self.level = 0
        self.list_depth = 0

    def flush(self) -> None:
        if self.buffer:
            self.out.add(self.kind, "".join(self.buffer), level=self.level)
            self.buffer = []

    def run(self, root: Tag) -> None:
        # Entries are nodes to visit, or callables that close a block after its children were visited.
        stack: list[Any] = list(reversed(list(root.children)))
        while stack:
            item = stack.pop()
            if callable(item) and not isinstance(item, Tag | NavigableString):
                item()
                continue
            self.visit(item, stack)
        self.flush()

    def visit(self, node: Any, stack: list[Any]) -> None:
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                self.buffer.append(str(node))
            return
        if not isinstance(node, Tag):
            return
        name = node.name.lower()
        if name == "br":
            self.buffer.append("\n")
        elif name in _HEADINGS:
            self.flush()
            self.out.heading(_inline_text(node), _HEADINGS[name])
        elif name == "table":
            self.table(node)
        elif name in _LISTS:
            self.flush()
            self.list_depth += 1
            stack.append(self._leave_list)
            stack.extend(reversed(list(node.children)))
        elif name == "li":
            self.enter(node, "list_item", max(self.list_depth, 1), stack)
        elif name in _PARAGRAPHS:
            self.enter(node, self.kind if self.kind == "list_item" else "paragraph", self.level, stack)
        elif name in _CONTAINERS or name == "hr":
            # Text loose in a container is its own paragraph, separate from the blocks around it.
            self.enter(node, self.kind, self.level, stack)
        else:
            stack.extend(reversed(list(node.children)))

    def enter(self, tag: Tag, kind: BlockKind, level: int, stack: list[Any]) -> None:
        self.flush()
        outer = (self.kind, self.level)

        def leave() -> None:
            self.flush()
            self.kind, self.level = outer

        self.kind, self.level = kind, level
        stack.append(leave)
        stack.extend(reversed(list(tag.children)))

    def _leave_list(self) -> None:
        self.flush()
        self.list_depth -= 1

    def table(self, table: Tag) -> None:
        self.flush()
        caption = table.find("caption")
        if isinstance(caption, Tag) and caption.find_parent("table") is table:
            self.out.add("paragraph", _inline_text(caption))
        for row in table.find_all("tr"):
            # Rows of nested tables are already part of their enclosing cell's text.
            if row.find_parent("table") is not table:
                continue
            cells = [_inline_text(cell) for cell in row.find_all(("td", "th"), recursive=False)]
            self.out.add("table_row", table_row_text(cells))


def html_content(markup: str | bytes) -> HtmlContent:
    text = decode_html(markup) if isinstance(markup, bytes) else markup
    soup = BeautifulSoup(text, "lxml")
    metadata: dict[str, Any] = {}
    title_tag = soup.find("title")
    title = clean_text(title_tag.get_text()) if isinstance(title_tag, Tag) else ""
    for meta in soup.find_all("meta"):
        key = str(meta.get("name", "")).lower()
        if key in ("description", "keywords", "author") and meta.get("content"):
            metadata[key] = clean_text(str(meta["content"]))
    root_tag = soup.find("html")
    if isinstance(root_tag, Tag) and root_tag.get("lang"):
        metadata["language"] = str(root_tag["lang"])

    doomed = [tag for tag in soup.find_all(True) if tag.name.lower() in _DROP or _is_hidden(tag)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()

    walker = _Walker()
    body = soup.find("body")
    walker.run(body if isinstance(body, Tag) else soup)
    if title:
        metadata["title"] = title
    return HtmlContent(collector=walker.out, title=title or None, metadata=metadata)


def parse(src: Source) -> ParsedDocument:
    try:
        content = html_content(src.data)
    except UndecodableText as exc:
        raise src.error(f"not readable HTML ({exc})", "ist kein lesbares HTML (Binärdaten)") from exc
    h1 = next((b.text for b in content.collector.blocks if b.kind == "heading" and b.level == 1), None)
    title = content.title or h1 or content.collector.first_heading() or src.stem
    return ParsedDocument(
        title=title, blocks=content.collector.blocks, metadata=content.metadata, doc_type="html"
    )
