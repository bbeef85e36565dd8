"""Follow-up questions made standalone, so retrieval sees what the clerk means.

"Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?" followed by "Und für den dritten Hund?"
must search for "Wie hoch ist die Hundesteuer für den dritten Hund in Bad Boll?".

With a language model the question is rewritten by it (German prompt, temperature 0); an output that is
empty, far too long, several lines or unrelated to the conversation is discarded, as is a failed call, and
the rules below decide instead. Without a model only the rules run:

- no history, or a question with its own content and no reference back (no leading "Und", no "dafür",
  "dort", "das" …): unchanged;
- a fragment ("Und für den dritten Hund?", "Und in Aichelberg?", "Was ist mit Kampfhunden?", "Wie sieht es
  in Gruibingen aus?", "Gilt das auch für Katzen?"): its phrases replace the matching phrases of the
  previous standalone question (same preposition, same head noun, or the place);
- a full question that refers back ("Was kostet das?", "Wer ist dafür zuständig?", "Welche Bücherei gibt
  es dort?"): the pronoun becomes the previous question's topic, "dort" its place;
- anything else that needs the history: the question followed by the previous question's content words.

German only. The rules read German capitalisation (nouns and names are capitalised); questions typed all in
lower case get coarser phrase boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kreiswissen.answer.conversations import Turn
from kreiswissen.models.generator import ChatMessage, GenerationFailed, Generator, complete
from kreiswissen.text.analyzer import stem, stopwords
from kreiswissen.text.decompound import split_compound
from kreiswissen.text.normalize import fold

Kind = Literal["unchanged", "resolved", "fallback"]

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*-?")

LEADS = frozenset({"und", "aber", "auch", "also", "oder", "sowie", "ach", "dann"})
QUESTION_WORDS = frozenset({
    "wie", "was", "wer", "wen", "wem", "wessen", "wo", "wann", "warum", "wieso", "weshalb", "weswegen", "wozu",
    "wofür", "woher", "wohin", "womit", "wodurch", "worauf", "worüber", "wieviel", "wieviele", "inwiefern",
    "welche", "welcher", "welches", "welchen", "welchem",
})
# Finite verbs that open questions ("Gibt es …", "Muss ich …"): a clause, not a fragment.
FINITE_VERBS = frozenset({
    "ist", "sind", "war", "waren", "gibt", "gab", "gilt", "gelten", "muss", "müssen", "musste", "kann", "können",
    "darf", "dürfen", "soll", "sollen", "sollte", "wird", "werden", "würde", "hat", "haben", "habe", "brauche",
    "braucht", "brauchen", "benötige", "benötigt", "kostet", "kosten", "dauert", "geht", "bekomme", "bekommt",
    "zahle", "zahlt", "bin",
})
PERSONAL = frozenset({"ich", "man", "wir", "du", "er", "sie", "ihr"})
PREPOSITIONS = frozenset({
    "für", "in", "im", "ins", "bei", "beim", "mit", "ohne", "von", "vom", "zu", "zum", "zur", "nach", "aus", "an",
    "am", "auf", "über", "unter", "gegen", "ab", "seit", "bis", "wegen", "während", "innerhalb", "außerhalb",
    "durch", "um", "hinsichtlich", "bezüglich", "laut", "gemäß", "trotz", "statt", "anstatt",
})
# Fused forms compare as their preposition.
_PREP_BASE = {"im": "in", "ins": "in", "beim": "bei", "vom": "von", "zum": "zu", "zur": "zu", "am": "an"}
DETERMINERS = frozenset({
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines", "kein", "keine",
    "keinen", "keinem", "keiner", "mein", "meine", "meinen", "meinem", "meiner", "unser", "unsere", "unseren",
    "unserem", "unserer", "ihr", "ihre", "ihren", "ihrem", "ihrer", "sein", "seine", "seinen", "seinem", "dieser",
    "diese", "diesen", "diesem", "dieses", "jeder", "jede", "jeden", "jedem", "jedes", "alle", "allen",
})
_CLAUSE_BREAK = frozenset({"und", "oder", "sowie", "aber", "bzw", "wenn", "dass", "ob", "weil", "als", "wie"})
# Pronominal adverbs: "dafür" stands for "für" + what was asked about.
PRONOMINAL_ADVERBS = {
    "dafür": "für", "hierfür": "für", "dazu": "zu", "hierzu": "zu", "davon": "von", "hiervon": "von",
    "darüber": "über", "hierüber": "über", "dabei": "bei", "hierbei": "bei", "darauf": "auf", "hierauf": "auf",
    "daran": "an", "darin": "in", "hierin": "in", "dagegen": "gegen", "damit": "mit", "hiermit": "mit",
}
PLACE_ADVERBS = frozenset({"dort", "dorthin", "ebendort", "dortselbst"})
# Third-person pronouns that stand for what was asked about ("Wann muss ich ihn anmelden?").
PERSONAL_ANAPHORA = frozenset({"er", "sie", "ihn", "es"})
_EXPLETIVE_BEFORE = frozenset({"gibt", "gab", "geht", "handelt", "lohnt", "reicht", "bleibt"})
DEMONSTRATIVES = frozenset({"das", "dies", "dieses", "diese", "dasselbe", "dieselbe", "dieselben", "derselbe"})
_SAME = re.compile(r"\b(?:das|der|die|den)\s+(?:gleiche|gleichen|selbe|selben)\b", re.IGNORECASE)
_ORDINAL = re.compile(r"^(?P<stem>erst|zweit|dritt|viert|fünft|sechst|siebt|siebent|acht|neunt|zehnt|weiter|nächst|"
                      r"letzt|ander|jed|einzig)(?P<end>e|en|er|es|em)?$")
# Names of municipalities and parts of them, recognised by form: "Bad Boll", "Gruibingen", "Aichelberg".
_PLACE_SUFFIX = re.compile(r"(?:ingen|berg|bach|heim|hausen|dorf|stadt|burg|hofen|weiler|furt|brunn|bronn|stetten|"
                           r"kirchen|beuren|wangen|reut|reute|rode|hagen|tal|lingen)$")
_PLACE_PREFIX = frozenset({"bad", "sankt", "st", "markt"})
PLACE_NOUNS = frozenset({"gemeinde", "stadt", "ortsteil", "ort", "landkreis", "kreis", "kommune", "ortschaft"})
_NOT_PLACE_END = re.compile(r"(?:ung|ungen|heit|heiten|keit|keiten|fällen|fälle|schaft|ion|ionen)$")

# Frames around a fragment: "Was ist mit X?", "Wie sieht es in X aus?", "Gilt das auch für X?".
_FRAMES = (
    re.compile(r"^(?:was|wie) (?:ist|wäre|sieht|steht) (?:es |das )?(?:(?:denn|dann|eigentlich|da) )*"
               r"mit (?P<rest>.+?)(?: aus)?$"),
    re.compile(r"^wie (?:ist|sieht|steht|verhält) (?:es|das|dies) (?:sich )?(?:(?:denn|dann|eigentlich|da) )*"
               r"(?:um )?(?P<rest>.+?)(?: aus)?$"),
    re.compile(r"^(?:gilt|gelten|ist|sind|geht) (?:das|dies|dasselbe|es|das gleiche|das selbe|der gleiche|"
               r"die gleiche|die gleichen) (?:(?:auch|ebenfalls|genauso|so|denn|dann|eigentlich|da) )*"
               r"(?P<rest>(?:" + "|".join(sorted(PREPOSITIONS)) + r") .+)$"),
)

SYSTEM_PROMPT = (
    "Du hilfst in einem Auskunftssystem einer Kommunalverwaltung. Formuliere die letzte Frage als eigenständige "
    "Frage, die ohne den Gesprächsverlauf verständlich ist. Übernimm Gemeinde, Ort, Gegenstand und Umstände aus "
    "dem Verlauf, wenn sich die letzte Frage darauf bezieht. Ist die letzte Frage schon eigenständig, gib sie "
    "unverändert zurück. Beantworte die Frage nicht. Antworte nur mit der Frage selbst, in einer Zeile, ohne "
    "Erklärung."
)
HISTORY_TURNS = 3
ANSWER_CHARS = 300


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int

    @property
    def folded(self) -> str:
        return fold(self.text).rstrip("-")

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


@dataclass(frozen=True)
class _Phrase:
    """A noun phrase, with its preposition when it has one ("für einen zweiten Hund", "in Bad Boll")."""

    prep: _Word | None
    words: tuple[_Word, ...]
    cased: bool

    @property
    def start(self) -> int:
        return (self.prep or self.words[0]).start

    @property
    def end(self) -> int:
        return self.words[-1].end

    @property
    def prep_base(self) -> str | None:
        return None if self.prep is None else _PREP_BASE.get(self.prep.folded, self.prep.folded)

    @property
    def nouns(self) -> tuple[_Word, ...]:
        if self.cased:
            return tuple(w for w in self.words if w.capitalised or w.text[:1].isdigit())
        return tuple(w for w in self.words if w.folded not in DETERMINERS and not _ORDINAL.match(w.folded))

    @property
    def modifiers(self) -> tuple[_Word, ...]:
        """Determiner and adjectives before the nouns ("einen zweiten")."""
        nouns = self.nouns
        return self.words[: self.words.index(nouns[0])] if nouns else self.words

    def heads(self) -> set[str]:
        return _heads(self.nouns)

    def is_place(self, places: frozenset[str]) -> bool:
        return _is_place(self.prep_base, self.words, self.cased, places)


def _is_place(prep: str | None, words: Sequence[_Word], cased: bool, places: frozenset[str]) -> bool:
    if not words or words[0].text[:1].isdigit():
        return False
    folded = [w.folded for w in words]
    if " ".join(folded) in places or any(f in places for f in folded):
        return True
    if any(f in PLACE_NOUNS for f in folded) and (not cased or words[-1].capitalised):
        return True  # "in der Gemeinde Gruibingen"
    if folded[0] in DETERMINERS:
        return False
    if cased and not all(w.capitalised for w in words):
        return False
    if folded[0] in _PLACE_PREFIX and len(words) > 1:
        return True
    if _PLACE_SUFFIX.search(folded[-1]):
        return True
    # "in Boll", "in Aichelberg": a bare name after "in" (but not "in Ausnahmefällen").
    return prep == "in" and not _NOT_PLACE_END.search(folded[-1])


def _words(text: str) -> list[_Word]:
    return [_Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _adjacent(text: str, a: _Word, b: _Word) -> bool:
    return not text[a.end:b.start].strip()


def _is_cased(words: Sequence[_Word]) -> bool:
    return any(w.capitalised for w in words[1:])


def _breaks(word: _Word) -> bool:
    f = word.folded
    return (f in PREPOSITIONS or f in QUESTION_WORDS or f in _CLAUSE_BREAK or f in FINITE_VERBS or f in PERSONAL
            or f in PRONOMINAL_ADVERBS or f in PLACE_ADVERBS)


def _np_end(text: str, words: Sequence[_Word], j: int, cased: bool) -> int:
    """Where the noun phrase starting at word ``j`` ends (exclusive); ``j`` when there is none."""
    n = len(words)

    def joined(k: int) -> bool:
        return k == j or _adjacent(text, words[k - 1], words[k])

    if cased:
        k = j
        while k < n and k - j < 3 and joined(k) and not words[k].capitalised and not _breaks(words[k]) \
                and not words[k].text[:1].isdigit():
            k += 1
        m = k
        while m < n and joined(m) and (words[m].capitalised or words[m].text[:1].isdigit()) \
                and words[m].folded not in _CLAUSE_BREAK:
            m += 1
        return m if m > k else j
    k = j
    while k < n and k - j < 4 and joined(k) and not _breaks(words[k]):
        k += 1
    return k


def _initial_noun(words: Sequence[_Word], i: int) -> bool:
    """A capitalised word that is a noun: any but the first; the first unless it looks like the question's
    verb ("Beantrage ich …") or a function word."""
    w = words[i]
    if not w.capitalised:
        return False
    if i > 0:
        return w.folded not in _CLAUSE_BREAK
    f = w.folded
    if f in stopwords() or f in QUESTION_WORDS or f in FINITE_VERBS or f in PREPOSITIONS or f in LEADS:
        return False
    return not (len(words) > 1 and words[1].folded in PERSONAL)


def _phrases(text: str, words: Sequence[_Word] | None = None) -> list[_Phrase]:
    words = _words(text) if words is None else words
    cased = _is_cased(words)
    out: list[_Phrase] = []
    i = 0
    while i < len(words):
        w = words[i]
        f = w.folded
        if f in PREPOSITIONS and i + 1 < len(words) and _adjacent(text, w, words[i + 1]):
            end = _np_end(text, words, i + 1, cased)
            if end > i + 1:
                out.append(_Phrase(w, tuple(words[i + 1:end]), cased))
                i = end
                continue
        elif f in DETERMINERS or (cased and _initial_noun(words, i)):
            # Without capitalisation only an article opens a phrase, and one word is no phrase.
            end = _np_end(text, words, i, cased)
            if end > i + (0 if cased else 1):
                out.append(_Phrase(None, tuple(words[i:end]), cased))
                i = end
                continue
        i += 1
    return out


@dataclass
class _Previous:
    """The previous standalone question, analysed once."""

    text: str
    phrases: list[_Phrase]
    places: frozenset[str]

    @classmethod
    def of(cls, text: str, places: frozenset[str]) -> _Previous:
        return cls(text, _phrases(text), places)

    def place(self) -> _Phrase | None:
        return next((p for p in self.phrases if p.prep is not None and p.is_place(self.places)), None)

    def topic(self) -> str | None:
        """What was asked about: the first noun phrase that is not the place, with a "von …" or genitive
        attribute that follows it ("das Räumen von Gehwegen")."""
        candidates = [p for p in self.phrases if not p.is_place(self.places) and p.nouns]
        bare = [p for p in candidates if p.prep is None]
        if not candidates:
            return None
        chosen = (bare or candidates)[0]
        end = chosen.end
        following = self.phrases[self.phrases.index(chosen) + 1:]
        for nxt in following:
            attached = nxt.prep_base == "von" or (nxt.prep is None and nxt.words[0].folded in {"des", "der"})
            if not attached or self.text[end:nxt.start].strip() or nxt.is_place(self.places):
                break
            end = nxt.end
        return self.text[chosen.words[0].start:end]

    def insert_point(self) -> int:
        """Before the closing punctuation."""
        return len(self.text.rstrip().rstrip("?!.…").rstrip())

    def content_words(self, exclude: set[str]) -> list[str]:
        words = _words(self.text)
        if _is_cased(words):
            found = [w.text for p in self.phrases for w in p.nouns]
        else:
            found = [w.text for w in words if _content(w)]
        out: list[str] = []
        for word in found:
            if word.casefold() not in exclude and word not in out:
                out.append(word)
        return out


def _content(w: _Word) -> bool:
    f = w.folded
    return not (f in stopwords() or f in QUESTION_WORDS or f in FINITE_VERBS or f in PERSONAL or len(f) < 3)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        before, after = text[:start], text[end:]
        if replacement and before and not before.endswith(" ") and start == end:
            replacement = " " + replacement
        text = before + replacement + after
    return _sentence(text)


# -- fragments ---------------------------------------------------------------------------------------------
def _fragment(body: str, words: list[_Word], lead: bool) -> list[_Word] | None:
    """The words of a fragment ("für den dritten Hund", "Aichelberg"), or None for a full question."""
    folded = [w.folded for w in words]
    joined = " ".join(folded)
    for frame in _FRAMES:
        m = frame.match(joined)
        if m:
            first = joined[: m.start("rest")].count(" ")
            last = first + m.group("rest").count(" ") + 1
            return words[first:last]
    if any(f in QUESTION_WORDS or f in FINITE_VERBS for f in folded):
        return None
    if folded[0] in PREPOSITIONS or (lead and len(words) <= 6):
        return words
    return None


def _segments(text: str, words: list[_Word], places: frozenset[str]) -> list[tuple[_Word | None, list[_Word]]] | None:
    """A fragment split at its prepositions; None when a piece is no noun phrase."""
    has_prep = words[0].folded in PREPOSITIONS
    name = words[1:] if has_prep else words
    if name and " ".join(w.folded for w in name) in places:  # "Zell unter Aichelberg" is one name
        return [(words[0] if has_prep else None, list(name))]
    segments: list[tuple[_Word | None, list[_Word]]] = []
    prep: _Word | None = None
    current: list[_Word] = []
    for w in words:
        if w.folded in PREPOSITIONS:
            if prep is not None or current:
                segments.append((prep, current))
            prep, current = w, []
        else:
            current.append(w)
    segments.append((prep, current))
    if any(not ws for _, ws in segments):
        return None
    for _, ws in segments:
        if any(w.folded in PERSONAL or w.folded in PRONOMINAL_ADVERBS or w.folded in PLACE_ADVERBS for w in ws):
            return None
    return segments


def _noun_words(ws: Sequence[_Word], cased: bool) -> list[_Word]:
    if cased:
        return [w for w in ws if w.capitalised or w.text[:1].isdigit()]
    return [w for w in ws if w.folded not in DETERMINERS and not _ORDINAL.match(w.folded)]


def _heads(ws: Sequence[_Word]) -> set[str]:
    """Stems of the nouns and of their last compound part: "Kampfhunden" → {kampfhund, hund}."""
    out: set[str] = set()
    for w in ws:
        out.add(stem(w.folded))
        parts = split_compound(w.folded)
        if parts:
            out.add(stem(parts[-1]))
    return out


def _resolve_fragment(body: str, fragment: list[_Word], prev: _Previous) -> str | None:
    segments = _segments(body, fragment, prev.places)
    if segments is None or not prev.phrases:
        return None
    cased = _is_cased(_words(body)) or any(w.capitalised for w in fragment)
    edits: list[tuple[int, int, str]] = []
    used: set[int] = set()
    for prep, ws in segments:
        phrase_text = body[(prep or ws[0]).start:ws[-1].end]
        np_text = body[ws[0].start:ws[-1].end]
        prep_base = None if prep is None else _PREP_BASE.get(prep.folded, prep.folded)
        nouns = _noun_words(ws, cased)
        heads = _heads(nouns)
        candidates = [p for i, p in enumerate(prev.phrases) if i not in used]

        def take(p: _Phrase) -> None:
            used.add(prev.phrases.index(p))

        if _is_place(prep_base, ws, cased, prev.places) and not any(heads & p.heads() for p in candidates):
            target = next((p for p in candidates if p.prep is not None and p.is_place(prev.places)), None)
            if target is not None:
                take(target)
                if prep is None:  # "Was ist mit Aichelberg?": keep the previous preposition
                    edits.append((target.words[0].start, target.end, np_text))
                else:
                    edits.append((target.start, target.end, phrase_text))
                continue
            at = prev.insert_point()
            edits.append((at, at, phrase_text if prep is not None else "in " + np_text))
            continue
        same_prep = [p for p in candidates if p.prep is not None and p.prep_base == prep_base
                     and not p.is_place(prev.places)]
        matching = [p for p in candidates if heads and heads & p.heads() and not p.is_place(prev.places)]
        if prep is not None:
            pool = [p for p in same_prep if p in matching] or same_prep
        else:
            pool = matching
            if not nouns:  # "Und der dritte?": the phrase with an ordinal or adjective
                pool = [p for p in candidates if p.nouns and len(p.modifiers) > 1
                        and not p.is_place(prev.places)]
        if not pool and prep is not None and matching:  # "bei Kampfhunden" for "für einen zweiten Hund"
            target = matching[0]
            take(target)
            edits.append((target.start, target.end, phrase_text))
            continue
        if not pool:
            if prep is None:
                return None
            edits.append((prev.insert_point(), prev.insert_point(), phrase_text))
            continue
        target = pool[-1] if prep is not None and not (set(pool) & set(matching)) else pool[0]
        take(target)
        replacement = np_text
        if not nouns and target.nouns:  # "für den dritten" keeps the noun: "für den dritten Hund"
            replacement = (prep is None and _swap_ordinal(prev.text, target, ws)) or (
                np_text + " " + prev.text[target.nouns[0].start:target.nouns[-1].end])
        if prep is None:
            edits.append((target.words[0].start, target.end, replacement))
        else:
            edits.append((target.start, target.end, prep.text + " " + replacement))
    return _apply(prev.text, edits)


def _swap_ordinal(text: str, target: _Phrase, fragment: Sequence[_Word]) -> str | None:
    """"Und der dritte?" for "für einen zweiten Hund": "einen dritten Hund", in the target's case."""
    new = next((m for w in fragment if (m := _ORDINAL.match(w.folded))), None)
    old = next(((w, m) for w in target.modifiers if (m := _ORDINAL.match(w.folded))), None)
    if new is None or old is None:
        return None
    word, match = old
    swapped = new.group("stem") + (match.group("end") or "")
    return text[target.words[0].start:word.start] + swapped + text[word.end:target.end]


