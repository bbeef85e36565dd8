"""Transcript readers: real Bundestag protocols (Quelle: Deutscher Bundestag, see tests/fixtures/transcripts/SOURCE.md),
meeting-tool subtitles, plain text and DOCX, encodings and refused files; hypothesis for the line-based parsers."""

from __future__ import annotations

import codecs
import io
import random
import re
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kreiswissen.config import Settings
from kreiswissen.errors import FileTooLarge, InputError, UnsupportedFormat
from kreiswissen.minutes.model import Segment, Transcript
from kreiswissen.minutes.transcripts import (
    MERGE_GAP_S,
    MERGE_MAX_S,
    iter_speeches,
    parse_bundestag_xml,
    parse_plain_text,
    parse_srt,
    parse_transcript_bytes,
    parse_vtt,
    read_transcript,
    speaker_label,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
BT_1951 = FIXTURES / "bt_01-143_1951-05-23_excerpt.xml"
BT_1951_TXT = FIXTURES / "bt_01-143_1951-05-23_excerpt.txt"
BT_2016 = FIXTURES / "bt_18-181_2016-06-28.xml"
BT_2024 = FIXTURES / "bt_20-195_2024-10-18_excerpt.xml"
BT_2024_TXT = FIXTURES / "bt_20-195_2024-10-18_excerpt.txt"
KINDS = {"speech", "comment", "narrative", "agenda"}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def bt2016(cfg: Settings) -> Transcript:
    return read_transcript(BT_2016, cfg)


@pytest.fixture(scope="module")
def bt1951(cfg: Settings) -> Transcript:
    return read_transcript(BT_1951, cfg)


@pytest.fixture(scope="module")
def bt2024(cfg: Settings) -> Transcript:
    return read_transcript(BT_2024, cfg)


def assert_well_formed(transcript: Transcript, line_count: int | None = None) -> None:
    for position, segment in enumerate(transcript.segments):
        assert segment.index == position
        assert segment.text and segment.text == segment.text.strip()
        assert segment.kind in KINDS
        if segment.kind != "speech":
            assert segment.speaker is None
        if line_count is not None and segment.line is not None:
            assert 1 <= segment.line <= line_count
    for heading in transcript.agenda:
        assert heading.segment is None or 0 <= heading.segment < len(transcript.segments)


def file_line(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def segment_with(transcript: Transcript, needle: str, kind: str | None = None) -> Segment:
    found = [s for s in transcript.segments if needle in s.text and kind in (None, s.kind)]
    assert found, f"no segment contains {needle!r}"
    return found[0]


# ---------------------------------------------------------------------------------------------------------------------
# Bundestag 18/181 (open-data format, hard-wrapped text with page furniture)


def test_2016_header_fields(bt2016: Transcript) -> None:
    assert bt2016.format == "bundestag-xml"
    assert bt2016.body == "Deutscher Bundestag"
    assert bt2016.session == "18/181"
    assert bt2016.date == "2016-06-28"
    assert bt2016.place == "Berlin"
    assert bt2016.title == "Plenarprotokoll vom 28.06.2016"
    assert bt2016.metadata["attribution"] == "Quelle: Deutscher Bundestag"
    assert bt2016.metadata["start_time"] == "10.30 Uhr"
    assert bt2016.metadata["end_time"] == "12.21 Uhr"
    assert_well_formed(bt2016, len(BT_2016.read_text(encoding="utf-8").split("\n")))


def test_2016_speakers_and_turns(bt2016: Transcript) -> None:
    speech = [s for s in bt2016.segments if s.kind == "speech"]
    assert len(speech) > 200
    assert speech[0].speaker == "Präsident Dr. Norbert Lammert"
    assert speech[0].text.startswith("Nehmen Sie bitte Platz.")
    assert speech[0].line == file_line(BT_2016, "Präsident Dr. Norbert Lammert:")
    turns = [speaker for speaker, _ in iter_speeches(bt2016)]
    assert turns[:4] == ["Präsident Dr. Norbert Lammert", "Dr. Angela Merkel, Bundeskanzlerin",
                         "Präsident Dr. Norbert Lammert", "Dr. Dietmar Bartsch (DIE LINKE)"]
    assert {s.speaker for s in speech} == {
        "Präsident Dr. Norbert Lammert", "Dr. Angela Merkel, Bundeskanzlerin", "Dr. Dietmar Bartsch (DIE LINKE)",
        "Thomas Oppermann (SPD)", "Katrin Göring-Eckardt (BÜNDNIS 90/DIE GRÜNEN)", "Volker Kauder (CDU/CSU)",
        "Dr. Katarina Barley (SPD)", "Andrej Hunko (DIE LINKE)", "Gerda Hasselfeldt (CDU/CSU)",
        "Norbert Spinrath (SPD)", "Kai Whittaker (CDU/CSU)", "Ralph Brinkhaus (CDU/CSU)",
    }
    assert turns.count("Präsident Dr. Norbert Lammert") >= 11


def test_2016_dehyphenation_and_rejoined_paragraphs(bt2016: Transcript) -> None:
    sentence = segment_with(bt2016, "Ausgang des Referendums über den Verbleib des Vereinigten Königreichs in der EU",
                            kind="speech")
    assert sentence.speaker == "Präsident Dr. Norbert Lammert"
    assert "Ver- bleib" not in " ".join(s.text for s in bt2016.segments)
    # Split by a column break ("…für die Europäische" / "Union nicht.") and by a page break with a running head.
    assert segment_with(bt2016, "für die Europäische Union nicht. Der vergangene Donnerstag").speaker
    assert segment_with(bt2016, "die Gemeinsame Sicherheits- und Verteidigungspolitik der Europäischen")
    assert segment_with(bt2016, "Aber ich muss zunächst einmal die Aussprache eröffnen,").speaker == (
        "Präsident Dr. Norbert Lammert")
    assert segment_with(bt2016, "Kai Whittaker für die CDU/CSU-Fraktion.")


def test_2016_page_furniture_is_gone(bt2016: Transcript) -> None:
    for segment in bt2016.segments:
        assert "Wahlperiode" not in segment.text, segment
        assert not re.search(r"\([A-D]\) \([A-D]\)", segment.text), segment
        # Running heads: the current speaker's name at the top of a page.
        assert "Bundeskanzlerin Dr. Angela Merkel" not in segment.text, segment
        assert segment.text not in {"Thomas Oppermann", "Volker Kauder", "Katrin Göring-Eckardt", "Ralph Brinkhaus"}


def test_2016_comments_front_matter_and_appendix(bt2016: Transcript) -> None:
    applause = segment_with(bt2016, "(Beifall bei der CDU/CSU sowie bei Abgeordneten der SPD)")
    assert applause.kind == "comment" and applause.speaker is None
    # The source forgot the closing parenthesis of this one.
    assert segment_with(bt2016, "(Beifall des Abg. Wolfgang Gehrcke [DIE LINKE]").kind == "comment"
    body = bt2016.metadata["body_start"]
    assert bt2016.segments[body].text == "Beginn: 10.30 Uhr"
    assert all(s.kind == "narrative" for s in bt2016.segments[:body])  # cover page and table of contents
    appendix = bt2016.metadata["appendix_start"]
    assert bt2016.segments[appendix - 1].text == "(Schluss: 12.21 Uhr)"
    tail = bt2016.segments[appendix:]
    assert tail and all(s.kind == "narrative" and s.speaker is None for s in tail)
    assert any("Liste der entschuldigten Abgeordneten" in s.text for s in tail)


# ---------------------------------------------------------------------------------------------------------------------
# Bundestag 1/143 (1951, OCR'd, one paragraph per line, excerpt)


def test_1951_fields_lines_and_excerpt(bt1951: Transcript) -> None:
    assert (bt1951.session, bt1951.date, bt1951.place) == ("1/143", "1951-05-23", "Bonn")
    assert bt1951.metadata["excerpt"] is True
    assert bt1951.metadata["start_time"] == "10 Uhr 6 Minuten"
    gap = segment_with(bt1951, "EXCERPT: original lines 73-476 omitted")
    assert gap.kind == "narrative" and gap.line == file_line(BT_1951, "<!-- EXCERPT: original lines")
    after = bt1951.segments[gap.index + 1]
    assert after.speaker == "Präsident Dr. Ehlers"
    assert after.line == file_line(BT_1951, "Weitere Wortmeldungen liegen nicht vor")
    assert bt1951.segments[bt1951.metadata["body_start"]].text.startswith("Die Sitzung wird um 10 Uhr 6 Minuten")
    assert_well_formed(bt1951, len(BT_1951.read_text(encoding="utf-8").split("\n")))


def test_1951_speakers_votes_and_page_breaks(bt1951: Transcript) -> None:
    vote = segment_with(bt1951, "Das zweite ist die Mehrheit. Der Antrag auf namentliche Abstimmung ist abgelehnt.")
    assert vote.kind == "speech" and vote.speaker == "Präsident Dr. Ehlers"
    # The source writes "Even (CDU) :" with a space before the colon.
    assert segment_with(bt1951, "Da eine große Fraktion diesen Wunsch ausspricht").speaker == "Even (CDU)"
    assert segment_with(bt1951, "Entschuldigt sind die Abgeordneten").speaker == "Matthes, Schriftführer"
    # "Tages-" / blank / "(Bergmann)" running head / "ordnung abzusetzen": joined across the page break.
    bergmann = segment_with(bt1951, "bitte ich den Punkt 5 von der Tagesordnung abzusetzen und den Gegenstand")
    assert bergmann.speaker == "Bergmann (SPD)"
    ehlers = segment_with(bt1951, "eine Hand zu erheben. — Ich bitte um die Gegenprobe. — Der Antrag ist angenommen.")
    assert ehlers.speaker == "Präsident Dr. Ehlers"
    texts = [s.text for s in bt1951.segments]
    assert not any(t in {"(Präsident Dr. Ehlers)", "(Bergmann)", "(Neber)"} for t in texts)
    comment = segment_with(bt1951, "(Abg. Scharnberg: Und dem Ausschuß für Wirtschaftspolitik! — Zuruf des Abg. Dr.")
    assert comment.kind == "comment"
    assert bt1951.segments[-1].text == "(Schluß der Sitzung: 12 Uhr 25 Minuten.)"
    assert bt1951.metadata["end_time"] == "12 Uhr 25 Minuten"


def test_1951_derived_text_file_agrees_with_xml(cfg: Settings, bt1951: Transcript) -> None:
    text = read_transcript(BT_1951_TXT, cfg)
    assert text.format == "text"
    assert (text.body, text.session, text.date) == ("Deutscher Bundestag", "1/143", "1951-05-23")
    assert text.title and text.title.startswith("Plenarprotokoll 01/143")
    assert text.metadata["excerpt"] is True
    speakers = {s.speaker for s in text.segments if s.speaker}
    assert speakers == {s.speaker for s in bt1951.segments if s.speaker}
    opening = segment_with(text, "Die Sitzung wird um 10 Uhr 6 Minuten")
    assert opening.kind == "narrative" and opening.line == 50  # "[Protokoll]: …"
    renner = segment_with(text, "(Abg. Renner: Es ist namentliche Abstimmung beantragt!)")
    assert renner.kind == "comment" and renner.speaker is None
    assert segment_with(text, "EXCERPT: original lines 73-476").kind == "narrative"
    assert segment_with(text, "Der Antrag auf namentliche Abstimmung ist abgelehnt.").speaker == "Präsident Dr. Ehlers"
    assert text.segments[text.metadata["body_start"]].text == "SITZUNGSVERLAUF"
    assert all(s.kind == "narrative" for s in text.segments[: text.metadata["body_start"]])
    assert_well_formed(text, 159)


# Lines of Plenarprotokoll 9/36 (13 May 1981; Quelle: Deutscher Bundestag), shortened: a paragraph cut by a page
# break whose running head ("Parl. Staatssekretär Grüner") follows the page header, as in that file. (The trailing
# backslashes only wrap this source file's lines; the string has one paragraph per line.)
BT_1981_LINES = """Deutscher Bundestag — 9. Wahlperiode — 36. Sitzung. Bonn, Mittwoch, den 13. Mai 1981\t1839
36. Sitzung
Bonn, den 13. Mai 1981
Beginn: 13.00 Uhr
Vizepräsident Windelen: Herr Abgeordneter Thüsing.
Thüsing (SPD): Herr Staatssekretär, halten Sie es nicht angesichts der vom Kollegen Heistermann vorgelegten \
Zahlen, für die ja sicherlich vieles spricht, nicht für problematisch?
Grüner, Parl. Staatssekretär: Herr Kollege, Sie wissen, daß die Bundesregierung — in Übereinstimmung mit dem \
Wirtschaftsausschuß des Deutschen Bundestages — dem Arbeitsplatzdefizit eine höhere Gewichtung hat beimessen wollen.
Im übrigen weise ich darauf hin, daß keine der von dem Herrn Kollegen angeführten Kreise zu Arbeitsmarktregionen mit \
besonders gravierenden Arbeitsplatzdefiziten gehören. Es gibt also sehr viel problemati-
Deutscher Bundestag — 9. Wahlperiode — 36. Sitzung. Bonn, Mittwoch, den 13. Mai 1981\t1847
Parl. Staatssekretär Grüner
schere Regionen, was das Arbeitsplatzdefizit anlangt.
Frau Steinhauer (SPD): Herr Staatssekretär, würden Sie bei den Verhandlungen auch darauf hinweisen, daß es in der \
deutschen Stahlindustrie wesentliche Bereiche gibt, die schon modernisiert und saniert sind?
Vizepräsident Windelen: Wir sind am Schluß der heutigen Fragestunde.
(Schluß der Sitzung: 14.34 Uhr)
Anlage 1
Dr. Ahrens *\t15. 5."""


def test_1981_line_per_paragraph_page_break() -> None:
    xml = ("<DOKUMENT><WAHLPERIODE>9</WAHLPERIODE><NR>09/036</NR><DATUM>13.05.1981</DATUM><TEXT>"
           f"{BT_1981_LINES}</TEXT></DOKUMENT>").encode()
    t = parse_bundestag_xml(xml, source="bt_09-036.xml")
    assert (t.session, t.date, t.place, t.metadata["start_time"]) == ("9/36", "1981-05-13", "Bonn", "13.00 Uhr")
    joined = segment_with(t, "Es gibt also sehr viel problematischere Regionen, was das Arbeitsplatzdefizit anlangt.")
    assert joined.speaker == "Grüner, Parl. Staatssekretär" and joined.line == 8
    assert not any("Parl. Staatssekretär Grüner" in s.text for s in t.segments)
    assert segment_with(t, "wesentliche Bereiche gibt").speaker == "Frau Steinhauer (SPD)"
    assert [s.kind for s in t.segments[t.metadata["appendix_start"]:]] == ["narrative", "narrative"]
    assert [speaker for speaker, _ in iter_speeches(t)] == [
        "Vizepräsident Windelen", "Thüsing (SPD)", "Grüner, Parl. Staatssekretär", "Frau Steinhauer (SPD)",
        "Vizepräsident Windelen"]


STRUCTURED = """<?xml version="1.0" encoding="UTF-8"?>
<dbtplenarprotokoll wahlperiode="21" sitzung-nr="7" sitzung-datum="05.06.2025" sitzung-ort="Berlin">
  <sitzungsverlauf>
    <sitzungsbeginn>
      <name>Präsidentin Julia Klöckner:</name>
      <p klasse="J_1">Die Sitzung ist eröffnet.</p>
    </sitzungsbeginn>
    <tagesordnungspunkt top-id="Tagesordnungspunkt 3">
      <p klasse="T_NaS">\t3\tBeratung des Antrags der Fraktion X</p>
      <p klasse="T_fett">Ein Titel</p>
      <rede id="ID1">
        <p klasse="redner"><redner id="1"><name><titel>Dr.</titel><vorname>Eva</vorname><nachname>Muster</nachname>
          <fraktion>SPD</fraktion></name></redner></p>
        <p klasse="J_1">Ich werbe für Zustimmung.</p>
        <kommentar>(Beifall bei der SPD)</kommentar>
      </rede>
      <p klasse="J_1">Wer stimmt dafür? – Der Antrag ist angenommen.</p>
    </tagesordnungspunkt>
  </sitzungsverlauf>
  <anlagen><p klasse="J">Entschuldigte Abgeordnete</p></anlagen>
</dbtplenarprotokoll>
"""


def test_structured_protocol_rules() -> None:
    t = parse_bundestag_xml(STRUCTURED.encode(), source="bt_21-007.xml")
    assert (t.session, t.date, t.title) == ("21/7", "2025-06-05", "Plenarprotokoll 21/7")
    assert [(s.kind, s.speaker, s.line, s.text) for s in t.segments] == [
        ("speech", "Präsidentin Julia Klöckner", 6, "Die Sitzung ist eröffnet."),
        ("agenda", None, 8, "TOP: Tagesordnungspunkt 3"),
        ("agenda", None, 9, "3 Beratung des Antrags der Fraktion X"),
        ("agenda", None, 10, "Ein Titel"),
        ("speech", "Dr. Eva Muster (SPD)", 14, "Ich werbe für Zustimmung."),  # label built from <redner>
        ("comment", None, 15, "(Beifall bei der SPD)"),
        # After the speech, paragraphs without a new <name> are the chair's again.
        ("speech", "Präsidentin Julia Klöckner", 17, "Wer stimmt dafür? – Der Antrag ist angenommen."),
        ("narrative", None, 20, "Entschuldigte Abgeordnete"),
    ]
    assert [(a.number, a.title, a.segment) for a in t.agenda] == [
        ("Tagesordnungspunkt 3", "Beratung des Antrags der Fraktion X", 1)]
    assert t.metadata["appendix_start"] == 7


# ---------------------------------------------------------------------------------------------------------------------
# Bundestag 20/195 (structured XML of WP 19+)


def test_2024_structured_format(bt2024: Transcript) -> None:
    assert (bt2024.session, bt2024.date, bt2024.place, bt2024.body) == (
        "20/195", "2024-10-18", "Berlin", "Deutscher Bundestag")
    assert bt2024.metadata["start_time"] == "9:00" and bt2024.metadata["excerpt"] is True
    assert [(a.number, a.public) for a in bt2024.agenda] == [("Zur Geschäftsordnung", True), ("Zusatzpunkt 7", True)]
    assert bt2024.agenda[0].title == "Zur Geschäftsordnung"
    assert bt2024.agenda[1].title.startswith("Zweite und dritte Beratung des von den Fraktionen SPD")
    for heading in bt2024.agenda:
        assert heading.segment is not None and bt2024.segments[heading.segment].kind == "agenda"
    turns = [speaker for speaker, _ in iter_speeches(bt2024)]
    # The agenda heading between the opening and "Zur Geschäftsordnung" ends the president's first turn.
    assert turns[:5] == ["Präsidentin Bärbel Bas", "Präsidentin Bärbel Bas", "Thorsten Frei (CDU/CSU)",
                         "Präsidentin Bärbel Bas", "Johannes Vogel (FDP)"]
    assert "Nancy Faeser, Bundesministerin des Innern und für Heimat" in turns
    vote = segment_with(bt2024, "Damit ist der Absetzungsantrag abgelehnt.")
    assert vote.speaker == "Präsidentin Bärbel Bas"
    assert vote.line == file_line(BT_2024, "Jetzt komme ich zur Abstimmung")
    assert segment_with(bt2024, "Drucksache 20/12805").kind == "agenda"
    assert segment_with(bt2024, "(Beifall bei der CDU/CSU)").kind == "comment"
    assert segment_with(bt2024, "Frau Präsidentin, – gestatten Sie mir")  # literal "\u2013" in the source
    assert_well_formed(bt2024, len(BT_2024.read_text(encoding="utf-8").split("\n")))


def test_2024_derived_text_file_has_agenda_lines(cfg: Settings, bt2024: Transcript) -> None:
    text = read_transcript(BT_2024_TXT, cfg)
    assert [a.number for a in text.agenda] == ["Zur Geschäftsordnung", "Zusatzpunkt 7"]
    assert text.agenda[1].title == bt2024.agenda[1].title
    assert segment_with(text, "Drucksache 20/12805").kind == "agenda"
    assert {s.speaker for s in text.segments if s.speaker} == {s.speaker for s in bt2024.segments if s.speaker}
    assert (text.session, text.date) == ("20/195", "2024-10-18")


# ---------------------------------------------------------------------------------------------------------------------
# WebVTT

TEAMS_VTT = """WEBVTT - Kreistag 12.03.
Kind: captions

NOTE Exportiert aus Teams:
zwei Zeilen

STYLE
::cue { color: yellow }

REGION
id:fred width:40%

a1b2-1
00:00:01.000 --> 00:00:04.500 align:start position:10%
<v Landrat Dr. Schulz>Guten Abend, ich eröffne <b>die</b> Sitzung.</v>

a1b2-2
00:00:04.600 --> 00:00:07.000
<v Landrat Dr. Schulz>Es gilt Folgendes: <c.yellow>Wir</c> beraten &amp; entscheiden.</v>

00:00:12.000 --> 00:00:14.000
<v.loud Landrat Dr. Schulz><i>Nach einer Pause</i> weiter.

00:00:14.000 --> 00:00:16.000
<v Müller, Ratsherr>Ich beantrage <lang en>Vertagung</lang>.</v>
<v Frau Yilmaz (Grüne)>Dagegen!</v>

01:02.000 --> 01:03.000
[Applaus]
"""

BBB_VTT = """WEBVTT

1
00:00:00.000 --> 00:00:02.000
Bürgermeisterin Weber: Danke <00:00:01.000>schön.

2
00:00:02.000 --> 00:00:04.000
Es gilt Folgendes: Die Sitzung ist geschlossen.

3
00:00:04.000 --> 00:00:05.000
Erstens: die Tagesordnung.
"""


def test_vtt_voices_blocks_markup_and_merging() -> None:
    t = parse_vtt(TEAMS_VTT, source="sitzung.vtt")
    assert t.format == "vtt" and t.title == "Kreistag 12.03." and t.metadata["vtt_kind"] == "captions"
    first = t.segments[0]
    # Two cues of the same speaker 0.1 s apart are one segment: first start, last end.
    assert (first.speaker, first.start_s, first.end_s, first.line) == ("Landrat Dr. Schulz", 1.0, 7.0, 14)
    assert first.text == "Guten Abend, ich eröffne die Sitzung. Es gilt Folgendes: Wir beraten & entscheiden."
    # Five seconds later (more than MERGE_GAP_S): a new segment.
    assert MERGE_GAP_S < 12.0 - 7.0
    assert (t.segments[1].speaker, t.segments[1].text, t.segments[1].start_s) == (
        "Landrat Dr. Schulz", "Nach einer Pause weiter.", 12.0)
    assert [(s.speaker, s.text) for s in t.segments[2:4]] == [
        ("Müller, Ratsherr", "Ich beantrage Vertagung."), ("Frau Yilmaz (Grüne)", "Dagegen!")]
    applause = t.segments[4]
    assert (applause.kind, applause.speaker, applause.start_s, applause.end_s) == ("comment", None, 62.0, 63.0)
    assert len(t.segments) == 5
    monologue = "WEBVTT\n\n" + "".join(
        f"00:00:{i:02d}.000 --> 00:00:{i:02d}.900\n<v Anna Schmidt>Satz {i}.</v>\n\n" for i in range(0, 59, 1)
    ) + "00:01:00.000 --> 00:01:05.000\n<v Anna Schmidt>Und weiter.</v>\n"
    long_turn = parse_vtt(monologue)
    assert [(s.start_s, s.end_s) for s in long_turn.segments] == [(0.0, 58.9), (60.0, 65.0)]  # MERGE_MAX_S
    unmerged = parse_vtt(TEAMS_VTT, merge=False)
    assert [s.end_s for s in unmerged.segments[:2]] == [4.5, 7.0]


def test_vtt_name_prefix_and_colon_in_sentence() -> None:
    # "Es gilt Folgendes:" and "Erstens:" are no speakers; the cues continue the Bürgermeisterin's turn (live
    # subtitles name the speaker only when it changes).
    t = parse_vtt(BBB_VTT, merge=False)
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("Bürgermeisterin Weber", "Danke schön."),
        ("Bürgermeisterin Weber", "Es gilt Folgendes: Die Sitzung ist geschlossen."),
        ("Bürgermeisterin Weber", "Erstens: die Tagesordnung."),
    ]
    assert [s.line for s in t.segments] == [4, 8, 12]
    late = parse_vtt(BBB_VTT.replace("00:00:04.000 --> 00:00:05.000", "00:00:09.000 --> 00:00:10.000"),
                     merge=False)
    assert late.segments[2].speaker is None  # after a pause of 5 s nobody is assumed


# ---------------------------------------------------------------------------------------------------------------------
# SRT

SRT = """1
00:00:01,000 --> 00:00:02,500
Landrat Schulz: Guten Abend.

2
00:00:02,600 --> 00:00:04,000
<i>[Müller] Ich habe eine Frage.</i>

3
01:00:04,000 --> 01:00:05,000
Text ohne Sprecher

mit Leerzeile
4
01:00:06,000 --> 01:00:07,000
>> Weber: Ende"""


def test_srt_cues_speakers_and_times() -> None:
    t = parse_srt(SRT)
    assert [(s.speaker, s.text, s.start_s, s.end_s, s.line) for s in t.segments] == [
        ("Landrat Schulz", "Guten Abend.", 1.0, 2.5, 2),
        ("Müller", "Ich habe eine Frage.", 2.6, 4.0, 6),
        (None, "Text ohne Sprecher mit Leerzeile", 3604.0, 3605.0, 10),
        ("Weber", "Ende", 3606.0, 3607.0, 15),
    ]


def test_srt_merges_same_speaker() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nA. Meier: Eins.\n\n2\n00:00:02,500 --> 00:00:03,000\nA. Meier: Zwei.\n"
    t = parse_srt(srt)
    assert [(s.speaker, s.text, s.start_s, s.end_s) for s in t.segments] == [("A. Meier", "Eins. Zwei.", 1.0, 3.0)]


# ---------------------------------------------------------------------------------------------------------------------
# Plain text and DOCX

KREISTAG_TXT = """Niederschrift über die 12. Sitzung des Kreistages
Beginn: 17:00 Uhr

TOP 1: Eröffnung und Feststellung der Beschlussfähigkeit
Landrat Dr. Schulz: Ich eröffne die Sitzung.
Es gilt Folgendes: Wir beraten zuerst den Haushalt.
Erstens: die Tagesordnung.

Ich stelle die Beschlussfähigkeit fest.
(Beifall)
Kreistagsvorsitzende Müller (CDU): Danke.
Herr von der Heide: Eine Frage.
TOP 2 (nichtöffentlich): Personalangelegenheiten
[00:15:03] Frau Yilmaz (Grüne): Ich beantrage Vertagung.
Max Mustermann   0:03
Guten Abend zusammen.
Abstimmungsergebnis: 12 Ja, 3 Nein, 1 Enthaltung
"""


def test_plain_text_speakers_continuations_and_agenda() -> None:
    t = parse_plain_text(KREISTAG_TXT)
    rows = [(s.kind, s.speaker, s.line, s.text) for s in t.segments]
    assert rows == [
        ("narrative", None, 1, "Niederschrift über die 12. Sitzung des Kreistages"),
        ("narrative", None, 2, "Beginn: 17:00 Uhr"),
        ("agenda", None, 4, "TOP 1: Eröffnung und Feststellung der Beschlussfähigkeit"),
        # A colon inside a sentence is no speaker change: the lines continue the Landrat's segment.
        ("speech", "Landrat Dr. Schulz", 5, "Ich eröffne die Sitzung.\nEs gilt Folgendes: Wir beraten zuerst den "
                                           "Haushalt.\nErstens: die Tagesordnung."),
        ("speech", "Landrat Dr. Schulz", 9, "Ich stelle die Beschlussfähigkeit fest."),  # after a blank line
        ("comment", None, 10, "(Beifall)"),
        ("speech", "Kreistagsvorsitzende Müller (CDU)", 11, "Danke."),
        ("speech", "Herr von der Heide", 12, "Eine Frage."),
        ("agenda", None, 13, "TOP 2 (nichtöffentlich): Personalangelegenheiten"),
        ("speech", "Frau Yilmaz (Grüne)", 14, "Ich beantrage Vertagung."),
        ("speech", "Max Mustermann", 15, "Guten Abend zusammen."),
        ("narrative", None, 17, "Abstimmungsergebnis: 12 Ja, 3 Nein, 1 Enthaltung"),
    ]
    assert t.segments[9].start_s == 903.0 and t.segments[10].start_s == 3.0
    zoom = parse_plain_text("[Max Mustermann] 10:00:03\nHallo zusammen.\n[Erika Muster] 10:00:09\nHallo!")
    assert [(s.speaker, s.text, s.start_s, s.line) for s in zoom.segments] == [
        ("Max Mustermann", "Hallo zusammen.", 36003.0, 1), ("Erika Muster", "Hallo!", 36009.0, 3)]
    assert [(a.number, a.title, a.public, a.segment) for a in t.agenda] == [
        ("1", "Eröffnung und Feststellung der Beschlussfähigkeit", True, 2),
        ("2", "Personalangelegenheiten", False, 8),
    ]


def test_plain_text_wrapped_and_unclosed_comments() -> None:
    t = parse_plain_text("A. Meier: Eins.\n(Beifall bei der\nSPD)\nWeiter.\n(Zuruf: ohne Ende\n" + "Text.\n" * 20)
    assert [(s.kind, s.speaker, s.line) for s in t.segments] == [
        ("speech", "A. Meier", 1), ("comment", None, 2), ("speech", "A. Meier", 4), ("comment", None, 5),
        ("speech", "A. Meier", 13)]
    assert t.segments[1].text == "(Beifall bei der\nSPD)"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Präsident Dr. Norbert Lammert", True),
        ("Dr. Angela Merkel, Bundeskanzlerin", True),
        ("Müller (Frankfurt) (KPD)", True),
        ("Dr. de With, Parl. Staatssekretär beim Bundesminister der Justiz", True),
        ("Landrätin Meyer-Lüdenscheid", True),
        ("Anna Schmidt", True),
        ("Es gilt Folgendes", False),
        ("Erstens", False),
        ("Beginn", False),
        ("Doch bei allem Bedauern", False),
        ("Ich wiederhole, was ich bereits am Freitag gesagt habe", False),
        ("TOP 3", False),
        ("https", False),
        ("Wie war das noch? Herr Schäuble hat gesagt", False),
    ],
)
def test_speaker_label_plausibility(label: str, expected: bool) -> None:
    assert (speaker_label(label) is not None) is expected


