"""Structure of a session from its transcript: agenda items and vote results, each tied to its place.

Deterministic and traceable: rules over what the chair says, because the chair states every call of an
agenda item and every result ("Ich rufe Punkt 5 der Tagesordnung auf", "Der Antrag ist abgelehnt",
"Es ist so beschlossen"). A result's text is the transcript's own sentence(s), never a paraphrase; its
outcome, majority and counts are read from that text. What nobody states is not invented: a vote whose
result the chair does not announce is not reported.

Chair: a speaker whose label names a chairing role (Präsident/in, Vizepräsident/in, Vorsitzende/r,
Bürgermeister/in, Landrat/Landrätin, Sitzungsleitung, Kreistagsvorsitzende/r …). When no segment has such a
label (a committee transcript with plain names), every speaker counts as possible chair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kreiswissen.minutes.model import SourceRef, Transcript, Vote
from kreiswissen.text.sentences import split_sentences

_CHAIR = re.compile(
    r"^(?:Alters|Vize|Ober)?(?:präsident(?:in)?|vorsitzende[r]?|bürgermeister(?:in)?|landr(?:at|ätin)|"
    r"sitzungsleit(?:er|erin|ung)|kreistagsvorsitzende[r]?|ratsvorsitzende[r]?|ausschussvorsitzende[r]?)\b",
    re.IGNORECASE)
_CHAIR_ANYWHERE = re.compile(r"\b(?:Vorsitz|Vorsitzende[r]?|Sitzungsleitung)\b")

# "Ich rufe Punkt 5 der Tagesordnung auf", "rufe ich auf Punkt 3 der Tagesordnung:",
# "Ich rufe die Tagesordnungspunkte 3 a und 3 b auf", "Wir kommen zu TOP 7", "Zusatzpunkt 2"
_ITEM_WORD = r"(?:Tagesordnungspunkte?|Punkte?|TOP|Zusatzpunkte?|ZP)"
_NUMBER = r"(\d{1,3}(?:\s?[a-z]\b)?(?:\.\d{1,2})?)"
_CALL = re.compile(
    r"(?:\brufe\b[^.:!?]{0,60}?\bauf\b\s*:?\s*|\brufe\b[^.:!?]{0,40}?|\b(?:kommen|gehen)\b[^.:!?]{0,20}?"
    r"\b(?:zu|über\s+zu)\b\s*|\bAufruf\b\s*(?:von|des|der)?\s*)(?:den\s+|die\s+)?"
    rf"(?P<word>{_ITEM_WORD})\s*{_NUMBER.replace('(', '(?P<number>', 1)}",
    re.IGNORECASE)
_CALL_UNNUMBERED = re.compile(
    r"\b(?:rufe\s+ich|ich\s+rufe)\s+auf\s*:\s*$|\b(?:rufe\s+ich|ich\s+rufe)\s+auf\s+den\s+(?:letzten|nächsten)\s+"
    r"Punkt\b|\bWir\s+treten\s+(?:nun\s+|jetzt\s+)?(?:ein\s+)?in\s+die\b(?!\s+Mittagspause|\s+Pause)|"
    r"\bhaben\s+wir\s+(?:einen|den)\s+(?:besonderen\s+|nächsten\s+|folgenden\s+|weiteren\s+)?"
    r"Tagesordnungspunkt\s*:?\s*$", re.IGNORECASE)
_CLOSE_DEBATE = re.compile(r"\bIch\s+schließe\s+die\s+(?:Besprechung|Aussprache|Beratung|Debatte)\s+über\s+"
                           r"(?P<title>.{5,})$", re.IGNORECASE)
_NOT_AGENDA = re.compile(r"\b(?:Frage|Fragen|Geschäftsbereich)\s+\d", re.IGNORECASE)

_OUTCOME = re.compile(r"\b(angenommen|abgelehnt|überwiesen|verwiesen|zurückverwiesen|zurückgezogen|vertagt|"
                      r"abgesetzt)\b", re.IGNORECASE)
_STATEMENT = re.compile(r"\b(?:ist|sind|wurde|wurden|worden|wird|werden|damit|also|somit|einstimmig|"
                        r"mehrheitlich|Mehrheit)\b", re.IGNORECASE)
_SO_DECIDED = re.compile(r"\b(?:Es|Dann|Das)\s+ist\s+(?:so\s+)?beschlossen\b|\bso\s+beschlossen\b",
                         re.IGNORECASE)
_NOT_A_RESULT = re.compile(r"\b(?:wenn|falls|sofern|ob|soll|sollen|sollte|kann|können|muss|müssen|werden\s+muss|"
                           r"angenommen\s+werden|bitte|beantragt|wünscht|möchte|darf|dürfen|sei|wäre)\b",
                           re.IGNORECASE)
_AFTER_NOT_RESULT = re.compile(r"^\s*(?:werden|worden\s+sei|zu\s+werden)\b", re.IGNORECASE)
_PAST_REPORT = re.compile(r"\bwar(?:en)?\b.*\bworden\b|\bhatten?\b.*\bbeschlossen\b", re.IGNORECASE)
# Decisions by consent or stated without "angenommen"/"abgelehnt": (pattern, outcome or None = from context).
_CONSENT: list[tuple[re.Pattern[str], str | None, bool]] = [  # (pattern, outcome, is a bare reply)
    (re.compile(r"^(?:[—–-]\s*)?Das\s+ist\s+(?:offenbar\s+|offensichtlich\s+|also\s+)?der\s+Fall\b", re.I), None, True),
    (re.compile(r"\bIch\s+stelle\s+fest,\s+da(?:ß|ss)\s+(?:diese[mr]?\s+\w+\s+|dem\s+)?nicht\s+widersprochen\s+"
                r"wird\b", re.I), None, False),
    (re.compile(r"^(?:Das\s+Haus|Der\s+Rat|Der\s+Kreistag|Der\s+Ausschu(?:ss|ß)|Die\s+Versammlung)\s+ist\s+"
                r"(?:auch\s+|also\s+|offenbar\s+)?(?:damit\s+)?einverstanden\b", re.I), None, False),
    (re.compile(r"\bEs\s+besteht\s+(?:also\s+)?Einm[üu]tigkeit\s+über\s+die\s+(?:Überweisung|Rückverweisung)",
                re.I), "überwiesen", False),
    (re.compile(r"\bDie\s+Mehrheit\s+(?:des\s+Hauses\s+|des\s+Rates\s+|des\s+Kreistages\s+)?wünscht\s+die\s+"
                r"(?:Überweisung|Rückverweisung)", re.I), "überwiesen", False),
    (re.compile(r"\bDie\s+(?:Überweisung|Rückverweisung|Verweisung)\s+ist\s+(?:erfolgt|beschlossen)\b", re.I),
     "überwiesen", False),
    (re.compile(r"^(?:Dazu\s+gibt\s+es|Es\s+besteht|Es\s+herrscht)\s+(?:offensichtlich\s+|offenbar\s+|also\s+)?"
                r"Einvernehmen\b", re.I), None, False),
    (re.compile(r"^(?:Offenbar!?\s*)?Dann\b.{0,60}\bvon\s+der\s+Tagesordnung\s+(?:zu\s+)?(?:streichen|abzusetzen|"
                r"abgesetzt)", re.I), "abgesetzt", False),
]
_CONTEXT_REMOVED = re.compile(r"von\s+der\s+Tagesordnung\s+(?:zu\s+)?(?:streichen|abzusetzen|abgesetzt)|"
                              r"abgesetzt\s+werden", re.I)
_CONTEXT_REFERRAL = re.compile(r"Überweisung|überwiesen|überweisen|verwiesen", re.I)
_MAJORITY_PREFIX = re.compile(r"^(?:Das\s+)?(?:erste|zweite|letzte)?\s*(?:war|ist)\s+(?:die|offenbar\s+die)\s+"
                              r"Mehrheit\b", re.I)
_CONTRADICTED = re.compile(r"^\(\s*Widerspruch", re.I)
_MAJORITY = re.compile(r"\b(einstimmig|einmütig|mehrheitlich|mit\s+(?:großer|überwiegender|knapper|breiter)?\s*"
                       r"Mehrheit|gegen\s+(?:einige|wenige|zahlreiche|\d+)\s+Stimmen|bei\s+(?:einigen|wenigen|"
                       r"zahlreichen|\d+)\s+Enthaltungen|ohne\s+Gegenstimmen?)\b", re.IGNORECASE)
_COUNT = {
    "yes": re.compile(r"(?:mit\s+)?(?:Ja\b(?:-Stimmen)?|dafür|Ja\s+haben\s+gestimmt|Ja-Stimmen)\s*:?\s*(\d{1,4})|"
                      r"(\d{1,4})\s+(?:Ja-Stimmen|Stimmen\s+dafür|Ja\b)", re.IGNORECASE),
    "no": re.compile(r"(?:mit\s+)?(?:Nein\b(?:-Stimmen)?|dagegen|Nein\s+haben\s+gestimmt)\s*:?\s*(\d{1,4})|"
                     r"(\d{1,4})\s+(?:Nein-Stimmen|Gegenstimmen|Stimmen\s+dagegen|Nein\b)", re.IGNORECASE),
    "abstain": re.compile(r"(?:Enthaltungen|enthalten)\s*:?\s*(\d{1,4})|(\d{1,4})\s+Enthaltungen", re.IGNORECASE),
}
_ROLL_CALL = re.compile(r"namentliche[nr]?\s+Abstimmung|abgegebene[n]?\s+Stimmen", re.IGNORECASE)
_MOTION = re.compile(r"(?:Abstimmung\s+über|stimmen\s+(?:jetzt\s+|nun\s+)?(?:ab\s+)?über|die\s+(?:diese[mr]?|dem)\s+)"
                     r"(?P<motion>[^.?!—–]{3,160})", re.IGNORECASE)
_REFERRAL = re.compile(r"Überweisung|überwiesen|verwiesen|Ausschu(?:ss|ß)", re.IGNORECASE)
_RECORD_OWN_VOTE = re.compile(r"(?:Protokoll|Niederschrift)[^.]{0,80}(?:festzuhalten|festgehalten|vermerken|vermerkt|"
                              r"aufzunehmen|aufgenommen)[^.]{0,120}\b(?:ich|meine)\b[^.]{0,80}\b(?:gestimmt|Stimme|"
                              r"enthalten)", re.IGNORECASE)


@dataclass
class ExtractedItem:
    number: str | None
    title: str
    source: SourceRef
    public: bool = True
    votes: list[Vote] = field(default_factory=list)
    source_text: str = ""  # the sentence that called the item (verbatim)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "public": self.public,
                "source": self.source.to_json(), "source_text": self.source_text,
                "votes": [v.to_json() for v in self.votes],
                "decisions": [v.text for v in self.votes if v.outcome == "angenommen"]}


@dataclass
class Structure:
    agenda_items: list[ExtractedItem]
    unassigned_votes: list[Vote]  # results stated before any agenda item was called

    def to_json(self) -> dict[str, Any]:
        return {"agenda_items": [i.to_json() for i in self.agenda_items],
                "unassigned_votes": [v.to_json() for v in self.unassigned_votes]}


def is_chair(label: str | None) -> bool:
    if not label:
        return False
    return bool(_CHAIR.match(label.strip()) or _CHAIR_ANYWHERE.search(label))


def normalise_number(word: str, number: str) -> str:
    """"Punkt 5" → "5", "Tagesordnungspunkt 3 a" → "3a", "Zusatzpunkt 2" → "ZP2"."""
    clean = re.sub(r"\s+", "", number).rstrip(".").lower()
    return f"ZP{clean}" if word.lower().startswith(("zusatz", "zp")) else clean


def _sentences(text: str) -> list[str]:
    # Protocols separate the chair's steps with dashes: "… die Gegenprobe. — Der Antrag ist abgelehnt."
    parts: list[str] = []
    for piece in re.split(r"\s+[—–-]\s+|^\s*[—–-]\s*", text):
        parts += split_sentences(piece)
    return [p.strip() for p in parts if p.strip()]


def _title_after(sentence: str, match: re.Match[str]) -> str:
    rest = sentence[match.end():].strip(" :;,.-—–")
    for _ in range(2):
        rest = re.sub(r"^(?:der\s+Tagesordnung|auf)\b[\s:]*", "", rest, flags=re.IGNORECASE)
    return rest.strip(" :;,.")


_JOINT = re.compile(r"\s*(?:,|und|sowie|bis|–|-)\s*(?:den\s+|die\s+)?(?P<word>" + _ITEM_WORD + r")?\s*"
                    r"(?P<number>\d{1,3}(?:\s?[a-z]\b)?)", re.IGNORECASE)


def called_numbers(sentence: str, call: re.Match[str]) -> list[str]:
    """All items one call names: "Punkte 3 und 4", "Zusatzpunkte 7 bis 9 sowie den Tagesordnungspunkt 30"."""
    word = call.group("word")
    numbers = [normalise_number(word, call.group("number"))]
    position = call.end()
    while True:
        more = _JOINT.match(sentence, position)
        if more is None:
            break
        if more.group("word"):
            word = more.group("word")
        number = normalise_number(word, more.group("number"))
        joiner = sentence[position:more.start("number")]
        first, last = re.sub(r"\D", "", numbers[-1]), re.sub(r"\D", "", number)
        ranged = re.search(r"\bbis\b|[–-]", joiner) is not None
        if ranged and first.isdigit() and last.isdigit() and int(first) < int(last) <= int(first) + 20:
            prefix = "ZP" if number.startswith("ZP") else ""
            numbers += [f"{prefix}{n}" for n in range(int(first) + 1, int(last))]
        numbers.append(number)
        position = more.end()
    return list(dict.fromkeys(numbers))


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[\wäöüß]{4,}", text)}


def consent_outcome(sentence: str, context: str) -> tuple[str, bool] | None:
    """(outcome, bare reply) when the sentence states a decision by consent or without the words
    angenommen/abgelehnt; the outcome of a bare consent follows from what was proposed."""
    for pattern, outcome, bare in _CONSENT:
        if pattern.search(sentence):
            if outcome is None:
                around = f"{context} {sentence}"
                outcome = ("abgesetzt" if _CONTEXT_REMOVED.search(around)
                           else "überwiesen" if _CONTEXT_REFERRAL.search(around) else "angenommen")
            return outcome, bare
    return None


def result_outcome(sentence: str, context: str = "") -> str | None:
    """The outcome a chair's sentence states, or None when it states none (a proposal, a question, a
    condition, a member's request, a report of an earlier decision)."""
    if sentence.rstrip().endswith("?"):
        return None
    if _SO_DECIDED.search(sentence):
        around = f"{context} {sentence}"
        return ("abgesetzt" if _CONTEXT_REMOVED.search(around)
                else "überwiesen" if _CONTEXT_REFERRAL.search(around) else "angenommen")
    match = _OUTCOME.search(sentence)
    if match is None or not _STATEMENT.search(sentence) or _PAST_REPORT.search(sentence):
        return None
    before, after = sentence[:match.start()], sentence[match.end():]
    if _NOT_A_RESULT.search(before) or _AFTER_NOT_RESULT.search(after):
        return None
    if len(re.findall(r"\bPunkte?\b", sentence)) >= 2:  # a summary of several items ("abgesetzt sind …")
        return None
    word = match.group(1).lower()
    if word in ("verwiesen", "überwiesen", "zurückverwiesen"):
        return "überwiesen"
    return word


