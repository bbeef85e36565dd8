"""Summaries of one document and the answer-quality evaluation harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreiswissen.answer.summarize import Summarizer
from kreiswissen.errors import InputError, NotFound
from kreiswissen.evaluation.answers import load_questions, run, summarise
from kreiswissen.models.generator import ChatMessage
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from scripted_generator import ScriptedGenerator, source_number

QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"


def bbo(corpus_home: Path) -> str:
    return str(corpus_home / "docs" / "BBO_Satzung_Erhebung_Hundesteuer.md")


def test_extractive_summary_quotes_the_document_in_reading_order(corpus_rt: Runtime, corpus_home: Path) -> None:
    summary = corpus_rt.summarize(bbo(corpus_home), Principal.with_groups(["bauamt"]))
    assert summary.mode == "extractive" and summary.title.startswith("Satzung über die Erhebung der Hundesteuer")
    assert 3 <= len(summary.citations) <= 6
    assert all(c.document.source == bbo(corpus_home) for c in summary.citations)
    lines = summary.summary.splitlines()
    for i, (line, citation) in enumerate(zip(lines, summary.citations, strict=True), start=1):
        quoted = line[line.index("„") + 1: line.rindex("“")]
        assert quoted in citation.chunk.text and line.endswith(f"[{i}]")
    ids = [int(c.chunk.id) for c in summary.citations]
    assert ids == sorted(ids)  # reading order
    assert summary.to_json()["ai_generated"] is False


def test_summary_of_an_unreadable_or_unknown_document_is_not_found(corpus_rt: Runtime, corpus_home: Path) -> None:
    secret = str(corpus_home / "secret" / "gehaltsliste.md")
    with pytest.raises(NotFound):
        corpus_rt.summarize(secret, Principal.with_groups(["bauamt"]))
    assert corpus_rt.summarize(secret, Principal.with_groups(["personal"])).citations
    with pytest.raises(NotFound):
        corpus_rt.summarize("/gibt/es/nicht.pdf", Principal.local_operator())


def test_generated_summary_is_checked_like_an_answer(corpus_rt: Runtime, corpus_home: Path) -> None:
    def reply(messages: list[ChatMessage]) -> str:
        n = source_number(messages, "330,00 €")
        return (f"Die Satzung regelt die Hundesteuer in Bad Boll; für den zweiten Hund werden 330,00 € erhoben [{n}]. "
                f"Katzen sind ab 2026 ebenfalls steuerpflichtig [{n}].")

    gen = ScriptedGenerator(reply)
    summarizer = Summarizer(corpus_rt.db, corpus_rt.embedder, gen, corpus_rt.settings)
    summary = summarizer.summarize(bbo(corpus_home), Principal.local_operator())
    assert summary.mode == "generated" and summary.summary.endswith("330,00 € erhoben [1].")
    assert summary.unsupported == [{"sentence": "Katzen sind ab 2026 ebenfalls steuerpflichtig.",
                                    "reason": "Zahl nicht in den zitierten Quellen: 2026"}]
    # The prompt holds the document's passages in reading order, numbered from 1.
    prompt = gen.calls[0][-1].content
    assert prompt.index("§ 1") < prompt.index("330,00 €")
    rubbish = Summarizer(corpus_rt.db, corpus_rt.embedder, ScriptedGenerator("Blubb blubb."), corpus_rt.settings)
    fallback = rubbish.summarize(bbo(corpus_home), Principal.local_operator())
    assert fallback.mode == "extractive" and "ohne Sprachmodell" in fallback.notices[0]


def test_question_files_are_validated(tmp_path: Path) -> None:
    assert len(load_questions()) == 95  # the shipped German question set
    bad = tmp_path / "fragen.jsonl"
    bad.write_text('{"question": "Wie hoch ist die Hundesteuer?"}\n{"frage": "kaputt"}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_questions(bad)
    assert "Zeile 2" in info.value.user_message
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"question": "Gebühr für Müll?"}'.encode("latin-1"))
    with pytest.raises(InputError):
        load_questions(latin1)


def test_the_harness_measures_answers_refusals_citations_and_latency(corpus_rt: Runtime, tmp_path: Path) -> None:
    questions = tmp_path / "fragen.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "a", "question": QUESTION, "answerable": True, "answer_contains": ["330,00 €"]},
        {"id": "b", "question": "Was kostet ein neuer Reisepass?", "answerable": False},
        {"id": "c", "question": "Wie hoch ist die Hundesteuer für einen Kampfhund in Bad Boll?", "answerable": True,
         "answer_contains": ["900,00 €"]},
    ]), encoding="utf-8")
    gen = ScriptedGenerator(lambda m: f"Für den zweiten Hund sind 330,00 € zu zahlen [{source_number(m, '330,00 €')}]."
                            " Der Hund muss außerdem gechipt sein [1].")
    from kreiswissen.answer.generated import GroundedAnswerer

    grounded = GroundedAnswerer(corpus_rt.answerer, gen, corpus_rt.settings)

    def ask(question: str, principal: Principal, on_token=None):  # noqa: ANN001, ANN202
        return grounded.ask(question, principal, on_token=on_token)

    outcomes = run(ask, load_questions(questions), Principal.local_operator())
    report = summarise(outcomes)
    assert report["questions"] == 3 and report["answered"] == 2 and report["refused"] == 1
    assert report["refusal_rate_unanswerable"] == 1.0 and report["decision_accuracy"] == 1.0
    # The scripted model always talks about the second dog: right for "a", wrong for "c".
    assert report["contains_expected"] == 0.5
    # ... but the cited § 5 (2) also states the 900,00 € for further Kampfhunde: both citations hold the fact.
    assert report["citation_precision"] == 1.0
    assert [o.cited_with_fact for o in outcomes] == [1, 0, 1]
    assert report["unsupported_rate"] == pytest.approx(2 / 4)  # one unsupported sentence in each of 2 answers
    assert report["first_token_ms_p50"] is not None and report["total_ms_p95"] >= report["total_ms_p50"]
