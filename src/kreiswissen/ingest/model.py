"""Typed output of the parsers: a flat list of blocks that the chunker turns into chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]


@dataclass
class Block:
    """One structural unit of a document.

    ``level`` is the heading level (1 = top) for headings and the nesting depth for list items.
    ``page`` is 1-based for paged formats (PDF, scanned images), ``None`` otherwise.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None


@dataclass
class ParsedDocument:
    title: str
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)
    # "pdf", "docx", "odt", "html", "markdown", "text", "email", "xlsx", "ods", "image"
    doc_type: str = "text"

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)
