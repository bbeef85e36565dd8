"""SQL for document versions, chunks, postings and term statistics. Callers pass a principal-scoped connection."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import psycopg

# BM25 parameters. The length normalisation uses a fixed average so that impacts never need
# recomputing when the corpus grows (chunks are bounded in size, so the true average barely moves).
BM25_K1 = 1.2
BM25_B = 0.75
AVG_TERMS = 90.0


@dataclass(frozen=True)
class CurrentVersion:
    id: uuid.UUID
    version: int
    content_hash: str
    access_groups: list[str]
    department: str | None
    classification: str = "intern"


@dataclass
class ChunkRow:
    ord: int
    text: str
    section: str | None
    page: int | None
    char_start: int
    char_end: int
    content_hash: str
    terms: Counter[str]
    embedding: np.ndarray | None


@dataclass
class DocumentRow:
    source: str
    source_key: str
    content_hash: str
    title: str
    doc_type: str
    format: str
    metadata: dict[str, Any]
    department: str | None
    municipality: str | None
    doc_date: date | None
    access_groups: list[str]
    size_bytes: int
    classification: str = "intern"


def lock_source(conn: psycopg.Connection, source_key: str) -> None:
    """Serialise concurrent ingests of the same source (two workers, or a rerun beside a stuck one)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (source_key,))


def current_version(conn: psycopg.Connection, source_key: str) -> CurrentVersion | None:
    row = conn.execute(
        "SELECT id, version, content_hash, access_groups, department, classification FROM documents "
        "WHERE source_key = %s AND is_current",
        (source_key,),
    ).fetchone()
    return CurrentVersion(*row) if row else None


def latest_version_number(conn: psycopg.Connection, source_key: str) -> int:
    row = conn.execute("SELECT max(version) FROM documents WHERE source_key = %s", (source_key,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def impact(tf: int, length: int) -> float:
    return tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / AVG_TERMS))


def _tsvector_literal(terms: Counter[str]) -> str:
    return " ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in sorted(terms))


def _vector_literal(vec: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vec.tolist()) + "]"


def retire_current(conn: psycopg.Connection, document_id: uuid.UUID) -> None:
    """Remove a version's chunks (with their postings and statistics) and mark it historical."""
    _subtract_stats(conn, document_id)
    conn.execute("DELETE FROM chunks WHERE document_id = %s", (document_id,))
    conn.execute("UPDATE documents SET is_current = false, chunk_count = 0 WHERE id = %s", (document_id,))


def delete_document(conn: psycopg.Connection, source_key: str) -> int:
    """Delete every version of a source. Returns the number of versions removed."""
    ids = [r[0] for r in conn.execute("SELECT id FROM documents WHERE source_key = %s", (source_key,))]
    terms = [r[0] for r in conn.execute(
        "SELECT DISTINCT p.term FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = ANY(%s)",
        (ids,))]
    for doc_id in ids:
        _subtract_stats(conn, doc_id)
    conn.execute("DELETE FROM documents WHERE source_key = %s", (source_key,))
    # Terms no document uses any more go too: a removed document's names must not linger in the vocabulary.
    conn.execute("DELETE FROM term_stats WHERE term = ANY(%s) AND df <= 0", (sorted(terms),))
    return len(ids)


def _subtract_stats(conn: psycopg.Connection, document_id: uuid.UUID) -> None:
    conn.execute(
        """UPDATE term_stats t SET df = t.df - x.n
           FROM (SELECT p.term, count(*) AS n FROM postings p JOIN chunks c ON c.id = p.chunk_id
                 WHERE c.document_id = %s GROUP BY p.term ORDER BY p.term) x
           WHERE t.term = x.term""",
        (document_id,),
    )
    conn.execute(
        """UPDATE corpus_stats SET n_chunks = n_chunks - x.n, total_terms = total_terms - x.t
           FROM (SELECT count(*) AS n, COALESCE(sum(term_count), 0) AS t FROM chunks WHERE document_id = %s) x
           WHERE id = 1""",
        (document_id,),
    )


