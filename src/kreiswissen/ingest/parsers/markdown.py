"""Markdown with optional YAML front matter, read through markdown-it tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import frontmatter
import yaml
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector, clean_text, table_row_text
from .plaintext import UndecodableText, decode_text
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


def inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(inline_text(child))
    return "".join(parts)


class _Builder:
    def __init__(self) -> None:
        self.out = BlockCollector()
        self.list_depth = 0
        # One buffer per open list item: an item's paragraphs form one block, nested lists their own.
        # The first entry is the item's number for ordered lists ("2."), else "".
        self.items: list[list[str]] = []
        self.row: list[str] | None = None

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
            if kind == "heading_open":
                self.flush_item()
                self.out.heading(inline_text(tokens[i + 1]), int(token.tag[1]))
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
                text = inline_text(token)
                if self.row is not None:
                    self.row.append(text)
                elif self.items:
                    self.items[-1].append(text)
                else:
                    self.out.add("paragraph", text)
            elif kind in ("fence", "code_block"):
                self._text(token.content)
            elif kind == "html_block":
                self._text(BeautifulSoup(token.content, "lxml").get_text(" "))
            i += 1
        return self.out

    def _text(self, text: str) -> None:
        if self.items:
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
