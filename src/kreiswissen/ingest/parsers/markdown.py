"""Markdown with optional YAML front matter, read through markdown-it tokens.

Only what a reader of the rendered document sees is kept: link and image targets are not text, and raw
HTML is followed the way a browser would follow it, so that comments, scripts and elements hidden by
``hidden``, ``aria-hidden`` or an inline style drop out together with the Markdown nested inside them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

import frontmatter
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kreiswissen.ingest.model import ParsedDocument
from kreiswissen.text.encoding import UndecodableText, decode_text

from .cleanup import BlockCollector, clean_text, table_row_text
from .html import INVISIBLE_ELEMENTS, hidden_by_attributes
from .source import Source

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def json_safe(value: Any) -> Any:
    """YAML yields dates, sets and the like; metadata must be JSON-serialisable."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# A start tag of one of these ends an open <p> (HTML's implied end tags, the cases that matter here).
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup",
        "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul",
    }
)  # fmt: skip
_SIBLINGS_CLOSE = frozenset({"li", "dt", "dd", "tr", "td", "th", "option"})
_BREAKS = _CLOSES_P | _SIBLINGS_CLOSE | {"br", "tbody", "thead", "tfoot", "caption"}


class _RawHtml(HTMLParser):
    """The open elements of the rendered document, fed with its raw HTML and the tags of its Markdown.

    A hidden element may open in one HTML block and close in another, with Markdown paragraphs between
    them that a browser hides too; so one parser follows the whole document. Text of the raw HTML itself
    that is visible collects in ``text``; Markdown text asks :attr:`hidden` whether to count.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []
        # Names of the open elements, so that a stray end tag costs no scan of a crafted deep stack.
        self.open_names: Counter[str] = Counter()
        self.hidden_depth = 0
        self.text: list[str] = []
        # Tags fed for Markdown structure move the open elements but add no line breaks of their own.
        self.synthetic = False

    @property
    def hidden(self) -> bool:
        return self.hidden_depth > 0

    def take(self) -> str:
        text, self.text = "".join(self.text), []
        return text

    def _pop(self) -> None:
        name, hidden = self.open.pop()
        self.open_names[name] -= 1
        self.hidden_depth -= hidden

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)
        if tag in _VOID:
            return
        if self.open and (
            (tag in _CLOSES_P and self.open[-1][0] == "p") or (tag in _SIBLINGS_CLOSE and self.open[-1][0] == tag)
        ):
            self._pop()
        hidden = tag in INVISIBLE_ELEMENTS or hidden_by_attributes(dict(attrs))
        self.open.append((tag, hidden))
        self.open_names[tag] += 1
        self.hidden_depth += hidden

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # HTML ignores the slash of "<div hidden/>": the element stays open.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            self.handle_starttag(tag, [])
            return
        if self.open_names[tag] > 0:
            while self.open[-1][0] != tag:
                self._pop()
            self._pop()
        self._break(tag)

    def _break(self, tag: str) -> None:
        if tag in _BREAKS and not self.hidden and not self.synthetic:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)

    def markdown_tag(self, token: Token) -> None:
        """The tag a Markdown token renders to, so that it can end a raw element as a browser would."""
        if token.hidden or not token.tag or token.nesting == 0:
            return
        self.synthetic = True
        try:
            self.feed(f"<{token.tag}>" if token.nesting > 0 else f"</{token.tag}>")
        finally:
            self.synthetic = False


def inline_text(token: Token, html: _RawHtml) -> str:
    """Visible text of an inline token: link text and image descriptions, never their targets."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("html_inline", "html_block"):
            html.feed(child.content)
            parts.append(html.take())
            continue
        html.markdown_tag(child)
        if html.hidden:
            continue
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(inline_text(child, html))
    return "".join(parts)


class _Builder:
    def __init__(self) -> None:
        self.out = BlockCollector()
        self.list_depth = 0
        # One buffer per open list item: an item's paragraphs form one block, nested lists their own.
        # The first entry is the item's number for ordered lists ("2."), else "".
        self.items: list[list[str]] = []
        self.row: list[str] | None = None
        self.html = _RawHtml()

    def flush_item(self) -> None:
        if self.items and len(self.items[-1]) > 1:
            self.out.add("list_item", " ".join(self.items[-1]).strip(), level=self.list_depth)
            # A continuation after a nested list is not numbered again.
            self.items[-1][:] = [""]

    def run(self, tokens: Sequence[Token]) -> BlockCollector:
        i = 0
        while i < len(tokens):
            token = tokens[i]
            kind = token.type
            self.html.markdown_tag(token)
            if kind == "heading_open":
                self.flush_item()
                self.out.heading(inline_text(tokens[i + 1], self.html), int(token.tag[1]))
                i += 2
            elif kind in ("bullet_list_open", "ordered_list_open"):
                self.flush_item()
                self.list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.list_depth -= 1
            elif kind == "list_item_open":
                # Keep the number of ordered items: "Nr. 2" is how statutes are cited.
                self.items.append([f"{token.info}{token.markup}" if token.info else ""])
            elif kind == "list_item_close":
                self.flush_item()
                self.items.pop()
            elif kind == "tr_open":
                self.row = []
            elif kind == "tr_close":
                self.out.add("table_row", table_row_text(self.row or []))
                self.row = None
            elif kind == "inline":
                text = inline_text(token, self.html)
                if self.row is not None:
                    self.row.append(text)
                else:
                    self._text(text)
            elif kind in ("fence", "code_block"):
                if not self.html.hidden:
                    self._text(token.content)
            elif kind == "html_block":
                self.html.feed(token.content)
                self._text(self.html.take())
            i += 1
        return self.out

    def _text(self, text: str) -> None:
        if self.items:
            # Text hidden away must not leave the item's bare number behind.
            if text.strip():
                self.items[-1].append(text)
        else:
            self.out.add("paragraph", text)


def parse(src: Source) -> ParsedDocument:
    try:
        text, encoding = decode_text(src.data)
    except UndecodableText as exc:
        raise src.error(f"not a text file ({exc})", "ist keine lesbare Markdown-Datei (Binärdaten)") from exc
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise src.error(
            f"invalid YAML front matter ({exc})", "ungültiger YAML-Kopf (Front Matter) am Dateianfang"
        ) from exc
    metadata: dict[str, Any] = json_safe(dict(post.metadata))
    # Without a mapping between the "---" lines, they were thematic breaks around text, not front matter,
    # and python-frontmatter would silently drop that text.
    body = post.content if metadata else text
    out = _Builder().run(_MD.parse(body))
    declared = metadata.get("titel") or metadata.get("title")
    h1 = next((b.text for b in out.blocks if b.kind == "heading" and b.level == 1), None)
    title = clean_text(str(declared)) if declared else (h1 or out.first_heading() or src.stem)
    metadata.setdefault("title", title)
    if encoding != "utf-8":
        metadata["encoding"] = encoding
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="markdown")