def _counts(text: str) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for key, pattern in _COUNT.items():
        m = pattern.search(text)
        found[key] = int(next(g for g in m.groups() if g)) if m else None
    return found


def _vote(sentence: str, context: list[str], outcome: str, ref: SourceRef) -> Vote:
    window = " ".join(context[-3:] + [sentence])
    text = sentence
    # "Das erste war die Mehrheit." / "Das ist die Mehrheit." belongs to the statement that follows it.
    if context and (_MAJORITY_PREFIX.search(context[-1]) or re.fullmatch(r"Offenbar!?", context[-1].strip())):
        text = f"{context[-1]} {sentence}"
    majority = _MAJORITY.search(text)
    majority_text = majority.group(0) if majority else ("mehrheitlich" if "Mehrheit" in text else None)
    if majority_text is None and re.search(r"Einm[üu]tigkeit|nicht\s+widersprochen", text):
        majority_text = "einstimmig"
    counts = _counts(text)
    motion = None
    for earlier in reversed(context[-4:]):
        m = _MOTION.search(earlier)
        if m:
            motion = m.group("motion").strip(" ,;:")
            break
    return Vote(outcome=outcome,  # type: ignore[arg-type]
                text=text, source=ref, majority=majority_text,
                yes=counts["yes"], no=counts["no"], abstain=counts["abstain"],
                roll_call=bool(_ROLL_CALL.search(window)) and counts["yes"] is not None, motion=motion)


