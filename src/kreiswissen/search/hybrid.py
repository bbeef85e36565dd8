"""Hybrid retrieval: lexical and dense candidates under RLS, fused by RRF, with metadata awareness.

A question naming a municipality ("… in Bad Boll") adds candidates restricted to that municipality and
down-weights the near-identical statutes of other municipalities; a question naming a § prefers chunks of
that section. Exact duplicate passages (same text in several documents) are shown once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import psycopg

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import BackendUnavailable, InputError
from kreiswissen.models.embedder import Embedder
from kreiswissen.models.reranker import Reranker
from kreiswissen.search.dense import dense_search
from kreiswissen.search.lexical import idf_weights, lexical_search
from kreiswissen.search.models import ChunkRef, DocumentRef, SearchFilters, SearchHit
from kreiswissen.search.query import AnalyzedQuery, analyze
from kreiswissen.security.principal import Principal
from kreiswissen.text.normalize import fold

Mode = Literal["hybrid", "lexical", "dense"]
MAX_QUERY_CHARS = 2000
QUERY_VECTOR_CACHE = 1024  # recent query vectors kept per process (1.5 KB each)

MUNICIPALITY_MATCH = 1.6
MUNICIPALITY_OTHER = 0.5
PARAGRAPH_MATCH = 1.5
NEAR_DUPLICATE = 0.85
MUNICIPALITY_CACHE_S = 30.0  # Jaccard similarity of word 3-shingles
RERANK_WEIGHT = 0.7  # share of the cross-encoder in the final score; the rest keeps fusion and metadata

log = logging.getLogger(__name__)


@dataclass
class SearchResult:
    query: str
    hits: list[SearchHit]
    analyzed: AnalyzedQuery
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Signals for answerability: best dense similarity, idf-weighted query coverage of the top chunk, ...
    signals: dict[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = field(default=None, repr=False)


def _shingles(text: str) -> frozenset[str]:
    words = fold(text).split()
    if len(words) < 3:
        return frozenset({" ".join(words)})
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = (high - low) or 1.0
    return {c: (v - low) / span for c, v in scores.items()}


def convex_fusion(lexical: dict[int, float], dense: dict[int, float], dense_weight: float) -> dict[int, float]:
    """Weighted sum of min-max normalised BM25 and cosine scores over the candidate pool.

    Tuned on XQuAD-de and MLQA-dev-de (docs/retrieval.md): it keeps how much better the best candidate is,
    which reciprocal-rank fusion throws away. A candidate missing from one list scores 0 there.
    """
    lex_n, dense_n = _min_max(lexical), _min_max(dense)
    if not dense_n:
        return lex_n
    if not lex_n:
        return dense_n
    return {c: (1 - dense_weight) * lex_n.get(c, 0.0) + dense_weight * dense_n.get(c, 0.0)
            for c in lex_n.keys() | dense_n.keys()}


def rrf(rankings: list[tuple[list[int], float]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion of several ranked id lists, each with a weight."""
    fused: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return fused