def test_protocol_labels_need_a_party_or_role() -> None:
    assert speaker_label("Anna Schmidt", strict=True) is None
    assert speaker_label("Anna Schmidt (SPD)", strict=True) == "Anna Schmidt (SPD)"
    assert speaker_label("Zur Geschäftsordnung", strict=True) is None


def test_docx_paragraphs_are_lines(tmp_path: Path, cfg: Settings) -> None:
    document = docx.Document()
    document.core_properties.title = "Sitzung des Umweltausschusses"
    document.add_heading("TOP 1: Radwegekonzept", level=1)
    document.add_paragraph("Vorsitzender Becker: Ich rufe den Tagesordnungspunkt auf.")
    document.add_paragraph("Es gilt Folgendes: Das Konzept liegt vor.")
    document.add_paragraph("Frau Dr. Öztürk (SPD): Wir stimmen zu.")
    document.add_paragraph("(Zustimmung)")
    path = tmp_path / "ausschuss.docx"
    document.save(str(path))
    t = read_transcript(path, cfg)
    assert t.format == "docx" and t.title == "Sitzung des Umweltausschusses"
    assert [(s.kind, s.speaker, s.line, s.text) for s in t.segments] == [
        ("agenda", None, 1, "TOP 1: Radwegekonzept"),
        ("speech", "Vorsitzender Becker", 2, "Ich rufe den Tagesordnungspunkt auf."),
        # A new paragraph without a label is a new segment of the same speaker.
        ("speech", "Vorsitzender Becker", 3, "Es gilt Folgendes: Das Konzept liegt vor."),
        ("speech", "Frau Dr. Öztürk (SPD)", 4, "Wir stimmen zu."),
        ("comment", None, 5, "(Zustimmung)"),
    ]
    assert [(a.number, a.title) for a in t.agenda] == [("1", "Radwegekonzept")]


