"""Transcript readers: WebVTT, SRT, plain text, DOCX and the Bundestag plenary-protocol XML → :class:`Transcript`.

``read_transcript`` checks size, refuses binary data and picks the reader from the content (a "WEBVTT" header,
SRT cue numbers, an XML root) with the file suffix as a hint; each format also has its own function that works on
text or bytes already in memory.

Decisions worth knowing:

- Segments are fine-grained on purpose, because every extracted fact links back to a segment: one per cue
  (subtitles), per labelled line or paragraph (plain text, DOCX), per paragraph (protocols). A speaker's turn is
  the run of consecutive segments with the same ``speaker``.
- Subtitles: consecutive cues of the same named speaker are merged when the pause between them is at most
  ``MERGE_GAP_S`` (first start, last end), because caption tools cut one sentence into many two-line cues; a longer
  pause, or a segment reaching ``MERGE_MAX_S``, starts a new segment so that times stay precise. Cues without a
  speaker are never merged. Live subtitles name the speaker only when it changes: a cue without a label that
  follows a labelled one within ``INHERIT_GAP_S`` continues that speaker's turn (a longer pause leaves it
  unattributed). ``merge=False`` keeps one segment per cue.
- "Name: text" is only a speaker label when the part before the colon is plausibly a name: short, starting with
  an uppercase letter, capitalised words with name particles ("von", "de"), titles ("Dr."), optionally a party in
  parentheses and/or a role ("Präsident …", "…, Bundeskanzlerin"). "Es gilt Folgendes: …" or "Erstens: …" are not
  speakers. Protocol text is stricter: a label needs a party or a role, as every Bundestag label has one.
- Old Bundestag protocols (open-data format of WP 1–18) are OCR'd or PDF-extracted text: page headers, column
  markers "(A) (C)" and running heads (the current speaker's name at the top of a page) are dropped, words
  hyphenated at line ends are joined ("Ver-" + "bleib"), paragraphs split by page or column breaks are rejoined,
  stage directions in parentheses become ``comment`` segments. Everything before the session opens (cover page,
  table of contents) and after "(Schluss der Sitzung …)" (appendix) is ``narrative``; ``metadata["body_start"]``
  and ``metadata["appendix_start"]`` give the segment indexes where the session proper begins and ends.
"""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import fromstring as defused_fromstring

from kreiswissen.config import Settings, get_settings
from kreiswissen.errors import FileTooLarge, InputError, UnsupportedFormat
from kreiswissen.text.encoding import BOMS, UndecodableText, decode_text

from .model import AgendaHeading, Segment, SegmentKind, Transcript

TranscriptFormat = Literal["vtt", "srt", "text", "docx", "bundestag-xml"]

SUFFIX_FORMATS: dict[str, TranscriptFormat] = {
    ".vtt": "vtt",
    ".webvtt": "vtt",
    ".srt": "srt",
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
    ".xml": "bundestag-xml",
}
BUNDESTAG_ATTRIBUTION = "Quelle: Deutscher Bundestag"
MERGE_GAP_S = 3.0
MERGE_MAX_S = 60.0

# --------------------------------------------------------------------------------------------------------------
# Errors


def _refuse(name: str, reason_en: str, reason_de: str, *, cls: type[InputError] = InputError) -> InputError:
    return cls(f"{name}: {reason_en}", user_message=f"Die Datei '{name}' ist kein lesbares Transkript: {reason_de}.")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _too_large(name: str, size: int, settings: Settings) -> FileTooLarge:
    return FileTooLarge(
        f"{name}: file too large ({size} bytes, limit {settings.max_file_bytes})",
        user_message=f"Die Datei '{name}' ist zu groß für ein Transkript ({_mb(size)}, erlaubt sind "
        f"{_mb(settings.max_file_bytes)}).",
    )


# --------------------------------------------------------------------------------------------------------------
# Entry points


def read_transcript(path: Path, settings: Settings | None = None) -> Transcript:
    """Read a transcript file of any supported format; :class:`InputError` (German ``user_message``) otherwise."""
    settings = settings or get_settings()
    name = path.name or str(path)
    try:
        if not path.is_file():
            raise _refuse(name, "not a regular file or not found", "nicht gefunden oder keine reguläre Datei")
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise _too_large(name, size, settings)
        with path.open("rb") as stream:
            # Never more than the limit, even if the file grew since stat().
            data = stream.read(settings.max_file_bytes + 1)
    except OSError as exc:
        raise _refuse(name, f"cannot be read ({exc.strerror})", "kann nicht gelesen werden") from exc
    return parse_transcript_bytes(data, name, settings)


def parse_transcript_bytes(data: bytes, name: str, settings: Settings | None = None) -> Transcript:
    """Like :func:`read_transcript` for bytes already in memory (an upload); ``name`` gives the suffix hint."""
    settings = settings or get_settings()
    if len(data) > settings.max_file_bytes:
        raise _too_large(name, len(data), settings)
    if not data:
        raise _refuse(name, "file is empty (0 bytes)", "sie ist leer (0 Byte)")
    suffix = Path(name).suffix.lower()
    expected = SUFFIX_FORMATS.get(suffix)
    binary = _binary_kind(data)
    if binary is not None and binary != "zip":
        raise _refuse(name, f"binary file ({binary})", f"sie ist {binary}", cls=UnsupportedFormat)
    if binary == "zip" or expected == "docx":
        if binary != "zip":
            raise _refuse(name, "not a DOCX (ZIP) container", "keine gültige Word-Datei (DOCX)")
        transcript = parse_docx(data, source=name, settings=settings)
    else:
        try:
            text, encoding = decode_text(data)
        except UndecodableText as exc:
            raise _refuse(
                name, f"not text ({exc})", "sie enthält Binärdaten oder Text in unbekannter Kodierung"
            ) from exc
        if not text.strip():
            raise _refuse(name, "no text", "sie enthält keinen Text")
        fmt = _choose_text_format(text, expected, suffix, name)
        if fmt == "bundestag-xml":
            transcript = parse_bundestag_xml(data, source=name)
        elif fmt == "vtt":
            transcript = parse_vtt(text, source=name)
        elif fmt == "srt":
            transcript = parse_srt(text, source=name)
        else:
            transcript = parse_plain_text(text, source=name)
        transcript.metadata.setdefault("encoding", encoding)
    if not any(seg.text for seg in transcript.segments):
        raise _refuse(name, "no transcript text found", "es wurde kein Redetext gefunden")
    return transcript


_XML_ROOT = re.compile(
    r"\A(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*<([A-Za-z_][\w.-]*)", re.S
)
_SRT_HEAD = re.compile(r"\A\s*\d+[ \t]*\n[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")


