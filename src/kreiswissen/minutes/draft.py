"""The draft of a Niederschrift (NKomVG § 68) from a transcript and the structure extracted from it.

What the law asks for and where it comes from:

- header (body, session, date, place, start and end time, chair, minute-taker): the transcript's metadata,
  protocol lines ("Beginn: 17.00 Uhr", "(Schluss der Sitzung: 19.42 Uhr)"), the first chair speaker; the
  minute-taker is given by the caller;
- attendance: protocol lines "Anwesend: …", "Entschuldigt: …", "Unentschuldigt: …" when the transcript has
  them, otherwise empty: nothing is invented;
- per agenda item: the votes and decisions exactly as ``extract`` found them (verbatim text with its source),
  the motions named in them, referral/withdrawal/postponement from the vote outcomes, and a summary of the
  discussion.

Summary rule (extractive, deterministic): the candidate sentences are those of the speech segments between the
item's call and the next item's call, spoken by members (not the chair, when a chair is recognised), with
8–60 words, that neither thank nor greet nor state a vote result. From each speaker the longest candidate is
kept; of those, the three longest (ties: earlier first) are shown in transcript order, each with its source.
Length is a crude but transparent proxy for content: thanks, greetings and procedure are short. A summary made
by a language model is marked ``summary_mode="generated"`` and rendered as AI-generated.

Follow-up tasks: sentences in which an actor (Verwaltung, Landrat, Fachdienst …) is commissioned or asked to do
something ("Die Verwaltung wird beauftragt, … bis zum 30. Juni 2026 …", "Der Fachdienst wird … prüfen und bis
zur nächsten Sitzung berichten"): who, the sentence as what, and the deadline phrase when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kreiswissen.errors import InputError
from kreiswissen.minutes.extract import ExtractedItem, Structure, is_chair
from kreiswissen.minutes.model import Segment, SourceRef, Transcript, Vote
from kreiswissen.text.sentences import split_sentences

SummaryMode = Literal["extractive", "generated", "edited"]  # edited: written by the Protokollführung
MinutesStatus = Literal["entwurf", "bearbeitet", "genehmigt"]

HEADER_FIELDS = ("title", "body", "session", "date", "place", "start_time", "end_time", "chair", "minute_taker")
ATTENDANCE_FIELDS = ("present", "absent_excused", "absent_unexcused")


@dataclass
class SummarySentence:
    text: str  # verbatim sentence of the transcript (extractive) or generated text
    source: SourceRef | None
    speaker: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.speaker:
            data["speaker"] = self.speaker
        if self.source is not None:
            data["source"] = self.source.to_json()
        return data


@dataclass
class Task:
    who: str
    what: str  # the sentence that gives the task, verbatim
    until: str | None
    source: SourceRef
    item: str | None = None  # number (or title) of the agenda item

    def to_json(self) -> dict[str, Any]:
        return {"who": self.who, "what": self.what, "until": self.until, "item": self.item,
                "source": self.source.to_json()}


@dataclass
class Decision:
    item: str | None  # TOP number
    title: str
    text: str  # verbatim
    source: SourceRef

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "title": self.title, "text": self.text, "source": self.source.to_json()}


@dataclass
class MinutesItem:
    number: str | None
    title: str
    public: bool
    source: SourceRef
    votes: list[Vote] = field(default_factory=list)  # as extracted, verbatim
    summary: list[SummarySentence] = field(default_factory=list)
    summary_mode: SummaryMode = "extractive"
    motions: list[str] = field(default_factory=list)
    referred: bool = False
    withdrawn: bool = False
    postponed: bool = False
    removed: bool = False  # abgesetzt

    @property
    def decisions(self) -> list[str]:
        return [v.wording or v.text for v in self.votes if v.outcome == "angenommen"]

    @property
    def label(self) -> str:
        return f"TOP {self.number}" if self.number else "TOP"

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "public": self.public,
                "source": self.source.to_json(),
                "votes": [v.to_json() for v in self.votes], "decisions": self.decisions,
                "motions": self.motions, "summary": [s.to_json() for s in self.summary],
                "summary_mode": self.summary_mode, "referred": self.referred, "withdrawn": self.withdrawn,
                "postponed": self.postponed, "removed": self.removed}


@dataclass
class Minutes:
    source: str
    title: str | None = None
    body: str | None = None
    session: str | None = None
    date: str | None = None  # ISO
    place: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    chair: str | None = None
    minute_taker: str | None = None
    present: list[str] = field(default_factory=list)
    absent_excused: list[str] = field(default_factory=list)
    absent_unexcused: list[str] = field(default_factory=list)
    items: list[MinutesItem] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    status: MinutesStatus = "entwurf"
    attribution: str | None = None  # e.g. "Quelle: Deutscher Bundestag"

    @property
    def decisions(self) -> list[Decision]:
        return [Decision(item.number, item.title, vote.wording or vote.text, vote.source)
                for item in self.items for vote in item.votes if vote.outcome == "angenommen"]

    @property
    def date_german(self) -> str | None:
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", self.date or "")
        return f"{match.group(3)}.{match.group(2)}.{match.group(1)}" if match else self.date

    def header(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HEADER_FIELDS}

    def attendance(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in ATTENDANCE_FIELDS}

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "source": self.source, "attribution": self.attribution,
                "header": self.header(), "attendance": self.attendance(),
                "agenda_items": [item.to_json() for item in self.items],
                "decisions": [d.to_json() for d in self.decisions],
                "tasks": [t.to_json() for t in self.tasks]}


# --- header -------------------------------------------------------------------------------------------------

_CLOCK = r"(\d{1,2})(?:[.:](\d{2})|\s*Uhr\s*(\d{1,2})\s*(?:Minuten|Min\.?))?\s*(?:Uhr)?"
_START = re.compile(r"\b(?:Beginn(?:\s+der\s+Sitzung)?|Sitzungsbeginn)\s*:?\s*" + _CLOCK, re.IGNORECASE)
_PROTOCOL_LINE = re.compile(r"^\(?\s*(?:Beginn|Sitzungsbeginn|Schlu(?:ss|ß)|Sitzungsende|Ende)\b", re.IGNORECASE)
_END_PUBLIC = re.compile(r"\bSchlu(?:ss|ß)\s+des\s+öffentlichen\s+Teils\s*:?\s*" + _CLOCK, re.IGNORECASE)
_END = re.compile(r"\b(?:Schlu(?:ss|ß)(?:\s+der\s+Sitzung)?|Sitzungsende|Ende\s+der\s+Sitzung)\s*:?\s*" + _CLOCK,
                  re.IGNORECASE)


def _time(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    hours, minutes, spoken_minutes = match.group(1), match.group(2), match.group(3)
    return f"{int(hours):02d}.{int(minutes or spoken_minutes or 0):02d} Uhr"


def normalise_time(text: str) -> str:
    """"10 Uhr 6 Minuten" → "10.06 Uhr", "17:00" → "17.00 Uhr"; unknown forms unchanged."""
    match = re.fullmatch(r"\s*" + _CLOCK + r"\s*\.?\s*", text, re.IGNORECASE)
    return _time(match) or text


# --- attendance ---------------------------------------------------------------------------------------------

_ATTENDANCE = [
    ("absent_unexcused", re.compile(r"^(?:Es\s+fehlte[n]?\s+)?(?:Unentschuldigt|unentschuldigt)(?:\s+fehlte[n]?|"
                                    r"\s+abwesend)?\s*:\s*(?P<names>.+)$", re.S)),
    ("absent_excused", re.compile(r"^(?:Es\s+fehlte[n]?\s+)?(?:Entschuldigt|entschuldigt)(?:\s+fehlte[n]?|"
                                  r"\s+abwesend)?\s*:\s*(?P<names>.+)$", re.S)),
    ("present", re.compile(r"^(?:Anwesend|Anwesende|Teilnehmende|Teilnehmer(?:innen)?)\s*:\s*(?P<names>.+)$",
                           re.S)),
]


# "Sitzungsort: Großer Sitzungssaal", "Schriftführung: Frau Pfaller", "Sitzungstag: Donnerstag, 19. November 2026"
_HEADER_LINES = [
    ("place", re.compile(r"^(?:Sitzungsort|Ort\s+der\s+Sitzung|Ort|Tagungsort)\s*:\s*(?P<value>.+)$", re.I)),
    ("minute_taker", re.compile(r"^(?:Schriftführ(?:ung|er|erin)|Protokollführ(?:ung|er|erin)|Protokoll)\s*:\s*"
                                r"(?P<value>.+)$", re.I)),
    ("chair", re.compile(r"^(?:Vorsitz|Vorsitzende[r]?|Sitzungsleitung)\s*:\s*(?P<value>.+)$", re.I)),
    ("date", re.compile(r"^(?:Sitzungstag|Sitzungsdatum|Datum|Tag\s+der\s+Sitzung)\s*:\s*(?P<value>.+)$", re.I)),
    ("session", re.compile(r"^(?:Sitzungsnummer|Sitzung\s+Nr\.?|Nr\.\s+der\s+Sitzung)\s*:?\s*(?P<value>[\w/.-]+)$",
                           re.I)),
]
_MONTHS = {m: i for i, m in enumerate(("januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                        "september", "oktober", "november", "dezember"), start=1)}
_BODY_LINE = re.compile(r"^(?:Stadt|Gemeinde|Landkreis|Kreis|Markt|Samtgemeinde|Verbandsgemeinde|Ortsgemeinde|"
                        r"Amt|Bezirk|Hansestadt|Kreisstadt|Große\s+Kreisstadt)\s+\S.{0,60}$")
_TITLE_LINE = re.compile(r"\b(?:Niederschrift|Protokoll|Wortprotokoll|Sitzung)\b.{0,160}$", re.I)


def german_date(text: str) -> str | None:
    """"Donnerstag, 19. November 2026", "19.11.2026", "2026-11-19" → "2026-11-19"; None when there is none."""
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if iso:
        return iso.group(0)
    numeric = re.search(r"\b(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})\b", text)
    if numeric:
        day, month, year = numeric.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    spelled = re.search(r"\b(\d{1,2})\.\s*([A-Za-zäÄ]+)\s+(\d{4})\b", text)
    if spelled and spelled.group(2).lower() in _MONTHS:
        return f"{spelled.group(3)}-{_MONTHS[spelled.group(2).lower()]:02d}-{int(spelled.group(1)):02d}"
    return None


def _header_line(minutes: Minutes, text: str) -> None:
    """Header facts a typed Wortprotokoll states in "Key: value" lines; what the transcript already set stays."""
    for name, pattern in _HEADER_LINES:
        found = pattern.match(text)
        if not found:
            continue
        value = " ".join(found.group("value").split()).rstrip(".")
        if name == "date":
            value = german_date(value) or ""
        if value and (name == "chair" or not getattr(minutes, name)):
            setattr(minutes, name, value)  # a stated chair wins over the one guessed from the speakers
        return


def _names(text: str) -> list[str]:
    parts = re.split(r"\s*[;,\n]\s*|\s+und\s+", text.strip().rstrip("."))
    return [p.strip() for p in parts if p.strip() and p.strip() not in ("-", "—", "keine", "niemand")]


# --- summary ------------------------------------------------------------------------------------------------

_COURTESY = re.compile(r"\b(?:danke|dank|bedanke|begrüße|begrüßen|willkommen|guten\s+(?:Morgen|Tag|Abend)|"
                       r"Herr\s+Präsident|Frau\s+Präsidentin|Herr\s+Vorsitzender|Frau\s+Vorsitzende|"
                       r"meine\s+(?:sehr\s+(?:geehrten|verehrten)\s+)?Damen\s+und\s+Herren|Wort\s+hat)\b",
                       re.IGNORECASE)
SUMMARY_SENTENCES = 3
_MIN_WORDS, _MAX_WORDS = 8, 60


def _split(text: str) -> list[str]:
    parts: list[str] = []
    for piece in re.split(r"\s+[—–]\s+|^\s*[—–-]\s*", text):
        parts += split_sentences(piece)
    return [re.sub(r"\s+", " ", p).strip() for p in parts if p.strip()]


def extractive_summary(segments: list[Segment], *, chairs_known: bool, vote_texts: set[str]) -> list[SummarySentence]:
    """The summary rule of the module docstring."""
    best: dict[str, tuple[int, int, SummarySentence]] = {}  # speaker → (length, order, sentence)
    order = 0
    for segment in segments:
        if segment.kind != "speech" or not segment.speaker:
            continue
        if chairs_known and is_chair(segment.speaker):
            continue
        for sentence in _split(segment.text):
            order += 1
            words = len(sentence.split())
            if not _MIN_WORDS <= words <= _MAX_WORDS or sentence.endswith("?") or _COURTESY.search(sentence):
                continue
            if any(sentence in text or text in sentence for text in vote_texts):
                continue
            known = best.get(segment.speaker)
            if known is None or len(sentence) > known[0]:
                best[segment.speaker] = (len(sentence), order, SummarySentence(sentence, segment.ref(),
                                                                               segment.speaker))
    chosen = sorted(best.values(), key=lambda entry: (-entry[0], entry[1]))[:SUMMARY_SENTENCES]
    return [entry[2] for entry in sorted(chosen, key=lambda entry: entry[1])]


# --- tasks --------------------------------------------------------------------------------------------------

_ACTOR = (r"(?:Kreis|Stadt|Gemeinde)?[Vv]erwaltung|Landr(?:at|ätin)|(?:Ober)?[Bb]ürgermeister(?:in)?|"
          r"Kämmer(?:er|in)|Kreisbaurat|Fachdienst\s+[\wÄÖÜäöüß-]+|Fachbereich\s+[\wÄÖÜäöüß-]+|Amt\s+für\s+[\wäöüß]+")
_TASK = re.compile(rf"\b(?:Die|Der|Das)\s+(?P<who>{_ACTOR})\s+(?:wird|werden)\s+(?:(?:hiermit|daher|deshalb|"
                   rf"zudem)\s+)?(?:beauftragt|gebeten|aufgefordert)\b|"
                   rf"\b(?:Die|Der|Das)\s+(?P<who2>{_ACTOR})\s+(?:wird|soll|sagt\s+zu,?)\b.*?"
                   rf"\b(?:prüfen|berichten|vorlegen|erarbeiten|vorbereiten|mitteilen|nachreichen)\b",
                   re.IGNORECASE | re.S)
_UNTIL = re.compile(
    r"\bbis\s+(?:spätestens\s+)?(?:"
    r"(?:zum\s+)?\d{1,2}\.\s*(?:\d{1,2}\.\s*\d{2,4}|[A-ZÄÖÜ][a-zäöü]+(?:\s+\d{4})?)|"  # 30. Juni 2027, 30.6.2027
    r"(?:Ende|Mitte|Anfang)\s+(?:des\s+)?[\wäöüß]+(?:\s+\d{4})?|"  # Ende des Jahres, Ende Mai 2027
    r"(?:zur|zum)\s+(?:[\wäöüß-]+\s+){0,3}?(?:Sitzung|Quartals?|Jahres(?:ende)?|Monats(?:ende)?|Haushalt\w*)\b"
    r"(?:\s+(?:des|der)\s+[\wäöüß-]+)?)")


def find_tasks(segments: list[Segment], item: str | None) -> list[Task]:
    tasks = []
    for segment in segments:
        if segment.kind not in ("speech", "narrative"):
            continue
        for sentence in _split(segment.text):
            match = _TASK.search(sentence)
            if match is None or sentence.endswith("?"):
                continue
            who = re.sub(r"\s+", " ", match.group("who") or match.group("who2"))
            until = _UNTIL.search(sentence)
            tasks.append(Task(who=who[0].upper() + who[1:], what=sentence,
                              until=re.sub(r"\s+", " ", until.group(0)) if until else None,
                              source=segment.ref(), item=item))
    return tasks


# --- the draft ----------------------------------------------------------------------------------------------


def _item_ranges(transcript: Transcript, items: list[ExtractedItem]) -> list[list[Segment]]:
    starts = [item.source.segment for item in items] + [len(transcript.segments)]
    return [transcript.segments[start:max(start, end)] for start, end in zip(starts, starts[1:], strict=False)]


def build_draft(transcript: Transcript, structure: Structure, *, minute_taker: str | None = None,
                overrides: dict[str, Any] | None = None) -> Minutes:
    """The draft (status "entwurf"); ``overrides`` sets header or attendance fields the transcript does not
    state (e.g. ``{"place": "Kreishaus, Sitzungssaal", "present": [...]}``)."""
    minutes = Minutes(source=transcript.source, title=transcript.title, body=transcript.body,
                      session=transcript.session, date=transcript.date, place=transcript.place,
                      minute_taker=minute_taker, attribution=transcript.metadata.get("attribution"))
    meta_start, meta_end = transcript.metadata.get("start_time"), transcript.metadata.get("end_time")
    minutes.start_time = normalise_time(str(meta_start)) if meta_start else None
    minutes.end_time = normalise_time(str(meta_end)) if meta_end else None
    chairs_known = any(is_chair(s.speaker) for s in transcript.segments)
    public_end: str | None = None
    for segment in transcript.segments:
        text = segment.text.strip()
        if segment.kind in ("narrative", "comment") or (len(text) < 80 and _PROTOCOL_LINE.match(text)):
            # (a typed protocol's "Schluss des öffentlichen Teils: 19:31 Uhr" may follow the chair's last words)
            minutes.start_time = minutes.start_time or _time(_START.search(text))
            minutes.end_time = minutes.end_time or _time(_END.search(text))
            public_end = public_end or _time(_END_PUBLIC.search(text))
        if segment.kind == "narrative":
            for line in text.splitlines():
                _header_line(minutes, line.strip())
            if segment.index < 3:  # the head of a typed protocol: "Stadt Eichelstetten", "Niederschrift über …"
                for line in text.splitlines()[:3]:
                    if minutes.body is None and _BODY_LINE.match(line.strip()):
                        minutes.body = line.strip()
                    elif minutes.title is None and _TITLE_LINE.search(line) and len(line) < 200:
                        minutes.title = line.strip()
            for name, pattern in _ATTENDANCE:
                found = pattern.match(text)
                if found:
                    # The names end where the next "Key: value" line of the protocol head begins.
                    names = re.split(r"\n\s*[A-ZÄÖÜ][^:\n]{1,40}:", found.group("names"))[0]
                    getattr(minutes, name).extend(n for n in _names(names) if n not in getattr(minutes, name))
                    break
        if minutes.chair is None and segment.kind == "speech" and chairs_known and is_chair(segment.speaker):
            minutes.chair = segment.speaker
    minutes.end_time = minutes.end_time or public_end  # a protocol of the public part only

    for extracted, segments in zip(structure.agenda_items, _item_ranges(transcript, structure.agenda_items),
                                   strict=True):
        outcomes = {v.outcome for v in extracted.votes}
        motions = list(dict.fromkeys(v.motion for v in extracted.votes if v.motion))
        item = MinutesItem(number=extracted.number, title=extracted.title, public=extracted.public,
                           source=extracted.source, votes=list(extracted.votes), motions=motions,
                           referred="überwiesen" in outcomes, withdrawn="zurückgezogen" in outcomes,
                           postponed="vertagt" in outcomes, removed="abgesetzt" in outcomes)
        item.summary = extractive_summary(segments, chairs_known=chairs_known,
                                          vote_texts={v.text for v in extracted.votes})
        minutes.items.append(item)
        minutes.tasks += find_tasks(segments, extracted.number or extracted.title or None)
    _apply_overrides(minutes, overrides or {})
    return minutes


def _apply_overrides(minutes: Minutes, overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if key in HEADER_FIELDS:
            setattr(minutes, key, None if value is None else str(value))
        elif key in ATTENDANCE_FIELDS:
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise InputError(f"override {key} must be a list of names",
                                 user_message=f"Die Angabe „{key}“ muss eine Liste von Namen sein.")
            setattr(minutes, key, list(value))
        else:
            raise InputError(f"unknown minutes field {key!r}",
                             user_message=f"Unbekanntes Feld der Niederschrift: „{key}“.")