# -- full questions that refer back --------------------------------------------------------------------
def _nominative(topic: str) -> str:
    """Accusative masculine to nominative ("einen gültigen Ausweis" → "ein gültiger Ausweis") where the form
    is unambiguous; everything else unchanged."""
    ws = topic.split(" ")
    if len(ws) < 2:
        return topic
    det = ws[0].casefold()
    if det == "einen":
        ws[0] = ws[0][:-2]
        ending = "er"
    elif det == "den" and not ws[-1].endswith("n"):
        ws[0] = ws[0][:-1] + "r"
        ending = "e"
    else:
        return topic
    for i in range(1, len(ws) - 1):
        if ws[i][:1].islower() and ws[i].endswith("en"):
            ws[i] = ws[i][:-2] + ending
    return " ".join(ws)


def _has_place(text: str, places: frozenset[str]) -> bool:
    return any(p.prep is not None and p.is_place(places) for p in _phrases(text))


def _resolve_references(body: str, words: list[_Word], prev: _Previous) -> str | None | Literal[False]:
    """Substitute "dort", "dafür", "das" …; False when there is nothing to substitute, None when it fails."""
    cased = _is_cased(words)
    place = prev.place()
    topic = prev.topic()
    own_place = _has_place(body, prev.places)
    folded = [w.folded for w in words]
    own_nouns = _own_nouns(body, words)
    edits: list[tuple[int, int, str]] = []
    need_place = not own_place and place is not None and not any(f in PLACE_ADVERBS for f in folded)
    place_text = prev.text[place.start:place.end] if place is not None else ""

    def with_place(text: str) -> str:
        nonlocal need_place
        if need_place and place_text and place_text.casefold() not in text.casefold():
            need_place = False
            return f"{text} {place_text}"
        return text

    same = _SAME.search(body)
    for i, w in enumerate(words):
        f = w.folded
        if same and w.start == same.start():
            if topic is None:
                return None
            end = next(x.end for x in words if x.end >= same.end())
            nominative = not any(x in PERSONAL for x in folded)
            edits.append((w.start, end, with_place(_nominative(topic) if nominative else topic)))
        elif same and same.start() < w.start < same.end():
            continue
        elif f in PLACE_ADVERBS:
            if place is None:
                return None
            edits.append((w.start, w.end, place_text))
        elif f in PRONOMINAL_ADVERBS and not (i > 0 and body[words[i - 1].end:w.start].strip() == ","):
            if topic is None:
                return None
            edits.append((w.start, w.end, with_place(f"{PRONOMINAL_ADVERBS[f]} {topic}")))
        elif (f in DEMONSTRATIVES and _standalone_pronoun(body, words, i, cased)) or _personal_anaphor(
                body, words, i, own_nouns):
            if topic is None:
                return None
            # Nominative unless someone else is the subject ("Wo beantrage ich das?").
            nominative = f != "ihn" and not any(x in PERSONAL for j, x in enumerate(folded) if j != i)
            edits.append((w.start, w.end, with_place(_nominative(topic) if nominative else topic)))
    if not edits:
        return False
    return _apply(body, edits)


