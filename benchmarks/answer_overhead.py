#!/usr/bin/env python3
"""Pipeline overhead of generated answers, excluding the model's own generation time.

    make bench-answers        # python benchmarks/answer_overhead.py [--questions N] [--max-tokens T]

Starts the real OpenAI-compatible llama.cpp server (llama-cpp-python) with the packaged Gemma 3 270M, ingests
samples/statutes into a bench store (.bench/samples-e5), and asks the sample questions through the product's
ask path. Per question: overhead = wall time of ``Runtime.ask`` − the time spent inside the model's stream
(request to last token). That is search, refusal decision, context packing, prompt building, sanitising,
citation and support checks, the fallback to quotes when the check rejects the model's text, and the audit
entry. Target: p95 ≤ 150 ms. The tiny model writes mostly unsupported text, so most answers take the
fallback path (which costs more than a kept answer: it composes the quoted answer as well); both paths are
printed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.evaluation.answers import percentile  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import Principal  # noqa: E402
from llm_server import LlamaServer  # noqa: E402

QUESTIONS = ROOT / "src" / "kreiswissen" / "evaluation" / "data" / "sample_questions.jsonl"


def _p(values: list[float], p: float) -> float:
    return percentile(values, p) or 0.0


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<28} n=0"
    return (f"{name:<28} n={len(values):<3} p50={_p(values, 0.5):7.1f} ms  p95={_p(values, 0.95):7.1f} ms  "
            f"mean={statistics.fmean(values):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=95, help="how many of the sample questions")
    parser.add_argument("--max-tokens", type=int, default=80, help="answer length limit for the model")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    items = [json.loads(x) for x in QUESTIONS.read_text(encoding="utf-8").splitlines() if x][: args.questions]

    server = LlamaServer(n_ctx=4096).start()
    operator = Principal.local_operator()
    rt: Runtime | None = None
    try:
        rt = Runtime.open(Settings(home=ROOT / ".bench" / "samples-e5", database_url=None,
                                   llm_base_url=server.base_url, llm_model=LlamaServer.MODEL,
                                   llm_context_tokens=4096, llm_max_answer_tokens=args.max_tokens))
        report = rt.ingest([ROOT / "samples" / "statutes"], operator)
        if report.failed:
            print("ingest failures:", [f.error for f in report.failed], file=sys.stderr)
            return 1
        for item in items[: args.warmup]:
            rt.ask(item["question"], operator)
        overhead: dict[str, list[float]] = {"generated": [], "fallback": [], "refused": []}
        parts: dict[str, list[float]] = {"search": [], "prepare": [], "verify": [], "generation": [],
                                         "first_token": []}
        for item in items:
            started = time.perf_counter()
            answer = rt.ask(item["question"], operator)
            wall = (time.perf_counter() - started) * 1000
            generation = answer.timings_ms.get("generation", 0.0)
            kind = ("generated" if answer.mode == "generated" else
                    "fallback" if generation else "refused")
            overhead[kind].append(wall - generation)
            for key in parts:
                if key in answer.timings_ms:
                    parts[key].append(answer.timings_ms[key])
        everything = [v for values in overhead.values() for v in values]
        print(f"answer pipeline overhead (model generation excluded), {len(items)} questions, "
              f"llama.cpp server + Gemma 3 270M, max_tokens={args.max_tokens}")
        print(line("overhead all", everything))
        for kind, values in overhead.items():
            print(line(f"  {kind}", values))
        for key, values in parts.items():
            print(line(f"  part {key}", values))
        p95 = _p(everything, 0.95)
        print(f"overhead_p95_ms={p95:.1f} target<=150 {'PASS' if p95 <= 150 else 'FAIL'}")
        print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    finally:
        if rt is not None:
            rt.close()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