def _choose_text_format(text: str, expected: TranscriptFormat | None, suffix: str, name: str) -> TranscriptFormat:
    head = text.lstrip("\ufeff \t\r\n")
    sniffed: TranscriptFormat | None = None
    if head.startswith("WEBVTT"):
        sniffed = "vtt"
    elif head.startswith("<"):
        match = _XML_ROOT.match(head[:20000])
        if match:
            sniffed = "bundestag-xml"
    elif _SRT_HEAD.match(head[:500]):
        sniffed = "srt"
    elif _TIMING.search(head[:20000]):
        # Cues without a WEBVTT header: SRT writes a comma before the milliseconds.
        timing = _TIMING.search(head[:20000])
        sniffed = "srt" if timing and "," in timing.group(0) else "vtt"
    if expected == "bundestag-xml" and sniffed != "bundestag-xml":
        raise _refuse(name, "not XML", "sie enthält kein XML")
    if expected in ("vtt", "srt") and sniffed not in ("vtt", "srt"):
        raise _refuse(
            name, "no subtitle cues", "keine Untertitel mit Zeitangaben (z. B. 00:00:01.000 --> 00:00:04.000) gefunden"
        )
    if sniffed is not None:
        return sniffed
    if expected == "text":
        return "text"
    lines = text.splitlines()[:200]
    labelled = sum(1 for line in lines if _split_label(line.strip(), strict=False)[0] is not None)
    if labelled >= 2:
        return "text"
    what = f"Dateiendung '{suffix}'" if suffix else "Datei ohne Endung"
    raise _refuse(
        name,
        f"unsupported format ({suffix or 'no suffix'}, no recognisable transcript)",
        f"{what} wird nicht unterstützt und der Inhalt ist kein erkennbares Transkript "
        "(erwartet: WebVTT, SRT, Text mit „Name: Text“, DOCX oder Bundestags-XML)",
        cls=UnsupportedFormat,
    )


# What a clerk is told the file is instead ("… ist kein lesbares Transkript: sie ist ein PDF-Dokument.").
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"%PDF-", "ein PDF-Dokument"),
    (b"\x89PNG", "ein PNG-Bild"),
    (b"\xff\xd8\xff", "ein JPEG-Bild"),
    (b"GIF8", "ein GIF-Bild"),
    (b"II*\x00", "ein TIFF-Bild"),
    (b"MM\x00*", "ein TIFF-Bild"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ein Word-97–2003-Dokument oder eine verschlüsselte Office-Datei"),
    (b"{\\rtf", "ein RTF-Dokument"),
    (b"\x1f\x8b", "ein GZIP-Archiv"),
    (b"7z\xbc\xaf\x27\x1c", "ein 7-Zip-Archiv"),
    (b"Rar!", "ein RAR-Archiv"),
    (b"\x7fELF", "ein Programm"),
    (b"ID3", "eine Audiodatei (MP3)"),
    (b"OggS", "eine Audiodatei (OGG)"),
    (b"fLaC", "eine Audiodatei (FLAC)"),
    (b"\x1aE\xdf\xa3", "eine Audio- oder Videodatei (WebM)"),
)


