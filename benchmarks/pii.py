#!/usr/bin/env python3
"""Precision and recall of the German personal-data detector, per type, on a labelled set.

    make bench-pii            # python benchmarks/pii.py [--data benchmarks/data/pii_de.jsonl] [--errors]

A predicted entity is correct when it overlaps a gold entity of the same type (partial match, the usual
choice for redaction: a hit that covers part of a name still hides it); exact-span figures are printed too.
Targets (issue 3): recall ≥ 0.95 for the structured types, ≥ 0.85 for names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.security.pii import TYPES, detect  # noqa: E402

TARGETS = {t: 0.95 for t in TYPES} | {"PERSON": 0.85}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data" / "pii_de.jsonl")
    parser.add_argument("--errors", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    items = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = dict.fromkeys(TYPES, 0)
    fp = dict.fromkeys(TYPES, 0)
    fn = dict.fromkeys(TYPES, 0)
    exact = dict.fromkeys(TYPES, 0)
    for item in items:
        gold = item["entities"]
        pred = detect(item["text"])
        for g in gold:
            hit = [p for p in pred if p.type == g["type"] and p.start < g["end"] and g["start"] < p.end]
            if hit:
                tp[g["type"]] += 1
                exact[g["type"]] += any(p.start == g["start"] and p.end == g["end"] for p in hit)
            else:
                fn[g["type"]] += 1
                if args.errors:
                    print(f"MISS {g['type']:<14} {g['text']!r:40} in {item['text']!r}")
        for p in pred:
            if not any(p.type == g["type"] and p.start < g["end"] and g["start"] < p.end for g in gold):
                fp[p.type] += 1
                if args.errors:
                    print(f"FALSE {p.type:<13} {p.text!r:40} in {item['text']!r}")
    print(f"# sentences={len(items)} gold_entities={sum(len(i['entities']) for i in items)}")
    print(f"{'type':<14} {'gold':>5} {'precision':>9} {'recall':>7} {'exact':>7}  target")
    ok = True
    for t in TYPES:
        gold_n = tp[t] + fn[t]
        precision = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 1.0
        recall = tp[t] / gold_n if gold_n else 1.0
        met = recall >= TARGETS[t]
        ok &= met
        print(f"{t:<14} {gold_n:>5} {precision:>9.3f} {recall:>7.3f} {exact[t] / gold_n if gold_n else 1:>7.3f}  "
              f"recall ≥ {TARGETS[t]:.2f} {'✔' if met else '✘'}")
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'all':<14} {all_tp + all_fn:>5} {all_tp / max(1, all_tp + all_fp):>9.3f} "
          f"{all_tp / max(1, all_tp + all_fn):>7.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
