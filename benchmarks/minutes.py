#!/usr/bin/env python3
"""Minutes structure extraction against the hand-labelled Bundestag protocols: precision/recall of agenda items
and vote outcomes (target ≥ 0.9 each), on the plain-text and the XML version of each protocol.

    make bench-minutes            # python benchmarks/minutes.py [--data-dir ../shared/data/transcripts]

Two label sets: the development set (the rules were written while looking at it) and a held-out protocol
labelled after the rules were written (bt_20-195). Both are small: 8 + 4 agenda items, 15 + 1 votes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kreiswissen.minutes.evaluation import (  # noqa: E402
    DEFAULT_LABELS,
    HELDOUT_LABELS,
    evaluate_directory,
    format_table,
    load_packaged,
)

TARGET = 0.9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = ROOT.parent / "shared" / "data" / "transcripts"
    parser.add_argument("--data-dir", type=Path,
                        default=default if default.is_dir() else ROOT / "tests" / "fixtures" / "transcripts")
    args = parser.parse_args()
    print(f"# data: {args.data_dir}")
    worst = 1.0
    for title, labels in (("development set", DEFAULT_LABELS), ("held-out set", HELDOUT_LABELS)):
        for suffix in (".txt", ".xml"):
            result = evaluate_directory(args.data_dir, load_packaged(labels), suffix)
            if not result["files"]:
                continue
            print(f"\n## {title}, {suffix} files" + (f" (not found: {', '.join(result['not_found'])})"
                                                      if result["not_found"] else ""))
            print(format_table(result))
            overall = result["overall"]
            worst = min(worst, overall["agenda_items"]["precision"], overall["agenda_items"]["recall"],
                        overall["votes"]["precision"], overall["votes"]["recall"])
    print(f"\nworst_precision_or_recall={worst:.3f} target>={TARGET} {'PASS' if worst >= TARGET else 'FAIL'}")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