def extract(transcript: Transcript) -> Structure:
    """Agenda items (called by the chair, or marked by the source format) with the results stated in them."""
    chairs_known = any(is_chair(s.speaker) for s in transcript.segments)
    headings = {h.segment: h for h in transcript.agenda if h.segment is not None}
    items: list[ExtractedItem] = []
    unassigned: list[Vote] = []
    context: list[str] = []
    pending_title: ExtractedItem | None = None  # called without a title: the next chair segment gives it
    last_bare: tuple[list[Vote], Vote] | None = None  # a bare consent ("Das ist der Fall") just recorded

    def record(vote: Vote) -> None:
        (items[-1].votes if items else unassigned).append(vote)

    for segment in transcript.segments:
        if segment.index in headings:
            heading = headings[segment.index]
            # A block without a number ("Zur Geschäftsordnung", "Fragestunde") of the source format is procedure
            # around the agenda, not an item of it.
            if re.search(r"\d", heading.number or ""):
                items.append(ExtractedItem(normalise_number("zp" if heading.number.upper().startswith("Z") else "",
                                                            re.sub(r"^(?:ZP|Zusatzpunkt|TOP)\s*", "", heading.number,
                                                                   flags=re.IGNORECASE)),
                                           heading.title, segment.ref(), heading.public,
                                           source_text=segment.text.strip()))
                pending_title = None
        if segment.kind == "agenda":
            # Descriptive lines of an item in the source format (title, Drucksache): the title if none yet.
            if items and not items[-1].title and segment.text.strip():
                items[-1].title = segment.text.strip()
            continue
        if segment.kind == "comment":
            # "(Widerspruch.)" right after "Das ist der Fall": the house did not agree.
            if last_bare is not None and _CONTRADICTED.search(segment.text.strip()):
                holder, vote = last_bare
                if vote in holder:
                    holder.remove(vote)
            last_bare = None
            continue
        if segment.kind != "speech":
            pending_title = None  # a gap in the record: the title is not known
            last_bare = None
            continue
        chair = is_chair(segment.speaker) if chairs_known else True
        if not chair:
            # A member asks that their own vote be recorded: it belongs to the last result, verbatim.
            latest = (items[-1].votes if items else unassigned)
            if latest and _RECORD_OWN_VOTE.search(segment.text):
                latest[-1].recorded_votes.append(f"{segment.speaker}: {segment.text.strip()}")
            context = []
            last_bare = None
            continue
        if pending_title is not None:
            first = _sentences(segment.text)
            pending_title.title = first[0].rstrip(" ;,") if first else ""
            pending_title = None
            continue
        last_bare = None
        bare_in_segment: list[tuple[list[Vote], Vote]] = []
        for sentence in _sentences(segment.text):
            call = _CALL.search(sentence)
            if call and not _NOT_AGENDA.search(sentence):
                numbers = called_numbers(sentence, call)
                known = {i.number for i in items}
                fresh = [n for n in numbers if n not in known]
                title = _title_after(sentence, call) if len(numbers) == 1 else ""
                for number in fresh:
                    items.append(ExtractedItem(number, title, segment.ref(), source_text=sentence))
                if len(fresh) == 1 and not title:
                    pending_title = items[-1]
                context = []
                continue
            unnumbered = _CALL_UNNUMBERED.search(sentence)
            if unnumbered and not _NOT_AGENDA.search(sentence):
                # "Wir treten ein in die Fragestunde": the title follows; "rufe ich auf:": the next segment has it.
                title = sentence[unnumbered.end():].strip(" :;,.") if "treten" in unnumbered.group(0) else ""
                items.append(ExtractedItem(None, title, segment.ref(), source_text=sentence))
                pending_title = items[-1] if not title else None
                context = []
                continue
            closing = _CLOSE_DEBATE.search(sentence)
            if closing and (not items or len(_words(closing.group("title")) & _words(items[-1].title)) < 2):
                # The debate of an item whose call is not in the transcript (a cut, a late start) ends here.
                items.append(ExtractedItem(None, closing.group("title").rstrip(" ."), segment.ref(),
                                           source_text=sentence))
                context = [sentence]
                continue
            consent = consent_outcome(sentence, " ".join(context[-3:]))
            if consent is not None:
                vote = _vote(sentence, context, consent[0], segment.ref())
                record(vote)
                if consent[1]:
                    bare_in_segment.append((items[-1].votes if items else unassigned, vote))
            else:
                outcome = result_outcome(sentence, " ".join(context[-3:]))
                if outcome is not None:
                    # A bare consent followed by a formal vote in the same breath only settled the wording of
                    # the motion then voted on: the vote is the decision.
                    for holder, earlier in bare_in_segment:
                        if earlier in holder:
                            holder.remove(earlier)
                    bare_in_segment = []
                    record(_vote(sentence, context, outcome, segment.ref()))
            context.append(sentence)
        if bare_in_segment:
            last_bare = bare_in_segment[-1]
    return Structure(items, unassigned)
