#!/usr/bin/env python3
"""Retrieval quality and speed on German QA sets (XQuAD-de, MLQA-dev-de, or any corpus.jsonl + queries.jsonl).

    make bench-retrieval DATASET=xquad_de            # or mlqa_dev_de; DATA_DIR=... for another location
    python benchmarks/retrieval.py --dataset xquad_de --needle   # QA passages hidden among the statutes

Prints one line per mode (lexical, dense, hybrid) with R@1, R@5, R@10, MRR@10, nDCG@10 and query latency,
plus ingest throughput against the raw embedder's throughput on the same texts, and peak memory.
The store is a real embedded PostgreSQL in .bench/ (kept between runs for the needle distractors).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.db.embedded import stop_embedded  # noqa: E402
from kreiswissen.ingest.model import Block, ParsedDocument  # noqa: E402
from kreiswissen.ingest.pipeline import chunk_texts  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import EVERYONE, Principal  # noqa: E402
from kreiswissen.text.analyzer import index_terms  # noqa: E402

OPERATOR = Principal.local_operator()


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def passage_doc(item: dict) -> ParsedDocument:
    return ParsedDocument(title=item.get("title") or "", blocks=[Block("paragraph", item["text"])],
                          doc_type="text", metadata={"qa_id": item["id"]})


def ingest_passages(rt: Runtime, passages: list[dict], dataset: str) -> tuple[float, int]:
    """Store every passage as a document; returns (seconds, number of chunks)."""
    started = time.perf_counter()
    chunks = 0
    for item in passages:
        doc = passage_doc(item)
        digest = hashlib.sha256(item["text"].encode()).hexdigest()
        result = rt.ingestor.store_parsed(doc, f"qa://{dataset}/{item['id']}", f"qa://{dataset}/{item['id']}",
                                          digest, len(item["text"]), OPERATOR, [EVERYONE])
        chunks += result.chunks
    return time.perf_counter() - started, chunks


def ingest_distractors(rt: Runtime, data_dir: Path) -> None:
    statutes = data_dir / "corpus" / "kommunal"
    paths = sorted(p for p in statutes.rglob("*.md"))
    print(f"# needle: {len(paths)} statute files as distractors (embeddings cached in the bench store)", flush=True)
    t = time.perf_counter()
    report = rt.ingestor.ingest(paths, OPERATOR)
    print(f"# distractors: added={report.count('added')} unchanged={report.count('unchanged')} "
          f"failed={report.count('failed')} chunks_new={report.chunks} in {time.perf_counter() - t:.0f}s", flush=True)


def raw_embedder_rate(rt: Runtime, passages: list[dict]) -> float:
    """Passages per second of the bare embedder on exactly the texts the pipeline embeds."""
    texts: list[str] = []
    for item in passages:
        doc = passage_doc(item)
        texts += chunk_texts(doc, rt.settings)[1]
    batch = rt.settings.embedding_batch_size
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        rt.embedder.embed_passages(texts[i:i + batch])
    return len(passages) / (time.perf_counter() - started)


def metrics(ranked: list[str], positives: set[str]) -> dict[str, float]:
    def recall(k: int) -> float:
        return len(set(ranked[:k]) & positives) / len(positives)

    mrr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if d in positives), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in positives)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(positives), 10)))
    return {"R@1": recall(1), "R@5": recall(5), "R@10": recall(10), "MRR@10": mrr, "nDCG@10": dcg / idcg}


def evaluate(rt: Runtime, queries: list[dict], dataset: str, mode: str) -> tuple[dict[str, float], list[float]]:
    prefix = f"qa://{dataset}/"
    totals: dict[str, float] = {}
    latencies: list[float] = []
    for q in queries:
        started = time.perf_counter()
        result = rt.searcher.search(q["question"], OPERATOR, top_k=30, mode=mode)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        ranked: list[str] = []
        for hit in result.hits:
            pid = hit.document.source[len(prefix):] if hit.document.source.startswith(prefix) else hit.document.source
            if pid not in ranked:
                ranked.append(pid)
        for name, value in metrics(ranked, set(q["positive_ids"])).items():
            totals[name] = totals.get(name, 0.0) + value
    return {k: v / len(queries) for k, v in totals.items()}, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="xquad_de")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--needle", action="store_true", help="mix the passages into the statute corpus")
    parser.add_argument("--modes", default="lexical,dense,hybrid")
    parser.add_argument("--embedder", default="e5", choices=["e5", "use"])
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N queries")
    parser.add_argument("--keep", action="store_true", help="reuse the bench store instead of a fresh one")
    args = parser.parse_args()

    qa_dir = args.data_dir / "qa" / args.dataset
    if not (qa_dir / "corpus.jsonl").is_file():
        print(f"no dataset at {qa_dir} (expects corpus.jsonl and queries.jsonl)", file=sys.stderr)
        return 2
    passages = load_jsonl(qa_dir / "corpus.jsonl")
    queries = load_jsonl(qa_dir / "queries.jsonl")
    if args.limit:
        queries = queries[: args.limit]

    home = ROOT / ".bench" / (f"needle-{args.embedder}" if args.needle else f"{args.dataset}-{args.embedder}")
    if home.exists() and not (args.keep or args.needle):
        stop_embedded(home / "db")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, database_url=None, embedder=args.embedder)
    rt = Runtime.open(settings)
    try:
        print(f"# dataset={args.dataset} passages={len(passages)} queries={len(queries)} "
              f"embedder={rt.embedder.model_id} needle={args.needle}", flush=True)
        if args.needle:
            ingest_distractors(rt, args.data_dir)
        index_terms("Hundesteuersatzung")  # load the analyzer's word list (once per process) before timing
        seconds, chunks = ingest_passages(rt, passages, args.dataset)
        ingest_rate = len(passages) / seconds
        with rt.db.transaction(OPERATOR) as conn:
            total_chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]  # type: ignore[index]
        line = f"# ingest: passages={len(passages)} chunks_new={chunks} store_chunks={total_chunks} "
        if chunks:  # a cold ingest: compare with the bare embedder on the same texts
            raw = raw_embedder_rate(rt, passages)
            line += (f"ingest_passages/s={ingest_rate:.2f} raw_embedder_passages/s={raw:.2f} "
                     f"ratio={ingest_rate / raw:.3f}")
        print(line, flush=True)
        for mode in args.modes.split(","):
            scores, lat = evaluate(rt, queries, args.dataset, mode)
            label = f"needle-{mode}" if args.needle else mode
            print(f"mode={label} " + " ".join(f"{k}={v:.4f}" for k, v in scores.items())
                  + (f" passages/s={ingest_rate:.2f}" if chunks else " passages/s=cached")
                  + f" p50_ms={statistics.median(lat):.1f} "
                  f"p95_ms={percentile(lat, 95):.1f}", flush=True)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"# peak_rss_mb={peak_mb:.0f} (benchmark process: embedder, analyzer, client)")
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
