"""Routing a citizen's request to the service and the responsible unit (Zuständigkeitsfinder).

Each service of the catalogue is described by its name, synonyms, group and description. A request is scored
against every service in two ways, both with the product's German text analysis:

- **lexical:** BM25 over the services' profiles with the analyser's stemmed terms and compound parts
  ("Wunschkennzeichen" → "wunsch", "kenn", "zeich"); name and synonyms count double;
- **dense:** the multilingual embedding of the request's passages (the whole text and each sentence, so a
  greeting, an address or a story before the question does not dilute it) against each service's profile,
  and against each of its names, synonyms and description sentences on its own (``ITEM_WEIGHT``: a short
  sentence matches a short synonym better than a long profile); the best passage counts.

The two are min-max normalised over the services and fused (``DENSE_WEIGHT``). The confidence is the softmax of
the fused scores (temperature ``TEMPERATURE``) for the first service; alternatives are the next services. A
request whose best dense similarity and best lexical score both stay under their thresholds is not covered by the
catalogue (``out_of_scope``) and is flagged, never forced onto a service; a routing with a confidence under
``REVIEW_CONFIDENCE`` is marked ``needs_review`` for a person's check. Several concerns in one request: a
sentence whose own best service is another one than the request's, with a clear margin, adds that service to
``concerns``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kreiswissen.cases.catalogue import Catalogue, Service
from kreiswissen.models.embedder import Embedder
from kreiswissen.text.analyzer import index_terms, query_terms
from kreiswissen.text.sentences import split_sentences

DENSE_WEIGHT = 0.65
ITEM_WEIGHT = 0.3  # share of the best single name/synonym/description sentence in the dense score
TEMPERATURE = 0.08
K1, B = 1.2, 0.5
MIN_DENSE = 0.845  # best passage similarity under this and …
MIN_LEXICAL = 10.0  # … best BM25 under this: not covered by the catalogue
REVIEW_CONFIDENCE = 0.5  # under this the routing is marked for a person's check ("unsicher")
CONCERN_MARGIN = 0.15  # a sentence's own best service beats the request's first by this (fused score)
MAX_PASSAGES = 24


@dataclass
class Candidate:
    service: Service
    score: float  # fused, 0..1
    lexical: float
    dense: float

    def to_json(self, catalogue: Catalogue, probability: float | None = None) -> dict[str, Any]:
        unit = catalogue.unit_of(self.service)
        data: dict[str, Any] = {"service": self.service.id, "name": self.service.name, "unit": unit.id,
                                "unit_name": unit.name, "score": round(self.score, 4)}
        if probability is not None:
            data["confidence"] = round(probability, 4)
        return data


@dataclass
class Routing:
    candidates: list[Candidate]  # best first
    confidence: float
    out_of_scope: bool
    concerns: list[Candidate] = field(default_factory=list)  # further concerns of the request

    @property
    def needs_review(self) -> bool:
        """Not covered by the catalogue, or not sure: a person should check the routing before drafting."""
        return self.out_of_scope or self.confidence < REVIEW_CONFIDENCE

    @property
    def best(self) -> Candidate | None:
        return None if self.out_of_scope or not self.candidates else self.candidates[0]

    def to_json(self, catalogue: Catalogue, alternatives: int = 3) -> dict[str, Any]:
        best = self.best
        unit = catalogue.unit_of(best.service) if best else None
        return {
            "service": best.service.id if best else None,
            "service_name": best.service.name if best else None,
            "unit": unit.id if unit else None,
            "unit_name": unit.name if unit else None,
            "confidence": round(self.confidence, 4),
            "out_of_scope": self.out_of_scope,
            "needs_review": self.needs_review,
            "alternatives": [c.to_json(catalogue) for c in self.candidates[1 if best else 0:][:alternatives]],
            "concerns": [c.to_json(catalogue) for c in self.concerns],
        }


def _profile(service: Service) -> str:
    return ". ".join(p for p in (service.name, ", ".join(service.synonyms), service.group, service.description) if p)


PassageVectors = Callable[[list[str]], Any]  # texts → one vector per text (e.g. through the embedding cache)


def cached_vectors(rt: Any, principal: Any) -> PassageVectors:
    """Profile vectors through the store's embedding cache (by text hash, no text stored), so a command does
    not embed the whole catalogue again each time it routes."""
    from kreiswissen.db import documents as store

    def vectors(texts: list[str]) -> Any:
        found, fresh = rt.ingestor.embed_cached(texts, principal)
        if fresh:
            with rt.db.transaction(principal) as conn:
                store.store_embeddings(conn, rt.embedder.model_id, fresh)
        return np.asarray(found)

    return vectors


class Router:
    def __init__(self, catalogue: Catalogue, embedder: Embedder, passage_vectors: PassageVectors | None = None) -> None:
        if not catalogue.services:
            from kreiswissen.errors import InputError

            raise InputError("empty catalogue", user_message="Kein Leistungskatalog vorhanden; bitte zuerst "
                             "'kreiswissen cases catalogue import DATEI' ausführen.")
        self.catalogue = catalogue
        self.embedder = embedder
        self.services = list(catalogue.services.values())
        self._terms: list[Counter[str]] = []
        for s in self.services:
            strong = index_terms(" ".join([s.name, *s.synonyms]))
            terms = index_terms(" ".join([s.group, s.description]))
            for term, n in strong.items():
                terms[term] += 2 * n
            self._terms.append(terms)
        self._lengths = np.array([sum(t.values()) for t in self._terms], dtype=float)
        self._avg = float(self._lengths.mean()) or 1.0
        df: Counter[str] = Counter()
        for t in self._terms:
            df.update(t.keys())
        n = len(self.services)
        self._idf = {term: math.log(1 + (n - d + 0.5) / (d + 0.5)) for term, d in df.items()}
        profiles = [_profile(s) for s in self.services]
        # Each name, synonym and description sentence also on its own: a request's sentence "Auto ummelden"
        # is closer to the synonym than to the whole profile, where it is one phrase among many.
        items: list[str] = []
        owners: list[int] = []
        for i, s in enumerate(self.services):
            for text in dict.fromkeys([s.name, *s.synonyms, *split_sentences(s.description)]):
                if text.strip():
                    items.append(text)
                    owners.append(i)
        texts = profiles + items
        vectors = np.asarray(passage_vectors(texts) if passage_vectors else embedder.embed_passages(texts))
        self._vectors = vectors[: len(profiles)]
        self._items = vectors[len(profiles):]
        self._owners = np.asarray(owners, dtype=int)

    # -- scores ---------------------------------------------------------------------------------------------
    def _lexical(self, text: str) -> np.ndarray:
        query = query_terms(text)
        scores = np.zeros(len(self.services))
        for i, terms in enumerate(self._terms):
            norm = K1 * (1 - B + B * self._lengths[i] / self._avg)
            total = 0.0
            for term, weight in query.items():
                tf = terms.get(term, 0)
                if tf:
                    total += weight * self._idf[term] * tf * (K1 + 1) / (tf + norm)
            scores[i] = total
        return scores

    def _passages(self, text: str) -> list[str]:
        sentences = [s for line in text.splitlines() for s in split_sentences(line) if len(s.strip()) >= 12]
        pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
        return ([text.strip()[:2000]] + sentences + pairs)[:MAX_PASSAGES]

    def route(self, text: str) -> Routing:
        text = text.strip()
        if not text:
            from kreiswissen.errors import InputError

            raise InputError("empty request", user_message="Die Anfrage ist leer.")
        passages = self._passages(text)
        vectors = np.stack([self.embedder.embed_query(p) for p in passages])
        profile_sims = vectors @ self._vectors.T  # passages × services
        item_sims = np.full_like(profile_sims, -1.0)  # passages × services: the best single item
        np.maximum.at(item_sims, (np.arange(len(passages))[:, None], self._owners[None, :]), vectors @ self._items.T)
        sims = (1 - ITEM_WEIGHT) * profile_sims + ITEM_WEIGHT * item_sims
        dense = (1 - ITEM_WEIGHT) * profile_sims.max(axis=0) + ITEM_WEIGHT * item_sims.max(axis=0)
        lexical = self._lexical(text)
        fused = self._fuse(lexical, dense)
        order = np.argsort(-fused)
        candidates = [Candidate(self.services[i], float(fused[i]), float(lexical[i]), float(dense[i])) for i in order]
        exp = np.exp((fused[order] - fused[order][0]) / TEMPERATURE)
        confidence = float(exp[0] / exp.sum())
        out_of_scope = float(profile_sims.max()) < MIN_DENSE and float(lexical.max()) < MIN_LEXICAL
        concerns = [] if out_of_scope else self._concerns(passages[1:], sims[1:], lexical, candidates[0])
        return Routing(candidates, confidence, out_of_scope, concerns)

    @staticmethod
    def _fuse(lexical: np.ndarray, dense: np.ndarray) -> np.ndarray:
        def norm(x: np.ndarray) -> np.ndarray:
            span = float(x.max() - x.min())
            return (x - x.min()) / span if span > 0 else np.zeros_like(x)

        return DENSE_WEIGHT * norm(dense) + (1 - DENSE_WEIGHT) * norm(lexical)

    def _concerns(self, passages: list[str], sims: np.ndarray, lexical: np.ndarray,
                  first: Candidate) -> list[Candidate]:
        found: dict[str, Candidate] = {}
        for passage, row in zip(passages, sims, strict=True):
            fused = self._fuse(self._lexical(passage), row)
            order = np.argsort(-fused)
            best = self.services[order[0]]
            if best.id == first.service.id or best.id in found:
                continue
            if fused[order[0]] - fused[order[1]] >= CONCERN_MARGIN and row[order[0]] >= MIN_DENSE:
                found[best.id] = Candidate(best, float(fused[order[0]]), float(lexical[order[0]]),
                                           float(row[order[0]]))
        return list(found.values())[:3]
