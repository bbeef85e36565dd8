"""Hybrid search and extractive answers over real sample statutes."""

from __future__ import annotations

import pytest

from kreiswissen.answer.extractive import REFUSAL
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import SearchFilters
from kreiswissen.security.principal import Principal

OP = Principal.local_operator()


@pytest.mark.parametrize(
    ("question", "municipality"),
    [
        ("Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?", "Bad Boll"),
        ("Hundesteuer zweiter Hund Aichelberg", "Aichelberg"),
        ("Was kostet die Hundesteuer in Hattenhofen für den ersten Hund?", "Hattenhofen"),
        ("Wer muss in Bad Boll bei Glatteis streuen?", "Bad Boll"),
    ],
)
def test_naming_a_municipality_prefers_its_statute(corpus_rt: Runtime, question: str, municipality: str) -> None:
    hits = corpus_rt.searcher.search(question, OP, top_k=5).hits
    assert hits[0].document.municipality == municipality
    assert sum(h.document.municipality == municipality for h in hits[:3]) >= 2


def test_the_steuersatz_section_answers_the_dog_tax_question(corpus_rt: Runtime) -> None:
    hits = corpus_rt.searcher.search("Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?", OP).hits
    top = hits[0]
    assert top.chunk.section and "Steuersatz" in top.chunk.section
    assert "330" in top.chunk.text
    assert top.document.source.endswith("BBO_Satzung_Erhebung_Hundesteuer.md")


def test_modes_and_filters(corpus_rt: Runtime) -> None:
    for mode in ("lexical", "dense", "hybrid"):
        hits = corpus_rt.searcher.search("Öffnungszeiten der Bücherei", OP, top_k=3, mode=mode).hits
        assert hits and "Buecherei" in hits[0].document.source, mode
    only = corpus_rt.searcher.search("Hundesteuer", OP, top_k=10, filters=SearchFilters(municipality="Aichelberg"))
    assert only.hits and {h.document.municipality for h in only.hits} == {"Aichelberg"}
    none = corpus_rt.searcher.search("Hundesteuer", OP, filters=SearchFilters(doc_type="pdf"))
    assert none.hits == []


def test_paragraph_reference_prefers_that_section(corpus_rt: Runtime) -> None:
    hits = corpus_rt.searcher.search("Was regelt § 11 der Hundesteuersatzung von Bad Boll?", OP, top_k=3).hits
    assert hits[0].chunk.section and "§ 11" in hits[0].chunk.section


def test_restricted_documents_never_appear_in_results(corpus_rt: Runtime) -> None:
    question = "Jahresgehalt der Kämmerin Erika Mustermann"
    outsider = corpus_rt.searcher.search(question, Principal.with_groups(["bauamt"]), top_k=20).hits
    assert all("Gehaltsliste" not in h.document.title for h in outsider)
    insider = corpus_rt.searcher.search(question, Principal.with_groups(["personal"]), top_k=3).hits
    assert "Gehaltsliste" in insider[0].document.title
    answer = corpus_rt.answerer.ask("Wie hoch ist das Jahresgehalt der Kämmerin?", Principal.with_groups(["bauamt"]))
    assert "98.765" not in answer.answer
    assert all("Gehaltsliste" not in c.document.title for c in answer.citations)


def test_near_duplicate_passages_are_shown_once(corpus_rt: Runtime) -> None:
    # § 3 "Beginn und Ende der Steuerpflicht" is nearly word for word the same in the five dog-tax statutes.
    hits = corpus_rt.searcher.search("Wann beginnt die Hundesteuerpflicht?", OP, top_k=20).hits
    sections = [h.chunk.section.split(" › ")[-1] for h in hits if h.chunk.section]
    assert sum("Beginn und Ende der Steuerpflicht" in s for s in sections) == 1
    named = corpus_rt.searcher.search("Wann beginnt die Hundesteuerpflicht in Eschenbach?", OP, top_k=20).hits
    assert named[0].document.municipality == "Eschenbach"


def test_empty_and_oversized_queries_are_input_errors(corpus_rt: Runtime) -> None:
    with pytest.raises(InputError):
        corpus_rt.searcher.search("   ", OP)
    with pytest.raises(InputError):
        corpus_rt.searcher.search("Hund " * 1000, OP)


def test_extractive_answer_quotes_the_amount_with_a_citation(corpus_rt: Runtime) -> None:
    answer = corpus_rt.answerer.ask("Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?", OP)
    assert answer.answered
    assert "330" in answer.answer and "[1]" in answer.answer
    first = answer.citations[0]
    assert first.rank == 1 and first.document.municipality == "Bad Boll"
    # every quoted sentence is verbatim from a cited chunk
    for line in answer.answer.splitlines():
        if line.startswith("„"):
            quote = line[1:line.rindex("“")]
            assert any(quote in c.chunk.text for c in answer.citations)


@pytest.mark.parametrize("question", [
    "Was kostet ein neuer Reisepass?",
    "Wie beantrage ich Elterngeld?",
    "Wann ist die Kfz-Zulassungsstelle geöffnet?",
])
def test_unanswerable_questions_are_refused(corpus_rt: Runtime, question: str) -> None:
    answer = corpus_rt.answerer.ask(question, OP)
    assert not answer.answered
    assert answer.answer == REFUSAL and answer.citations == []


def test_dense_statement_keeps_the_hnsw_index_in_a_generic_plan(corpus_rt: Runtime) -> None:
    """psycopg prepares a statement after a few executions and PostgreSQL may then plan it generically; the
    k-NN statement must still use the model's partial HNSW index (the model is a literal, not a parameter)."""
    from kreiswissen.search.dense import dense_sql

    model, dim = corpus_rt.embedder.model_id, corpus_rt.embedder.dim

    def generic_plan(sql: str) -> str:
        positional = sql.replace("%(q)s", "$1").replace("%(limit)s", "$2").replace("%(model)s", "$3")
        with corpus_rt.db.transaction(OP) as conn:
            # On a small table a sequential scan may be cheaper; forbid it, so the plan shows whether the
            # index *can* be used (with a parameter instead of the literal it cannot, whatever the cost).
            conn.execute("SET LOCAL enable_seqscan = off")
            rows = conn.execute("EXPLAIN (GENERIC_PLAN) " + positional).fetchall()  # type: ignore[arg-type]
        return "\n".join(r[0] for r in rows)

    plan = generic_plan(dense_sql(dim, model))
    assert "Index Scan using chunks_embedding_" in plan, plan
    # The same statement with the model as a parameter loses the index: the check above can fail.
    parameterised = dense_sql(dim, model).replace(f"= '{model}'", "= %(model)s")
    assert "chunks_embedding_" not in generic_plan(parameterised)
