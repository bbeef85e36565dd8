#!/usr/bin/env python3
"""Validate src/kreiswissen/evaluation/data/sample_questions.jsonl against the bundled sample statutes.

Stdlib only (Python 3.11). Run from the repository root:

    python benchmarks/validate_questions.py [--questions PATH] [--statutes DIR]

Checks, per line:
  * valid JSON object with exactly the fields id, question, kind, answerable,
    expected_files, expected_section, answer_contains, each of the right type;
  * unique ids (``q001`` style) and unique question texts;
  * kind is one of direct / municipality / paraphrase / unanswerable and agrees
    with ``answerable`` (unanswerable <=> answerable == false);
  * unanswerable questions have no files, no section and no answer substrings;
  * answerable questions list >= 1 existing file in samples/statutes and 1-2
    answer substrings; "municipality" questions list exactly one file;
  * every answer_contains substring occurs in every expected file;
  * expected_section (if not null) is the exact text of a Markdown heading in
    every expected file, and every answer substring lies inside that section
    (from the heading up to the next section-level heading, see below).

Finally it checks the minimum counts per kind and prints a summary.
Exit status: 0 if everything passes, 1 on any problem, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = REPO_ROOT / "src" / "kreiswissen" / "evaluation" / "data" / "sample_questions.jsonl"
DEFAULT_STATUTES = REPO_ROOT / "samples" / "statutes"

FIELDS = {
    "id": str,
    "question": str,
    "kind": str,
    "answerable": bool,
    "expected_files": list,
    "expected_section": (str, type(None)),
    "answer_contains": list,
}
KINDS = ("direct", "municipality", "paraphrase", "unanswerable")
MIN_TOTAL = 60
MIN_PER_KIND = {"direct": 15, "municipality": 15, "paraphrase": 15, "unanswerable": 10}
ID_RE = re.compile(r"^q\d{3,}$")
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
# A heading that starts a new "unit" ends the span of the previous section:
# a paragraph heading (§ ...), an appendix (Anlage ...), or a part marker such as
# "I. ...", "Abschnitt II ...", "A. ...", "C Materielle ...".  Sub-headings inside a §
# (table captions, "(1)", "1. Personal", ...) do not end the span.
UNIT_RE = re.compile(r"^(§|anlage\b|abschnitt\s|präambel\b|[IVX]+\.\s|[A-Z]\.?\s)", re.IGNORECASE)


def strip_front_matter(text: str) -> tuple[str, int]:
    """Return (body, number of lines removed) with a leading YAML front matter block removed."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                return "\n".join(lines[i + 1 :]), i + 1
    return text, 0


class Statute:
    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.text = path.read_text(encoding="utf-8")
        body, _ = strip_front_matter(self.text)
        self.lines = body.split("\n")
        # (line index, heading text)
        self.headings: list[tuple[int, str]] = []
        for i, line in enumerate(self.lines):
            m = HEADING_RE.match(line)
            if m:
                self.headings.append((i, m.group(2).strip()))

    def section_spans(self, heading: str) -> list[str]:
        """Text of every section whose heading equals ``heading`` exactly."""
        spans = []
        for pos, (start, text) in enumerate(self.headings):
            if text != heading:
                continue
            end = len(self.lines)
            for nxt_line, nxt_text in self.headings[pos + 1 :]:
                if UNIT_RE.match(nxt_text):
                    end = nxt_line
                    break
            spans.append("\n".join(self.lines[start:end]))
        return spans


