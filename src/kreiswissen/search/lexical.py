"""BM25 over impact-ordered postings, top-k aware and under row-level security.

Each query term reads at most ``per_term`` postings in descending impact order from the
``(term, impact DESC)`` index, so the cost is bounded by the number of query terms, not by how many
chunks contain a common word. RLS on ``postings`` filters during the index scan, so a principal's limit
is filled with postings it may read.
"""

from __future__ import annotations

import psycopg

from kreiswissen.search.filters import filter_sql
from kreiswissen.search.models import SearchFilters

_TERMS = """
WITH stats AS (SELECT greatest(n_chunks, 1)::float8 AS n FROM corpus_stats WHERE id = 1),
q AS (
    SELECT q.term, q.w * ln(1 + (stats.n - ts.df + 0.5) / (ts.df + 0.5)) AS idfw
    FROM unnest(%(terms)s::text[], %(weights)s::float8[]) AS q(term, w)
    JOIN term_stats ts ON ts.term = q.term AND ts.df > 0
    CROSS JOIN stats
)
"""

_PLAIN = _TERMS + """
SELECT p.chunk_id, sum(q.idfw * p.impact) AS score
FROM q CROSS JOIN LATERAL (
    SELECT chunk_id, impact FROM postings WHERE term = q.term ORDER BY impact DESC LIMIT %(per_term)s
) p
GROUP BY p.chunk_id ORDER BY score DESC LIMIT %(limit)s
"""

_FILTERED = _TERMS + """
SELECT p.chunk_id, sum(q.idfw * p.impact) AS score
FROM q CROSS JOIN LATERAL (
    SELECT po.chunk_id, po.impact FROM postings po
    JOIN chunks c ON c.id = po.chunk_id JOIN documents d ON d.id = c.document_id
    WHERE po.term = q.term {filters}
    ORDER BY po.impact DESC LIMIT %(per_term)s
) p
GROUP BY p.chunk_id ORDER BY score DESC LIMIT %(limit)s
"""


def lexical_search(
    conn: psycopg.Connection,
    weights: dict[str, float],
    limit: int,
    filters: SearchFilters | None = None,
    per_term: int = 1000,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score), best first."""
    if not weights:
        return []
    terms = sorted(weights)
    params = {"terms": terms, "weights": [weights[t] for t in terms], "per_term": per_term, "limit": limit}
    where, fparams = filter_sql(filters)
    query = _FILTERED.format(filters=where) if where else _PLAIN
    rows = conn.execute(query, {**params, **fparams}).fetchall()  # type: ignore[arg-type]
    return [(int(r[0]), float(r[1])) for r in rows]


def idf_weights(conn: psycopg.Connection, terms: list[str]) -> dict[str, float]:
    """idf of each term that occurs in the corpus (for coverage signals)."""
    if not terms:
        return {}
    rows = conn.execute(
        """SELECT ts.term, ln(1 + (greatest(s.n_chunks, 1) - ts.df + 0.5) / (ts.df + 0.5))
           FROM term_stats ts, corpus_stats s WHERE s.id = 1 AND ts.term = ANY(%s) AND ts.df > 0""",
        (terms,),
    ).fetchall()
    return {r[0]: float(r[1]) for r in rows}