class Searcher:
    def __init__(self, db: Database, embedder: Embedder, settings: Settings,
                 reranker: Reranker | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.settings = settings
        self.reranker = reranker
        # Embedding is serialised by the model's lock; the vector queries of concurrent searches overlap.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dense-search")
        # Query vectors of recent questions: staff ask the same things (the most frequent questions repeat
        # many times a day), and embedding is most of a search's CPU time. Keyed by model and exact text.
        self._query_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._query_vectors_lock = threading.Lock()
        self._municipality_cache: dict[tuple[bool, frozenset[str]], tuple[float, list[str]]] = {}

    def search(
        self,
        query: str,
        principal: Principal,
        top_k: int = 10,
        mode: Mode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> SearchResult:
        query = query.strip()
        if not query:
            raise InputError("empty query", user_message="Bitte geben Sie eine Frage oder Suchbegriffe ein.")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError("query too long", user_message=f"Die Anfrage ist zu lang (höchstens "
                             f"{MAX_QUERY_CHARS} Zeichen).")
        top_k = max(1, min(int(top_k), 100))
        n = max(self.settings.candidates, top_k)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        cfg = self.settings
        # Embedding + dense search run on a second connection while the lexical side queries PostgreSQL.
        pending = self._pool.submit(self._embed_and_dense, query, principal, n, filters) if mode != "lexical" else None
        with self.db.transaction(principal) as conn:
            analyzed = analyze(query, self._municipalities(conn, principal))
            t1 = time.perf_counter()
            lex = lexical_search(conn, analyzed.terms, n, filters, cfg.lexical_per_term) if mode != "dense" else []
            t2 = time.perf_counter()
            # While the question is still being embedded: what the lexical candidates are, and the idf of the
            # question's terms (for the answer signals), so only dense-only candidates remain to fetch.
            info = self._chunk_info(conn, [c for c, _ in lex])
            idf = idf_weights(conn, [t for t, w in analyzed.terms.items() if w >= 1.0]) if mode != "dense" else None
            qvec, dense = pending.result() if pending is not None else (None, [])
            timings["lexical"] = (t2 - t1) * 1000
            timings["dense_wait"] = (time.perf_counter() - t2) * 1000
            lex_scores = dict(lex)
            dense_scores = dict(dense)
            scoped_filters = [
                SearchFilters(**{**(filters.__dict__ if filters else {}), "municipality": m})
                for m in analyzed.municipalities
                if not (filters and filters.municipality)
            ]
            # A named municipality adds its own candidates, so its statute is never crowded out of the pool.
            for scoped in scoped_filters:
                if qvec is not None:
                    dense_scores.update(dense_search(conn, qvec, self.embedder.model_id, n, scoped, cfg.hnsw_ef_search))
                if mode != "dense":
                    lex_scores.update(lexical_search(conn, analyzed.terms, n, scoped, cfg.lexical_per_term))
            if self.settings.fusion == "rrf":
                fused = rrf([(sorted(lex_scores, key=lambda c: -lex_scores[c]), 1.0),
                             (sorted(dense_scores, key=lambda c: -dense_scores[c]), 1.0)], self.settings.rrf_k)
            else:
                fused = convex_fusion(lex_scores, dense_scores, self.settings.dense_weight)
            info.update(self._chunk_info(conn, [c for c in fused if c not in info]))
            fused = self._apply_metadata(fused, info, analyzed)
            ordered = sorted(fused, key=lambda c: fused[c], reverse=True)
            rerank = self.reranker is not None and mode == "hybrid"
            hits = self._hits(ordered, fused, info, max(top_k, cfg.rerank_candidates) if rerank else top_k)
            signals = self._signals(conn, hits, analyzed, dict(dense), lex, idf)
        if rerank:
            hits = self._rerank(query, hits, timings)[:top_k]
        timings["total"] = (time.perf_counter() - t0) * 1000
        return SearchResult(query=query, hits=hits, analyzed=analyzed, timings_ms=timings, signals=signals,
                            query_vector=qvec)

    def _rerank(self, query: str, hits: list[SearchHit], timings: dict[str, float]) -> list[SearchHit]:
        """Reorder by the cross-encoder blended with the fused score; on any reranker failure keep the order."""
        assert self.reranker is not None
        if len(hits) < 2:
            return hits
        t = time.perf_counter()
        texts = [f"{h.chunk.section or h.document.title}\n{h.chunk.text}" for h in hits]
        try:
            scores = self.reranker.rerank(query, texts)
        except BackendUnavailable as exc:
            log.warning("reranking skipped: %s", exc)
            timings["rerank_failed"] = 1.0
            return hits
        timings["rerank"] = (time.perf_counter() - t) * 1000
        rerank_n = _min_max(dict(enumerate(scores)))
        fused_n = _min_max({i: h.score for i, h in enumerate(hits)})
        final = {i: RERANK_WEIGHT * rerank_n[i] + (1 - RERANK_WEIGHT) * fused_n[i] for i in range(len(hits))}
        order = sorted(final, key=lambda i: -final[i])
        return [SearchHit(rank=r + 1, score=final[i], document=hits[i].document, chunk=hits[i].chunk)
                for r, i in enumerate(order)]

    def _embed_and_dense(
        self, query: str, principal: Principal, n: int, filters: SearchFilters | None
    ) -> tuple[np.ndarray, list[tuple[int, float]]]:
        qvec = self._query_vector(query)
        with self.db.transaction(principal, channel=1) as conn:
            return qvec, dense_search(conn, qvec, self.embedder.model_id, n, filters, self.settings.hnsw_ef_search)

    def _query_vector(self, query: str) -> np.ndarray:
        key = (self.embedder.model_id, query)
        with self._query_vectors_lock:
            cached = self._query_vectors.get(key)
            if cached is not None:
                self._query_vectors.move_to_end(key)
                return cached
        vector = self.embedder.embed_query(query)
        vector.setflags(write=False)  # shared between requests
        with self._query_vectors_lock:
            self._query_vectors[key] = vector
            while len(self._query_vectors) > QUERY_VECTOR_CACHE:
                self._query_vectors.popitem(last=False)
        return vector

    def municipalities(self, principal: Principal) -> list[str]:
        """Names of the municipalities whose documents ``principal`` may read."""
        with self.db.transaction(principal) as conn:
            return self._municipalities(conn, principal)

    def _municipalities(self, conn: psycopg.Connection, principal: Principal) -> list[str]:
        """Municipalities of the documents the principal can read; cached briefly per set of groups."""
        key = (principal.operator, frozenset(principal.group_list()))
        cached = self._municipality_cache.get(key)
        now = time.monotonic()
        if cached and now - cached[0] < MUNICIPALITY_CACHE_S:
            return cached[1]
        rows = conn.execute(
            "SELECT DISTINCT municipality FROM documents WHERE is_current AND municipality IS NOT NULL"
        ).fetchall()
        names = [r[0] for r in rows]
        self._municipality_cache[key] = (now, names)
        return names

    def _chunk_info(self, conn: psycopg.Connection, ids: list[int]) -> dict[int, tuple]:
        if not ids:
            return {}
        rows = conn.execute(
            """SELECT c.id, c.text, c.section, c.page, c.char_start, c.char_end, c.content_hash,
                      d.id, d.title, d.source, d.municipality, d.doc_type, d.department
               FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)""",
            (ids,),
        ).fetchall()
        return {r[0]: r for r in rows}

    @staticmethod
    def _apply_metadata(fused: dict[int, float], info: dict[int, tuple], q: AnalyzedQuery) -> dict[int, float]:
        wanted = {fold(m) for m in q.municipalities}
        out: dict[int, float] = {}
        for chunk_id, score in fused.items():
            row = info.get(chunk_id)
            if row is None:
                continue  # not readable any more (RLS) or deleted meanwhile
            factor = 1.0
            municipality = row[10]
            if wanted and municipality:
                factor *= MUNICIPALITY_MATCH if fold(municipality) in wanted else MUNICIPALITY_OTHER
            if q.paragraphs and row[2]:
                section = fold(row[2])
                if any(re.search(r"§\s*" + re.escape(p) + r"(?![0-9a-z])", section) for p in q.paragraphs):
                    factor *= PARAGRAPH_MATCH
            out[chunk_id] = score * factor
        return out

    @staticmethod
    def _hits(ordered: list[int], fused: dict[int, float], info: dict[int, tuple], top_k: int) -> list[SearchHit]:
        """Best-first hits; a passage that nearly repeats a better one (the same rule in the statute of the next
        municipality, the same paragraph in two versions of a form) is merged into it, not shown again."""
        hits: list[SearchHit] = []
        kept: list[frozenset[str]] = []
        for chunk_id in ordered:
            row = info[chunk_id]
            shingles = _shingles(row[1])
            if any(_jaccard(shingles, other) >= NEAR_DUPLICATE for other in kept):
                continue
            kept.append(shingles)
            hits.append(SearchHit(
                rank=len(hits) + 1,
                score=fused[chunk_id],
                document=DocumentRef(id=str(row[7]), title=row[8], source=row[9], municipality=row[10],
                                     doc_type=row[11], department=row[12]),
                chunk=ChunkRef(id=str(row[0]), text=row[1], section=row[2], page=row[3], char_start=row[4],
                               char_end=row[5]),
            ))
            if len(hits) >= top_k:
                break
        return hits

    @staticmethod
    def _signals(conn: psycopg.Connection, hits: list[SearchHit], q: AnalyzedQuery,
                 dense: dict[int, float], lex: list[tuple[int, float]],
                 idf: dict[str, float] | None = None) -> dict[str, float]:
        if not hits:
            return {"coverage": 0.0, "dense": 0.0, "agreement": 0.0}
        full_terms = [t for t, w in q.terms.items() if w >= 1.0]
        if idf is None:
            idf = idf_weights(conn, full_terms)
        # Query terms unknown to the corpus count fully against coverage: "Kfz-Zulassung" in a
        # corpus without it should lower confidence, not vanish from the denominator.
        default_idf = max(idf.values(), default=5.0)
        total = sum(idf.get(t, default_idf) for t in full_terms) or 1.0
        # Which query terms each top chunk contains, read from its stored lexemes (the GIN-indexed tsvector).
        rows = conn.execute(
            "SELECT id, ARRAY(SELECT unnest(tsvector_to_array(lexemes)) INTERSECT SELECT unnest(%s::text[])) "
            "FROM chunks WHERE id = ANY(%s)",
            (full_terms, [int(h.chunk.id) for h in hits[:3]]),
        ).fetchall()
        best_cov = max((sum(idf.get(t, default_idf) for t in present) / total for _, present in rows), default=0.0)
        top_ids = {int(h.chunk.id) for h in hits[:5]}
        lex_top = {c for c, _ in lex[:5]}
        ranked_dense = sorted(dense.items(), key=lambda item: -item[1])
        dense_top = {c for c, _ in ranked_dense[:5]}
        rest = [sim for _, sim in ranked_dense[1:10]]
        return {
            "coverage": best_cov,
            "dense": max((dense.get(int(h.chunk.id), 0.0) for h in hits[:3]), default=0.0),
            "dense_margin": (ranked_dense[0][1] - sum(rest) / len(rest)) if rest else 0.0,
            # BM25 of the best chunk relative to the query's total idf (the same sum as ``total``).
            "lexical": (lex[0][1] / total) if lex else 0.0,
            "agreement": len(top_ids & lex_top & dense_top) / 5.0,
        }