def _personal_anaphor(text: str, words: Sequence[_Word], i: int, own_nouns: int) -> bool:
    """"sie" in "Wie hoch ist sie dort?", "ihn" in "Wann muss ich ihn anmelden?"; not the formal "Sie", not
    the "es" of "Gibt es …" or of "Wie lange dauert es, bis …"."""
    w = words[i]
    f = w.folded
    if f not in PERSONAL_ANAPHORA or (f == "sie" and w.capitalised):
        return False
    if f == "es":
        if own_nouns or (i > 0 and words[i - 1].folded in _EXPLETIVE_BEFORE):
            return False
        return not text[w.end:].lstrip().startswith(",") and not (
            i + 1 < len(words) and words[i + 1].folded in _EXPLETIVE_BEFORE)
    return True


def _standalone_pronoun(text: str, words: Sequence[_Word], i: int, cased: bool) -> bool:
    """"das" in "Was kostet das?" (a pronoun), not in "das Parken" (an article)."""
    if i > 0 and words[i - 1].folded in PREPOSITIONS:
        return False  # "für das Parken"
    if i + 1 >= len(words) or not _adjacent(text, words[i], words[i + 1]):
        return True
    nxt = words[i + 1]
    if cased:
        return not (nxt.capitalised or _ORDINAL.match(nxt.folded))
    return nxt.folded in stopwords() or nxt.folded in PREPOSITIONS or nxt.folded in FINITE_VERBS