# ---------------------------------------------------------------------------------------------------------------------
# Encodings and sniffing

UMLAUT_TEXT = "Bürgermeisterin Müller: Die Straße wird für 5 € geöffnet.\nHerr Weiß: Das ist gut – „endlich“.\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (UMLAUT_TEXT.encode("cp1252"), "cp1252"),
        (codecs.BOM_UTF16_LE + UMLAUT_TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + UMLAUT_TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF8 + UMLAUT_TEXT.encode("utf-8"), "utf-8"),
        (UMLAUT_TEXT.encode("utf-8"), "utf-8"),
        (UMLAUT_TEXT.replace("€", "EUR").replace("–", "-").replace("„", '"').replace("“", '"').encode("latin-1"),
         "cp1252"),
    ],
)
def test_encodings(tmp_path: Path, cfg: Settings, data: bytes, encoding: str) -> None:
    path = tmp_path / "protokoll.txt"
    path.write_bytes(data)
    t = read_transcript(path, cfg)
    assert t.metadata["encoding"] == encoding
    assert [s.speaker for s in t.segments] == ["Bürgermeisterin Müller", "Herr Weiß"]
    assert t.segments[0].text.startswith("Die Straße wird für 5")
    assert "geöffnet" in t.segments[0].text


def test_utf16_subtitles_and_sniffed_formats(cfg: Settings) -> None:
    vtt = codecs.BOM_UTF16_LE + BBB_VTT.encode("utf-16-le")
    assert parse_transcript_bytes(vtt, "export.vtt", cfg).segments[0].speaker == "Bürgermeisterin Weber"
    # Unknown or wrong suffix, recognisable content.
    assert parse_transcript_bytes(BBB_VTT.encode(), "captions.dat", cfg).format == "vtt"
    assert parse_transcript_bytes(SRT.encode(), "untertitel.txt", cfg).format == "srt"
    assert parse_transcript_bytes(SRT.encode(), "untertitel", cfg).format == "srt"
    assert parse_transcript_bytes(BT_2024.read_bytes(), "protokoll.bin", cfg).format == "bundestag-xml"
    assert parse_transcript_bytes(KREISTAG_TXT.encode(), "notizen.log", cfg).format == "text"


