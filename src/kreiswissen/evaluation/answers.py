"""Answer-quality evaluation: run a question set against the configured backend and measure what a KI-Manager
needs to compare models before a rollout.

Question file (JSONL), one object per line::

    {"id": "q001", "question": "…", "answerable": true, "answer_contains": ["330,00 €"],
     "expected_files": ["BBO_Satzung_Erhebung_Hundesteuer.md"], "kind": "municipality"}

Metrics: answered vs refused (and whether that was right), the answer contains an expected string, citation
precision (share of cited passages that contain the expected fact), unsupported-sentence rate (sentences the
support check removed or marked), latency (time to first token, total).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kreiswissen.answer.extractive import Answer
from kreiswissen.answer.grounding import split_claims
from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.security.principal import Principal
from kreiswissen.text.normalize import fold

DEFAULT_QUESTIONS = "sample_questions.jsonl"


@dataclass
class Question:
    id: str
    question: str
    answerable: bool
    answer_contains: list[str]
    expected_files: list[str] = field(default_factory=list)
    kind: str = ""


@dataclass
class Outcome:
    id: str
    kind: str
    answerable: bool
    answered: bool
    mode: str
    contains_expected: bool | None
    cited: int
    cited_with_fact: int
    sentences: int
    unsupported: int
    first_token_ms: float | None
    total_ms: float
    error: str | None = None
    fallback: bool = False


def load_questions(path: Path | None = None) -> list[Question]:
    if path is None:
        text = resources.files("kreiswissen.evaluation").joinpath("data", DEFAULT_QUESTIONS).read_text("utf-8")
        origin = f"kreiswissen/evaluation/data/{DEFAULT_QUESTIONS}"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path}: {exc}", user_message=f"Die Fragedatei {path} ist nicht "
                             "lesbar (erwartet: UTF-8-JSONL).") from exc
        origin = str(path)
    questions: list[Question] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            expected = item.get("answer_contains", item.get("expected", []))
            if isinstance(expected, str):
                expected = [expected]
            questions.append(Question(
                id=str(item.get("id", number)), question=str(item["question"]),
                answerable=bool(item.get("answerable", True)), answer_contains=[str(e) for e in expected],
                expected_files=list(item.get("expected_files", [])), kind=str(item.get("kind", "")),
            ))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{origin}:{number}: {exc}", user_message=f"Zeile {number} der Fragedatei ist kein "
                             "gültiges Frageobjekt (mindestens {\"question\": …}).") from exc
    if not questions:
        raise InputError("no questions", user_message="Die Fragedatei enthält keine Fragen.")
    return questions


def _contains(text: str, needles: list[str]) -> bool:
    folded = " ".join(fold(text).split())
    return any(" ".join(fold(n).split()) in folded for n in needles)


def score(q: Question, answer: Answer, first_token_ms: float | None, total_ms: float) -> Outcome:
    cited_with_fact = sum(1 for c in answer.citations
                          if q.answer_contains and _contains(c.chunk.text, q.answer_contains))
    sentences = len(split_claims(answer.answer)) if answer.answered else 0
    return Outcome(
        id=q.id, kind=q.kind, answerable=q.answerable, answered=answer.answered, mode=answer.mode,
        contains_expected=_contains(answer.answer, q.answer_contains) if q.answer_contains else None,
        cited=len(answer.citations), cited_with_fact=cited_with_fact, sentences=sentences,
        unsupported=len(answer.unsupported), first_token_ms=first_token_ms, total_ms=total_ms,
        fallback=any("ohne Sprachmodell" in n for n in answer.notices),
    )


def run(ask: Callable[..., Answer], questions: list[Question], principal: Principal,
        progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """``ask(question, principal, on_token=…)`` is ``Runtime.ask``; each question is timed from the call."""
    outcomes: list[Outcome] = []
    for q in questions:
        first: list[float] = []
        t0 = time.perf_counter()

        def on_token(_piece: str, t0: float = t0, first: list[float] = first) -> None:
            if not first:
                first.append((time.perf_counter() - t0) * 1000)

        try:
            answer = ask(q.question, principal, on_token=on_token)
        except KreiswissenError as exc:
            outcome = Outcome(q.id, q.kind, q.answerable, False, "error", None, 0, 0, 0, 0, None,
                              (time.perf_counter() - t0) * 1000, error=exc.user_message)
        else:
            outcome = score(q, answer, first[0] if first else None, (time.perf_counter() - t0) * 1000)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    answered = [o for o in outcomes if o.answered]
    with_expectation = [o for o in answerable if o.answered and o.contains_expected is not None]
    cited = sum(o.cited for o in answered if o.answerable)
    total_sentences = sum(o.sentences + (o.unsupported if o.mode == "generated" else 0) for o in answered)
    first = [o.first_token_ms for o in outcomes if o.first_token_ms is not None]
    total = [o.total_ms for o in outcomes]
    return {
        "questions": len(outcomes),
        "answered": len(answered),
        "refused": sum(1 for o in outcomes if not o.answered and o.mode != "error"),
        "errors": sum(1 for o in outcomes if o.mode == "error"),
        "generated": sum(1 for o in outcomes if o.mode == "generated"),
        "fallback_extractive": sum(1 for o in outcomes if o.fallback),
        "answer_rate_answerable": _ratio(sum(1 for o in answerable if o.answered), len(answerable)),
        "refusal_rate_unanswerable": _ratio(sum(1 for o in unanswerable if not o.answered), len(unanswerable)),
        "decision_accuracy": _ratio(sum(1 for o in outcomes if o.answered == o.answerable), len(outcomes)),
        "contains_expected": _ratio(sum(1 for o in with_expectation if o.contains_expected), len(with_expectation)),
        "citation_precision": _ratio(sum(o.cited_with_fact for o in answered if o.answerable), cited),
        "unsupported_rate": _ratio(sum(o.unsupported for o in answered), total_sentences),
        "first_token_ms_p50": percentile(first, 0.5),
        "first_token_ms_p95": percentile(first, 0.95),
        "total_ms_p50": percentile(total, 0.5),
        "total_ms_p95": percentile(total, 0.95),
    }


def outcomes_json(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [asdict(o) for o in outcomes]
