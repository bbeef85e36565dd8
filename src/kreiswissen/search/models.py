"""Search inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class SearchFilters:
    department: str | None = None
    municipality: str | None = None
    doc_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def is_empty(self) -> bool:
        return not any((self.department, self.municipality, self.doc_type, self.date_from, self.date_to))


@dataclass
class DocumentRef:
    id: str
    title: str
    source: str
    municipality: str | None = None
    doc_type: str | None = None
    department: str | None = None


@dataclass
class ChunkRef:
    id: str
    text: str
    section: str | None
    page: int | None
    char_start: int = 0
    char_end: int = 0


def section_within_document(section: str | None, title: str) -> str:
    """The section path without the document title it starts with ("§ 5 Steuersatz")."""
    if not section:
        return ""
    prefix = title + " › "
    return section[len(prefix):] if section.startswith(prefix) else ("" if section == title else section)


@dataclass
class SearchHit:
    rank: int
    score: float
    document: DocumentRef
    chunk: ChunkRef

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "document": {"id": self.document.id, "title": self.document.title, "source": self.document.source},
            "chunk": {"id": self.chunk.id, "text": self.chunk.text, "section": self.chunk.section,
                      "page": self.chunk.page},
        }