# ---------------------------------------------------------------------------------------------------------------------
# Refused files


def refused(exc: InputError) -> str:
    message = exc.user_message
    assert message.startswith("Die Datei '"), message
    return message


def test_empty_file(tmp_path: Path, cfg: Settings) -> None:
    path = tmp_path / "leer.vtt"
    path.write_bytes(b"")
    with pytest.raises(InputError) as info:
        read_transcript(path, cfg)
    assert "ist kein lesbares Transkript" in refused(info.value) and "leer" in info.value.user_message


def test_whitespace_only_and_cue_less_files(cfg: Settings) -> None:
    with pytest.raises(InputError, match="no text"):
        parse_transcript_bytes(b" \n\n\t\n", "leer.txt", cfg)
    with pytest.raises(InputError) as info:
        parse_transcript_bytes(b"WEBVTT\n\nNOTE nur eine Notiz\n", "leer.vtt", cfg)
    assert "kein Redetext" in refused(info.value)
    with pytest.raises(InputError) as info:
        parse_transcript_bytes(b"Dies ist kein Untertitel.\n", "falsch.srt", cfg)
    assert "keine Untertitel" in refused(info.value)


@pytest.mark.parametrize("alphabet", [range(256), [*range(1, 9), *range(14, 32), *range(65, 91)]])
def test_binary_garbage(tmp_path: Path, cfg: Settings, alphabet: range | list[int]) -> None:
    rng = random.Random(6)
    path = tmp_path / "aufnahme.txt"
    path.write_bytes(bytes(rng.choice(alphabet) for _ in range(4096)))  # with and without NUL bytes
    with pytest.raises(InputError) as info:
        read_transcript(path, cfg)
    assert "Binärdaten" in refused(info.value)