def _binary_kind(data: bytes) -> str | None:
    """A binary container or media format from its first bytes; ``None`` for (possibly) text."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "eine Audiodatei (WAV)"
    if data[4:8] == b"ftyp":
        return "eine Audio- oder Videodatei (MP4/M4A)"
    if len(data) > 2 and data[0] == 0xFF and data[1] in (0xFB, 0xF3, 0xF2):
        return "eine Audiodatei (MP3)"
    return None


# --------------------------------------------------------------------------------------------------------------
# Decoding


# One decoder for every reader of text files (documents and transcripts): text/encoding.py.


# --------------------------------------------------------------------------------------------------------------
# Speaker labels


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PARTICLES = _words("von van vom de der den des zu zur zum di da del della dos du la le ten ter op und y al el bin ibn")
_TITLES = _words("dr. prof. dipl. dipl.-ing. ing. med. jur. rer. nat. phil. h. c. h.c. frau herr fr. hr. mdb mdl")
_ROLE_STEMS = (
    "präsident", "minister", "sekretär", "kanzler", "vorsitz", "bürgermeister", "landrat", "landrät",
    "schriftführ", "protokollführ", "berichterstatt", "antragstell", "beigeordnet", "dezernent", "kämmer",
    "senator", "beauftragt", "sprecher", "moderat", "abgeordnet", "ortsvorsteher", "leiter", "referent",
    "direktor", "sachbearbeit", "sachverständig", "vertreter", "stellvertret", "mitglied", "geschäftsführ",
    "justiziar", "syndik", "gutacht", "oberkreisdirektor", "verwaltung",
)
_ROLE_TOKENS = frozenset({"abg.", "parl.", "stellv.", "präs.", "vizepräs.", "bgm.", "ob"})
_ROLE_ENDINGS = ("rat", "rätin", "ratsherr", "ratsfrau")
# Capitalised words that start sentences or name fields ("Erstens: …", "Ergebnis: …") rather than people.
_NOT_NAMES = _words(
    """Aber Also Und Oder Denn Doch Deshalb Daher Dazu Darum Dann Damit Das Dies Diese Dieser Dieses Die Der Den
    Dem Des Ein Eine Einer Es Er Sie Wir Ich Ihr Man Hier Heute Jetzt Nun So Wie Was Wer Wo Warum Weil Wenn Als
    Auch Nur Noch Zum Zur Im In Am An Auf Aus Bei Mit Nach Für Über Unter Vor Gegen Ohne Um Bis Seit Vom Beim
    Erstens Zweitens Drittens Viertens Fünftens Sechstens Siebtens Achtens Neuntens Zehntens Letztens Schließlich
    Folgendes Fazit Beispiel Hinweis Hinweise Achtung Wichtig Ergebnis Ergebnisse Antwort Frage Fragen Anmerkung
    Ausnahme Grund Begründung Ziel Thema Betreff Inhalt Beginn Ende Schluss Schluß Ort Datum Zeit Uhrzeit Sitzung
    Anwesend Abwesend Entschuldigt Anlage Anlagen Tagesordnung Beschluss Beschluß Beschlüsse Beschlussvorschlag
    Beschlusstext Beschlussfassung Abstimmung Abstimmungsergebnis Antrag Anträge Vorlage Drucksache Protokoll
    Niederschrift Teilnehmer Teilnehmende Gäste Vorsitz Sitzungsleitung Protokollführung Ja Nein Enthaltung
    Enthaltungen Zusammenfassung Quelle Notiz Stand Status Aufgabe Aufgaben Termin Frist Wortmeldung
    Wortmeldungen Zitat Text Kommentar Summe Gesamt Kosten Punkt Regel Problem Lösung Vorschlag Empfehlung
    Bemerkung Bemerkungen Nachtrag Ergänzung Korrektur Tipp Merke Fakt Sachstand Sachverhalt Hintergrund Anlass
    Zweck Gegenstand Verfahren Verteiler Dauer Uhr Tel Telefon Fax Mail Email Web Adresse Anschrift Wahlergebnis
    Sitzungstag Sitzungsort Sitzungsdatum Sitzungsbeginn Sitzungsende Schriftführung Schriftführer Schriftführerin
    Protokollführer Protokollführerin Zuhörer Zuhörerinnen Zuhörende Presse Gast Von Unterbrechung Wahlperiode
    Wahl Feststellung Mitteilung Mitteilungen Bekanntgabe Bericht Sonstiges Verschiedenes Anfragen Anfrage
    Eröffnung Genehmigung Öffentlich Nichtöffentlich Teil Gut Danke Bitte Okay Ok Richtig Genau Hallo Nachfrage
    Zusatzfrage Hinzu Weiter Weiterhin Außerdem Insgesamt Zudem Allerdings Trotzdem Dennoch Jedoch Kurz Klar"""
)
_NAME_TOKEN = re.compile(r"[A-ZÄÖÜÀ-ÞŁŚŽČŠ][\w'’.\-]*", re.UNICODE)
_PAREN_PART = re.compile(r"\s*[(\[][^()\[\]]{1,60}[)\]]")
_LABEL_LINE = re.compile(r"^(?P<label>[^:\n]{1,120}?)\s*:(?:[ \t]+|$)(?P<rest>.*)$", re.S)


def _is_role_token(low: str) -> bool:
    return low in _ROLE_TOKENS or any(stem in low for stem in _ROLE_STEMS) or low.endswith(_ROLE_ENDINGS)


def _plausible_role(role: str) -> bool:
    tokens = role.split()
    if not 1 <= len(tokens) <= 12 or not tokens[0][0].isupper():
        return False
    if re.search(r"[!?;:\"„“”»«]", role):
        return False
    low = role.lower()
    return any(stem in low for stem in _ROLE_STEMS) or any(t.lower().rstrip(".").endswith(_ROLE_ENDINGS)
                                                            for t in tokens)


_GENERIC_SPEAKER = re.compile(r"(?:Sprecher(?:in)?|Speaker|SPEAKER|Teilnehmer(?:in)?|Person|Redner(?:in)?)[ _]?\d{1,2}")


def speaker_label(label: str, *, strict: bool = False) -> str | None:
    """``label`` normalised if it is plausibly a speaker ("Präsident Dr. Norbert Lammert", "Müller (SPD)",
    "Dr. Angela Merkel, Bundeskanzlerin"), else ``None``. ``strict`` also demands a party or a role."""
    label = " ".join(label.split())
    if not 2 <= len(label) <= 110:
        return None
    if _GENERIC_SPEAKER.fullmatch(label):
        return label  # speech recognition with speaker separation: "Sprecher 7", "SPEAKER_01"
    name, _, role = label.partition(",")
    has_role = False
    if role.strip():
        if not _plausible_role(role.strip()):
            return None
        has_role = True
    has_party = bool(_PAREN_PART.search(name))
    bare = _PAREN_PART.sub(" ", name).strip()
    if any(c in bare for c in "()[]"):
        return None
    tokens = bare.split()
    if not 1 <= len(tokens) <= 7:
        return None
    if not tokens[0][0].isupper() or tokens[0].rstrip(".") in _NOT_NAMES:
        return None
    names = 0
    for token in tokens:
        low = token.lower()
        if any(c.isdigit() for c in token):
            return None
        if low in _PARTICLES:
            continue
        if not _NAME_TOKEN.fullmatch(token):
            return None
        if _is_role_token(low):
            has_role = True
        elif low not in _TITLES:
            names += 1
    if tokens[-1].lower() in _PARTICLES:
        return None
    if strict and not (has_party or has_role):
        return None
    if not (names or has_role):
        return None
    if not (has_party or has_role) and names > 4:
        return None
    return label


def _split_label(line: str, *, strict: bool) -> tuple[str | None, str]:
    """(speaker, rest) for "Name: text"; (None, line) when the part before the colon is no plausible speaker."""
    match = _LABEL_LINE.match(line)
    if match:
        speaker = speaker_label(match.group("label"), strict=strict)
        if speaker is not None:
            return speaker, match.group("rest").strip()
    return None, line


def _surname(label: str) -> str | None:
    bare = _PAREN_PART.sub(" ", label.partition(",")[0])
    tokens = [t for t in bare.split() if t.lower() not in _PARTICLES and t.lower() not in _TITLES
              and not _is_role_token(t.lower())]
    return tokens[-1].rstrip(".") if tokens else None


# --------------------------------------------------------------------------------------------------------------
# Building segments


@dataclass
class _Draft:
    text: str
    speaker: str | None = None
    kind: SegmentKind = "speech"
    line: int | None = None
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class _Builder:
    """Collects draft segments; empty ones are dropped at the end and every index pointing at drafts (agenda
    headings, marks such as ``body_start``) is mapped to the final segment numbering."""

    drafts: list[_Draft] = field(default_factory=list)
    headings: list[tuple[str, str, bool, int]] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        text: str,
        *,
        speaker: str | None = None,
        kind: SegmentKind = "speech",
        line: int | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> _Draft:
        draft = _Draft(text, speaker, kind, line, start_s, end_s)
        self.drafts.append(draft)
        return draft

    def mark(self, key: str) -> None:
        self.marks.setdefault(key, len(self.drafts))

    def heading(self, number: str, title: str, *, public: bool = True) -> None:
        """An agenda heading whose first segment is the next one added."""
        self.headings.append((number, title, public, len(self.drafts)))

    def retitle_last_heading(self, title: str) -> None:
        if self.headings and self.headings[-1][1] == self.headings[-1][0]:
            number, _, public, position = self.headings[-1]
            self.headings[-1] = (number, title, public, position)

    def build(self) -> tuple[list[Segment], list[AgendaHeading], dict[str, int]]:
        kept_before: list[int] = []
        segments: list[Segment] = []
        for draft in self.drafts:
            kept_before.append(len(segments))
            text = _tidy(draft.text)
            if text:
                segments.append(Segment(len(segments), text, draft.speaker, draft.kind, draft.line,
                                        draft.start_s, draft.end_s))
        kept_before.append(len(segments))
        agenda = [AgendaHeading(number, title, public, kept_before[pos] if kept_before[pos] < len(segments) else None)
                  for number, title, public, pos in self.headings]
        marks = {key: kept_before[pos] for key, pos in self.marks.items()}
        return segments, agenda, marks


_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _transcript(builder: _Builder, source: str, fmt: str, **fields: Any) -> Transcript:
    segments, agenda, marks = builder.build()
    metadata: dict[str, Any] = dict(fields.pop("metadata", {}) or {})
    metadata.update(marks)
    return Transcript(source=source, format=fmt, segments=segments, agenda=agenda, metadata=metadata, **fields)


# --------------------------------------------------------------------------------------------------------------
# WebVTT and SRT

_TS = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^[ \t]*{_TS}[ \t]*-->[ \t]*{_TS}(?:[ \t]+(.*))?[ \t]*$", re.M)
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+(?P<name>[^>]*))?>")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>|\{\\[^{}]*\}")
_BRACKET_LABEL = re.compile(r"^\[(?P<label>[^\[\]]{1,60})\]\s*:?\s*(?P<rest>.*)$", re.S)


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return round(value, 3)


def _timing(line: str) -> tuple[float, float] | None:
    match = _TIMING.match(line)
    if not match:
        return None
    groups = match.groups()
    return _seconds(*groups[0:4]), _seconds(*groups[4:8])


def _clean_cue_text(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def _cue_pieces(payload: str) -> list[tuple[str | None, str]]:
    """(speaker, text) per voice span of a cue (Teams and Zoom write ``<v Name>``), else per "Name: text"."""
    pieces: list[tuple[str | None, str]] = []
    position = 0
    voice: str | None = None
    for match in _VOICE.finditer(payload):
        pieces.append((voice, payload[position : match.start()]))
        voice = " ".join(html.unescape(match.group("name") or "").split()) or None
        position = match.end()
    pieces.append((voice, payload[position:]))
    out: list[tuple[str | None, str]] = []
    for speaker, raw in pieces:
        text = _clean_cue_text(raw)
        if text:
            out.append((speaker, text))
    return out


def _cue_drafts(builder: _Builder, payload: str, line: int, start: float, end: float) -> None:
    for voice, text in _cue_pieces(payload):
        speaker, kind, rest = (voice, "speech", text) if voice else _classify_caption(text)
        if voice and _is_annotation(text):
            kind = "comment"
        builder.add(rest, speaker=speaker if kind == "speech" else None, kind=kind, line=line, start_s=start,
                    end_s=end)


def _is_annotation(text: str) -> bool:
    """A whole cue in brackets or parentheses: "[Applaus]", "(Beifall bei der SPD)"."""
    return (text.startswith("[") and text.endswith("]") and text.count("[") == 1) or _is_paren_comment(text)


def _classify_caption(text: str) -> tuple[str | None, SegmentKind, str]:
    text = re.sub(r"^(?:>>|-)\s*", "", text)
    if _is_annotation(text):
        return None, "comment", text
    bracket = _BRACKET_LABEL.match(text)
    if bracket and bracket.group("rest"):
        speaker = speaker_label(bracket.group("label"))
        if speaker is not None:
            return speaker, "speech", bracket.group("rest").strip()
    speaker, rest = _split_label(text, strict=False)
    return speaker, "speech", rest


def _punctuated(drafts: list[_Draft]) -> bool:
    """Whether the cues carry sentence punctuation. Speech recognition without it writes one utterance per cue
    ("top drei bebauungsplan"): merging such cues would leave no boundary between what the chair says."""
    speech = [d.text for d in drafts if d.kind == "speech"]
    if not speech:
        return True
    return sum(1 for t in speech if re.search(r"[.!?]\s*$", t)) >= 0.2 * len(speech)


INHERIT_GAP_S = 3.0


def _labels_on_change(drafts: list[_Draft]) -> bool:
    """Whether the file names the speaker only where the speaker changes: many unlabelled speech cues, and two
    labelled cues in a row almost never name the same speaker (a file labelling every cue repeats labels)."""
    speech = [d for d in drafts if d.kind == "speech"]
    unlabelled = sum(1 for d in speech if d.speaker is None)
    if len(speech) < 10 or unlabelled < 0.2 * len(speech):
        return False
    pairs = [(a.speaker, b.speaker) for a, b in zip(speech, speech[1:], strict=False) if a.speaker and b.speaker]
    return len(pairs) >= 3 and sum(1 for a, b in pairs if a == b) <= 0.05 * len(pairs)


def _inherit_speakers(drafts: list[_Draft]) -> None:
    """Unlabelled speech cues right after a labelled one continue its speaker: within a short pause, or at any
    pause when the file names speakers only where they change."""
    on_change = _labels_on_change(drafts)
    previous: _Draft | None = None
    for draft in drafts:
        if (draft.kind == "speech" and draft.speaker is None and previous is not None and previous.speaker
                and previous.end_s is not None and draft.start_s is not None
                and (on_change or draft.start_s - previous.end_s <= INHERIT_GAP_S)):
            draft.speaker = previous.speaker
        if draft.kind == "speech":
            previous = draft


def _merge_cues(drafts: list[_Draft], gap: float) -> list[_Draft]:
    if not _punctuated(drafts):
        return drafts
    merged: list[_Draft] = []
    for draft in drafts:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and draft.speaker is not None
            and prev.speaker == draft.speaker
            and prev.kind == draft.kind == "speech"
            and prev.end_s is not None
            and draft.start_s is not None
            and prev.start_s is not None
            and draft.start_s - prev.end_s <= gap
            and (draft.end_s or draft.start_s) - prev.start_s <= MERGE_MAX_S
        ):
            prev.text = f"{prev.text} {draft.text}"
            prev.end_s = max(prev.end_s, draft.end_s or prev.end_s)
            continue
        merged.append(draft)
    return merged


def _blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based line number of their first line."""
    block: list[str] = []
    first = 0
    for number, line in enumerate(_normalise_newlines(text).split("\n"), start=1):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def parse_vtt(text: str, *, source: str = "transcript.vtt", merge: bool = True) -> Transcript:
    """WebVTT: cues with times, speakers from ``<v Name>`` voice spans or a "Name: text" prefix. Header, NOTE,
    STYLE and REGION blocks, cue identifiers, cue settings and markup (``<c>``, ``<b>``, ``<i>``, ``<lang>``,
    timestamps) are handled; ``line`` is the cue's timing line."""
    builder = _Builder()
    header: list[str] = []
    for index, (first, block) in enumerate(_blocks(text)):
        head = block[0].strip()
        if index == 0 and head.startswith("WEBVTT"):
            header = block
            continue
        if re.match(r"^(?:NOTE|STYLE|REGION)(?:\s|$)", head):
            continue
        timing_at = next((i for i, line in enumerate(block[:3]) if "-->" in line), None)
        if timing_at is None:
            continue
        times = _timing(block[timing_at])
        if times is None:
            continue
        _cue_drafts(builder, "\n".join(block[timing_at + 1 :]), first + timing_at, *times)
    _inherit_speakers(builder.drafts)
    if merge:
        builder.drafts = _merge_cues(builder.drafts, MERGE_GAP_S)
    metadata: dict[str, Any] = {}
    for line in header[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            metadata[f"vtt_{key.strip().lower()}"] = value.strip()
    title = (header[0][6:].strip(" \t-") or None) if header else None
    return _transcript(builder, source, "vtt", title=title, metadata=metadata)


def parse_srt(text: str, *, source: str = "transcript.srt", merge: bool = True) -> Transcript:
    """SRT: numbered cues with ``00:01:02,500 --> …`` times; speakers as "Name: text" or "[Name] text".
    Tolerates missing blank lines and blank lines inside a cue's text; ``line`` is the cue's timing line."""
    lines = _normalise_newlines(text).split("\n")
    timings = [i for i, line in enumerate(lines) if "-->" in line and _timing(line) is not None]
    builder = _Builder()
    for position, at in enumerate(timings):
        stop = timings[position + 1] if position + 1 < len(timings) else len(lines)
        # The next cue's number belongs to the next cue.
        if position + 1 < len(timings) and stop - 1 > at and lines[stop - 1].strip().isdigit():
            stop -= 1
        times = _timing(lines[at])
        assert times is not None
        _cue_drafts(builder, "\n".join(lines[at + 1 : stop]), at + 1, *times)
    _inherit_speakers(builder.drafts)
    if merge:
        builder.drafts = _merge_cues(builder.drafts, MERGE_GAP_S)
    return _transcript(builder, source, "srt")


# --------------------------------------------------------------------------------------------------------------
# Plain text and DOCX

_SECTION = re.compile(r"^={2,}\s*(?P<content>.*?)\s*={2,}$")
_TOP_MARKER = re.compile(r"^(?:TOP|Tagesordnungspunkt)\b\s*(?P<rest>.*)$", re.I)
_TOP_LINE = re.compile(
    r"^(?:TOP|Tagesordnungspunkt|Punkt)\s+(?P<number>(?:[NÖ]\s?)?\d{1,3}(?:\.\d{1,2})?(?:\s?[a-z](?=[\s:.)–—-]))?)"
    r"\s*(?:[:.)–—-]\s*|\s+)"
    r"(?P<title>\S.*)$"
)
_TIMESTAMP_PREFIX = re.compile(r"^\[?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)\]?\s+(?P<rest>\S.*)$")
_SPEAKER_HEADER = re.compile(r"^(?P<label>[^:\d][^\d]{0,80}?)\s+\[?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?)\]?$")
_BRACKET_KINDS: dict[str, SegmentKind] = {
    "kommentar": "comment",
    "protokoll": "narrative",
    "top-text": "agenda",
    "auslassung im auszug": "narrative",
    "nachspann/anlagen": "narrative",
}
_FIELD_LABELS = _words(
    """beginn ende schluss schluß ort datum zeit uhrzeit sitzung anwesend abwesend entschuldigt vorsitz
    sitzungsleitung protokollführung tagesordnung beschluss beschluß beschlussvorschlag beschlusstext
    abstimmungsergebnis abstimmung ergebnis wahlergebnis"""
)
_PUBLIC_NO = re.compile(r"nicht\s*öffentlich|nichtöffentlich", re.I)


def _clock(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    numbers = [float(p) for p in parts]
    if len(numbers) == 2:
        return round(numbers[0] * 60 + numbers[1], 3)
    return round(numbers[0] * 3600 + numbers[1] * 60 + numbers[2], 3)


def _paren_depth(text: str) -> int:
    return text.count("(") - text.count(")")


def _is_paren_comment(text: str) -> bool:
    """The whole text is one parenthesised stage direction: "(Beifall bei der SPD)"."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for position, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and position < len(text) - 1:
            return False
    return depth == 0


class _TextReader:
    """Line rules shared by plain text and DOCX (one paragraph = one line)."""

    def __init__(self) -> None:
        self.builder = _Builder()
        self.title: str | None = None
        self.speaker: str | None = None
        self.current: _Draft | None = None
        self.blank = False
        self.front = False
        self.open_comment = False
        self.comment_lines = 0
        self.metadata: dict[str, Any] = {}

    def feed(self, number: int, raw: str) -> None:
        line = _SPACES.sub(" ", raw).strip()
        if not line:
            self.blank = True
            return
        self._line(number, line)
        self.blank = False

    def _add(self, text: str, *, kind: SegmentKind, number: int, speaker: str | None = None,
             start_s: float | None = None) -> None:
        self.current = self.builder.add(text, speaker=speaker, kind=kind, line=number, start_s=start_s)

    def _heading(self, number: str, title: str, line: int, text: str) -> None:
        self.builder.heading(number, title or number, public=not _PUBLIC_NO.search(text))
        self._add(text, kind="agenda", number=line)

    def _line(self, number: int, line: str) -> None:
        builder = self.builder
        if self.open_comment and self.current is not None:
            self.current.text += "\n" + line
            self.comment_lines += 1
            # A stage direction wrapped over a few lines; one whose ")" never comes must not swallow the file.
            self.open_comment = _paren_depth(self.current.text) > 0 and self.comment_lines < 8
            return
        if self.title is None and not builder.drafts and line.startswith("# "):
            self.title = line[2:].strip()
            return
        section = _SECTION.match(line)
        if section:
            content = section.group("content")
            top = _TOP_MARKER.match(content)
            if top:
                self.front = False
                rest = top.group("rest").lstrip(":. ").strip()
                numbered = re.match(r"^(\S*\d\S*)\s*[:.–-]\s*(.+)$", rest)
                heading_number, heading_title = (numbered.group(1), numbered.group(2)) if numbered else (rest, rest)
                self._heading(heading_number or content, heading_title, number, content)
            else:
                upper = content.upper()
                self.front = "INHALT" in upper or "KOPF" in upper
                if not self.front:
                    builder.mark("body_start")
                self._add(content, kind="narrative", number=number)
            return
        if self.front:
            if self.current is not None:
                self.current.text += "\n" + line
            else:
                self._add(line, kind="narrative", number=number)
            return
        bracket = _BRACKET_LABEL.match(line)
        if bracket and bracket.group("label").strip().lower() in _BRACKET_KINDS:
            label = bracket.group("label").strip().lower()
            kind = _BRACKET_KINDS[label]
            rest = bracket.group("rest").strip()
            if label.startswith("nachspann"):
                builder.mark("appendix_start")
            if label.startswith("auslassung"):
                self.metadata["excerpt"] = True
            if kind == "agenda":
                builder.retitle_last_heading(re.sub(r"^(?:ZP\s*)?\d+[a-z]?\s+", "", rest))
            self._add(rest or label, kind=kind, number=number)
            return
        top_line = _TOP_LINE.match(line)
        if top_line:
            title = re.sub(r"^\([^()]{1,30}\)\s*[:.–—-]?\s*", "", top_line.group("title"))  # "(nichtöffentlich):"
            self._heading(re.sub(r"\s+", "", top_line.group("number")), title, number, line)
            return
        start_s: float | None = None
        stamped = _TIMESTAMP_PREFIX.match(line)
        if stamped and _split_label(stamped.group("rest"), strict=False)[0] is not None:
            start_s = _clock(stamped.group("ts"))
            line = stamped.group("rest")
        speaker, rest = _split_label(line, strict=False)
        header = _SPEAKER_HEADER.match(line) if speaker is None else None
        header_label = speaker_label(header.group("label").strip("[] ")) if header else None
        if header and header_label is not None:  # "Max Mustermann   0:03" (Teams), "[Max] 10:00:03" (Zoom)
            speaker, rest, start_s = header_label, "", _clock(header.group("ts"))
        elif speaker is None and bracket and bracket.group("rest"):
            speaker = speaker_label(bracket.group("label"))
            rest = bracket.group("rest").strip() if speaker else line
        if speaker is not None:
            if speaker.split()[0].lower() in _FIELD_LABELS:
                self._add(line, kind="narrative", number=number)
                return
            self.speaker = speaker
            builder.mark("body_start")
            self._add(rest, kind="speech", speaker=speaker, number=number, start_s=start_s)
            return
        field_label = re.match(r"^([A-Za-zÄÖÜäöüß]+)\s*:", line)
        if field_label and field_label.group(1).lower() in _FIELD_LABELS:
            self._add(line, kind="narrative", number=number)
            return
        if line.startswith("(") and (_is_paren_comment(line) or _paren_depth(line) > 0):
            self._add(line, kind="comment", number=number)
            self.open_comment = _paren_depth(line) > 0
            self.comment_lines = 1
            return
        current = self.current
        if current is not None and not self.blank and current.kind in ("speech", "narrative"):
            current.text = f"{current.text}\n{line}" if current.text else line
            return
        self._add(line, kind="speech" if self.speaker else "narrative", speaker=self.speaker, number=number)

    def transcript(self, source: str, fmt: str, *, title: str | None = None,
                   metadata: dict[str, Any] | None = None) -> Transcript:
        meta = dict(metadata or {})
        meta.update(self.metadata)
        transcript = _transcript(self.builder, source, fmt, title=self.title or title, metadata=meta)
        if "Deutscher Bundestag" in (transcript.title or ""):
            transcript.body = "Deutscher Bundestag"
            transcript.metadata.setdefault("attribution", BUNDESTAG_ATTRIBUTION)
            session = re.search(r"Plenarprotokoll (\d+)/(\d+) vom (\d{2})\.(\d{2})\.(\d{4})", transcript.title or "")
            if session:
                wp, nr, day, month, year = session.groups()
                transcript.session = f"{int(wp)}/{int(nr)}"
                transcript.date = f"{year}-{month}-{day}"
        return transcript


def parse_plain_text(text: str, *, source: str = "transcript.txt") -> Transcript:
    """Plain text: "Name: text" lines (unlabelled lines continue the segment; after a blank line they start a
    new segment of the same speaker), "(…)" lines as comments, "TOP 3: Titel" lines as agenda headings,
    "Name 0:03" speaker headers and "[00:01:02] Name: text" time prefixes (meeting-tool exports), and the line
    types of the shared protocol .txt files ("[Kommentar]: …", "[Protokoll]: …", "=== TOP: … ===", …)."""
    reader = _TextReader()
    for number, line in enumerate(_normalise_newlines(text).split("\n"), start=1):
        reader.feed(number, line)
    return reader.transcript(source, "text")


def parse_docx(data: bytes, *, source: str = "transcript.docx", settings: Settings | None = None) -> Transcript:
    """DOCX: each body paragraph is a line under the plain-text rules; ``line`` is the paragraph number."""
    import docx  # python-docx: imported here, it is only needed for this format

    settings = settings or get_settings()
    _check_docx_container(data, source, settings)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds for broken files
        raise _refuse(source, f"cannot open DOCX ({exc})", "die Word-Datei (DOCX) ist beschädigt") from exc
    reader = _TextReader()
    for number, paragraph in enumerate(document.paragraphs, start=1):
        for part in paragraph.text.split("\n"):
            reader.feed(number, part)
        reader.feed(number, "")  # a paragraph ends like a blank line: the next one is a new segment
    title = (document.core_properties.title or "").strip() or None
    return reader.transcript(source, "docx", title=title)


def _check_docx_container(data: bytes, name: str, settings: Settings) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _refuse(name, f"corrupt ZIP ({exc})", "die Word-Datei ist beschädigt oder unvollständig") from exc
    names = {m.filename for m in members}
    if "word/document.xml" not in names:
        raise _refuse(name, "ZIP but not DOCX", "sie ist ein ZIP-Archiv, aber keine Word-Datei (DOCX)",
                      cls=UnsupportedFormat)
    total = sum(m.file_size for m in members)
    if len(members) > 10_000 or total > settings.max_unpacked_bytes:
        raise _refuse(name, f"unpacked size too large ({total} bytes)", "die Word-Datei ist entpackt zu groß")
    for member in members:
        if member.file_size > 64 * 1024 and member.file_size / max(member.compress_size, 1) > \
                settings.max_compression_ratio:
            raise _refuse(name, f"ZIP bomb suspected ({member.filename})", "ZIP-Bombe vermutet")
        if member.flag_bits & 0x1:
            raise _refuse(name, "encrypted", "die Word-Datei ist verschlüsselt")
    try:
        # python-docx does not resolve entities, but a DTD never occurs in real DOCX: refuse it outright.
        defused_fromstring(archive.read("word/document.xml"), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _refuse(name, f"forbidden XML ({type(exc).__name__})", "unzulässiger XML-Inhalt (DTD/Entitäten)") from exc
    except (ET.ParseError, zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _refuse(name, f"corrupt document.xml ({exc})", "die Word-Datei ist beschädigt") from exc


# --------------------------------------------------------------------------------------------------------------
# Bundestag protocol XML


def parse_bundestag_xml(data: bytes, *, source: str = "plenarprotokoll.xml") -> Transcript:
    """A Bundestag plenary protocol: the open-data format of WP 1–18 (``<DOKUMENT>`` with plain text) or the
    structured format of WP 19+ (``<dbtplenarprotokoll>``). ``line`` is the line in the XML file."""
    parser = DefusedXMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise _refuse(source, f"forbidden XML construct ({type(exc).__name__})",
                      "unzulässiger XML-Inhalt (Entitäten oder externe Verweise)") from exc
    except ET.ParseError as exc:
        raise _refuse(source, f"invalid XML ({exc})", f"kein gültiges XML ({exc})") from exc
    raw = _normalise_newlines(_xml_source_text(data))
    if root.tag == "DOKUMENT":
        return _open_data_protocol(root, raw, source)
    if root.tag == "dbtplenarprotokoll":
        return _structured_protocol(root, raw, source)
    raise _refuse(source, f"unknown XML root <{root.tag}>",
                  f"XML-Datei, aber kein Plenarprotokoll des Bundestages (Wurzelelement <{root.tag}>)",
                  cls=UnsupportedFormat)


def _xml_source_text(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    declared = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.:-]+)", data)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _german_date(value: str) -> str | None:
    match = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*", value or "")
    if not match:
        return None
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _session(wahlperiode: str, number: str) -> str | None:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", number or "")
    if match:
        return f"{int(match.group(1))}/{int(match.group(2))}"
    if (wahlperiode or "").strip().isdigit() and (number or "").strip().isdigit():
        return f"{int(wahlperiode)}/{int(number)}"
    return None


# Open-data format (WP 1–18): page furniture, running heads, hyphenation.

_PAGE_HEADER = re.compile(
    r"^\s*(?:[\dIVXLC]+\*?\s+)?Deutscher\s+Bundestag\.?\s*[–—-]\s*(?:\d+\.\s*Wahlperiode\s*[–—-]\s*)?"
    r"\d+\.\s*Sitzung\b.{0,80}$"
)
_COLUMN_MARKERS = re.compile(r"^\s*(?:\([A-D]\)\s*)+$")
_GAP = "\ue000"
_STAGE_WORDS = _words(
    """Beifall Heiterkeit Zuruf Zurufe Unruhe Lachen Widerspruch Zustimmung Glocke Bravo Pfui Sehr Lebhafter
    Lebhafte Große Anhaltende Anhaltender Erneute Erneuter Weitere Weiterer Rufe Zwischenruf Zwischenrufe
    Schluss Schluß Unterbrechung Oh Na Hört Allgemeine Allgemeiner Starker Stürmischer Beginn Abg. Abgeordnete
    Gegenrufe Protest Proteste Händeklatschen Sitzung"""
)
_TERMINAL = ".!?:;)\"“”»«…'’"
_CONJUNCTIONS = _words("und oder bis sowie bzw. beziehungsweise als noch wie statt")
# A wrapped line at least this long filled the column: the paragraph went on, even across a blank line.
_FULL_LINE = 38
_SESSION_OPENS = re.compile(r"^(?:Beginn\s*:|Die Sitzung wird um .{1,60} eröffnet)")
_SESSION_ENDS = re.compile(r"^\(Schlu(?:ss|ß)\b")
_PLACE_DATE = re.compile(
    r"^(?P<place>[A-ZÄÖÜ][\w-]+(?: am Rhein)?), (?:(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|"
    r"Sonntag), )?den \d{1,2}\. \w+ \d{4}\.?$"
)


@dataclass
class _Unit:
    text: str
    line: int
    brk: int  # strongest break before it: 0 none, 1 blank line, 2 page or column break, 3 excerpt gap
    lines: int = 1
    gap: str | None = None
    last_len: int = 0


def _join_wrapped(first: str, second: str) -> str:
    """Join two wrapped lines, undoing end-of-line hyphenation where it is one ("Ver-" + "bleib")."""
    first, second = first.rstrip(), second.lstrip()
    if not first:
        return second
    if first.endswith("/"):  # "BÜNDNIS 90/" + "DIE GRÜNEN", "CDU/" + "CSU"
        return first + second
    match = re.search(r"(\w+)-$", first)
    if match and second and not first.endswith(" -"):
        before = match.group(1)
        word = re.match(r"[\w.]+", second)
        next_word = word.group(0) if word else ""
        if second[0].islower():
            if next_word in _CONJUNCTIONS:  # "Sicherheits- und Verteidigungspolitik"
                return f"{first} {second}"
            return first[:-1] + second
        if before.isupper() and len(before) > 1 and re.match(r"[A-ZÄÖÜ]{2,}\b", second):
            return first[:-1] + second  # "BÜNDNIS 90/DIE GRÜ-" + "NEN)"
        return first + second  # "Euro-" + "Staaten"
    return f"{first} {second}"


def _protocol_units(items: list[tuple[int, str]], wrapped: bool) -> list[_Unit]:
    units: list[_Unit] = []
    brk = 0
    for number, line in items:
        if line.startswith(_GAP):
            units.append(_Unit("", number, 3, gap=line[1:]))
            brk = 3
            continue
        if not line.strip():
            brk = max(brk, 1)
            continue
        if _PAGE_HEADER.match(line) or _COLUMN_MARKERS.match(line):
            brk = max(brk, 2)
            continue
        text = line.strip()
        last = units[-1] if units else None
        if last is not None and last.gap is None and brk == 0 and (
            (wrapped and not _starts_comment_after(last))
            # A stage direction wrapped over several lines in line-per-paragraph text (1951).
            or (last.text.startswith("(") and _paren_depth(last.text) > 0 and last.lines < 8)
        ):
            last.text = _join_wrapped(last.text, text)
            last.lines += 1
            last.last_len = len(text)
            continue
        units.append(_Unit(text, number, brk, last_len=len(text)))
        brk = 0
    return units


def _starts_comment_after(unit: _Unit) -> bool:
    """A wrapped block that opened with a stage direction ends where the direction closes."""
    return unit.text.startswith("(") and _paren_depth(unit.text) <= 0


def _name_like(text: str) -> bool:
    tokens = text.split()
    if not 1 <= len(tokens) <= 7 or not tokens[0][0].isupper() or text[-1] in ".,:;!?-":
        return False
    return all(
        t.lower() in _PARTICLES or (_NAME_TOKEN.fullmatch(t) is not None and not any(c.isdigit() for c in t))
        for t in tokens
    )


def _drop_running_heads(units: list[_Unit], wrapped: bool, surnames: set[str]) -> list[_Unit]:
    """Running heads name the current speaker at the top of a page: after the page header (1981), before it
    in the PDF text order (2016), or in parentheses after the break (1951). They are dropped, and the page break
    they sit in is kept on the following unit so that a paragraph cut by the page is joined again."""
    kept: list[_Unit] = []
    carry = 0
    for position, unit in enumerate(units):
        following = units[position + 1] if position + 1 < len(units) else None
        text = unit.text
        drop = False
        if unit.gap is None and unit.lines == 1:
            inner = text[1:-1].strip() if _is_paren_comment(text) else None
            if inner is not None:
                drop = (unit.brk >= 1 and _name_like(inner) and inner.split()[0] not in _STAGE_WORDS
                        and (not wrapped or _surname(inner) in surnames))
            elif _name_like(text) and _surname(text) in surnames:
                before_header = unit.brk >= 1 and following is not None and following.brk >= 2
                drop = before_header if wrapped else unit.brk >= 2
        if drop:
            carry = max(carry, unit.brk, 2)
            continue
        if carry:
            unit.brk = max(unit.brk, carry)
            carry = 0
        kept.append(unit)
    return kept


def _protocol_segments(items: list[tuple[int, str]], builder: _Builder) -> dict[str, Any]:
    texts = [line for _, line in items if line.strip() and not line.startswith(_GAP)]
    long_lines = sum(1 for line in texts if len(line) > 90)
    wrapped = long_lines < 0.2 * max(len(texts), 1)
    units = _protocol_units(items, wrapped)
    surnames = {s for u in units if u.gap is None
                for s in [_surname(_split_label(u.text, strict=True)[0] or "")] if s}
    units = _drop_running_heads(units, wrapped, surnames)

    info: dict[str, Any] = {}
    phase = "front"
    speaker: str | None = None
    previous: _Draft | None = None  # the last draft, if text may still be joined to it
    previous_len = 0  # length of its last source line
    for unit in units:
        if unit.gap is not None:
            builder.add(f"[Auslassung im Auszug] {unit.gap.strip()}", kind="narrative", line=unit.line)
            info["excerpt"] = True
            previous = None
            continue
        text = unit.text
        label, rest = _split_label(text, strict=True) if phase != "appendix" else (None, text)
        if previous is not None and label is None and not text.startswith("(") and unit.brk < 3:
            hyphenated = re.search(r"\w-$", previous.text) is not None and text[:1].islower()
            continues = (phase == "body" and previous.text[-1:] not in _TERMINAL
                         and (not wrapped or text[:1].islower() or unit.brk >= 2 or previous_len >= _FULL_LINE))
            if hyphenated or continues:
                previous.text = _join_wrapped(previous.text, text)
                previous_len = unit.last_len
                continue
        previous_len = unit.last_len
        # A wrapped block that opens a stage direction is one, even when the source forgot its ")" (18/181).
        if _is_paren_comment(text) or (wrapped and text.startswith("(") and _paren_depth(text) > 0):
            builder.add(text, kind="comment", line=unit.line)
            previous = None
            if phase == "body" and _SESSION_ENDS.match(text):
                end = re.search(r"Schlu(?:ss|ß)(?: der Sitzung)?\s*:?\s*([^)]*)\)", text)
                if end:
                    info["end_time"] = end.group(1).strip(" .")
                phase = "appendix"
                builder.mark("appendix_start")
            continue
        if phase == "front" and (label is not None or _SESSION_OPENS.match(text)):
            phase = "body"
            builder.mark("body_start")
            opens = re.match(r"^(?:Beginn\s*:\s*(.+)|Die Sitzung wird um (.{1,40}?) durch)", text)
            if opens:
                info["start_time"] = (opens.group(1) or opens.group(2)).strip(" .")
        if phase == "front":
            place = _PLACE_DATE.match(text)
            if place and "place" not in info:
                info["place"] = place.group("place")
        if label is not None:
            speaker = label
            previous = builder.add(rest, speaker=speaker, line=unit.line)
        elif phase == "body" and speaker is not None:
            previous = builder.add(text, speaker=speaker, line=unit.line)
        else:
            previous = builder.add(text, kind="narrative", line=unit.line)
    return info


def _open_data_protocol(root: ET.Element, raw: str, source: str) -> Transcript:
    text_element = root.find("TEXT")
    if text_element is None:
        raise _refuse(source, "no <TEXT> element", "das Protokoll enthält keinen Text (<TEXT> fehlt)")
    opening = re.search(r"<TEXT\b[^>]*>", raw)
    items = _text_lines(text_element, raw.count("\n", 0, opening.end()) + 1 if opening else 1)
    builder = _Builder()
    info = _protocol_segments(items, builder)
    wahlperiode = (root.findtext("WAHLPERIODE") or "").strip()
    number_text = (root.findtext("NR") or "").strip()
    metadata: dict[str, Any] = {
        "attribution": BUNDESTAG_ATTRIBUTION,
        "xml_format": "open-data (WP 1–18)",
        "wahlperiode": int(wahlperiode) if wahlperiode.isdigit() else wahlperiode or None,
        "document_type": (root.findtext("DOKUMENTART") or "").strip() or None,
    }
    metadata.update({k: v for k, v in info.items() if k != "place"})
    return _transcript(
        builder,
        source,
        "bundestag-xml",
        title=(root.findtext("TITEL") or "").strip() or None,
        body="Deutscher Bundestag",
        session=_session(wahlperiode, number_text),
        date=_german_date(root.findtext("DATUM") or ""),
        place=info.get("place"),
        metadata=metadata,
    )


def _text_lines(text_element: ET.Element, first_line: int) -> list[tuple[int, str]]:
    """The lines of ``<TEXT>`` with their line numbers in the file; an XML comment inside (the cut of an
    excerpt) becomes one gap item at the line where it starts."""
    items: list[tuple[int, str]] = []
    number = first_line
    buffer = ""

    def feed(chunk: str) -> None:
        nonlocal number, buffer
        parts = _normalise_newlines(chunk).split("\n")
        buffer += parts[0]
        for part in parts[1:]:
            items.append((number, buffer))
            number += 1
            buffer = part

    feed(text_element.text or "")
    for child in text_element:
        if child.tag is ET.Comment:
            comment = child.text or ""
            if buffer.strip():
                items.append((number, buffer))
            buffer = ""
            items.append((number, _GAP + " ".join(comment.split())))
            number += comment.count("\n")
        else:
            feed("".join(child.itertext()))
        feed(child.tail or "")
    items.append((number, buffer))
    return items


# Structured format (WP 19+).

_ELEMENT_START = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<![^>]*>|<\?.*?\?>|<([A-Za-z_][\w.:-]*)", re.S)


def _element_lines(root: ET.Element, raw: str) -> dict[int, int]:
    """Source line of every element: start tags in the file are in document order, like ``root.iter()``."""
    starts: list[tuple[str, int]] = []
    line, position = 1, 0
    for match in _ELEMENT_START.finditer(raw):
        if match.group(1) is None:
            continue
        line += raw.count("\n", position, match.start())
        position = match.start()
        starts.append((match.group(1), line))
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    if len(elements) != len(starts) or any(el.tag != tag for el, (tag, _) in zip(elements, starts, strict=True)):
        return {}
    return {id(el): number for el, (_, number) in zip(elements, starts, strict=True)}


def _element_text(element: ET.Element, skip: frozenset[str] = frozenset({"redner"})) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag not in skip:
            parts.append(_element_text(child, skip))
        parts.append(child.tail or "")
    text = " ".join("".join(parts).split())
    # One source speech carries JSON-style escapes ("\u2013") as literal text.
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _speaker_from_redner(paragraph: ET.Element) -> str | None:
    label = _element_text(paragraph).strip().rstrip(":").strip()
    if label:
        return label
    name = paragraph.find(".//redner/name")
    if name is None:
        return None
    parts = [name.findtext(tag) or "" for tag in ("titel", "vorname", "namenszusatz", "nachname")]
    label = " ".join(p.strip() for p in parts if p.strip())
    fraktion = (name.findtext("fraktion") or "").strip()
    role = (name.findtext("rolle/rolle_lang") or "").strip()
    if fraktion:
        label += f" ({fraktion})"
    if role:
        label += f", {role}"
    return label or None


class _StructuredWalker:
    def __init__(self, lines: dict[int, int]) -> None:
        self.lines = lines
        self.builder = _Builder()
        self.chair: str | None = None
        self.speaker: str | None = None
        self.appendix = False
        self.excerpt = False

    def line(self, element: ET.Element) -> int | None:
        return self.lines.get(id(element))

    def walk(self, element: ET.Element) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                comment = " ".join((child.text or "").split())
                if comment:
                    self.excerpt = True
                    self.builder.add(f"[Auslassung im Auszug] {comment}", kind="narrative")
                continue
            if tag in ("vorspann", "rednerliste", "inhaltsverzeichnis"):
                continue
            if tag == "tagesordnungspunkt":
                top_id = (child.get("top-id") or "").strip() or "?"
                self.builder.heading(top_id, top_id)
                self.builder.add(f"TOP: {top_id}", kind="agenda", line=self.line(child))
                self.walk(child)
            elif tag == "rede":
                self.speaker = None
                self.walk(child)
                self.speaker = self.chair
            elif tag == "name":
                self.chair = _element_text(child).rstrip(":").strip() or None
                self.speaker = self.chair
            elif tag == "p":
                self.paragraph(child)
            elif tag == "kommentar":
                self.builder.add(_element_text(child), kind="comment", line=self.line(child))
            elif tag == "anlagen":
                self.appendix = True
                self.builder.mark("appendix_start")
                self.walk(child)
            else:
                if tag == "sitzungsverlauf":
                    self.builder.mark("body_start")
                self.walk(child)

    def paragraph(self, element: ET.Element) -> None:
        klasse = element.get("klasse") or ""
        if klasse == "redner" or element.find("redner") is not None:
            self.speaker = _speaker_from_redner(element)
            return
        text = _element_text(element)
        if klasse.startswith("T_"):
            if not self.appendix:
                self.builder.retitle_last_heading(re.sub(r"^(?:ZP\s*)?\d+[a-z]?\s+", "", text))
            self.builder.add(text, kind="agenda", line=self.line(element))
        elif self.speaker is not None and not self.appendix:
            self.builder.add(text, speaker=self.speaker, line=self.line(element))
        else:
            self.builder.add(text, kind="narrative", line=self.line(element))


def _structured_protocol(root: ET.Element, raw: str, source: str) -> Transcript:
    walker = _StructuredWalker(_element_lines(root, raw))
    walker.walk(root)
    wahlperiode = (root.get("wahlperiode") or "").strip()
    number = (root.get("sitzung-nr") or "").strip()
    session = _session(wahlperiode, number)
    metadata: dict[str, Any] = {
        "attribution": BUNDESTAG_ATTRIBUTION,
        "xml_format": "dbtplenarprotokoll (WP 19+)",
        "wahlperiode": int(wahlperiode) if wahlperiode.isdigit() else wahlperiode or None,
        "start_time": root.get("sitzung-start-uhrzeit"),
        "end_time": root.get("sitzung-ende-uhrzeit"),
        "first_page": root.get("start-seitennr"),
    }
    if walker.excerpt:
        metadata["excerpt"] = True
    return _transcript(
        walker.builder,
        source,
        "bundestag-xml",
        title=f"Plenarprotokoll {session}" if session else None,
        body=(root.get("herausgeber") or "Deutscher Bundestag").strip(),
        session=session,
        date=_german_date(root.get("sitzung-datum") or ""),
        place=(root.get("sitzung-ort") or "").strip() or None,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def iter_speeches(transcript: Transcript) -> Iterable[tuple[str, list[Segment]]]:
    """Turns: runs of consecutive speech segments by the same speaker (comments in between do not end a turn)."""
    speaker: str | None = None
    run: list[Segment] = []
    for segment in transcript.segments:
        if segment.kind == "comment":
            continue
        if segment.kind != "speech" or segment.speaker != speaker:
            if run and speaker is not None:
                yield speaker, run
            run = []
            speaker = segment.speaker if segment.kind == "speech" else None
        if segment.kind == "speech":
            run.append(segment)
    if run and speaker is not None:
        yield speaker, run
