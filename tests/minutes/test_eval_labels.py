"""The hand-labelled evaluation set for the Bundestag protocols and its scorer.

The anchors are checked against the protocol texts in ``tests/fixtures/transcripts/`` (copies of the shared
test transcripts; "Quelle: Deutscher Bundestag").
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kreiswissen.minutes.evaluation import (
    KOMMUNAL_BLIND_LABELS,
    KOMMUNAL_D_LABELS,
    KOMMUNAL_DEV_LABELS,
    KOMMUNAL_E_LABELS,
    KOMMUNAL_F_LABELS,
    KOMMUNAL_HELDOUT_LABELS,
    OUTCOMES,
    format_table,
    load_labels,
    load_packaged,
    main,
    normalize_number,
    score,
    title_overlap,
    vote_text_matches,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
LABELS = load_labels()
PROTOCOLS = [p["file"] for p in LABELS]


def _text(name: str) -> str:
    path = FIXTURES / f"{name}.txt"
    assert path.is_file(), f"fixture missing: {path}"
    return path.read_text("utf-8")


def _anchors(protocol: dict[str, Any]) -> list[tuple[str, str]]:
    return [("agenda item", a["anchor"]) for a in protocol["agenda_items"]] + [
        ("vote", v["anchor"]) for v in protocol["votes"]
    ]


def _perfect(labels: list[Any]) -> dict[str, Any]:
    """A prediction that reproduces the labels (verbatim texts, same numbers and outcomes)."""
    return {
        p["file"]: {
            "agenda_items": [{"number": a["number"], "title": a["title"]} for a in p["agenda_items"]],
            "votes": [{"agenda_item": v["agenda_item"], "outcome": v["outcome"], "text": v["anchor"]}
                      for v in p["votes"]],
        }
        for p in labels
    }


# --- the labels ------------------------------------------------------------------------------------------------


def test_labels_cover_the_three_protocols_with_the_documented_counts() -> None:
    counts = {p["file"]: (len(p["agenda_items"]), len(p["votes"])) for p in LABELS}
    assert counts == {
        "bt_01-143_1951-05-23_excerpt": (6, 14),
        "bt_09-036_1981-05-13": (1, 0),
        "bt_18-181_2016-06-28": (1, 1),
    }


@pytest.mark.parametrize("name", PROTOCOLS)
def test_every_anchor_is_verbatim_and_unique_in_the_protocol(name: str) -> None:
    protocol = next(p for p in LABELS if p["file"] == name)
    text = _text(name)
    for kind, anchor in _anchors(protocol):
        assert anchor.strip() == anchor and anchor, f"{kind} anchor with stray whitespace: {anchor!r}"
        count = text.count(anchor)
        assert count == 1, f"{name}: {kind} anchor found {count} times: {anchor!r}"


@pytest.mark.parametrize("name", PROTOCOLS)
def test_anchors_lie_in_the_session_record_in_document_order(name: str) -> None:
    protocol = next(p for p in LABELS if p["file"] == name)
    text = _text(name)
    start = text.index("=== SITZUNGSVERLAUF ===")
    end = text.find("[Nachspann/Anlagen]")
    end = len(text) if end < 0 else end
    for kind, anchor in _anchors(protocol):
        pos = text.index(anchor)
        assert start < pos < end, f"{name}: {kind} anchor outside the session record: {anchor!r}"
        line = text[text.rfind("\n", 0, pos) + 1: pos]
        assert not line.startswith(("[Auslassung im Auszug]", "[Kommentar]")), anchor
    for kind in ("agenda_items", "votes"):
        positions = [text.index(x["anchor"]) for x in protocol[kind]]
        assert positions == sorted(positions), f"{name}: {kind} not in document order"


def test_outcomes_majorities_and_references_are_valid() -> None:
    for protocol in LABELS:
        ids = {a["id"] for a in protocol["agenda_items"]}
        for item in protocol["agenda_items"]:
            if item["number"] is not None:
                assert item["number"] == normalize_number(item["number"]) == item["id"]
            assert item["title"].strip()
        for vote in protocol["votes"]:
            assert vote["outcome"] in OUTCOMES
            assert vote["majority"] in (None, "einstimmig", "mehrheitlich")
            assert vote["decided_by"] in ("abstimmung", "einvernehmen")
            assert isinstance(vote["roll_call"], bool)
            assert vote["counts"] is None or set(vote["counts"]) == {"ja", "nein", "enthaltung"}
            # the concerned agenda item: a labelled one, a numbered item that was never called up, or none
            ref = vote["agenda_item"]
            assert ref is None or ref in ids or normalize_number(ref) == ref, ref
            assert vote["motion"].strip()


def test_load_labels_rejects_an_unknown_outcome(tmp_path: Path) -> None:
    bad = copy.deepcopy(LABELS)
    bad[0]["votes"][0]["outcome"] = "beschlossen"
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), "utf-8")
    with pytest.raises(ValueError, match="outcome"):
        load_labels(path)
    bad[0]["votes"][0]["outcome"] = "angenommen"
    path.write_text(json.dumps(bad, ensure_ascii=False), "utf-8")
    assert load_labels(path) == LABELS


# --- the scorer ------------------------------------------------------------------------------------------------


def test_perfect_prediction_scores_one() -> None:
    result = score(LABELS, _perfect(LABELS))
    for kind in ("agenda_items", "votes"):
        overall = result["overall"][kind]
        assert (overall["precision"], overall["recall"], overall["f1"]) == (1.0, 1.0, 1.0)
        assert overall["missed"] == [] and overall["spurious"] == []
    assert result["overall"]["votes"]["outcome_accuracy"] == 1.0
    assert result["overall"]["votes"]["tp"] == sum(len(p["votes"]) for p in LABELS)


def test_a_missing_vote_lowers_recall_only() -> None:
    pred = _perfect(LABELS)
    dropped = pred["bt_01-143_1951-05-23_excerpt"]["votes"].pop(3)
    result = score(LABELS, pred)
    votes = result["overall"]["votes"]
    assert votes["precision"] == 1.0
    assert votes["recall"] == pytest.approx(14 / 15)
    assert [m["anchor"] for m in votes["missed"]] == [dropped["text"]]
    assert votes["missed"][0]["file"] == "bt_01-143_1951-05-23_excerpt"
    assert result["files"]["bt_18-181_2016-06-28"]["votes"]["recall"] == 1.0


def test_a_spurious_vote_lowers_precision_only() -> None:
    pred = _perfect(LABELS)
    extra = {"agenda_item": None, "outcome": "abgesetzt",
             "text": "Es sind also jetzt abgesetzt Punkt 6, Punkt 7 betreffend die Einzelpläne XXIII und XXI"}
    pred["bt_01-143_1951-05-23_excerpt"]["votes"].append(extra)
    pred["bt_09-036_1981-05-13"]["votes"].append({"outcome": "angenommen", "text": "Es wird so verfahren."})
    result = score(LABELS, pred)
    votes = result["overall"]["votes"]
    assert votes["recall"] == 1.0
    assert votes["precision"] == pytest.approx(15 / 17)
    assert [s["text"] for s in votes["spurious"]] == [extra["text"], "Es wird so verfahren."]
    assert result["files"]["bt_09-036_1981-05-13"]["votes"]["precision"] == 0.0


def test_a_wrong_outcome_with_the_right_text_does_not_match() -> None:
    pred = _perfect(LABELS)
    pred["bt_18-181_2016-06-28"]["votes"][0]["outcome"] = "abgelehnt"
    result = score(LABELS, pred)
    file = result["files"]["bt_18-181_2016-06-28"]["votes"]
    assert (file["tp"], file["precision"], file["recall"]) == (0, 0.0, 0.0)
    assert file["text_matched"] == 1 and file["outcome_accuracy"] == 0.0
    assert result["overall"]["votes"]["outcome_accuracy"] == pytest.approx(14 / 15)


def test_vote_text_rules() -> None:
    anchor = "Das erste war die Mehrheit. Die Überweisung ist erfolgt."
    paragraph = ("Ich wiederhole: Wer ist für die Überweisung auch an den Ausschuß für Wirtschaftspolitik? — Ich bitte "
                 "um die Gegenprobe. —  Das erste war die Mehrheit.\nDie Überweisung ist erfolgt.")
    assert vote_text_matches(anchor, paragraph)  # contains the anchor (whitespace normalised)
    assert vote_text_matches(anchor, "Die Überweisung ist erfolgt.")  # contained in the anchor
    assert vote_text_matches(anchor, "Das erste war die Mehrheit, die Überweisung erfolgt")  # ≥ 60 % of its words
    assert not vote_text_matches(anchor, "Das zweite ist die Mehrheit.")
    assert not vote_text_matches(anchor, "")
    assert not vote_text_matches(anchor, " — ")


def test_votes_are_matched_one_to_one() -> None:
    # two labelled votes end in "Der Antrag ist angenommen."; three predictions of that sentence give one spurious
    name = "bt_01-143_1951-05-23_excerpt"
    pred = {name: {"votes": [{"outcome": "angenommen", "text": "Der Antrag ist angenommen."}] * 3}}
    result = score(LABELS, pred)["files"][name]["votes"]
    assert (result["tp"], result["predicted"], len(result["spurious"])) == (2, 3, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3", "3"), ("TOP 3", "3"), ("Punkt 3", "3"), ("Punkt 3 der Tagesordnung", "3"), (" 3. ", "3"),
        ("Tagesordnungspunkt 11:", "11"), (11, "11"), ("TOP 1 a", "1A"), ("1a", "1A"),
        ("Zusatzpunkt 3", "ZP3"), ("ZP 3", "ZP3"), ("ZP3", "ZP3"), ("TOP ZP 7", "ZP7"), ("Zusatzpunkt 7.", "ZP7"),
        ("", None), ("  ", None), (None, None), ("TOP", None),
    ],
)
def test_number_normalisation(raw: str | int | None, expected: str | None) -> None:
    assert normalize_number(raw) == expected


def test_agenda_items_match_by_number_or_title() -> None:
    name = "bt_01-143_1951-05-23_excerpt"
    pred = {name: {"agenda_items": [
        {"number": "TOP 3", "title": "irgendein Titel"},  # number decides
        {"number": "Punkt 4", "title": "Zweite und dritte Beratung Lohnzahlung an Feiertagen"},  # wrong number
        {"number": None, "title": "Interfraktioneller Antrag: Überweisung an die Ausschüsse (Umdruck 164)"},
        {"number": None, "title": "Soforthilfeabgabe am 20. Mai 1951"},  # label 11 is numbered: title decides
        {"number": None, "title": "Beratung", "source_text": "Präsident: Ich rufe auf den letzten Punkt der "
                                                             "Tagesordnung von gestern:"},  # one-to-one: 164 is taken
    ]}}
    result = score(LABELS, pred)["files"][name]["agenda_items"]
    matched = {m["label"]["id"] for m in result["matched"]}
    assert matched == {"3", "gestern-umdruck-164", "11"}
    assert result["recall"] == pytest.approx(3 / 6) and result["precision"] == pytest.approx(3 / 5)
    assert {s.get("number") for s in result["spurious"]} == {"Punkt 4", None}


def test_title_overlap() -> None:
    assert title_overlap("Fragestunde (Drucksache 9/407)", "Fragestunde") == 1.0
    assert title_overlap("Beratung des Antrags betreffend Soforthilfeabgabe", "Beratung des Antrags zur Rente") == 0.0
    assert title_overlap("Lohnzahlung an Feiertagen", "Regelung der Lohnzahlung an Feiertagen") == 1.0


def test_no_predictions_and_unlabelled_files() -> None:
    result = score(LABELS, {"bt_20-195_2024-10-18_excerpt.txt": {"votes": [{"outcome": "abgelehnt", "text": "x"}]}})
    assert result["unlabelled_files"] == ["bt_20-195_2024-10-18_excerpt"]
    votes = result["overall"]["votes"]
    assert (votes["tp"], votes["predicted"], votes["recall"]) == (0, 0, 0.0)
    assert result["files"]["bt_09-036_1981-05-13"]["votes"]["f1"] == 1.0  # nothing to find, nothing found


def test_format_table_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred = _perfect(LABELS)
    pred["bt_18-181_2016-06-28"]["votes"] = []
    table = format_table(score(LABELS, pred))
    assert "overall (micro)" in table and "bt_09-036_1981-05-13" in table
    assert "missed vote: bt_18-181_2016-06-28: angenommen 'Dazu gibt es offensichtlich Einvernehmen." in table
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(pred, ensure_ascii=False), "utf-8")
    assert main([str(path)]) == 0
    assert "missed vote" in capsys.readouterr().out
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["votes"]["recall"] == pytest.approx(14 / 15)


# --- the municipal sets (synthetic transcripts, tests/fixtures/transcripts/kommunal/README.md) ----------------

KOMMUNAL_SETS = [(KOMMUNAL_DEV_LABELS, "kommunal", 4), (KOMMUNAL_HELDOUT_LABELS, "kommunal", 4),
                  (KOMMUNAL_BLIND_LABELS, "kommunal2", 6), (KOMMUNAL_D_LABELS, "kommunal3", 6),
                  (KOMMUNAL_E_LABELS, "kommunal4", 6), (KOMMUNAL_F_LABELS, "kommunal5", 6)]


def _file_text(path: Path) -> str:
    if path.suffix == ".docx":
        import docx

        return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    return path.read_text("utf-8")


@pytest.mark.parametrize(("labels_name", "folder", "files"), KOMMUNAL_SETS)
def test_municipal_anchors_are_verbatim_unique_and_in_order(labels_name: str, folder: str, files: int) -> None:
    labels = load_packaged(labels_name)
    assert len(labels) == files
    for protocol in labels:
        (path,) = [p for p in (FIXTURES / folder).glob(f"{protocol['file']}.*")
                   if p.suffix in (".txt", ".vtt", ".srt", ".docx")]
        text = _file_text(path)
        for kind, anchor in _anchors(protocol):
            assert text.count(anchor) == 1, f"{path.name}: {kind} anchor found {text.count(anchor)} times: {anchor!r}"
        for kind in ("agenda_items", "votes"):
            positions = [text.index(x["anchor"]) for x in protocol[kind]]
            assert positions == sorted(positions), f"{path.name}: {kind} not in document order"
        for vote in protocol["votes"]:
            assert vote["outcome"] in OUTCOMES and vote["decided_by"] in ("abstimmung", "einvernehmen")
