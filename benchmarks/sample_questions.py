#!/usr/bin/env python3
"""German admin questions over the bundled sample statutes: file-level recall and refusal accuracy.

    make bench-questions            # python benchmarks/sample_questions.py [--signals out.csv]

Reads src/kreiswissen/evaluation/data/sample_questions.jsonl (see its README), ingests samples/statutes into a bench
store (.bench/samples-e5, embeddings cached between runs), and prints per kind: file-level recall@1/@5
for answerable questions, how often the extractive answer quotes the expected text, and refusal accuracy
(answered when answerable, refused when not).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "src" / "kreiswissen" / "evaluation" / "data" / "sample_questions.jsonl"
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.answer.extractive import confidence  # noqa: E402
from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import Principal  # noqa: E402

OPERATOR = Principal.local_operator()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--corpus", type=Path, default=ROOT / "samples" / "statutes")
    parser.add_argument("--signals", type=Path, help="write per-question retrieval signals (CSV) for calibration")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]

    rt = Runtime.open(Settings(home=ROOT / ".bench" / "samples-e5", database_url=None))
    try:
        report = rt.ingestor.ingest([args.corpus], OPERATOR)
        if report.failed:
            print("ingest failures:", [f.error for f in report.failed], file=sys.stderr)
            return 1
        per_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        rows = []
        latencies = []
        for q in questions:
            started = time.perf_counter()
            answer = rt.answerer.ask(q["question"], OPERATOR)
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.search is not None
            files: list[str] = []
            for hit in answer.search.hits:
                name = Path(hit.document.source).name
                if name not in files:
                    files.append(name)
            expected = set(q["expected_files"])
            kind = per_kind[q["kind"]]
            if q["answerable"]:
                kind["recall@1"].append(float(bool(set(files[:1]) & expected)))
                kind["recall@5"].append(float(bool(set(files[:5]) & expected)))
                quoted = answer.answered and all(s in answer.answer for s in q["answer_contains"])
                kind["answer_quotes_expected"].append(float(quoted))
            kind["refusal_correct"].append(float(answer.answered == q["answerable"]))
            signals = answer.search.signals
            rows.append(
                {
                    "id": q["id"],
                    "kind": q["kind"],
                    "answerable": int(q["answerable"]),
                    "answered": int(answer.answered),
                    **{k: round(v, 4) for k, v in signals.items()},
                    "confidence": round(confidence(signals, rt.embedder.model_id), 4),
                    "top_file": files[0] if files else "",
                }
            )
        everything: dict[str, list[float]] = defaultdict(list)
        for name in sorted(per_kind):
            values = per_kind[name]
            print(
                f"kind={name} n={len(values['refusal_correct'])} "
                + " ".join(f"{k}={statistics.mean(v):.3f}" for k, v in sorted(values.items()))
            )
            for k, v in values.items():
                everything[k] += v
        print(
            f"kind=all n={len(questions)} "
            + " ".join(f"{k}={statistics.mean(v):.3f}" for k, v in sorted(everything.items()))
            + f" ask_p50_ms={statistics.median(latencies):.0f} ask_max_ms={max(latencies):.0f}"
        )
        if args.signals:
            with args.signals.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
