"""The data every step of the minutes assistant shares: a transcript (what was said, by whom, where in the
recording or file) and the structure extracted from it (agenda items, motions, votes, decisions).

Every extracted fact carries a ``SourceRef`` back to its place in the transcript, and vote results and
decision texts are verbatim text of the transcript, never generated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SegmentKind = Literal["speech", "comment", "narrative", "agenda"]
# speech: a contribution of a speaker; comment: interjection or stage direction ("(Beifall …)");
# narrative: protocol lines ("Beginn: 10.30 Uhr"); agenda: an agenda-item heading in the source format.


@dataclass(frozen=True)
class SourceRef:
    """Where in the transcript: the segment's index, and its line in the source file and/or its time in the
    recording (seconds from the start) when the format has them."""

    segment: int
    line: int | None = None
    start_s: float | None = None
    end_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Segment:
    index: int
    text: str
    speaker: str | None = None  # as the source writes it ("Präsident Dr. Norbert Lammert", "Müller (SPD)")
    kind: SegmentKind = "speech"
    line: int | None = None  # 1-based line of the segment's start in the source file
    start_s: float | None = None
    end_s: float | None = None

    def ref(self) -> SourceRef:
        return SourceRef(self.index, self.line, self.start_s, self.end_s)


@dataclass(frozen=True)
class AgendaHeading:
    """An agenda item as the source marks it (protocol XML, an agenda file, OParl), if it does."""

    number: str
    title: str
    public: bool = True
    segment: int | None = None  # first segment of the item in the transcript, when known


@dataclass
class Transcript:
    source: str  # file name or URI
    format: str  # vtt, srt, text, docx, bundestag-xml, audio
    segments: list[Segment]
    title: str | None = None
    body: str | None = None  # "Deutscher Bundestag", "Kreistag Musterkreis", …
    session: str | None = None  # session number, e.g. "18/181"
    date: str | None = None  # ISO date when known
    place: str | None = None
    agenda: list[AgendaHeading] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


VoteOutcome = Literal["angenommen", "abgelehnt", "überwiesen", "zurückgezogen", "vertagt", "abgesetzt",
                      "unentschieden", "offen"]


@dataclass
class Vote:
    outcome: VoteOutcome
    text: str  # verbatim: the sentence(s) of the transcript that state the result
    source: SourceRef
    majority: str | None = None  # "einstimmig", "mehrheitlich", … as stated
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    roll_call: bool = False
    motion: str | None = None  # what was voted on, as stated (e.g. "Änderungsantrag Umdruck Nr. 179")
    recorded_votes: list[str] = field(default_factory=list)  # requests to record one's own vote (verbatim)
    # The outcome is not stated in words but read from where the sentence stands (the chair's first statement after
    # the question put to the vote, a bare "Eindeutige Mehrheit"): the review page asks to check it.
    outcome_inferred: bool = False
    # The decision's wording as read out or recorded before the vote ("Beschluss: Die Gemeindevertretung
    # beschließt …", "Der Beschlussvorschlag lautet: …"), verbatim; None when the transcript gives none.
    wording: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.outcome, "text": self.text, "source": self.source.to_json()}
        counts = {k: v for k, v in (("ja", self.yes), ("nein", self.no), ("enthaltung", self.abstain))
                  if v is not None}
        if counts:
            data["counts"] = counts
        for key in ("majority", "motion", "wording"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.roll_call:
            data["roll_call"] = True
        if self.recorded_votes:
            data["recorded_votes"] = self.recorded_votes
        if self.outcome_inferred:
            data["outcome_inferred"] = True
        return data
