"""Follow-up questions made standalone: rules without a language model, the model's rewrite with its checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kreiswissen.answer.conversations import Turn
from kreiswissen.answer.followup import resolve, standalone_question
from kreiswissen.models.generator import ChatMessage, GenerationFailed

DOG = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"
DOG_PLAIN = "Wie hoch ist die Hundesteuer in Bad Boll?"
PARKING = "Wie beantrage ich einen Anwohnerparkausweis?"
LIBRARY = "Gibt es in Bad Boll eine Gemeindebücherei?"
REGISTER = "Muss ich meinen Hund in Bad Boll anmelden?"
TAX = "Muss ich für meinen Hund in Bad Boll Steuer zahlen?"


def _turn(question: str, standalone: str | None = None, n: int = 1, answer: str = "216 Euro im Jahr [1].") -> Turn:
    return Turn("c1", n, question, standalone or question, answer, "extractive", [])


# (previous standalone question, follow-up, expected standalone question)
EXACT = [
    (DOG, "Und für den dritten Hund?", "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?"),
    (DOG, "Und in Aichelberg?", "Wie hoch ist die Hundesteuer für einen zweiten Hund in Aichelberg?"),
    (DOG, "Und für den dritten?", "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?"),
    (DOG, "Und der dritte?", "Wie hoch ist die Hundesteuer für einen dritten Hund in Bad Boll?"),
    (DOG, "Was ist mit Aichelberg?", "Wie hoch ist die Hundesteuer für einen zweiten Hund in Aichelberg?"),
    (DOG, "Wie sieht es in Gruibingen aus?", "Wie hoch ist die Hundesteuer für einen zweiten Hund in Gruibingen?"),
    (DOG, "Wie ist das in Aichelberg?", "Wie hoch ist die Hundesteuer für einen zweiten Hund in Aichelberg?"),
    (DOG, "Und für Kampfhunde?", "Wie hoch ist die Hundesteuer für Kampfhunde in Bad Boll?"),
    (DOG, "Wie ist es bei Kampfhunden?", "Wie hoch ist die Hundesteuer bei Kampfhunden in Bad Boll?"),
    (DOG, "Und für den dritten Hund in Aichelberg?",
     "Wie hoch ist die Hundesteuer für den dritten Hund in Aichelberg?"),
    (DOG, "Und bei der Gemeinde Gruibingen?",
     "Wie hoch ist die Hundesteuer für einen zweiten Hund bei der Gemeinde Gruibingen?"),
    (DOG, "Wer ist dafür zuständig?", "Wer ist für die Hundesteuer in Bad Boll zuständig?"),
    (DOG, "Wie hoch ist das?", "Wie hoch ist die Hundesteuer in Bad Boll?"),
    (DOG, "Gibt es dafür eine Ermäßigung?", "Gibt es für die Hundesteuer in Bad Boll eine Ermäßigung?"),
    (DOG_PLAIN, "Und die Zweitwohnungssteuer?", "Wie hoch ist die Zweitwohnungssteuer in Bad Boll?"),
    (DOG_PLAIN, "Und wie hoch ist die Zweitwohnungssteuer?", "Wie hoch ist die Zweitwohnungssteuer in Bad Boll?"),
    (DOG_PLAIN, "Wann muss ich sie bezahlen?", "Wann muss ich die Hundesteuer in Bad Boll bezahlen?"),
    (PARKING, "Was kostet das?", "Was kostet ein Anwohnerparkausweis?"),
    (PARKING, "Welche Unterlagen brauche ich dafür?", "Welche Unterlagen brauche ich für einen Anwohnerparkausweis?"),
    (PARKING, "Und in Aichelberg?", "Wie beantrage ich einen Anwohnerparkausweis in Aichelberg?"),
    (LIBRARY, "Welche Öffnungszeiten hat die Bücherei dort?", "Welche Öffnungszeiten hat die Bücherei in Bad Boll?"),
    (REGISTER, "Ab welchem Alter muss ich ihn anmelden?",
     "Ab welchem Alter muss ich meinen Hund in Bad Boll anmelden?"),
    (TAX, "Gilt das auch für Katzen?", "Muss ich für Katzen in Bad Boll Steuer zahlen?"),
    (DOG, "und in aichelberg?", "Wie hoch ist die Hundesteuer für einen zweiten Hund in aichelberg?"),
    (DOG, "und für den dritten hund?", "Wie hoch ist die Hundesteuer für den dritten hund in Bad Boll?"),
]


@pytest.mark.parametrize(("previous", "question", "expected"), EXACT)
def test_follow_up_becomes_the_expected_standalone_question(previous: str, question: str, expected: str) -> None:
    assert standalone_question(question, [_turn(previous)]) == expected


# Where no phrase can be substituted, the question keeps its words and gains the previous content words.
CONTAINS = [
    (PARKING, "Wer ist zuständig?", ["zuständig", "Anwohnerparkausweis"]),
    (DOG, "Und Katzen?", ["Katzen", "Hundesteuer", "Bad Boll"]),
    (DOG, "Was ist mit dem dritten Hund?", ["Hundesteuer", "dritten Hund", "Bad Boll"]),
    (DOG, "Was kostet das?", ["kostet", "Hundesteuer", "Bad Boll"]),
    ("Wann muss ich in Bad Boll den Gehweg räumen?", "Und bis wann muss ich räumen?",
     ["Bis wann", "räumen", "Gehweg", "Bad Boll"]),
    (PARKING, "Und dort?", ["Anwohnerparkausweis"]),
]


@pytest.mark.parametrize(("previous", "question", "words"), CONTAINS)
def test_follow_up_keeps_its_words_and_gains_the_previous_content(previous: str, question: str,
                                                                   words: list[str]) -> None:
    result = standalone_question(question, [_turn(previous)])
    for word in words:
        assert word in result, (word, result)
    assert not result.startswith("Und ")


SELF_CONTAINED = [
    "Wie hoch ist die Hundesteuer in Aichelberg?",
    "Welche Räum- und Streupflichten gelten in Bad Boll?",
    "Wo kann ich einen Bewohnerparkausweis beantragen?",
    "Gibt es eine Ermäßigung für Blindenhunde?",
    "Ist das Parken in der Innenstadt kostenlos?",
    "Wann muss ich den Gehweg räumen?",
    "Was kostet die Ausleihe in der Bücherei Bad Boll?",
    "Was muss ich tun, damit mein Hund angemeldet ist?",
    "Hundesteuer Aichelberg",
    "Gibt es in Gruibingen eine Zweitwohnungssteuer?",
]


@pytest.mark.parametrize("question", SELF_CONTAINED)
def test_self_contained_questions_stay_unchanged(question: str) -> None:
    assert standalone_question(question, [_turn(DOG)]) == question
    assert resolve(question, DOG)[1] == "unchanged"


def test_without_history_nothing_changes() -> None:
    assert standalone_question("Und für den dritten Hund?", []) == "Und für den dritten Hund?"
    assert standalone_question("  Was kostet das?  ", []) == "Was kostet das?"


def test_the_latest_resolved_question_is_the_reference() -> None:
    history = [_turn(DOG), _turn("Und für den dritten Hund?",
                                 "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?", n=2)]
    assert standalone_question("Und in Aichelberg?", history) == (
        "Wie hoch ist die Hundesteuer für den dritten Hund in Aichelberg?")


def test_known_place_names_are_one_phrase() -> None:
    places = ["Zell unter Aichelberg", "Bad Boll"]
    assert standalone_question("Was ist mit Zell unter Aichelberg?", [_turn(DOG)], places=places) == (
        "Wie hoch ist die Hundesteuer für einen zweiten Hund in Zell unter Aichelberg?")


# -- with a language model ---------------------------------------------------------------------------------
class FakeGenerator:
    model_id = "fake"
    context_tokens = 4096

    def __init__(self, output: str | Exception) -> None:
        self.output = output
        self.calls: list[dict[str, Any]] = []

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def health(self) -> dict[str, Any]:
        return {"ok": True, "detail": "fake"}

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float = 0.1) -> Iterator[str]:
        self.calls.append({"messages": messages, "max_tokens": max_tokens, "temperature": temperature})
        if isinstance(self.output, Exception):
            raise self.output
        yield from self.output.split(" ")[:1]
        rest = self.output[len(self.output.split(" ")[0]):]
        if rest:
            yield rest


HEURISTIC = "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?"


def test_the_models_rewrite_is_used_with_the_history_in_a_german_prompt() -> None:
    generator = FakeGenerator("Wie hoch ist in Bad Boll die Hundesteuer für einen dritten Hund?")
    history = [_turn(DOG, answer="Für den zweiten Hund beträgt die Steuer 216 Euro im Jahr [1].")]
    result = standalone_question("Und für den dritten Hund?", history, generator)
    assert result == "Wie hoch ist in Bad Boll die Hundesteuer für einen dritten Hund?"
    (call,) = generator.calls
    assert call["temperature"] == 0 and call["max_tokens"] <= 256
    system, user = call["messages"]
    assert system.role == "system" and "Formuliere die letzte Frage als eigenständige Frage" in system.content
    assert DOG in user.content and "216 Euro" in user.content and "Und für den dritten Hund?" in user.content


@pytest.mark.parametrize("output", [
    'Eigenständige Frage: „Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?“',
    "<think>Der Nutzer meint Bad Boll.</think>\nWie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?",
])
def test_labels_quotes_and_thinking_are_removed(output: str) -> None:
    result = standalone_question("Und für den dritten Hund?", [_turn(DOG)], FakeGenerator(output))
    assert result == "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?"


@pytest.mark.parametrize("output", [
    "",
    "   \n  ",
    "Wie hoch ist die Hundesteuer für den dritten Hund?\nErklärung: Ich habe den Ort ergänzt.\nHinweis: …",
    "Hundesteuer " * 80,
    "<think>Ich überlege noch, was gemeint sein könnte",
    "Selbstverständlich helfe ich gern weiter!",
])
def test_bad_rewrites_fall_back_to_the_rules(output: str) -> None:
    assert standalone_question("Und für den dritten Hund?", [_turn(DOG)], FakeGenerator(output)) == HEURISTIC


def test_a_failing_model_falls_back_to_the_rules() -> None:
    failing = FakeGenerator(GenerationFailed("down", user_message="Das Sprachmodell ist nicht erreichbar."))
    assert standalone_question("Und für den dritten Hund?", [_turn(DOG)], failing) == HEURISTIC
    assert failing.calls


def test_clearly_self_contained_questions_do_not_ask_the_model() -> None:
    generator = FakeGenerator("Irgendetwas anderes?")
    question = "Wie hoch ist die Hundesteuer in Aichelberg?"
    assert standalone_question(question, [_turn(DOG)], generator) == question
    assert generator.calls == []
    assert standalone_question("Und für den dritten Hund?", [], generator) == "Und für den dritten Hund?"
    assert generator.calls == []


_GERMAN_WORDS = st.sampled_from(
    ["Und", "und", "für", "in", "im", "den", "die", "das", "einen", "dritten", "Hund", "Bad", "Boll", "dort",
     "dafür", "Was", "ist", "mit", "Wie", "sieht", "es", "aus", "gilt", "auch", "?", ",", "sie", "ihn",
     "Aichelberg", "kostet", "Gemeinde", "gleiche", "der", "§", "5", "-", "Räum-", "  "])


@settings(max_examples=300, deadline=None)
@given(question=st.lists(_GERMAN_WORDS, max_size=10).map(" ".join),
       previous=st.one_of(st.text(max_size=60), st.lists(_GERMAN_WORDS, max_size=12).map(" ".join)))
def test_rules_never_fail_and_never_lose_the_question(question: str, previous: str) -> None:
    result = standalone_question(question, [_turn(previous)] if previous.strip() else [])
    assert isinstance(result, str)
    if question.strip():
        assert result.strip()
