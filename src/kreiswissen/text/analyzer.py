"""German lexical analysis: tokens → folded → stop words removed → Snowball stems, plus compound parts.

The same analysis runs at index time (``index_terms``) and query time (``query_terms``), so
"Hundesteuersatzung" in a document matches "Hundesteuer" and "Steuersatz" in a question: both sides
emit the stems of the whole word and of its parts.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources

import Stemmer

from kreiswissen.text.decompound import split_compound
from kreiswissen.text.normalize import fold

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
PART_WEIGHT = 0.5
MAX_TOKEN = 60


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = resources.files("kreiswissen.text").joinpath("data/stopwords_de.txt").read_text(encoding="utf-8")
    return frozenset(fold(w) for w in text.split() if w and not w.startswith("#"))


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


@lru_cache(maxsize=300_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def tokens(text: str) -> list[str]:
    """Folded word and number tokens, stop words kept (the chunker and highlighter need positions)."""
    return [fold(t) for t in _TOKEN.findall(text) if len(t) <= MAX_TOKEN]


@lru_cache(maxsize=300_000)
def _word_terms(token: str) -> tuple[str, tuple[str, ...]]:
    """(stem of the word, stems of its compound parts)."""
    if token[0].isdigit():
        return token, ()
    parts = split_compound(token)
    return stem(token), tuple(stem(p) for p in parts if p not in stopwords())


def index_terms(text: str) -> Counter[str]:
    """Term frequencies for the postings and tsvector of one chunk."""
    counts: Counter[str] = Counter()
    stop = stopwords()
    for token in tokens(text):
        if token in stop or (len(token) < 2 and not token.isdigit()):
            continue
        whole, parts = _word_terms(token)
        counts[whole] += 1
        for part in parts:
            if part != whole:
                counts[part] += 1
    return counts


def query_terms(text: str) -> dict[str, float]:
    """Query term weights: whole-word stems 1.0, compound parts ``PART_WEIGHT`` (unless also whole words)."""
    weights: dict[str, float] = {}
    stop = stopwords()
    for token in tokens(text):
        if token in stop or (len(token) < 2 and not token.isdigit()):
            continue
        whole, parts = _word_terms(token)
        weights[whole] = max(weights.get(whole, 0.0), 1.0)
        for part in parts:
            weights[part] = max(weights.get(part, 0.0), PART_WEIGHT)
    return weights
