"""Extractive answers: the best sentences of the best passages, with numbered citations, or a refusal.

No language model is involved, so every word of the answer is a verbatim quote from a document the
principal may read. Whether to answer at all is decided by a calibrated confidence over retrieval
signals (query coverage, dense similarity, lexical/dense agreement), not by a raw similarity cut-off.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kreiswissen.models.embedder import Embedder
from kreiswissen.search.hybrid import Searcher, SearchResult
from kreiswissen.search.models import SearchFilters, SearchHit
from kreiswissen.security.principal import Principal
from kreiswissen.text.analyzer import index_terms, query_terms
from kreiswissen.text.sentences import split_sentences

REFUSAL = "Dazu habe ich in den freigegebenen Dokumenten nichts gefunden."
MAX_SENTENCES = 3
PASSAGES_CONSIDERED = 4

# Logistic confidence over retrieval signals, fitted per embedding model (similarity scales differ) on
# evaluation/data/sample_questions.jsonl with benchmarks/sample_questions.py --signals (see docs/retrieval.md;
# leave-one-out accuracy 0.88 for e5). A model without its own calibration uses the generic lexical rule.
CALIBRATION: dict[str, dict[str, float]] = {
    "multilingual-e5-small-q4": {"bias": -74.28, "coverage": 1.71, "dense": 84.49, "dense_margin": 68.88,
                                 "lexical": -1.61},
}
GENERIC = {"bias": -4.0, "coverage": 5.0, "agreement": 2.0}

_QUANTITY_QUESTION = re.compile(r"\b(wie\s+(hoch|viel|teuer|lange|oft|groß|gross)|betrag|kosten|gebühr|frist)",
                                re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_AMOUNT = re.compile(r"\d[\d.,]*\s*(?:€|euro|eur\b|v\.\s?h\.|%|prozent|cent|jahre|monate|wochen|tage|stunden|uhr)"
                     r"|(?:€|eur)\s*\d", re.IGNORECASE)
RESCORE_CANDIDATES = 8
MAX_SENTENCE_CHARS = 400
SENTENCE_SIMILARITY_WEIGHT = 6.0


AI_LABEL = ("KI-generierte Antwort: von einem Sprachmodell aus den zitierten Quellen formuliert. Bitte prüfen Sie "
            "die Aussagen anhand der Quellen.")


@dataclass
class Answer:
    question: str
    answered: bool
    answer: str
    citations: list[SearchHit]
    confidence: float
    search: SearchResult | None = field(default=None, repr=False)
    mode: str = "extractive"  # "generated" | "extractive"
    unsupported: list[dict[str, str]] = field(default_factory=list)  # removed or marked sentences, with reasons
    notices: list[str] = field(default_factory=list)  # German remarks for the reader (fallback, removals)
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str | None = None  # the follow-up as resolved with the conversation
    conversation_id: str | None = None

    @property
    def ai_generated(self) -> bool:
        return self.mode == "generated"

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "answered": self.answered,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "confidence": round(self.confidence, 4),
            "mode": self.mode,
            "unsupported": [u["sentence"] for u in self.unsupported],
            "unsupported_reasons": [u["reason"] for u in self.unsupported],
            "notices": self.notices,
            "ai_generated": self.ai_generated,
        }
        if self.ai_generated:
            data["label"] = AI_LABEL
        if self.conversation_id:
            data["conversation_id"] = self.conversation_id
            data["standalone_question"] = self.standalone_question
        return data


def confidence(signals: dict[str, float], model_id: str = "") -> float:
    weights = CALIBRATION.get(model_id, GENERIC)
    z = weights["bias"] + sum(w * signals.get(name, 0.0) for name, w in weights.items() if name != "bias")
    z = max(-50.0, min(50.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def _segments(text: str) -> list[str]:
    """Sentences, keeping list items (one per line in our chunks) apart."""
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(s for s in split_sentences(line) if len(s) > 3)
    return out


def select_sentences(
    question: str, hits: list[SearchHit], embedder: Embedder | None = None, query_vector: np.ndarray | None = None
) -> list[tuple[int, str]]:
    """(hit index, sentence) of the best-supported sentences: the passage with the best sentence first, each
    passage's sentences in reading order.

    Lexical overlap with the question (sentence and its section heading) preselects; when an embedder is at
    hand the best candidates are re-scored by their similarity to the question, which finds the sentence that
    answers a paraphrased question. Quantity questions ("Wie hoch…", "Was kostet…") prefer sentences
    with amounts.
    """
    q_terms = {t for t, w in query_terms(question).items() if w >= 0.5}
    wants_amount = bool(_QUANTITY_QUESTION.search(question))
    scored: list[list[Any]] = []
    for h_idx, hit in enumerate(hits[:PASSAGES_CONSIDERED]):
        context = set(index_terms(hit.chunk.section or ""))
        rank_prior = 1.0 / (1 + h_idx)
        for s_idx, sentence in enumerate(_segments(hit.chunk.text)):
            terms = set(index_terms(sentence))
            if not terms:
                continue
            overlap = len(q_terms & (terms | context)) / max(1, len(q_terms))
            direct = len(q_terms & terms) / max(1, len(q_terms))
            score = overlap + direct + 0.6 * rank_prior
            if wants_amount and _AMOUNT.search(sentence):
                score += 1.5
            elif wants_amount and _NUMBER.search(sentence):
                score += 0.2
            scored.append([score, h_idx, s_idx, sentence])
    if not scored:
        return []
    scored.sort(key=lambda x: -x[0])
    if embedder is not None and query_vector is not None:
        head = scored[:RESCORE_CANDIDATES]
        vectors = embedder.embed_passages([c[3][:MAX_SENTENCE_CHARS] for c in head])
        for candidate, similarity in zip(head, vectors @ query_vector, strict=True):
            candidate[0] += SENTENCE_SIMILARITY_WEIGHT * float(similarity)
        scored = sorted(head, key=lambda x: -x[0])
    best = scored[0][0]
    margin = 0.3 * abs(best)
    chosen = [c for c in scored[:MAX_SENTENCES] if c[0] >= best - margin]
    # The passage holding the best sentence first (the answer leads), sentences of a passage in reading order.
    best_of = {c[1]: max(o[0] for o in chosen if o[1] == c[1]) for c in chosen}
    chosen.sort(key=lambda x: (-best_of[x[1]], x[1], x[2]))
    return [(c[1], c[3]) for c in chosen]


def compose(
    question: str, hits: list[SearchHit], embedder: Embedder | None = None, query_vector: np.ndarray | None = None
) -> tuple[str, list[SearchHit]]:
    """The answer text with [n] markers and the cited hits, renumbered in citation order."""
    selected = select_sentences(question, hits, embedder, query_vector)
    order: list[int] = []
    for h_idx, _ in selected:
        if h_idx not in order:
            order.append(h_idx)
    number = {h: i + 1 for i, h in enumerate(order)}
    lines: list[str] = []
    current = None
    for h_idx, sentence in selected:
        hit = hits[h_idx]
        if h_idx != current:
            where = hit.chunk.section or hit.document.title
            page = f", S. {hit.chunk.page}" if hit.chunk.page else ""
            lines.append(f"Laut „{hit.document.title}“ ({where.split(' › ')[-1]}{page}):")
            current = h_idx
        lines.append(f"„{sentence}“ [{number[h_idx]}]")
    citations = []
    for i, h_idx in enumerate(order):
        hit = hits[h_idx]
        citations.append(SearchHit(rank=i + 1, score=hit.score, document=hit.document, chunk=hit.chunk))
    return "\n".join(lines), citations


class ExtractiveAnswerer:
    def __init__(self, searcher: Searcher, threshold: float = 0.5) -> None:
        self.searcher = searcher
        self.threshold = threshold

    def ask(self, question: str, principal: Principal, filters: SearchFilters | None = None) -> Answer:
        result = self.searcher.search(question, principal, top_k=8, filters=filters)
        return self.from_result(question, result)

    def confidence(self, result: SearchResult) -> float:
        return confidence(result.signals, self.searcher.embedder.model_id)

    def from_result(self, question: str, result: SearchResult) -> Answer:
        """The extractive answer (or refusal) for a search already run."""
        conf = self.confidence(result)
        if not result.hits or conf < self.threshold:
            return Answer(question, False, REFUSAL, [], conf, result)
        text, citations = compose(question, result.hits, self.searcher.embedder, result.query_vector)
        if not citations:
            return Answer(question, False, REFUSAL, [], conf, result)
        return Answer(question, True, text, citations, conf, result)
