"""Query analysis: lexical terms, municipalities and § references named in the question."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kreiswissen.text.analyzer import query_terms
from kreiswissen.text.normalize import fold

_PARAGRAPH = re.compile(r"(?:§|paragraph|paragraf|artikel|art\.)\s*(\d+[a-z]?)", re.IGNORECASE)


@dataclass(frozen=True)
class AnalyzedQuery:
    text: str
    terms: dict[str, float]
    municipalities: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = field(default_factory=tuple)


def mentioned(query: str, names: list[str]) -> tuple[str, ...]:
    """The names (e.g. municipalities) that occur in the query as whole words, longest first."""
    folded = fold(query)
    found: list[str] = []
    for name in sorted(set(names), key=len, reverse=True):
        key = fold(name)
        if not key:
            continue
        if re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", folded) and not any(key in fold(f) for f in found):
            found.append(name)
    return tuple(found)


def analyze(query: str, municipalities: list[str]) -> AnalyzedQuery:
    return AnalyzedQuery(
        text=query,
        terms=query_terms(query),
        municipalities=mentioned(query, municipalities),
        paragraphs=tuple(m.group(1).lower() for m in _PARAGRAPH.finditer(query)),
    )