@pytest.mark.parametrize(
    ("data", "name", "word"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "bild.txt", "sie ist ein PNG-Bild."),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "protokoll.vtt", "ein PDF-Dokument"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "sitzung.srt", "eine Audiodatei (WAV)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "alt.docx", "Word-97–2003-Dokument"),
    ],
)
def test_binary_formats_are_named(cfg: Settings, data: bytes, name: str, word: str) -> None:
    with pytest.raises(UnsupportedFormat) as info:
        parse_transcript_bytes(data, name, cfg)
    assert word in refused(info.value)


def test_oversized_file(tmp_path: Path) -> None:
    small = Settings(home=tmp_path, max_file_bytes=100)
    path = tmp_path / "lang.txt"
    path.write_text("Landrat Schulz: " + "Wort " * 100, encoding="utf-8")
    with pytest.raises(FileTooLarge) as info:
        read_transcript(path, small)
    assert "zu groß" in refused(info.value) and info.value.http_status == 413


def test_unknown_suffix_without_transcript(cfg: Settings) -> None:
    with pytest.raises(UnsupportedFormat) as info:
        parse_transcript_bytes(b"a;b;c\n1;2;3\n", "tabelle.csv", cfg)
    assert "'.csv' wird nicht unterstützt" in refused(info.value)