def validate(questions_path: Path, statutes_dir: Path) -> int:
    problems: list[str] = []
    cache: dict[str, Statute] = {}

    def statute(name: str) -> Statute | None:
        if name not in cache:
            path = statutes_dir / name
            if path.parent != statutes_dir or not path.is_file():
                return None
            cache[name] = Statute(path)
        return cache[name]

    kinds: Counter[str] = Counter()
    seen_ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    multi_file = 0
    files_used: Counter[str] = Counter()
    n = 0

    raw_lines = questions_path.read_text(encoding="utf-8").split("\n")
    for lineno, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        n += 1
        where = f"line {lineno}"
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(rec, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        qid = rec.get("id")
        if isinstance(qid, str):
            where = f"line {lineno} ({qid})"

        missing = [f for f in FIELDS if f not in rec]
        extra = [f for f in rec if f not in FIELDS]
        if missing:
            problems.append(f"{where}: missing field(s) {missing}")
        if extra:
            problems.append(f"{where}: unknown field(s) {extra}")
        bad_type = [f for f, t in FIELDS.items() if f in rec and not isinstance(rec[f], t)]
        if bad_type:
            problems.append(f"{where}: wrong type for field(s) {bad_type}")
        if missing or bad_type:
            continue

        if not ID_RE.match(qid):
            problems.append(f"{where}: id {qid!r} does not look like q001")
        if qid in seen_ids:
            problems.append(f"{where}: duplicate id {qid}")
        seen_ids.add(qid)

        question = rec["question"].strip()
        if not question:
            problems.append(f"{where}: empty question")
        elif question in seen_questions:
            problems.append(f"{where}: same question text as {seen_questions[question]}")
        else:
            seen_questions[question] = qid

        kind = rec["kind"]
        if kind not in KINDS:
            problems.append(f"{where}: invalid kind {kind!r} (allowed: {', '.join(KINDS)})")
            continue
        kinds[kind] += 1

        files = rec["expected_files"]
        section = rec["expected_section"]
        answers = rec["answer_contains"]
        if not all(isinstance(f, str) and f for f in files):
            problems.append(f"{where}: expected_files must be non-empty strings")
            continue
        if not all(isinstance(a, str) and a.strip() for a in answers):
            problems.append(f"{where}: answer_contains must be non-empty strings")
            continue

        if kind == "unanswerable":
            if rec["answerable"] is not False:
                problems.append(f"{where}: unanswerable question must have answerable=false")
            if files:
                problems.append(f"{where}: unanswerable question must have expected_files=[]")
            if section is not None:
                problems.append(f"{where}: unanswerable question must have expected_section=null")
            if answers:
                problems.append(f"{where}: unanswerable question must have answer_contains=[]")
            continue

        if rec["answerable"] is not True:
            problems.append(f"{where}: kind {kind!r} requires answerable=true")
        if not files:
            problems.append(f"{where}: answerable question without expected_files")
            continue
        if len(set(files)) != len(files):
            problems.append(f"{where}: duplicate entries in expected_files")
        if kind == "municipality" and len(files) != 1:
            problems.append(f"{where}: municipality question must name exactly one expected file")
        if not 1 <= len(answers) <= 2:
            problems.append(f"{where}: answer_contains should hold 1-2 substrings, has {len(answers)}")
        if section is not None and not section.strip():
            problems.append(f"{where}: expected_section is an empty string (use null)")
            continue
        if len(files) > 1:
            multi_file += 1

        for name in files:
            files_used[name] += 1
            st = statute(name)
            if st is None:
                problems.append(f"{where}: expected file {name!r} not found in {statutes_dir}")
                continue
            for sub in answers:
                if sub not in st.text:
                    problems.append(f"{where}: {sub!r} does not occur in {name}")
            if section is None:
                continue
            spans = st.section_spans(section)
            if not spans:
                problems.append(f"{where}: heading {section!r} not found in {name}")
                continue
            for sub in answers:
                if sub in st.text and not any(sub in span for span in spans):
                    problems.append(f"{where}: {sub!r} occurs in {name} but not inside section {section!r}")

    if n == 0:
        problems.append("no questions found")
    if n < MIN_TOTAL:
        problems.append(f"only {n} questions, need at least {MIN_TOTAL}")
    for kind, minimum in MIN_PER_KIND.items():
        if kinds[kind] < minimum:
            problems.append(f"only {kinds[kind]} {kind!r} questions, need at least {minimum}")

    print(f"Questions: {n}  ({questions_path})")
    for kind in KINDS:
        print(f"  {kind:<13} {kinds[kind]:>3}")
    answerable = n - kinds["unanswerable"]
    print(
        f"Answerable: {answerable}, unanswerable: {kinds['unanswerable']}, "
        f"answerable with >1 expected file: {multi_file}"
    )
    print(
        f"Distinct statutes referenced: {len(files_used)} of "
        f"{len(list(statutes_dir.glob('*.md')))} in {statutes_dir}"
    )

    if problems:
        print(f"\nFAILED: {len(problems)} problem(s)")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("\nOK: all checks passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--statutes", type=Path, default=DEFAULT_STATUTES)
    args = parser.parse_args(argv)
    if not args.questions.is_file():
        print(f"questions file not found: {args.questions}", file=sys.stderr)
        return 2
    if not args.statutes.is_dir():
        print(f"statutes directory not found: {args.statutes}", file=sys.stderr)
        return 2
    return validate(args.questions, args.statutes.resolve())


if __name__ == "__main__":
    sys.exit(main())