def insert_version(
    conn: psycopg.Connection, doc: DocumentRow, version: int, chunks: list[ChunkRow], embedding_model: str | None
) -> uuid.UUID:
    """Insert a complete document version with chunks, postings and statistics (caller holds the transaction)."""
    doc_id = uuid.uuid4()
    conn.execute(
        """INSERT INTO documents (id, source, source_key, version, content_hash, title, doc_type, format, metadata,
                                  department, municipality, doc_date, access_groups, size_bytes, chunk_count,
                                  classification)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s)""",
        (doc_id, doc.source, doc.source_key, version, doc.content_hash, doc.title, doc.doc_type, doc.format,
         json.dumps(doc.metadata, ensure_ascii=False, default=str), doc.department, doc.municipality,
         doc.doc_date, doc.access_groups, doc.size_bytes, len(chunks), doc.classification),
    )
    if not chunks:
        return doc_id
    ids = [r[0] for r in conn.execute(
        "SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, %s)", (len(chunks),)
    )]
    groups = doc.access_groups
    # COPY is refused on tables with row-level security; INSERT ... SELECT FROM unnest() is one statement
    # per table all the same, and the RLS WITH CHECK still applies to every row.
    conn.execute(
        """INSERT INTO chunks (id, document_id, ord, text, section, page, char_start, char_end, content_hash, lexemes,
                               term_count, embedding, embedding_model, access_groups)
           SELECT u.id, %(doc)s, u.ord, u.text, u.section, u.page, u.cs, u.ce, u.hash, u.lex::tsvector, u.tc,
                  u.emb::vector, CASE WHEN u.emb IS NULL THEN NULL ELSE %(model)s END, %(groups)s
           FROM unnest(%(ids)s::bigint[], %(ord)s::int[], %(text)s::text[], %(section)s::text[], %(page)s::int[],
                       %(cs)s::int[], %(ce)s::int[], %(hash)s::text[], %(lex)s::text[], %(tc)s::int[],
                       %(emb)s::text[]) AS u(id, ord, text, section, page, cs, ce, hash, lex, tc, emb)""",
        {
            "doc": doc_id, "model": embedding_model, "groups": groups, "ids": ids,
            "ord": [c.ord for c in chunks], "text": [c.text for c in chunks], "section": [c.section for c in chunks],
            "page": [c.page for c in chunks], "cs": [c.char_start for c in chunks], "ce": [c.char_end for c in chunks],
            "hash": [c.content_hash for c in chunks], "lex": [_tsvector_literal(c.terms) for c in chunks],
            "tc": [sum(c.terms.values()) for c in chunks],
            "emb": [_vector_literal(c.embedding) if c.embedding is not None else None for c in chunks],
        },
    )
    df: Counter[str] = Counter()
    p_terms: list[str] = []
    p_ids: list[int] = []
    p_impacts: list[float] = []
    for chunk_id, c in zip(ids, chunks, strict=True):
        length = sum(c.terms.values())
        for term, tf in c.terms.items():
            p_terms.append(term)
            p_ids.append(chunk_id)
            p_impacts.append(impact(tf, length))
        df.update(c.terms.keys())
    conn.execute(
        """INSERT INTO postings (term, chunk_id, impact, access_groups)
           SELECT t, c, i, %s FROM unnest(%s::text[], %s::bigint[], %s::real[]) AS u(t, c, i)""",
        (groups, p_terms, p_ids, p_impacts),
    )
    terms = sorted(df)  # a fixed lock order: concurrent ingests never deadlock on term_stats
    conn.execute(
        """INSERT INTO term_stats (term, df) SELECT * FROM unnest(%s::text[], %s::int[])
           ON CONFLICT (term) DO UPDATE SET df = term_stats.df + EXCLUDED.df""",
        (terms, [df[t] for t in terms]),
    )
    conn.execute(
        "UPDATE corpus_stats SET n_chunks = n_chunks + %s, total_terms = total_terms + %s WHERE id = 1",
        (len(chunks), sum(sum(c.terms.values()) for c in chunks)),
    )
    return doc_id


def set_access(conn: psycopg.Connection, document_id: uuid.UUID, groups: list[str], department: str | None,
               classification: str | None = None) -> None:
    """Change who may read a document: the document, its chunks and postings change together."""
    conn.execute("UPDATE documents SET access_groups = %s, department = %s, "
                 "classification = COALESCE(%s, classification) WHERE id = %s",
                 (groups, department, classification, document_id))
    conn.execute("UPDATE chunks SET access_groups = %s WHERE document_id = %s", (groups, document_id))
    conn.execute(
        "UPDATE postings p SET access_groups = %s FROM chunks c WHERE c.id = p.chunk_id AND c.document_id = %s",
        (groups, document_id),
    )


def cached_embeddings(conn: psycopg.Connection, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    rows = conn.execute(
        "SELECT text_hash, embedding FROM embedding_cache WHERE model = %s AND text_hash = ANY(%s)",
        (model, hashes),
    ).fetchall()
    return {h: np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32) for h, v in rows}


def store_embeddings(conn: psycopg.Connection, model: str, items: dict[str, np.ndarray]) -> None:
    if not items:
        return
    hashes = sorted(items)
    conn.execute(
        """INSERT INTO embedding_cache (model, text_hash, embedding)
           SELECT %s, h, e::vector FROM unnest(%s::text[], %s::text[]) AS u(h, e)
           ON CONFLICT DO NOTHING""",
        (model, hashes, [_vector_literal(items[h]) for h in hashes]),
    )


def sql_literal(value: str) -> str:
    """A standard-conforming SQL string literal (quotes doubled; backslashes are not special since PG 9.1)."""
    return "'" + value.replace("'", "''") + "'"
