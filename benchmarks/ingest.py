#!/usr/bin/env python3
"""Ingest throughput against the bare embedder, and peak memory.

    make bench-ingest            # python benchmarks/ingest.py [--corpus samples/statutes]

Ingests the corpus into a fresh embedded store (cold embedding cache), then embeds exactly the same chunk
texts with the bare embedder and prints both rates and their ratio (target ≥ 0.90), plus the peak resident
memory of this process and of the PostgreSQL server processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.db.embedded import embedded_pid, stop_embedded  # noqa: E402
from kreiswissen.ingest.parsers import parse_file  # noqa: E402
from kreiswissen.ingest.pipeline import chunk_texts, expand_paths  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import Principal  # noqa: E402
from kreiswissen.text.analyzer import index_terms  # noqa: E402


def server_rss_mb(pid: int | None) -> float:
    """Resident memory of the postmaster and its children (shared buffers counted once per process)."""
    if pid is None:
        return 0.0
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.Error:
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "samples" / "statutes")
    args = parser.parse_args()
    home = ROOT / ".bench" / "ingest"
    if home.exists():
        stop_embedded(home / "db")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    rt = Runtime.open(Settings(home=home, database_url=None))
    try:
        _ = rt.embedder  # load the model and create the vector index before timing
        index_terms("Hundesteuersatzung")  # and the analyzer's word list
        started = time.perf_counter()
        report = rt.ingestor.ingest([args.corpus], Principal.local_operator())
        ingest_s = time.perf_counter() - started
        chunks = report.chunks
        texts: list[str] = []
        for _, path in expand_paths([args.corpus]):
            if path.suffix.lower() not in (".md", ".pdf", ".docx", ".odt", ".html", ".txt", ".eml"):
                continue
            doc = parse_file(path, rt.settings)
            texts += chunk_texts(doc, rt.settings)[1]
        batch = rt.settings.embedding_batch_size
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            rt.embedder.embed_passages(texts[i:i + batch])
        raw_s = time.perf_counter() - started
        print(f"# files={len(report.results)} added={report.count('added')} failed={report.count('failed')} "
              f"chunks={chunks} raw_texts={len(texts)}")
        ingest_rate, raw_rate = chunks / ingest_s, len(texts) / raw_s
        print(f"ingest_chunks/s={ingest_rate:.2f} raw_embedder_chunks/s={raw_rate:.2f} "
              f"ratio={ingest_rate / raw_rate:.3f} ingest_s={ingest_s:.1f} raw_s={raw_s:.1f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak_rss_mb={peak:.0f} postgres_rss_mb={server_rss_mb(embedded_pid(home / 'db')):.0f}")
    finally:
        rt.close()
        stop_embedded(home / "db")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