def _own_nouns(body: str, words: Sequence[_Word]) -> int:
    if _is_cased(words) or (words and _initial_noun(words, 0)):
        return sum(len(p.nouns) for p in _phrases(body, words))
    return max(0, sum(1 for w in words if _content(w)) - 1)


def resolve(question: str, previous: str, places: Iterable[str] = ()) -> tuple[str, Kind]:
    """The rules alone: ``question`` made standalone against the ``previous`` standalone question."""
    original = question.strip()
    q = " ".join(original.split())
    words = _words(q)
    if not words or not previous.strip():
        return original, "unchanged"
    place_names = frozenset(fold(" ".join(p.split())) for p in places if p.strip())
    prev = _Previous.of(" ".join(previous.split()), place_names)
    lead = words[0].folded in LEADS and len(words) > 1
    body = q[words[1].start:] if lead else q  # not capitalised yet: "für den dritten Hund" stays lower case
    bwords = _words(body)

    fragment = _fragment(body, bwords, lead)
    if fragment:
        resolved = _resolve_fragment(body, fragment, prev)
        if resolved:
            return resolved, "resolved"
        return _fallback(body, prev), "fallback"

    substituted = _resolve_references(body, bwords, prev)
    if substituted is None:
        return _fallback(body, prev), "fallback"
    if substituted:
        return substituted, "resolved"

    if _own_nouns(body, bwords) == 0:
        return _fallback(body, prev), "fallback"
    place = prev.place()
    if lead and place is not None and not _has_place(body, prev.places):
        end = len(body.rstrip().rstrip("?!.…").rstrip())
        return _apply(body, [(end, end, prev.text[place.start:place.end])]), "resolved"
    if lead:
        return _sentence(body), "unchanged"
    return original, "unchanged"


