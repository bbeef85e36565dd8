"""The German personal-data detector: checksums, each type, traps that are not personal data, placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreiswissen.security.pii import detect, iban_valid, pseudonymise, steuer_id_valid

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, e.text) for e in detect(text)]


def test_iban_checksum() -> None:
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE88 3704 0044 0532 0130 00")  # one digit off
    assert not iban_valid("DE89 3704 0044 0532 0130")  # German IBANs have 22 characters


def test_steuer_id_checksum_and_digit_rule() -> None:
    assert steuer_id_valid("86095742719")
    assert steuer_id_valid("86 095 742 719")
    assert not steuer_id_valid("86095742718")  # wrong check digit
    assert not steuer_id_valid("06095742719")  # leading zero
    assert not steuer_id_valid("12345678903")  # every digit once: not a valid Steuer-ID


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bitte überweisen Sie auf DE89 3704 0044 0532 0130 00.", ("IBAN", "DE89 3704 0044 0532 0130 00")),
        ("Meine Steuer-ID lautet 86095742719.", ("STEUER_ID", "86095742719")),
        ("Sie erreichen mich unter Tel. 07164/809-12.", ("PHONE", "07164/809-12")),
        ("Rückruf bitte an +49 151 23456789", ("PHONE", "+49 151 23456789")),
        ("Schreiben Sie an j.hoffmann@web.de", ("EMAIL", "j.hoffmann@web.de")),
        ("wohnhaft Hauptstraße 12 in Bad Boll", ("ADDRESS", "Hauptstraße 12")),
        ("Die Wohnung Am Marktplatz 3a ist frei.", ("ADDRESS", "Am Marktplatz 3a")),
        ("Anschrift: 73087 Bad Boll", ("ADDRESS", "73087 Bad Boll")),
        ("Max Muster, geb. 12.03.1980, beantragt", ("DATE_OF_BIRTH", "12.03.1980")),
        ("geboren am 3. März 1975 in Ulm", ("DATE_OF_BIRTH", "3. März 1975")),
        ("Das Fahrzeug mit dem Kennzeichen GP-AB 123 parkte.", ("LICENSE_PLATE", "GP-AB 123")),
        ("Unser Zeichen: 32-123.45/2024", ("AKTENZEICHEN", "32-123.45/2024")),
        ("Sehr geehrte Frau Dr. Weber,", ("PERSON", "Weber")),
        ("Sachbearbeiterin Anna-Lena Weber prüft den Antrag.", ("PERSON", "Anna-Lena Weber")),
        ("Gestern hat Mehmet Yılmaz angerufen.", ("PERSON", "Mehmet Yılmaz")),
        ("Herr Jan van der Berg ist zuständig.", ("PERSON", "Jan van der Berg")),
    ],
)
def test_each_type_is_found(text: str, expected: tuple[str, str]) -> None:
    assert expected in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Die Gemeinde hat 12.345 Einwohner und erhebt 1.250,00 € nach § 5 Abs. 2.",
        "Die Satzung tritt am 01.01.2025 in Kraft; die Sitzung ist am 12.03.2025.",
        "Flurstück 123/4, Postfach 1234, Drucksache 2024/117.",
        "Der Bürgermeister eröffnet die Sitzung in der Goethestraße.",
        "Ernst zu nehmen ist der Antrag der Fraktion.",
        "Die IBAN DE88 3704 0044 0532 0130 00 ist ungültig.",
    ],
)
def test_traps_are_not_personal_data(text: str) -> None:
    assert found(text) == []


def test_placeholders_are_consistent_and_restorable() -> None:
    text = "Herr Müller rief an. Herr Müller bat um Rückruf unter 0711 123456, Frau Schmidt auch."
    p = pseudonymise(text)
    assert p.text == ("Herr [PERSON_1] rief an. Herr [PERSON_1] bat um Rückruf unter [PHONE_1], "
                      "Frau [PERSON_2] auch.")
    assert p.restore(p.text) == text
    # A second text sharing the mapping reuses the placeholders.
    q = pseudonymise("Frau Schmidt und Herr Weber", p.mapping)
    assert q.text == "Frau [PERSON_2] und Herr [PERSON_3]"


@pytest.mark.parametrize(("name", "minimum"), [("pii_de.jsonl", 200), ("pii_de_holdout.jsonl", 150)])
def test_labelled_set_meets_the_recall_targets(name: str, minimum: int) -> None:
    """The labelled German sets (benchmarks/data/): recall ≥ 0.95 for every structured type and ≥ 0.85 for
    names, precision ≥ 0.85 overall (overlap match, as in benchmarks/pii.py)."""
    items = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= minimum
    tp: dict[str, int] = {}
    gold_n: dict[str, int] = {}
    false_alarms = 0
    predicted = 0
    for item in items:
        pred = detect(item["text"])
        predicted += len(pred)
        for g in item["entities"]:
            gold_n[g["type"]] = gold_n.get(g["type"], 0) + 1
            if any(p.type == g["type"] and p.start < g["end"] and g["start"] < p.end for p in pred):
                tp[g["type"]] = tp.get(g["type"], 0) + 1
        false_alarms += sum(not any(p.type == g["type"] and p.start < g["end"] and g["start"] < p.end
                                    for g in item["entities"]) for p in pred)
    recall = {t: tp.get(t, 0) / n for t, n in gold_n.items()}
    for kind, value in recall.items():
        assert value >= (0.85 if kind == "PERSON" else 0.95), (kind, value)
    assert 1 - false_alarms / max(1, predicted) >= 0.85