def test_missing_file(tmp_path: Path, cfg: Settings) -> None:
    with pytest.raises(InputError) as info:
        read_transcript(tmp_path / "gibt-es-nicht.vtt", cfg)
    assert "nicht gefunden" in refused(info.value)


def test_xml_bomb_and_foreign_xml(cfg: Settings) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE DOKUMENT [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<DOKUMENT><TEXT>&b;</TEXT></DOKUMENT>")
    with pytest.raises(InputError) as info:
        parse_transcript_bytes(bomb, "bombe.xml", cfg)
    assert "unzulässiger XML-Inhalt" in refused(info.value)
    with pytest.raises(UnsupportedFormat) as info:
        parse_transcript_bytes(b"<?xml version='1.0'?><rss><channel/></rss>", "feed.xml", cfg)
    assert "kein Plenarprotokoll" in refused(info.value)
    with pytest.raises(InputError) as info:
        parse_transcript_bytes(b"<DOKUMENT><TEXT>offen", "kaputt.xml", cfg)
    assert "kein gültiges XML" in refused(info.value)


def test_wrong_containers(cfg: Settings) -> None:
    with pytest.raises(InputError) as info:
        parse_transcript_bytes(b"Landrat Schulz: Hallo.\n", "protokoll.docx", cfg)
    assert "Word-Datei" in refused(info.value)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hallo")
    with pytest.raises(UnsupportedFormat) as info:
        parse_transcript_bytes(buffer.getvalue(), "archiv.docx", cfg)
    assert "keine Word-Datei" in refused(info.value)


# ---------------------------------------------------------------------------------------------------------------------
# Properties

FIRST = ["Anna", "Jörg", "Müşerref", "Karl-Heinz", "Ole", "Zoë"]
LAST = ["Schmidt", "Meyer-Lüdenscheid", "Öztürk", "von der Heide", "Weiß", "O'Brien"]
names = st.builds(
    lambda title, first, last, party: f"{title}{first} {last}{party}",
    st.sampled_from(["", "Dr. ", "Landrat ", "Frau "]),
    st.sampled_from(FIRST),
    st.sampled_from(LAST),
    st.sampled_from(["", " (SPD)", " (BÜNDNIS 90/DIE GRÜNEN)"]),
)
WORDS = ["Haushalt", "wir", "stimmen", "ab", "Antrag", "angenommen", "Straße", "über", "42", "Änderung", "ja.", "nein!",
         "Kreistag", "beschließt", "einstimmig,", "Enthaltung?"]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
cues = st.lists(st.tuples(names, texts, st.integers(0, 4000), st.integers(1, 9000)), min_size=1, max_size=12)


def _clock(ms: int, sep: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def _timeline(generated: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    out, now = [], 0
    for speaker, text, pause, duration in generated:
        start = now + pause
        out.append((speaker, text, start, start + duration))
        now = start + duration
    return out


@given(cues, st.booleans())
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_vtt_round_trip(generated: list[tuple[str, str, int, int]], voice_tags: bool) -> None:
    timeline = _timeline(generated)
    blocks = ["WEBVTT", ""]
    for number, (speaker, text, start, end) in enumerate(timeline, start=1):
        payload = f"<v {speaker}>{text}</v>" if voice_tags else f"{speaker}: {text}"
        blocks += [f"cue-{number}", f"{_clock(start, '.')} --> {_clock(end, '.')} line:0", payload, ""]
    parsed = parse_vtt("\n".join(blocks), merge=False)
    assert [(s.speaker, s.text, s.start_s, s.end_s) for s in parsed.segments] == [
        (speaker, text, start / 1000, end / 1000) for speaker, text, start, end in timeline]
    merged = parse_vtt("\n".join(blocks))
    # Cues are merged only when the captions carry sentence punctuation (at least a fifth of them end a
    # sentence); speech recognition without it keeps one segment per cue.
    punctuated = sum(1 for _, text, _, _ in timeline if text.rstrip()[-1:] in ".!?") >= 0.2 * len(timeline)
    expected: list[tuple[str, int, int]] = []  # speaker, start, end of each merged segment
    for speaker, _, start, end in timeline:
        if (punctuated and expected and expected[-1][0] == speaker and start - expected[-1][2] <= MERGE_GAP_S * 1000
                and end - expected[-1][1] <= MERGE_MAX_S * 1000):
            expected[-1] = (speaker, expected[-1][1], end)
        else:
            expected.append((speaker, start, end))
    assert [(s.speaker, s.start_s, s.end_s) for s in merged.segments] == [
        (speaker, start / 1000, end / 1000) for speaker, start, end in expected]
    assert merged.segments[0].start_s == timeline[0][2] / 1000
    assert merged.segments[-1].end_s == timeline[-1][3] / 1000


@given(cues, st.sampled_from(["colon", "bracket"]))
@settings(max_examples=60, deadline=None)
def test_srt_round_trip(generated: list[tuple[str, str, int, int]], style: str) -> None:
    timeline = _timeline(generated)
    lines: list[str] = []
    for number, (speaker, text, start, end) in enumerate(timeline, start=1):
        payload = f"{speaker}: {text}" if style == "colon" else f"[{speaker}] {text}"
        lines += [str(number), f"{_clock(start, ',')} --> {_clock(end, ',')}", payload, ""]
    parsed = parse_srt("\r\n".join(lines), merge=False)
    assert [(s.speaker, s.text, s.start_s, s.end_s, s.line) for s in parsed.segments] == [
        (speaker, text, start / 1000, end / 1000, 4 * i + 2) for i, (speaker, text, start, end) in enumerate(timeline)]


@given(st.lists(st.tuples(names, texts, st.lists(texts, max_size=2)), min_size=1, max_size=10))
@settings(max_examples=60, deadline=None)
def test_plain_text_round_trip(turns: list[tuple[str, str, list[str]]]) -> None:
    lines: list[str] = []
    expected = []
    for speaker, text, continuation in turns:
        expected.append((speaker, "\n".join([text, *continuation]), len(lines) + 1))
        lines += [f"{speaker}: {text}", *continuation]
    parsed = parse_plain_text("\n".join(lines))
    assert [(s.speaker, s.text, s.line) for s in parsed.segments] == expected


@given(st.text(max_size=600))
@settings(max_examples=150, deadline=None)
def test_arbitrary_text_does_not_crash(text: str) -> None:
    line_count = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    for transcript in (parse_vtt(text), parse_srt(text), parse_plain_text(text)):
        assert_well_formed(transcript, line_count + 1)


cue_like = st.lists(
    st.one_of(
        st.sampled_from(["WEBVTT", "", "NOTE x", "00:00:01.000 --> 00:00:02.000", "1", "00:01,5 --> 00:02,0",
                         "<v A>", "</v>", "Name: Text", "[Applaus]", "(Beifall", "Text)", "=== TOP: 1 ===",
                         "[Kommentar]: (Zuruf)", "TOP 2: X", "Präsident Dr. Ehlers:", "Ver-", "bleib."]),
        st.text(max_size=30),
    ),
    max_size=40,
).map("\n".join)


@given(cue_like)
@settings(max_examples=150, deadline=None)
def test_structured_noise_does_not_crash(text: str) -> None:
    for transcript in (parse_vtt(text), parse_srt(text), parse_plain_text(text)):
        assert_well_formed(transcript)


@given(cue_like)
@settings(max_examples=100, deadline=None)
def test_protocol_text_noise_does_not_crash(text: str) -> None:
    cleaned = "".join(c for c in text if c in "\t\n" or (ord(c) >= 32 and not 0xD800 <= ord(c) <= 0xDFFF
                                                            and c not in "\ufffe\uffff"))
    body = cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = f"<DOKUMENT><NR>18/1</NR><DATUM>01.02.2016</DATUM><TEXT>{body}</TEXT></DOKUMENT>".encode()
    assert_well_formed(parse_bundestag_xml(xml))


def test_unpunctuated_speech_recognition_cues_stay_apart_so_calls_stay_at_the_start() -> None:
    srt = ("1\n00:00:00,000 --> 00:00:04,000\nBM Kessler: gibt es wortmeldungen nein gut dann steigen wir ein\n\n"
           "2\n00:00:04,500 --> 00:00:08,000\nBM Kessler: top eins fragen der einwohnerinnen und einwohner\n\n"
           "3\n00:00:08,200 --> 00:00:12,000\nSprecher 7: ja ich hätte eine frage zum gehweg\n")
    parsed = parse_srt(srt)
    assert [(s.speaker, s.text[:12]) for s in parsed.segments] == [
        ("BM Kessler", "gibt es wort"), ("BM Kessler", "top eins fra"), ("Sprecher 7", "ja ich hätte")]
    from kreiswissen.minutes.extract import extract

    assert [(i.number, i.title) for i in extract(parsed).agenda_items] == [
        ("1", "fragen der einwohnerinnen und einwohner")]


def test_srt_with_speaker_labels_only_where_the_speaker_changes() -> None:
    cues = [("Vorsitzende Wollny: Guten Abend.", 0), ("Tagesordnungspunkt 1, Eröffnung.", 6),
            ("Grabowski (Linke): Wir bitten, TOP 11 abzusetzen.", 12), ("Die Zahlen fehlen.", 18),
            ("Vorsitzende Wollny: Widerspruch? Keiner.", 24), ("TOP 3 ist die Niederschrift.", 30),
            ("Gegenstimmen? Keine.", 36), ("Ergebnis 23/0/4.", 42), ("Einwohnerin: Eine Frage.", 48),
            ("Bürgermeister Rehfeld: Dazu gibt es keinen Beschluss.", 54), ("Vorsitzende Wollny: Weitere Fragen?", 60),
            ("Grabowski (Linke): Nein, danke.", 66)]
    srt = "\n".join(f"{n}\n00:00:{start:02d},000 --> 00:00:{start + 2:02d},000\n{text}\n"
                    for n, (text, start) in enumerate(cues, start=1))
    speakers = [s.speaker for s in parse_srt(srt, merge=False).segments]
    # four seconds of silence between cues: the label still carries, because this file labels changes only
    assert speakers == ["Vorsitzende Wollny"] * 2 + ["Grabowski (Linke)"] * 2 + ["Vorsitzende Wollny"] * 4 + [
        "Einwohnerin", "Bürgermeister Rehfeld", "Vorsitzende Wollny", "Grabowski (Linke)"]
    every_cue = "\n".join(f"{n}\n00:00:{start:02d},000 --> 00:00:{start + 2:02d},000\nA: {text}\n"
                          for n, (text, start) in enumerate([("Eins.", 0), ("Zwei.", 6), ("Drei.", 12)], start=1))
    unlabelled = every_cue + "4\n00:00:30,000 --> 00:00:32,000\nVier.\n"
    assert parse_srt(unlabelled, merge=False).segments[-1].speaker is None  # a file that labels every cue