def _fallback(body: str, prev: _Previous) -> str:
    own = {w.folded for w in _words(body)}
    extra = prev.content_words(own)
    body = _sentence(body)
    return f"{body} ({' '.join(extra)})" if extra else body


# -- with a language model ---------------------------------------------------------------------------------
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_PREFIX = re.compile(r"^(?:eigenständige frage|umformulierte frage|neue frage|frage|standalone question)\s*:\s*",
                     re.IGNORECASE)
_QUOTES = "\"'„“”‚‘’»«`*"


def _messages(question: str, history: Sequence[Turn]) -> list[ChatMessage]:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        answer = " ".join(turn.answer.split())
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
        lines.append(f"Frage: {turn.standalone_question or turn.question}\nAntwort: {answer}")
    user = ("Gesprächsverlauf:\n" + "\n\n".join(lines) + f"\n\nLetzte Frage: {question}\n\n"
            "Eigenständige Frage:")
    return [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user)]


def _clean(output: str, question: str, previous: str) -> str | None:
    """The model's question, or None when the output is unusable."""
    if "<think>" in output.casefold() and "</think>" not in output.casefold():
        return None  # cut off while thinking
    text = _THINK.sub("", output).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    line = _PREFIX.sub("", lines[0]).strip().strip(_QUOTES).strip()
    if len(line) < 3 or len(line) > 3 * (len(question) + len(previous)):
        return None
    words = {w.folded for w in _words(line) if _content(w)}
    known = {w.folded for w in _words(question + " " + previous)}
    if not words or not words & known:
        return None  # nothing of the conversation in it: not a rewrite
    return " ".join(line.split())


def standalone_question(question: str, history: list[Turn], generator: Generator | None = None, *,
                        places: Iterable[str] = ()) -> str:
    """``question`` as a question that needs no history (``history`` oldest first).

    ``places`` optionally names the municipalities and places of the corpus, so "Was ist mit X?" is
    recognised as a change of place also when X does not look like a place name."""
    if not history or not question.strip():
        return question.strip()
    last = history[-1]
    previous = last.standalone_question or last.question
    resolved, kind = resolve(question, previous, places)
    if generator is None or (kind == "unchanged" and _own_nouns(question, _words(question)) >= 2):
        return resolved
    q = " ".join(question.split())
    budget = min(256, max(64, (len(q) + len(previous)) * 2 // 3 + 16))
    try:
        generation = complete(generator, _messages(q, history), max_tokens=budget, temperature=0)
    except GenerationFailed:
        return resolved
    return _clean(generation.text, q, previous) or resolved
