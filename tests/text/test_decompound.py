import pytest
from hypothesis import given
from hypothesis import strategies as st

from kreiswissen.text.decompound import split_compound


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("Hundesteuersatzung", ("hunde", "steuer", "satzung")),
        ("Hundesteuer", ("hunde", "steuer")),
        ("Steuersatz", ("steuer", "satz")),
        ("Friedhofssatzung", ("friedhof", "satzung")),
        ("Wasserversorgungssatzung", ("wasser", "versorgung", "satzung")),
        ("Verwaltungsgebühren", ("verwaltung", "gebühren")),
        ("Feuerwehrkostenersatz", ("feuerwehr", "kosten", "ersatz")),
        ("Gewerbesteuer", ("gewerbe", "steuer")),
    ],
)
def test_splits_administrative_compounds(word: str, parts: tuple[str, ...]) -> None:
    assert split_compound(word) == parts


@pytest.mark.parametrize("word", ["Satzung", "Friedhof", "Entschädigung", "Anmeldung", "Hund", "Gemeinde"])
def test_keeps_simple_words_whole(word: str) -> None:
    assert split_compound(word) == ()


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß", min_size=0, max_size=40))
def test_parts_reassemble_the_word_up_to_linking_elements(word: str) -> None:
    parts = split_compound(word)
    if not parts:
        return
    folded = word.casefold()
    position = 0
    for part in parts:
        found = folded.find(part, position)
        assert found != -1 and found - position <= 2, (word, parts)
        position = found + len(part)
    assert position == len(folded)
