from hypothesis import given
from hypothesis import strategies as st

from kreiswissen.text.sentences import sentence_spans, split_sentences


def test_abbreviations_dates_and_paragraphs_do_not_end_sentences() -> None:
    text = ("Die Steuer beträgt 108 Euro. Für den zweiten Hund gem. § 5 Abs. 2 Nr. 1 sind es 216 Euro. "
            "Die Satzung tritt am 1. Januar 2026 in Kraft. Z. B. Listenhunde (vgl. § 6) zahlen mehr!")
    assert split_sentences(text) == [
        "Die Steuer beträgt 108 Euro.",
        "Für den zweiten Hund gem. § 5 Abs. 2 Nr. 1 sind es 216 Euro.",
        "Die Satzung tritt am 1. Januar 2026 in Kraft.",
        "Z. B. Listenhunde (vgl. § 6) zahlen mehr!",
    ]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_spans_point_at_the_sentences(text: str) -> None:
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == split_sentences(text)
    assert all(a < b for a, b in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
