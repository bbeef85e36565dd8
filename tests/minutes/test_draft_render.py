"""The Niederschrift draft (header, attendance, items with verbatim votes, summary, tasks) and its DOCX, ODT
and PDF exports, read back with python-docx, odfpy and poppler (pdftotext, pdftoppm)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from kreiswissen.config import Settings
from kreiswissen.errors import ConfigurationError, InputError
from kreiswissen.minutes.draft import Minutes, SummarySentence, build_draft, extractive_summary
from kreiswissen.minutes.extract import extract
from kreiswissen.minutes.model import AgendaHeading, Segment, Transcript
from kreiswissen.minutes.render import parse_blocks, render_text, to_docx, to_odt, to_pdf
from kreiswissen.minutes.transcripts import read_transcript

FIXTURE = Path(__file__).parents[1] / "fixtures" / "transcripts" / "bt_01-143_1951-05-23_excerpt.xml"
CHAIR = "Kreistagsvorsitzende Meyer"
DECISION_1 = "Der Beschlussvorschlag ist mit 32 Ja-Stimmen, 5 Nein-Stimmen und 2 Enthaltungen angenommen."
DECISION_2 = "Der Verkauf des Grundstücks an die Gemeinde Großenkneten ist einstimmig angenommen."
TOP_1 = "TOP 1: Neubau der Kreisstraße K 12"
TOP_2 = "TOP 2: Grundstücksangelegenheit Gemarkung Ahlhorn"


def kreistag() -> Transcript:
    rows: list[tuple[str | None, str, str]] = [
        (None, "narrative", "Beginn: 17.00 Uhr"),
        (None, "narrative", "Anwesend: Anna Schulz, Bernd Müller, Carla Öztürk und Dieter Weiß"),
        (None, "narrative", "Entschuldigt: Egon Krüger"),
        (None, "narrative", "Unentschuldigt: Frieda Lange"),
        (CHAIR, "speech", "Guten Abend, ich eröffne die Sitzung und begrüße Sie alle herzlich."),
        (None, "agenda", "TOP 1: Neubau der Kreisstraße K 12"),
        (CHAIR, "speech", "Das Wort hat Herr Müller."),
        ("Bernd Müller (SPD)", "speech", "Vielen Dank, Frau Vorsitzende, für die Gelegenheit zu sprechen. Der "
         "Ausbau der K 12 kostet nach der Vorlage 2,4 Mio. € und entlastet die Ortsdurchfahrt von Großenkneten "
         "erheblich. Wir stimmen zu."),
        ("Carla Öztürk (GRÜNE)", "speech", "Einen Radweg entlang der K 12 halten wir für unverzichtbar. Wir "
         "beantragen, den Radweg von Anfang an in die Planung der Kreisstraße aufzunehmen."),
        (CHAIR, "speech", "Die Verwaltung wird beauftragt, die Kosten des Radwegs zu prüfen und bis zum 30. Juni "
         "2027 im Bauausschuss zu berichten. Wer dem Beschlussvorschlag zustimmt, den bitte ich um das "
         f"Handzeichen. – {DECISION_1}"),
        (None, "agenda", "TOP 2: Grundstücksangelegenheit Gemarkung Ahlhorn (nichtöffentlich)"),
        ("Anna Schulz (CDU)", "speech", "Der Verkaufspreis für das Flurstück 47/3 liegt mit 85 € je Quadratmeter "
         "deutlich über dem Bodenrichtwert der Gemeinde."),
        (CHAIR, "speech", DECISION_2),
        (None, "comment", "(Schluss der Sitzung: 19.42 Uhr)"),
    ]
    segments = [Segment(i, text, speaker, kind, line=i + 1)  # type: ignore[arg-type]
                for i, (speaker, kind, text) in enumerate(rows)]
    agenda = [AgendaHeading("1", "Neubau der Kreisstraße K 12", segment=5),
              AgendaHeading("2", "Grundstücksangelegenheit Gemarkung Ahlhorn", public=False, segment=10)]
    return Transcript("kreistag.txt", "text", segments, body="Kreistag Musterkreis", session="12",
                      date="2026-11-19", place="Kreishaus Wildeshausen, Sitzungssaal", agenda=agenda)


@pytest.fixture(scope="module")
def kreistag_minutes() -> Minutes:
    transcript = kreistag()
    return build_draft(transcript, extract(transcript), minute_taker="Erika Mustermann")


# --- the draft ----------------------------------------------------------------------------------------------


def test_draft_from_bundestag_protocol_keeps_votes_verbatim() -> None:
    transcript = read_transcript(FIXTURE)
    structure = extract(transcript)
    minutes = build_draft(transcript, structure, minute_taker="Erika Mustermann")
    header = minutes.to_json()["header"]
    assert header == {"title": "Plenarprotokoll vom 23.05.1951", "body": "Deutscher Bundestag", "session": "1/143",
                      "date": "1951-05-23", "place": "Bonn", "start_time": "10.06 Uhr", "end_time": "12.25 Uhr",
                      "chair": "Präsident Dr. Ehlers", "minute_taker": "Erika Mustermann"}
    assert minutes.to_json()["attendance"] == {"present": [], "absent_excused": [], "absent_unexcused": []}
    data = minutes.to_json()
    assert [i["number"] for i in data["agenda_items"]] == [i.number for i in structure.agenda_items]
    for item, extracted in zip(data["agenda_items"], structure.to_json()["agenda_items"], strict=True):
        assert item["votes"] == extracted["votes"]  # exactly the Vote.to_json shape, verbatim
        assert item["decisions"] == extracted["decisions"]
        assert item["summary_mode"] == "extractive"
    assert [d["text"] for d in data["decisions"]] == [d for i in data["agenda_items"] for d in i["decisions"]]
    item_5 = next(i for i in minutes.items if i.number == "5")
    assert item_5.referred and not item_5.withdrawn
    # Summary sentences are the transcript's own words, with their place.
    texts = {s.index: " ".join(s.text.split()) for s in transcript.segments}
    summarised = [s for item in minutes.items for s in item.summary]
    assert summarised
    for sentence in summarised:
        assert sentence.source is not None and sentence.text in texts[sentence.source.segment]
        assert not sentence.speaker or not sentence.speaker.startswith(("Präsident", "Vizepräsident"))


def test_draft_of_a_kreistag_session(kreistag_minutes: Minutes) -> None:
    m = kreistag_minutes
    assert (m.body, m.session, m.date_german, m.place) == ("Kreistag Musterkreis", "12", "19.11.2026",
                                                           "Kreishaus Wildeshausen, Sitzungssaal")
    assert (m.start_time, m.end_time, m.chair, m.minute_taker) == ("17.00 Uhr", "19.42 Uhr", CHAIR,
                                                                   "Erika Mustermann")
    assert m.present == ["Anna Schulz", "Bernd Müller", "Carla Öztürk", "Dieter Weiß"]
    assert (m.absent_excused, m.absent_unexcused) == (["Egon Krüger"], ["Frieda Lange"])
    assert [(i.number, i.public) for i in m.items] == [("1", True), ("2", False)]
    vote = m.items[0].votes[0]
    assert (vote.outcome, vote.text, vote.yes, vote.no, vote.abstain) == ("angenommen", DECISION_1, 32, 5, 2)
    assert vote.source.segment == 9
    assert [(d.item, d.text) for d in m.decisions] == [("1", DECISION_1), ("2", DECISION_2)]
    summary = m.items[0].summary
    assert [s.speaker for s in summary] == ["Bernd Müller (SPD)", "Carla Öztürk (GRÜNE)"]  # no chair, in order
    assert summary[0].text.startswith("Der Ausbau der K 12 kostet")  # longest, not the thanks
    assert summary[1].text.startswith("Wir beantragen, den Radweg")
    assert [t.to_json() for t in m.tasks] == [{
        "who": "Verwaltung", "until": "bis zum 30. Juni 2027", "item": "1", "source": {"segment": 9, "line": 10},
        "what": "Die Verwaltung wird beauftragt, die Kosten des Radwegs zu prüfen und bis zum 30. Juni 2027 im "
                "Bauausschuss zu berichten."}]
    data = json.loads(json.dumps(m.to_json(), ensure_ascii=False))
    assert set(data) >= {"agenda_items", "decisions", "header", "attendance", "tasks"}
    assert data["agenda_items"][0]["votes"][0]["counts"] == {"ja": 32, "nein": 5, "enthaltung": 2}


def test_nothing_is_invented_and_overrides_fill_gaps() -> None:
    transcript = Transcript("t.txt", "text", [Segment(0, "Der Antrag ist angenommen.", "Sprecher A")])
    minutes = build_draft(transcript, extract(transcript))
    assert (minutes.start_time, minutes.end_time, minutes.place, minutes.present, minutes.tasks) == (
        None, None, None, [], [])
    minutes = build_draft(transcript, extract(transcript), overrides={"place": "Kreishaus", "present": ["A B"]})
    assert (minutes.place, minutes.present) == ("Kreishaus", ["A B"])
    with pytest.raises(InputError):
        build_draft(transcript, extract(transcript), overrides={"ort": "Kreishaus"})


def test_summary_rule_longest_sentence_per_speaker_at_most_three() -> None:
    long = "Dieser Satz hat ganz sicher deutlich mehr als acht Wörter und ist damit ein Kandidat"
    segments = [Segment(i, f"{long}{'.' if i % 2 else ' und noch etwas länger.'} Kurz.", f"Redner {i}")
                for i in range(5)] + [Segment(5, f"Ich danke Ihnen. {long} und sogar noch viel länger als alle "
                                                 "anderen Sätze hier.", "Vorsitzender Meyer")]
    chosen = extractive_summary(segments, chairs_known=True, vote_texts=set())
    assert [s.speaker for s in chosen] == ["Redner 0", "Redner 2", "Redner 4"]
    assert all(s.source is not None and s.source.segment == int((s.speaker or "")[-1]) for s in chosen)


# --- template and exports ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, kreistag_minutes: Minutes) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("niederschrift")
    settings = Settings(home=folder / "home")
    return {"docx": to_docx(kreistag_minutes, folder / "n.docx", settings=settings),
            "odt": to_odt(kreistag_minutes, folder / "n.odt", settings=settings),
            "pdf": to_pdf(kreistag_minutes, folder / "n.pdf", settings=settings)}


EXPECTED = ["Niederschrift über die 12. Sitzung des Gremiums Kreistag Musterkreis", "ENTWURF", TOP_1,
            f"{TOP_2} (nichtöffentlich)", "Beschluss:", "Abstimmungsergebnis:", DECISION_1, DECISION_2,
            "Anwesend", "Carla Öztürk", "Tagesordnung", "Unterschriften", "Auszug aus dem Wortprotokoll",
            "bis zum 30. Juni 2027", "Erika Mustermann", "2,4 Mio. €"]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_template_text_has_the_structure(kreistag_minutes: Minutes, tmp_path: Path) -> None:
    text = render_text(kreistag_minutes, settings=Settings(home=tmp_path))
    blocks = parse_blocks(text)
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings == ["Anwesend", "Tagesordnung", TOP_1, TOP_2, "Beschlüsse", "Aufgaben", "Unterschriften"]
    assert any(b.kind == "note" and b.text == "nichtöffentlich" for b in blocks)
    tables = [b.rows for b in blocks if b.kind == "table"]
    assert ("angenommen", "32", "5", "2", DECISION_1) in tables[1]
    assert [b.text for b in blocks if b.kind == "signature"] == ["Datum, Unterschrift Vorsitz",
                                                                "Datum, Unterschrift Protokollführung"]


def test_docx_export(exported: dict[str, Path]) -> None:
    from docx import Document

    document = Document(str(exported["docx"]))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name.startswith("Heading")]
    assert TOP_1 in headings and f"{TOP_2}" in headings and "Beschluss:" in headings
    text = "\n".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for r in t.rows for c in r.cells]
                     + [p.text for p in document.sections[0].header.paragraphs])
    for expected in EXPECTED:
        assert expected in _flat(text), expected
    counts = [[c.text for c in r.cells] for t in document.tables for r in t.rows]
    assert ["angenommen", "32", "5", "2", DECISION_1] in counts


def test_odt_export(exported: dict[str, Path]) -> None:
    from odf import teletype
    from odf.opendocument import load
    from odf.text import H, P

    document = load(str(exported["odt"]))
    headings = [teletype.extractText(h) for h in document.getElementsByType(H)]
    assert TOP_1 in headings and TOP_2 in headings and "Beschluss:" in headings
    text = "\n".join(headings + [teletype.extractText(p) for p in document.getElementsByType(P)])
    for expected in EXPECTED:
        assert expected in _flat(text), expected


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} fehlt: scripts/install-system-deps.sh installiert poppler-utils"
    return path


def test_pdf_export_text_and_rendered_page(exported: dict[str, Path], tmp_path: Path) -> None:
    text = subprocess.run([_tool("pdftotext"), "-raw", str(exported["pdf"]), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = _flat(text)
    for expected in EXPECTED:
        assert expected in flat, expected
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "50", "-f", "1", "-l", "1", str(exported["pdf"]),
                    str(tmp_path / "seite")], check=True, capture_output=True)
    page = next(tmp_path.glob("seite*.png"))
    image = Image.open(page).convert("L")
    dark = sum(image.histogram()[:100])  # pixels darker than 100 of 255
    assert image.width > 300 and dark > 500


def test_labels_follow_summary_mode_and_status(kreistag_minutes: Minutes, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    draft = render_text(kreistag_minutes, settings=settings)
    assert "Auszug aus dem Wortprotokoll" in draft and "KI-generiert" not in draft
    generated = build_draft(kreistag(), extract(kreistag()))
    generated.items[0].summary = [SummarySentence("Der Kreistag diskutierte den Ausbau der K 12.", None)]
    generated.items[0].summary_mode = "generated"
    generated.status = "genehmigt"
    text = render_text(generated, settings=settings)
    assert "KI-generiert – bitte prüfen" in text
    to_pdf(generated, tmp_path / "g.pdf", settings=settings)
    pdf_text = subprocess.run([_tool("pdftotext"), str(tmp_path / "g.pdf"), "-"], check=True, capture_output=True,
                              text=True).stdout
    assert "KI-generiert – bitte prüfen" in pdf_text and "ENTWURF" not in pdf_text


def test_template_override_from_the_administration(kreistag_minutes: Minutes, tmp_path: Path) -> None:
    from docx import Document

    settings = Settings(home=tmp_path)
    (tmp_path / "vorlagen").mkdir()
    (tmp_path / "vorlagen" / "niederschrift.md.j2").write_text(
        "# Protokoll des {{ m.body }}\n\n{% for item in m.items %}\n## Punkt {{ item.number }}\n"
        "{% for d in item.decisions %}\n{{ d | para }}\n\n{% endfor %}{% endfor %}", encoding="utf-8")
    text = render_text(kreistag_minutes, settings=settings)
    assert text.startswith("# Protokoll des Kreistag Musterkreis") and "Unterschriften" not in text
    document = Document(str(to_docx(kreistag_minutes, tmp_path / "eigen.docx", settings=settings)))
    paragraphs = [p.text for p in document.paragraphs]
    assert "Punkt 2" in paragraphs and DECISION_2 in paragraphs and "Tagesordnung" not in paragraphs
    (tmp_path / "vorlagen" / "niederschrift.md.j2").write_text("{{ m.nicht_da }}", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        render_text(kreistag_minutes, settings=settings)


def test_text_that_looks_like_markup_stays_text() -> None:
    blocks = parse_blocks("## TOP 1\n\n\\- Der Antrag ist angenommen.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert [(b.kind, b.text) for b in blocks[:2]] == [("heading", "TOP 1"),
                                                      ("paragraph", "- Der Antrag ist angenommen.")]
    assert blocks[2].rows == (("a", "b"), ("1", "2"))


def test_the_head_of_a_typed_protocol_fills_the_header(tmp_path: Path) -> None:
    from kreiswissen.minutes.draft import german_date

    path = tmp_path / "stadtrat.txt"
    path.write_text(
        "Stadt Eichelstetten\nNiederschrift über die öffentliche Sitzung des Stadtrates\n\n"
        "Sitzungstag: Donnerstag, 19. November 2026\nSitzungsort: Großer Sitzungssaal im Rathaus\n"
        "Beginn: 18:30 Uhr\nVorsitz: Erster Bürgermeister Andreas Kastner\nSchriftführung: Sabine Pfaller\n"
        "Anwesend: Kastner, Obermaier, Reiter\nEntschuldigt: Wimmer (SPD)\nVon der Verwaltung: Kämmerer Zellner\n\n"
        "Erster Bürgermeister Kastner: Ich rufe TOP 1 auf: Genehmigung der Niederschrift.\n"
        "Erster Bürgermeister Kastner: Damit ist die Niederschrift einstimmig genehmigt.\n\n"
        "Schluss des öffentlichen Teils: 19:31 Uhr\n", encoding="utf-8")
    transcript = read_transcript(path)
    minutes = build_draft(transcript, extract(transcript))
    assert minutes.header() == {
        "title": "Niederschrift über die öffentliche Sitzung des Stadtrates", "body": "Stadt Eichelstetten",
        "session": None, "date": "2026-11-19", "place": "Großer Sitzungssaal im Rathaus", "start_time": "18.30 Uhr",
        "end_time": "19.31 Uhr", "chair": "Erster Bürgermeister Andreas Kastner", "minute_taker": "Sabine Pfaller"}
    assert minutes.attendance() == {"present": ["Kastner", "Obermaier", "Reiter"], "absent_excused": ["Wimmer (SPD)"],
                                    "absent_unexcused": []}
    assert [(i.number, [v.outcome for v in i.votes]) for i in minutes.items] == [("1", ["angenommen"])]
    assert [german_date(t) for t in ("19.11.2026", "3. März 2027", "2026-01-05", "im Herbst")] == [
        "2026-11-19", "2027-03-03", "2026-01-05", None]
