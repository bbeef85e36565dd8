#!/usr/bin/env python3
"""Search latency at 100k chunks, including query embedding: p50 and p95 per mode.

    make bench-latency            # python benchmarks/latency.py [--chunks 100000]

The corpus is synthetic but realistic for the lexical side: chunks are assembled from real sentences of
the bundled statutes (German vocabulary, compounds, § references), about 700 characters each, spread over
documents of 50 chunks with a mix of access groups. Embedding 100k chunks with the packaged model would take
hours on 2 cores, so chunk vectors are drawn around 400 cluster centres (unit-normalised, 384 dimensions);
query vectors are real (the packaged e5 model embeds every query, and that time is included).
The store is kept in .bench/latency-<N> and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "src" / "kreiswissen" / "evaluation" / "data" / "sample_questions.jsonl"
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.db import documents as store  # noqa: E402
from kreiswissen.ingest.parsers import parse_file  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import EVERYONE, Principal  # noqa: E402
from kreiswissen.text.analyzer import index_terms  # noqa: E402
from kreiswissen.text.sentences import split_sentences  # noqa: E402

OPERATOR = Principal.local_operator()
PER_DOC = 50


def sentences(settings: Settings) -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "samples" / "statutes").glob("*.md")):
        doc = parse_file(path, settings)
        for block in doc.blocks:
            out += [s for s in split_sentences(block.text) if 30 <= len(s) <= 400]
    return out


def build(rt: Runtime, n_chunks: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    pool = sentences(rt.settings)
    dim = rt.embedder.dim
    centres = nprng.normal(size=(400, dim)).astype(np.float32)
    groups_cycle = [[EVERYONE], [EVERYONE], ["ordnungsamt"], ["bauamt"], ["jugendamt", "sozialamt"]]
    n_docs = n_chunks // PER_DOC
    started = time.perf_counter()
    for d in range(n_docs):
        rows = []
        for i in range(PER_DOC):
            text, parts = "", []
            while len(text) < 650:
                parts.append(rng.choice(pool))
                text = " ".join(parts)
            section = f"Synthetische Satzung {d} › § {i + 1} Abschnitt"
            vec = centres[rng.randrange(400)] + 0.6 * nprng.normal(size=dim).astype(np.float32)
            vec /= np.linalg.norm(vec)
            rows.append(store.ChunkRow(ord=i, text=text, section=section, page=None, char_start=0,
                                       char_end=len(text), content_hash=f"{d}-{i}",
                                       terms=index_terms(section + "\n" + text), embedding=vec))
        doc = store.DocumentRow(
            source=f"synthetic://{d}", source_key=f"synthetic://{d}", content_hash=str(d),
            title=f"Synthetische Satzung {d}", doc_type="satzung", format="markdown", metadata={},
            department=None, municipality=f"Gemeinde {d % 40}", doc_date=None,
            access_groups=groups_cycle[d % len(groups_cycle)], size_bytes=0,
        )
        with rt.db.transaction(OPERATOR) as conn:
            store.insert_version(conn, doc, 1, rows, rt.embedder.model_id)
        if (d + 1) % 100 == 0:
            print(f"# built {(d + 1) * PER_DOC} chunks in {time.perf_counter() - started:.0f}s", flush=True)
    with rt.db.admin_connection() as admin:
        admin.execute("VACUUM ANALYZE")


def ensure_store(rt: Runtime, n_chunks: int) -> int:
    """(Re)build the synthetic store unless it holds ``n_chunks`` chunks already; return the chunk count."""
    with rt.db.transaction(OPERATOR) as conn:
        have = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]  # type: ignore[index]
    if have < n_chunks:
        with rt.db.admin_connection() as admin:
            admin.execute("TRUNCATE documents, chunks, postings, term_stats CASCADE")
            admin.execute("UPDATE corpus_stats SET n_chunks = 0, total_terms = 0")
        build(rt, n_chunks)
    with rt.db.transaction(OPERATOR) as conn:
        return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])  # type: ignore[index]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rt = Runtime.open(Settings(home=ROOT / ".bench" / f"latency-{args.chunks}", database_url=None))
    try:
        have = ensure_store(rt, args.chunks)
        questions = [json.loads(line)["question"] for line in
                     (QUESTIONS).read_text().splitlines() if line]
        rng = random.Random(1)
        queries = [rng.choice(questions) for _ in range(args.queries)]
        print(f"# chunks={have} queries={len(queries)} embedder={rt.embedder.model_id}")
        for q in questions[:10]:  # warm caches (index pages, analyzer word list)
            rt.searcher.search(q, OPERATOR)
        for label, principal in (("operator", OPERATOR), ("group", Principal.with_groups(["bauamt"]))):
            for mode in ("lexical", "dense", "hybrid"):
                lat = []
                for q in queries:
                    started = time.perf_counter()
                    rt.searcher.search(q, principal, top_k=10, mode=mode)  # type: ignore[arg-type]
                    lat.append((time.perf_counter() - started) * 1000)
                print(f"mode={mode} principal={label} chunks={have} p50_ms={statistics.median(lat):.1f} "
                      f"p95_ms={percentile(lat, 95):.1f} max_ms={max(lat):.1f}", flush=True)
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
