from hypothesis import given
from hypothesis import strategies as st

from kreiswissen.text.analyzer import index_terms, query_terms


def test_compound_in_document_matches_its_parts_in_query() -> None:
    doc = index_terms("Die Hundesteuersatzung der Gemeinde regelt alles.")
    for query in ("Hundesteuer", "Steuersatz", "Hund"):
        assert set(query_terms(query)) & set(doc), query


def test_umlaut_and_sharp_s_spellings_match() -> None:
    assert set(index_terms("Gebühren Straße")) == set(index_terms("Gebuehren Strasse"))


def test_stop_words_are_dropped_and_stems_are_used() -> None:
    terms = index_terms("Die Hunde und der Hund")
    assert "die" not in terms and "und" not in terms
    assert terms["hund"] == 2


def test_query_parts_weigh_less_than_whole_words() -> None:
    weights = query_terms("Hundesteuer")
    assert weights["hundesteu"] == 1.0
    assert weights["steu"] < 1.0


def test_numbers_are_terms() -> None:
    assert "2026" in index_terms("Sie gilt ab 2026.")


@given(st.text(max_size=300))
def test_analysis_never_fails_and_yields_clean_terms(text: str) -> None:
    for term in index_terms(text):
        assert term and term == term.strip() and " " not in term
