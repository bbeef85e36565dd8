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

from kreiswissen.minutes.model import AgendaHeading, SourceRef, Transcript, Vote
from kreiswissen.text.sentences import split_sentences

_CHAIR = re.compile(
    r"^(?:(?:Erste[r]?|Zweite[r]?|Dritte[r]?|Stellv\.|stellvertretende[r]?)\s+)?(?:Alters|Vize|Ober|Orts|Kreis|Stadt)?"
    r"(?:präsident(?:in)?|vorsitzende[r]?|bürgermeister(?:in)?|landr(?:at|ätin)|"
    r"sitzungsleit(?:er|erin|ung)|kreistagsvorsitzende[r]?|ratsvorsitzende[r]?|ausschussvorsitzende[r]?|"
    r"(?:stadtverordneten|bürger)?vorsteher(?:in)?|BM|OB|Bgm\.?|Vors\.)(?=\W|$)",
    re.IGNORECASE)
_CHAIR_ANYWHERE = re.compile(r"\b(?:Vorsitz|Vorsitzende[r]?|Sitzungsleitung)\b")

# "Ich rufe Punkt 5 der Tagesordnung auf", "rufe ich auf Punkt 3 der Tagesordnung:",
# "Ich rufe die Tagesordnungspunkte 3 a und 3 b auf", "Wir kommen zu TOP 7", "Zusatzpunkt 2"
_ITEM_WORD = r"(?:Tagesordnungspunkte?|Punkte?|TOP|Zusatzpunkte?|ZP)"
_NUMBER = r"(\d{1,3}(?!\d)(?:\s?[a-z]\b)?(?:\.\d{1,2})?)"
_CALL = re.compile(
    r"(?:\brufe\b[^.:!?]{0,60}?\bauf\b\s*:?\s*|\brufe\b[^.:!?]{0,40}?|\b(?:kommen|gehen)\b[^.:!?]{0,20}?"
    r"\b(?:zu|über\s+zu)\b\s*|\bAufruf\b\s*(?:von|des|der)?\s*)(?:den\s+|die\s+)?"
    rf"(?P<word>{_ITEM_WORD})\s*{_NUMBER.replace('(', '(?P<number>', 1)}",
    re.IGNORECASE)
# A chair's sentence that begins with the item: "Punkt 4 der Tagesordnung: Mitteilungen", "Dann TOP 5, …",
# "Wir sind bei TOP 1", "Als Nächstes haben wir die Vorlage 2026/176, TOP 10", "top drei a abwägung …" (speech
# recognition: no capitals, no punctuation). Not when a verb follows the number ("TOP 11 wird abgesetzt").
_LEAD_WORDS = (r"^(?:(?:und|so|gut|ja|also|dann|nun|jetzt|damit|okay|danke|vielen\s+dank|weiter|prima|schön|noch|"
               r"zunächst|zuerst|zu)\b[\s,.]*)*")
_LEADS = (r"(?:wir\s+sind|sind\s+wir)\s+(?:jetzt\s+|nun\s+|also\s+|dann\s+|damit\s+)?(?:bei|beim)\b(?:[^.?!]{0,60}?,"
          r"\s*das\s+ist)?|als\s+nächstes\s+(?:haben\s+wir|kommt|folgt)?[^.?!]{0,60}?,?|"
          r"(?:wir\s+)?(?:machen|geht(?:\s+es)?)\s+(?:jetzt\s+|dann\s+|nun\s+)?weiter\s+mit|weiter\s+(?:geht\s+es\s+)?mit|"
          r"es\s+folgt|(?:der\s+)?nächste[r]?\s+punkt\s*(?:ist\s+(?:die|der)?|[,:])?|"
          r"(?:wir\s+kommen|kommen\s+wir|ich\s+komme)\s+(?:jetzt\s+|nun\s+|dann\s+)?(?:zu|zum|zur)\b(?:[^.?!,]{0,40},)?|"
          r"ich\s+rufe\s+(?:zuerst\s+|jetzt\s+|nun\s+|dann\s+)?(?:auf\s+)?")
_CALL_LEAD = re.compile(
    _LEAD_WORDS + rf"(?:(?:{_LEADS})\s*)?"
    rf"(?:der\s+|den\s+|die\s+|dem\s+)?(?P<word>{_ITEM_WORD})\s*{_NUMBER.replace('(', '(?P<number>', 1)}"
    r"(?!\s*(?:der\s+Tagesordnung\s+)?(?:wird|wurde|bleibt|entfällt|soll|kann|muss|hat|haben|geht|gilt|"
    r"war|hatten|werden)\b)",
    re.IGNORECASE)
_NOT_A_CALL = re.compile(r"\babzusetzen\b|\bzu\s+(?:beraten|behandeln|vertagen|verschieben|streichen)\b|\?\s*$",
                         re.IGNORECASE)
_SPOKEN_LEAD = re.compile(r"\b(?:sind\s+wir|wir\s+sind|kommen|komme|weiter|nächste[r]?|folgt|rufe|machen)\b",
                          re.IGNORECASE)
_CALL_MID = re.compile(
    r"\b(?:(?:wir\s+sind|sind\s+wir)\s+(?:jetzt\s+|nun\s+|dann\s+|also\s+)?(?:bei|beim)|(?:wir\s+kommen|kommen\s+wir)"
    r"\s+(?:jetzt\s+|nun\s+|dann\s+)?(?:zu|zum))\s+(?:der\s+|dem\s+|den\s+[a-zäöüß]+\s+(?=\d{1,2}\.\d))?"
    rf"(?:(?P<word>{_ITEM_WORD})\s*|(?P<word2>))(?P<number>\d{{1,2}}(?:\.\d{{1,2}})?(?:\s?[a-e]\b)?)(?=[\s,:]+[A-Za-zÄÖÜäöü])",
    re.IGNORECASE)
# A number alone, where it can only be an item: after a lead ("Weiter mit 4.2", "Nächster Punkt ist die 8",
# "Ich rufe zuerst 4.1 auf") or as a sub-item at the start ("Dann 5.2, Antrag …", "6.1, Zuschussantrag …").
_CALL_BARE = re.compile(
    _LEAD_WORDS + rf"(?:(?:{_LEADS})\s*(?P<word>)(?P<number>\d{{1,2}}(?:\.\d{{1,2}})?(?:\s?[a-e]\b)?)|"
    r"(?P<word2>)(?P<number2>\d{1,2}(?:\.\d{1,2}|\s?[a-e]\b))|"
    r"(?:die\s+|der\s+)?(?P<word3>)(?P<number3>\d{1,2})(?=:\s))(?=\s*(?:[,:–-]|auf\b|\s+[A-ZÄÖÜa-zäöü]))"
    r"(?!\s*(?:Uhr|Euro|€|%|Prozent|Minuten|Jahre|Stimmen|Ja|Nein|Mio|Millionen|Tsd|Hektar|km|Kilometer|Meter|"
    r"zu\s+\d))",
    re.IGNORECASE)
# A sentence about an item, not its call: "Punkt 4 … war ebenfalls abgesetzt worden", "TOP 11 wird abgesetzt".
_REPORTED = re.compile(r"\b(?:war|waren|wurde|wurden|worden|ist|sind|wird|werden|bleibt|entfällt)\b[^.?!]{0,80}?"
                       r"\b(?:abgesetzt|erledigt|vertagt|behandelt|zurückgezogen|verschoben|gestrichen|entfällt|"
                       r"worden)\b", re.IGNORECASE)
_NUMBER_WORDS = {"eins": 1, "ein": 1, "eine": 1, "einer": 1, "einem": 1, "einen": 1, "zwei": 2, "drei": 3,
                 "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11,
                 "zwölf": 12, "dreizehn": 13, "vierzehn": 14, "fünfzehn": 15, "sechzehn": 16, "siebzehn": 17,
                 "achtzehn": 18, "neunzehn": 19, "null": 0, "keine": 0, "keiner": 0, "niemand": 0}
_TENS = {"zwanzig": 20, "dreißig": 30, "dreissig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60,
         "siebzig": 70, "achtzig": 80, "neunzig": 90}
_UNIT = r"(?:ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)"
_WORDS_LONGEST_FIRST = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUMBER_WORD = re.compile(
    rf"\b(?:(?P<unit>{_UNIT})und)?(?P<tens>{'|'.join(_TENS)})\b|\b(?P<word>{_WORDS_LONGEST_FIRST})\b",
    re.IGNORECASE)
_SPOKEN_NUMBER = (rf"(?:{_UNIT}und)?(?:{'|'.join(_TENS)})|eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|"
                  r"zwölf|dreizehn|vierzehn|fünfzehn|sechzehn|siebzehn|achtzehn|neunzehn")
_LEAD_NUMBER_WORD = re.compile(
    r"(?P<lead>\b(?:sind\s+wir\s+bei|wir\s+sind\s+bei|weiter\s+mit|komme\s+zu|kommen\s+zu|^dann))\s+"
    rf"(?P<n>{_SPOKEN_NUMBER})(?:\s+(?P<letter>[a-e])\b)?(?=\s+\w)", re.IGNORECASE)
_SPOKEN_SUBITEM = re.compile(rf"\b({_SPOKEN_NUMBER})\s+punkt\s+({_SPOKEN_NUMBER}|\d{{1,2}})\b", re.IGNORECASE)
_SPOKEN_NUMBER_COLON = re.compile(rf"(?P<pre>^(?:(?:jetzt|dann|nun|so)\s+)?(?:(?:wir\s+kommen\s+)?(?:zur|zu|die)\s+)?)"
                                  rf"(?P<n>{_SPOKEN_NUMBER})\s*:(?=\s)", re.IGNORECASE)
_ITEM_NUMBER_WORD = re.compile(rf"\b(?P<item>{_ITEM_WORD})\s+(?P<n>(?:{_UNIT}und)?(?:{'|'.join(_TENS)})|"
                               r"eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|dreizehn|vierzehn|"
                               r"fünfzehn|sechzehn|siebzehn|achtzehn|neunzehn)(?:\s+(?P<letter>[a-e])\b)?",
                               re.IGNORECASE)


def digits(text: str) -> str:
    """German number words as digits ("einunddreißig" → "31", "keine" → "0"), for reading counts."""
    def repl(m: re.Match[str]) -> str:
        if m.group("tens"):
            unit = _NUMBER_WORDS.get((m.group("unit") or "").lower(), 0)
            return str(_TENS[m.group("tens").lower()] + unit)
        return str(_NUMBER_WORDS[m.group("word").lower()])

    return _NUMBER_WORD.sub(repl, text)


def find_call(sentence: str) -> tuple[str, re.Match[str] | None]:
    """The call of an agenda item in a chair's sentence: (the text the match refers to, the match) — the whole
    sentence, or the clause where the call begins ("Tagesordnungspunkt 10 ist abgesetzt, damit sind wir bei
    Punkt 11, …")."""
    call = _CALL.search(sentence)
    if call:
        return sentence, call
    mid = _CALL_MID.search(sentence)  # speech recognition runs clauses together: "… dann sind wir bei neun …"
    if mid and not _REPORTED.search(sentence[mid.start():]):
        return sentence, mid
    starts = [0] + [m.end() for m in re.finditer(r"[,;:]\s+|\s+[–-]\s+", sentence)]
    for start in starts:
        part = sentence[start:]
        found = _CALL_LEAD.match(part) or _CALL_BARE.match(part)
        if not found or _NOT_A_CALL.search(part):
            continue
        if start == 0 and not _REPORTED.search(sentence):
            return part, found
        # In the middle of a sentence only a call that says so: "…, damit sind wir bei Punkt 11"; not the
        # content of a motion ("hat beantragt, die Zusatzpunkte 7, 8 und 9 abzusetzen").
        if (start > 0 and _SPOKEN_LEAD.search(found.group(0)) and not _REPORTED.search(part[:found.end() + 80])
                and not re.search(r"beantrag|vorgeschlagen|schlage\s+vor|Antrag\s+auf", sentence[:start],
                                  re.IGNORECASE)):
            return part, found
    return sentence, None


def item_digits(text: str) -> str:
    """Item numbers spoken as words ("top drei a") as digits ("top 3a"), also after a lead ("wir sind bei neun",
    "dann vier b"), and "Tagesordnungspunkt 8 Punkt 1" as "8.1"; nothing else changes."""
    text = _ITEM_NUMBER_WORD.sub(lambda m: f"{m.group('item')} {digits(m.group('n'))}{(m.group('letter') or '')}",
                                 text)
    text = _LEAD_NUMBER_WORD.sub(lambda m: f"{m.group('lead')} {digits(m.group('n'))}{(m.group('letter') or '')}",
                                 text)
    text = _SPOKEN_SUBITEM.sub(lambda m: f"{digits(m.group(1))}.{digits(m.group(2))}", text)  # "sechs punkt eins"
    text = _SPOKEN_NUMBER_COLON.sub(lambda m: f"{m.group('pre')}{digits(m.group('n'))}:", text)  # "Jetzt die Fünf:"
    return re.sub(r"\b(\d{1,2})\s+Punkt\s+(\d{1,2})\b", r"\1.\2", text)


_CALL_UNNUMBERED = re.compile(
    r"^(?:Dann\s+|Also\s+|Gut,?\s+)?(?:kommen\s+wir|wir\s+kommen)\s+(?:jetzt\s+|nun\s+)?zum\s+(?:nächsten|folgenden)\s+"
    r"(?:Punkt|Tagesordnungspunkt)\b\s*[,:]?(?=\s*\w)|"
    r"\b(?:rufe\s+ich|ich\s+rufe)\s+auf\s*:\s*$|\b(?:rufe\s+ich|ich\s+rufe)\s+auf\s+den\s+(?:letzten|nächsten)\s+"
    r"Punkt\b|\bWir\s+treten\s+(?:nun\s+|jetzt\s+)?(?:ein\s+)?in\s+die\b(?!\s+Mittagspause|\s+Pause)|"
    r"\bhaben\s+wir\s+(?:einen|den)\s+(?:besonderen\s+|nächsten\s+|folgenden\s+|weiteren\s+)?"
    r"Tagesordnungspunkt\s*:?\s*$", re.IGNORECASE)
_CLOSE_DEBATE = re.compile(r"\bIch\s+schließe\s+die\s+(?:Besprechung|Aussprache|Beratung|Debatte)\s+über\s+"
                           r"(?P<title>.{5,})$", re.IGNORECASE)
# The chair's procedure, not an item's title: questions, the floor, calls to vote, findings.
_PROCEDURE = re.compile(r"\?\s*$|\b(?:bitte|Wort|Handzeichen|Wortmeldung(?:en)?|abstimmen|Abstimmung|festgestellt|"
                        r"eröffne|begrüße)\b", re.IGNORECASE)
_NOT_AGENDA = re.compile(r"\b(?:Frage|Fragen|Geschäftsbereich)\s+\d", re.IGNORECASE)

_OUTCOME = re.compile(r"\b(angenommen|abgelehnt|überwiesen|verwiesen|zurückverwiesen|zurückgezogen|vertagt|"
                      r"abgesetzt|genehmigt|gewählt|erteilt|empfohlen|zugestimmt|bestätigt|entlastet|festgestellt|"
                      r"vereinbart|bewilligt|gefasst|stattgegeben|erweitert|ergänzt|bestellt|berufen|entsandt|benannt)\b",
                      re.IGNORECASE)
# Outcome words that state an adoption: minutes approved, a person elected, consent (Einvernehmen) given, a
# committee's recommendation made.
_ADOPTED_WORDS = {"genehmigt", "gewählt", "erteilt", "empfohlen", "zugestimmt", "bestätigt", "entlastet",
                  "festgestellt", "vereinbart", "bewilligt", "gefasst", "stattgegeben", "erweitert", "ergänzt",
                  "bestellt", "berufen", "entsandt", "benannt"}
_ADOPTED_STATEMENT = re.compile(r"\b(?:ist|sind|bist|seid|wurde|wurden|gilt|gelten|hat|haben)\b|"
                                r"^(?:Also|Damit|Somit)\b",
                                re.IGNORECASE)
_ELLIPTIC = re.compile(r"^(?:Also|Damit|Somit)\b", re.IGNORECASE)
# The body itself as the subject of an active perfect ("der Gemeinderat hat einstimmig zugestimmt"); any other
# subject ("Der Aufsichtsrat hat … zugestimmt", "Das Rechnungsprüfungsamt hat … erteilt") is a report.
_OWN_BODY = re.compile(r"\b(?:Gemeinderat|Kreistag|Stadtrat|Rat|Ortschaftsrat|Ortsgemeinderat|Gemeindevertretung|"
                       r"Stadtverordnetenversammlung|Ausschuss|Ausschuß|Bezirksausschuss|Gremium|Haus|wir)\b\s+"
                       r"(?:hat|haben)\b", re.IGNORECASE)
_WHO_ASKS = re.compile(r"\bwer\b(?:\s+\S+){0,5}\s*$", re.IGNORECASE)
_NEGATED = re.compile(r"\bnicht\s+(?:[\wäöüß.,]+\s+){0,2}$", re.IGNORECASE)
_STATEMENT = re.compile(r"\b(?:ist|sind|bist|wurde|wurden|worden|wird|werden|damit|also|somit|einstimmig|"
                        r"mehrheitlich|Mehrheit|gilt|gelten|hat)\b", re.IGNORECASE)
_SO_DECIDED = re.compile(r"\b(?:Es|Dann|Das)\s+ist\s+(?:so\s+)?beschlossen\b|\bso\s+beschlossen\b",
                         re.IGNORECASE)
# "Damit ist der Radweg einstimmig beschlossen", "Der Haushalt wurde mit 30 Ja-Stimmen beschlossen"
_DECIDED = re.compile(r"\b(?:ist|sind|wurde|wurden)\b[^;?]{0,100}?\bbeschlossen\b(?!\s+worden\s+(?:ist|war))|"
                      r"^(?:Damit\s+hat\s+|Der\s+|Die\s+|Das\s+)?(?:\w+\s+)?(?:Kreistag|Rat|Gemeinderat|Stadtrat|"
                      r"Ortsgemeinderat|Ortschaftsrat|Ausschuss|Ausschuß|Versammlung|Stadtverordnetenversammlung|"
                      r"Gremium|Kreisausschuss|Bezirksvertretung)\s+hat\b[^.;?]{0,140}?\bbeschlossen\b|"
                      r"^(?:Damit|Somit|Also)\s+empfiehlt\s+(?:der|die|das)\b|"
                      r"^(?:(?:Damit|Somit|Also|Dann)\s+)?(?:so\s+)?(?:einstimmig|ein\s?stimmig|mehrheitlich)\b"
                      r"[^.;?]{0,80}?\b(?:beschlossen|empfohlen)\b",
                      re.IGNORECASE)
# A report of an earlier decision: "hat im Juli beschlossen", "in seiner Sitzung am 3. März", "bereits".
_EARLIER = re.compile(r"\b(?:am\s+\d+|im\s+(?:Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|"
                      r"November|Dezember|letzten|vergangenen|Vorjahr)|letzte[nmr]?\s+(?:Sitzung|Woche|Jahr|Monat)|"
                      r"vorige[nmr]?|im\s+(?:Frühjahr|Frühling|Sommer|Herbst|Winter)|in\s+seiner\s+Sitzung|seinerzeit|bereits|schon\s+(?:im|am|in)|damals|am\s+[a-zäöü]+ten)\b",
                      re.IGNORECASE)
# "Der Kreistag hat 2021 einstimmig beschlossen": a year after the auxiliary dates a report.
_YEAR_REPORT = re.compile(r"\b(?:hat|haben|hatte|hatten)\s+(?:(?:im\s+Jahr(?:e)?|bereits|schon)\s+)?"
                          r"(?:19|20)\d\d\b")
# The chair's summary of several results is no result of its own.
_SUMMARY = re.compile(r"^(?:Heute?\s+haben\s+wir\s+(?:also\s+)?|"
                      r"(?:Noch\s+)?(?:einmal\s+)?(?:kurz\s+)?zusammengefasst|Zusammenfassend|Ich\s+fasse\s+"
                      r"(?:noch\s+einmal\s+|kurz\s+)?zusammen|Zur\s+Übersicht|Im\s+Überblick|Unterm\s+Strich|"
                      r"Unter\s+dem\s+Strich|Alles\s+in\s+allem)\b", re.IGNORECASE)
_SUMMARY_INNER = re.compile(r"\b(?:kurz\s+)?zusammengefasst\b[^:.]{0,40}:|\bfasse\b[^:.]{0,50}\bzusammen\s*:|"
                            r"\b(?:ein\s+)?(?:kurzer\s+)?Überblick\b[^:.]{0,40}:", re.IGNORECASE)
_NOT_A_RESULT = re.compile(r"\b(?:wenn|falls|sofern|ob|soll|sollen|sollte|kann|können|muss|müssen|werden\s+muss|"
                           r"angenommen\s+werden|bitte|beantragt|wünscht|möchte|darf|dürfen|sei|wäre)\b",
                           re.IGNORECASE)
_AFTER_NOT_RESULT = re.compile(r"^\s*(?:werden|wird|worden\s+sei|zu\s+werden)\b", re.IGNORECASE)
_PAST_REPORT = re.compile(r"\bwar(?:en)?\b.*\bworden\b|\b(?:ist|sind)\b[^.;]{0,100}\b(?:gewählt|abgesetzt|beschlossen|"
                          r"angenommen|abgelehnt|genehmigt|vertagt|überwiesen|verwiesen|zurückgezogen)\s+worden\b|\bhatten?\b.*\b(?:beschlossen|angenommen|abgelehnt|"
                          r"empfohlen|genehmigt|gewählt|zugestimmt|bewilligt)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(?:das\s+hatten\s+wir|wie\s+(?:eingangs|am\s+Anfang|vorhin|bereits|schon)\s+"
                        r"(?:beschlossen|besprochen|gesagt|festgestellt))\b", re.IGNORECASE)
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
    # "Das ist nicht der Fall; so verfahren wir.", speech recognition without punctuation: "gibt es widerspruch gegen
    # eine offene wahl per handzeichen das ist nicht der fall dann wählen wir offen"
    (re.compile(r"(?:^|\b(?:widerspr|einw[äa]nd|bedenken)\w*\b[^.?!]{0,100}?)(?:das\s+ist\s+nicht\s+der\s+fall|"
                r"das\s+sehe\s+ich\s+nicht)[,;]?\s+(?:dann|also|so)\s+(?:wählen|verfahren|machen|stimmen)\s+wir\b",
                re.I),
     None, False),
    (re.compile(r"^(?:Offenbar!?\s*)?Dann\b.{0,60}\bvon\s+der\s+Tagesordnung\s+(?:zu\s+)?(?:streichen|abzusetzen|"
                r"abgesetzt)", re.I), "abgesetzt", False),
]
_BARE_UNANIMOUS = re.compile(r"^(?:danke\s*,?\s*|gut\s*,?\s*|ja\s*,?\s*)?(?:das\s+ist\s+|dann\s+ist\s+das\s+|also\s+)?"
                             r"(?:einstimmig|einmütig)\b(?!\s+(?:angenommen|beschlossen|abgelehnt|gewählt))",
                             re.IGNORECASE)
_VOTE_CALL = re.compile(r"\bwer\s+(?:ist|stimmt|erteilt|möchte|dem|der|die|das|für)\b|Handzeichen|Gegenstimme|"
                        r"Gegenprobe|Enthaltung|Stimmenthaltung|Wer\s+ist\s+dafür", re.IGNORECASE)
_CONSENT_QUESTION = re.compile(r"(?:Widerspr|Einw[äa]nd|Einwendung|Bedenken|Gegenrede|einverstanden)[^?]*\?\s*$",
                               re.IGNORECASE)
# "Gibt es Widerspruch gegen eine offene Wahl?": without objection the election is open; nothing is decided yet.
_OPEN_VOTE = re.compile(r"offene[rn]?\s+(?:Wahl|Abstimmung)|offen\s+(?:wählen|abstimmen)|per\s+Handzeichen\s+"
                        r"(?:wählen|abstimmen)|(?:Wahl|wählen)\s+per\s+Handzeichen", re.IGNORECASE)
_CONSENT_INNER = re.compile(r",\s*(?:und\s+)?ich\s+sehe\s+(?:keinen\s+Widerspruch|keine\s+Einwände|Einvernehmen)\b",
                            re.IGNORECASE)
_CONSENT_QUESTION_ANY = re.compile(r"(?:Widerspr|Einw[äa]nd|Bedenken|Gegenrede|einverstanden)[^?]*\?",
                                   re.IGNORECASE)
_SO_SETTLED = re.compile(r"\b(?:ist|sind)\s+(?:die|der|das)\s+[\wäöüß-]+\s+(?:damit\s+|also\s+)?so\s+"
                         r"(?:gebildet|festgelegt|bestimmt|geregelt|vereinbart|beschlossen)\b", re.IGNORECASE)
_CONSENT_REPLY = re.compile(r"^(?:[—–-]\s*)?(?:Das\s+sehe\s+ich\s+nicht|Das\s+ist\s+nicht\s+der\s+Fall|"
                            r"Ich\s+sehe\s+(?:keinen|keine|niemanden)\b|Keine[rs]?\b|Niemand\b|Nein\b|Sehe\s+ich\s+"
                            r"nicht)", re.IGNORECASE)
_CONSENT_FOLLOW = re.compile(r"^(?:Gut,?\s+)?(?:dann|also)\s+(?:verfahren\s+wir\s+so|machen\s+wir\s+(?:das|es)\s+so|"
                             r"wählen\s+(?:wir|mer)\s+(?:offen|per\s+Handzeichen))\b",
                             re.IGNORECASE)
_CONSENT_STATED = re.compile(r"^(?:Gut,?\s+)?Ich\s+sehe\s+(?:Zustimmung|Einverständnis|Einvernehmen|allgemeine[ns]?\s+"
                             r"(?:Zustimmung|Nicken)|Nicken|Kopfnicken|keinen\s+Widerspruch|keine\s+Einwände)\b|"
                             r"^Widerspruch\s+sehe\s+ich\s+(?:nicht|keinen)\b|"
                             + _CONSENT_FOLLOW.pattern, re.IGNORECASE)
_CONTEXT_REMOVED = re.compile(r"von\s+der\s+Tagesordnung\s+(?:zu\s+)?(?:streichen|abzusetzen|abgesetzt)|"
                              r"abgesetzt\s+werden", re.I)
_CONTEXT_REFERRAL = re.compile(r"Überweisung|überwiesen|überweisen|verwiesen|Verweisung|\bgeht\s+(?:[\wäöü]+\s+){0,3}"
                               r"(?:in\s+(?:den|die|das)|an\s+(?:den|die))\s+(?:[\wäöüß-]+\s+(?:und\s+)?){0,3}[\wäöüß-]*(?:ausschuss|ausschuß|"
                               r"bezirksvertretung|ortsbeirat|ortschaftsrat|beirat)", re.I)
_MAJORITY_PREFIX = re.compile(r"^(?:Das\s+)?(?:erste|zweite|letzte)?\s*(?:war|ist)\s+(?:die|offenbar\s+die)\s+"
                              r"Mehrheit\b", re.I)
_TIE = re.compile(r"Stimmengleichheit|Stimmen\s+gleichheit|\bPatt\b|Gleichstand|\b(\d+|[a-zäöü]+)\s+zu\s+\1\b",
                  re.IGNORECASE)
_RULE = re.compile(r"\b(?:gilt|gelten|ist|sind)\s+(?:ein|eine|jeder|jede)\s+(?:Antrag|Vorlage|Beschluss|"
                   r"Wahlvorschlag)\b", re.IGNORECASE)
_NAMED_ITEM = re.compile(rf"\b({_ITEM_WORD})\s*{_NUMBER}", re.IGNORECASE)
_CONTRADICTED = re.compile(r"^\(\s*Widerspruch", re.I)
_MAJORITY = re.compile(r"\b(einstimmig|ein\s+stimmig|einmütig|mehrheitlich|mit\s+(?:großer|überwiegender|knapper|"
                       r"breiter)?\s*Mehrheit|gegen\s+(?:einige|wenige|zahlreiche|\d+)\s+Stimmen|bei\s+(?:einigen|wenigen|"
                       r"zahlreichen|\d+)\s+Enthaltungen|ohne\s+Gegenstimmen?)\b", re.IGNORECASE)
_COUNT = {
    "yes": re.compile(r"(?:mit\s+)?(?:Ja\b(?:-Stimmen)?|dafür|Ja\s+haben\s+gestimmt|Ja-Stimmen)\s*:?\s*(\d{1,4})|"
                      r"\bmit\s+Ja\s+haben\s+(?:sich\s+)?(\d{1,4})\b|"
                      r"(\d{1,4})\s+(?:Ja-Stimmen|Ja\s*Stimmen|Stimmen\s+dafür|(?:auf|mit)\s+Ja\b|Ja\b)",
                      re.IGNORECASE),
    "no": re.compile(r"(?:mit\s+)?(?:Nein\b(?:-Stimmen)?|dagegen|Gegenstimmen?|Nein\s+haben\s+gestimmt)"
                     r"\s*:?\s*(\d{1,4})|"
                     r"\bmit\s+Nein\s+haben\s+(?:sich\s+)?(\d{1,4})\b|"
                     r"(\d{1,4})\s+(?:Nein-Stimmen|Nein\s*Stimmen|Gegenstimmen?|Stimmen\s+dagegen|(?:auf|mit)\s+Nein\b|"
                     r"Nein\b)", re.IGNORECASE),
    "abstain": re.compile(r"(?:Stimm)?(?:Enthaltungen|Enthaltung|enthalten)\s*:?\s*(\d{1,4})\b|"
                          r"enthalten\s+haben\s+sich\s+(\d{1,4})|(\d{1,4})\s+(?:Stimm)?(?:Enthaltungen|Enthaltung)\b|"
                          r"(\d{1,4})\s+(?:haben\s+sich\s+)?enthalten", re.IGNORECASE),
}
_RATIO = re.compile(r"\b(\d{1,3})\s*(?::|zu)\s*(\d{1,3})\b(?!\s*Uhr)|\bmit\s+(\d{1,3})\s+gegen\s+(\d{1,3})\s+Stimmen\b")
# "mit 21 Stimmen bei einer Enthaltung", "mit acht Stimmen bei drei Gegenstimmen": the votes for it
_FOR_VOTES = re.compile(r"\bmit\s+(\d{1,4})\s+Stimmen\b(?=[^.;]{0,60}\b(?:bei|und|gegen|ohne)\b)", re.IGNORECASE)
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
    # "Bräutigam, Henrik (Landrat)", "Müller (Bürgermeisterin, Vorsitz)": the role in brackets
    roles = [part.strip() for part in re.findall(r"\(([^)]*)\)", label) for part in part.split(",")]
    return bool(_CHAIR.match(label.strip()) or _CHAIR_ANYWHERE.search(label)
                or any(_CHAIR.fullmatch(role) for role in roles))


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
    groups = call.groupdict()
    word = groups.get("word") or groups.get("word2") or ""
    numbers = [normalise_number(word, groups.get("number") or groups.get("number2") or groups.get("number3") or "")]
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


# Calls found by the agenda's order: a chair who names the next item's number ("Wir starten mit Punkt 1 der
# Tagesordnung, …", "Nummer 4.2: …", "Die Sechs: …", "…, das ist unser Punkt 4.") calls it, whatever the lead words.
_SEQ_MENTION = re.compile(rf"\b(?:{_ITEM_WORD}|Nummer)\s*(?P<number>\d{{1,3}}(?:\.\d{{1,2}})?(?:\s?[a-e]\b)?)"
                          r"(?!\s*(?:der\s+Tagesordnung\s+)?(?:wird|wurde|bleibt|entfällt|soll|kann|muss|hat|haben|"
                          r"geht|gilt|war|hatten|werden|ist|sind|kommt|steht|stehen|liegt|möchte|ergänzt|erweitert)\b)",
                          re.IGNORECASE)
_SEQ_BARE = re.compile(r"(?:^|(?<=\s))(?P<number>\d{1,2}(?:\.\d{1,2}|\s?[a-e]\b)?)\s*:\s+(?=[A-ZÄÖÜ])|"
                       r"(?:^|[,:–-]\s+|\b(?i:die|der|noch|mit)\s+)(?P<number2>\d{1,2}(?:\.\d{1,2}|\s?[a-e]\b)?)"
                       r"\s*,\s+(?=[A-ZÄÖÜ])")
_SEQ_WORD = re.compile(rf"\b(?:die|der)\s+(?P<n>{_SPOKEN_NUMBER})(?:\s+(?P<letter>[a-e]))?\s*:\s+(?=[A-ZÄÖÜ])",
                       re.IGNORECASE)
_SEQ_ALONE = re.compile(rf"^(?:(?:und|dann|jetzt|also|so|nun|gut)[,\s]+)?(?:(?:die|der|punkt|top)\s+)?"
                        rf"(?P<n>{_SPOKEN_NUMBER}|\d{{1,2}}(?:\.\d{{1,2}})?)(?:\s?(?P<letter>[a-e]))?\s*[.:!]?\s*$",
                        re.IGNORECASE)
_SEQ_NOT = re.compile(r"\bwer\b|\bbitte\s+ich\b|\bbeantrag|\bvorgeschlagen|\babzusetzen\b|\bzu\s+vertagen\b|"
                      r"\bvon\s+der\s+Tagesordnung\b|\bnach\s+(?:Punkt|TOP)\b|\bvor\s+(?:Punkt|TOP)\b|Öffentlichkeit",
                      re.IGNORECASE)


def successors(last: str | None, removed: set[str]) -> set[str]:
    """The item numbers that may come next after ``last`` ("4" → 5, 5a, 5.1, 4a, 4.1; "4.1" → 4.2, 5, 5.1;
    "8a" → 8b, 9, 9a): items taken off the agenda are skipped."""
    if last is None:
        return {"1", "1.1", "1a"}
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?([a-z])?", last)
    if m is None:
        return set()
    major, minor, letter = int(m.group(1)), m.group(2), m.group(3)
    found: set[str] = set()
    if minor:
        found.add(f"{major}.{int(minor) + 1}")
    elif letter:
        found.add(f"{major}{chr(ord(letter) + 1)}")
    else:
        found |= {f"{major}a", f"{major}.1"}
    following = major + 1
    for _ in range(4):
        found |= {str(following), f"{following}.1", f"{following}a"}
        if str(following) not in removed:
            break
        following += 1
    return found


def sequence_call(sentence: str, last: str | None, called: set[str | None],
                  removed: set[str]) -> tuple[str, str] | None:
    """(number, title) when a chair's sentence names the number of the item that comes next in the agenda's order
    near its start or as "das ist (unser) Punkt N", and is no question, proposal, vote or report."""
    if _SEQ_NOT.search(sentence):
        return None
    # "punkt 10 haben wir ja abgesetzt also punkt 11 …": an item the sentence says is off is skipped as well
    said_off = {m.group(1) for m in re.finditer(r"\b(?:Punkt|TOP|Tagesordnungspunkt)\s*(\d{1,3})\b[^.?!]{0,40}?\b"
                                                r"(?:abgesetzt|vertagt|gestrichen|verschoben|zurückgezogen)\b",
                                                sentence, re.IGNORECASE)}
    expected = successors(last, removed | said_off) - {n for n in called if n}
    if not expected:
        return None
    alone = _SEQ_ALONE.match(sentence)
    if alone:  # "Sieben." then the title in the next sentence
        number = f"{digits(alone.group('n'))}{alone.group('letter') or ''}".lower()
        return (number, "") if number in expected else None
    spoken = _SEQ_WORD.search(sentence)
    candidates: list[tuple[str, int, int]] = []
    if spoken:
        candidates.append((f"{digits(spoken.group('n'))}{spoken.group('letter') or ''}", spoken.start(), spoken.end()))
    for pattern in (_SEQ_MENTION, _SEQ_BARE):
        for m in pattern.finditer(sentence):
            group = "number" if m.group("number") else "number2"
            if re.match(r"\s*(?:,|und|bis|sowie|oder)\s*(?:TOP\s*|Punkt\s*)?\d", sentence[m.end(group):]):
                continue  # "Für die Punkte 11 und 12 …": several items named at once
            candidates.append((re.sub(r"\s+", "", m.group(group)).lower(), m.start(group), m.end()))
    for number, start, end in candidates:
        if number not in expected:
            continue
        before = sentence[:start]
        if "?" in sentence[:end + 60] or _REPORTED.search(sentence[start:]):
            continue  # "Punkt 5 noch Fragen?", "Punkt 5 ist in der letzten Sitzung vertagt worden"
        if start > 70 and not re.search(r",\s*das\s+ist\s+(?:unser|der|die|jetzt)?\s*(?:\S+\s*)?$", before,
                                         re.IGNORECASE):
            continue
        after = sentence[end:].strip(" :;,.-—–")
        after = re.sub(r"^(?:der\s+Tagesordnung|auf)\b[\s:,]*", "", after, flags=re.IGNORECASE).strip(" :;,.")
        title = after or re.sub(r"^(?:\w+\s+){0,3}?(?:zum|zur|mit\s+(?:dem|der|den))\s+|,\s*das\s+ist.*$", "",
                                before, flags=re.IGNORECASE).strip(" :;,.")
        return number, title
    return None


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[\wäöüß]{4,}", text)}


def consent_outcome(sentence: str, context: str) -> tuple[str, bool] | None:
    """(outcome, bare reply) when the sentence states a decision by consent or without the words
    angenommen/abgelehnt; the outcome of a bare consent follows from what was proposed."""
    consent: list[tuple[re.Pattern[str], str | None, bool]] = [(_CONSENT_STATED, None, True),
                                                                (_CONSENT_INNER, None, True)]
    if _CONSENT_QUESTION.search(context) or _CONSENT_QUESTION_ANY.search(context):
        consent.append((_SO_SETTLED, "angenommen", False))  # "… – Keine. Dann ist die Redezeit so festgelegt."
    if _CONSENT_QUESTION.search(context):
        consent.append((_CONSENT_REPLY, None, True))
    for pattern, outcome, bare in _CONSENT + consent:
        if pattern.search(sentence):
            if outcome is None and re.search(r"\bTagesordnung\b[^.]{0,80}\b(?:fest|beschlossen|genehmigt|so)\b",
                                             sentence, re.IGNORECASE):
                outcome = "angenommen"  # "Dann stelle ich die Tagesordnung in der geänderten Fassung fest, …"
            if outcome is None:
                around = f"{context} {sentence}"
                outcome = ("abgesetzt" if _CONTEXT_REMOVED.search(around)
                           else "überwiesen" if _CONTEXT_REFERRAL.search(around) else "angenommen")
            return outcome, bare
    return None


_NO_MAJORITY = re.compile(r"\bkeine\s+(?:erforderliche\s+|notwendige\s+)?Mehrheit\s+(?:gefunden|erhalten|bekommen|"
                          r"erreicht)\b", re.IGNORECASE)
_TAKEN_OFF = re.compile(r"\b(?:ist|sind|wird|wurde)\b[^.;?]{0,60}\bvon\s+der\s+Tagesordnung\s+"
                        r"(?:genommen|gestrichen)\b", re.IGNORECASE)
_WE_RECOMMEND = re.compile(r"^(?:Damit|Somit|Also)\s+(?:schlagen|empfehlen)\s+wir\b", re.IGNORECASE)
_NOBODY_ELECTED = re.compile(r"\bgewählt\s+ist\s+(?:damit\s+|somit\s+|also\s+)?niemand\b|\bniemand\s+(?:ist\s+)?"
                             r"(?:damit\s+)?gewählt\b|\bkein(?:e|er)?\s+(?:der\s+\w+\s+)?(?:ist\s+)?gewählt\b",
                             re.IGNORECASE)
# Closing the debate or the list of speakers by decision ("Das ist die Mehrheit. Die Aussprache ist damit beendet.")
_DEBATE = r"(?:Aussprache|Debatte|Rednerliste|Redeliste)"
_DEBATE_CLOSED = re.compile(rf"\b{_DEBATE}\s+ist\s+(?:damit\s+|also\s+|somit\s+)?(?:beendet|geschlossen)\b|"
                            rf"\bist\s+(?:damit\s+|also\s+|somit\s+)?(?:die|der)\s+{_DEBATE}\s+(?:damit\s+)?"
                            r"(?:beendet|geschlossen)\b", re.IGNORECASE)
_DECISION_CONTEXT = re.compile(r"\bMehrheit\b|mehrheitlich|\bdafür\b|einstimmig|Widerspr|\bNein\b|Gegenprobe|"
                               r"Handzeichen|Einw[äa]nd",
                               re.IGNORECASE)


def result_outcome(sentence: str, context: str = "", following: str = "") -> str | None:
    """The outcome a chair's sentence states, or None when it states none (a proposal, a question, a
    condition, a member's request, a report of an earlier decision, a summary). ``following`` (the chair's
    next sentence) may say where a decided referral goes ("Der Antrag geht in den Bauausschuss")."""
    if sentence.rstrip().endswith("?") or _SUMMARY.search(sentence) or _SUMMARY_INNER.search(sentence[:120]):
        return None
    if _YEAR_REPORT.search(sentence):
        return None  # "Der Kreistag hat 2021 einstimmig beschlossen, …"
    if len(_OUTCOME.findall(sentence)) + len(re.findall(r"\bbeschlossen\b", sentence, re.IGNORECASE)) >= 3:
        return None  # several results in one sentence: a summary
    if _NOBODY_ELECTED.search(sentence):
        return "unentschieden"  # a tied ballot: nobody elected
    if _DEBATE_CLOSED.search(sentence):
        return "angenommen" if _DECISION_CONTEXT.search(context[-160:]) else None
    decided = _DECIDED.search(sentence)
    if _SO_DECIDED.search(sentence) or (decided is not None and not _PAST_REPORT.search(sentence)
                                        and not (decided is not None and _EARLIER.search(sentence[:decided.end()]))
                                        and not _NOT_A_RESULT.search(sentence[:decided.start()])):
        around = f"{context} {sentence} {following}"
        if decided is not None and re.search(r"\bnoch\s+nicht\b", sentence[:decided.end()], re.IGNORECASE):
            return None  # "der Kreistag hat die Satzung noch nicht beschlossen": a state
        if decided is not None and _NEGATED.search(sentence[:decided.end()].rsplit("beschlossen", 1)[0]):
            return "abgelehnt"
        if re.search(r"\bVertagung\b", sentence, re.IGNORECASE):
            return "vertagt"  # "Mit 29 zu 26 Stimmen ist die Vertagung beschlossen"
        if re.search(r"\bAbsetzung\b", sentence, re.IGNORECASE):
            return "abgesetzt"
        return ("abgesetzt" if _CONTEXT_REMOVED.search(around)
                else "überwiesen" if _CONTEXT_REFERRAL.search(around)
                else "vertagt" if _SO_DECIDED.search(sentence) and re.search(r"\bvertag|Vertagung", context,
                                                                            re.IGNORECASE)
                else "angenommen")
    if _NO_MAJORITY.search(sentence) and not _NOT_A_RESULT.search(sentence):
        return "abgelehnt"  # "Damit hat der Änderungsantrag keine Mehrheit gefunden."
    if _TAKEN_OFF.search(sentence) and not _NOT_A_RESULT.search(sentence) and not _REFERENCE.search(sentence):
        return "abgesetzt"  # "dann ist punkt zehn von der tagesordnung genommen"
    if _WE_RECOMMEND.search(sentence):
        return "angenommen"  # "Damit schlagen wir dem Gemeinderat … vor" (an Ortschaftsrat's recommendation)
    # The last outcome word states the result: "wer erteilt das einvernehmen danke das ist einstimmig damit ist
    # das einvernehmen erteilt" (speech recognition runs question and result together).
    found = list(_OUTCOME.finditer(sentence))
    match = found[-1] if found else None
    if match is None or not _STATEMENT.search(sentence) or _PAST_REPORT.search(sentence):
        return None
    before, after = sentence[:match.start()], sentence[match.end():]
    if _NOT_A_RESULT.search(before) or _AFTER_NOT_RESULT.search(after):
        return None
    if len(re.findall(r"\bPunkte?\b", sentence)) >= 2 or len(_NAMED_ITEM.findall(item_digits(sentence))) >= 2:
        return None  # a summary of several items ("abgesetzt sind …", "TOP 13 ist nichtöffentlich, TOP 14 …")
    if _RULE.search(before[-50:]) and not (_TIE.search(sentence) and not _OUTCOME.search(following)):
        return None  # "Bei Stimmengleichheit gilt ein Antrag als abgelehnt": the rule, not the result (unless the
        # tie is stated in the same breath and no result follows: "fünf zu fünf und bei stimmengleichheit ist …")
    word = match.group(1).lower()
    voted = bool(_MAJORITY.search(before)) or _RATIO.search(digits(before)) is not None
    if word == "festgestellt" and not (_MAJORITY.search(sentence) or re.search(r"\d|Stimmen", digits(sentence))):
        return None  # "Die Beschlussfähigkeit ist festgestellt" is a finding; "einstimmig festgestellt" a decision
    if word == "bestätigt" and not re.search(r"Niederschrift|Protokoll|Tagesordnung", sentence, re.IGNORECASE):
        return None  # "das hat auch diese Debatte bestätigt"
    if word == "vereinbart" and not re.search(r"\bso\s+vereinbart", sentence, re.IGNORECASE):
        return None  # "Für die Aussprache wurde eine Dauer von 68 Minuten vereinbart" (an announcement)
    if word == "gefasst" and not re.search(r"beschl(?:u|ü)ss", sentence, re.IGNORECASE):
        return None  # only "der Beschluss ist gefasst"
    if word in ("empfohlen", "bewilligt", "gefasst") and not (
            re.search(r"\b(?:ist|sind|wird|wurde|wurden)\b", before, re.IGNORECASE) or _ELLIPTIC.search(sentence)):
        return None  # "der Werkausschuss hat … empfohlen", "Der Bund hat … bewilligt": another body acted
    if word in ("genehmigt", "bewilligt") and not (voted or _ELLIPTIC.search(sentence) or re.search(
            r"\b(?:damit|somit|also|dann)\b", before, re.IGNORECASE) or _DECISION_CONTEXT.search(context[-200:])
            or _VOTE_CALL.search(context[-200:])):
        return None  # "Die Container sind genehmigt", "… ist die Förderung bewilligt": news, no vote before it
    if word in ("bestellt", "berufen", "entsandt", "benannt") and not re.search(
            r"\bzu[mr]?\s|\bals\s|einstimmig|mehrheitlich|Stimmen", sentence, re.IGNORECASE):
        return None  # "das Steuergerät ist bestellt": no appointment
    if word in ("erweitert", "ergänzt") and not re.search(r"Tagesordnung", sentence, re.IGNORECASE):
        return None
    if (word in _ADOPTED_WORDS and re.search(r"\b(?:hat|haben)\b", before, re.IGNORECASE)
            and not re.search(r"\b(?:ist|sind|wurde|wurden)\b", before, re.IGNORECASE)
            and not _OWN_BODY.search(before)):
        return None  # another body's act: "Der Aufsichtsrat hat deshalb der Bündelung zugestimmt"
    if re.match(r"^\s*\w+\s+(?:hat|haben)\b", sentence[match.start():], re.IGNORECASE) and match.start() < 3:
        return None  # "Abgelehnt hat das die Straßenverkehrsbehörde …": a report
    if re.search(r"\b(?:hat|hatte|haben|hatten)\b", before, re.IGNORECASE) and _EARLIER.search(sentence):
        return None  # "Das Mobilitätsreferat hat den Antrag im Herbst abgelehnt"
    if re.search(r"\bnoch\s+nicht\s*$", before, re.IGNORECASE) or _REFERENCE.search(sentence):
        return None  # a state or a reference, no result: "noch nicht beschlossen", "das hatten wir am Anfang"
    if word in _ADOPTED_WORDS and (_EARLIER.search(sentence) or not (_ADOPTED_STATEMENT.search(before) or voted)):
        return None  # "wurde bereits im März genehmigt", "Dann wird geheim gewählt"
    if _WHO_ASKS.search(before):
        return None  # speech recognition without "?": "wer erteilt das einvernehmen"
    if word in ("verwiesen", "überwiesen", "zurückverwiesen"):
        return "überwiesen"
    if word in _ADOPTED_WORDS:
        if voted and _NEGATED.search(before) and not re.search(r"\bmehrheitlich\b", before, re.IGNORECASE):
            return "angenommen"  # "Einstimmig mit 29:0, die Wettannahmestelle … wird nicht genehmigt": the
            # proposal to refuse is adopted
        word = "angenommen"
    if _NEGATED.search(before) and word in ("angenommen", "abgelehnt"):
        return "abgelehnt" if word == "angenommen" else "angenommen"
    return word


def _counts(text: str) -> dict[str, int | None]:
    text = digits(text)  # "mit einunddreißig Ja-Stimmen", "Enthaltungen keine"
    found: dict[str, int | None] = {}
    used: set[int] = set()  # a figure belongs to one count: "dagegen drei enthaltung eins" has 3 Nein, 1 Enthaltung
    for key, pattern in _COUNT.items():
        found[key] = None
        m = pattern.search(text)
        while m is not None:  # overlapping: "3 enthaltung" is refused, then "enthaltung 1" is found
            group = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i) is not None)
            if m.start(group) not in used:
                used.add(m.start(group))
                found[key] = int(m.group(group))
                break
            m = pattern.search(text, m.start() + 1)
    ratio = _RATIO.search(text)
    if found["yes"] is None and found["no"] is None and ratio:  # "einstimmig, 24:0", "mit 18:6 Stimmen"
        yes, no = (ratio.group(1), ratio.group(2)) if ratio.group(1) else (ratio.group(3), ratio.group(4))
        found["yes"], found["no"] = int(yes), int(no)
    for_votes = _FOR_VOTES.search(text)
    if found["yes"] is None and for_votes:
        found["yes"] = int(for_votes.group(1))
    return found


def as_in_source(text: str, last: str, source: str) -> str:
    """A vote text made of sentences of one segment, as the segment has it (with the dash or the line break
    between them): "Zehn Ja, zwei Nein. – Damit ist der Antrag angenommen." stays so."""
    end = source.find(last)
    if text in source or not text.endswith(last) or end < 0:
        return text
    start = source.rfind(text[: len(text) - len(last)].strip(), 0, end)
    return source[start:end + len(last)] if start >= 0 else text


def _vote(sentence: str, context: list[str], outcome: str, ref: SourceRef, local: int | None = None) -> Vote:
    """The vote a sentence states. ``local`` (when known) is how many of the last ``context`` sentences belong to
    the sentence's own segment: only those are quoted with it, so the text stays at the cited place."""
    window = " ".join(context[-3:] + [sentence])
    text = sentence
    joinable = bool(context) and (local is None or local > 0)
    # "Das erste war die Mehrheit." / "Das ist die Mehrheit." belongs to the statement that follows it.
    if joinable and (_MAJORITY_PREFIX.search(context[-1]) or re.fullmatch(r"Offenbar!?", context[-1].strip())):
        text = f"{context[-1]} {sentence}"
    majority = _MAJORITY.search(text)
    majority_text = majority.group(0) if majority else ("mehrheitlich" if "Mehrheit" in text else None)
    if majority_text is None and re.search(r"Einm[üu]tigkeit|nicht\s+widersprochen", text):
        majority_text = "einstimmig"
    counts = _counts(text)
    if counts["yes"] is None and counts["no"] is None and joinable and result_outcome(context[-1],
                                                                                      following=sentence) is None:
        # "Mit Ja haben 21 Abgeordnete gestimmt, mit Nein 26, enthalten haben sich 2. Damit ist … abgelehnt."
        stated = _counts(context[-1])
        if stated["yes"] is not None and stated["no"] is not None:
            counts, text = stated, f"{context[-1]} {text}"
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


# The result line of a typed protocol: "Abstimmungsergebnis: Ja 7, Nein 2, Enthaltung 1.", "Ergebnis des ersten
# Wahlgangs: …", "Abstimmungsergebnis (namentlich): …" — at the start of a paragraph, or as its speaker label.
_RESULT_LABEL = re.compile(r"(?:^|(?<=[.;!]\s)|(?<=\n))"
                           r"(?P<label>(?:Abstimmungs|Beschluss|Wahl)?[Ee]rgebnis(?:\s+de[rs]\s+"
                           r"(?:\w+\s+){0,2}(?:Abstimmung|Wahl|Wahlgangs|Wiederholungswahl))?|Abstimmung|Votum)"
                           r"(?:\s*\([^)]{0,40}\)|\s+(?:über|zu[mr]?)\s+[^:\n]{0,60})?\s*:\s*")
_ELECTION = re.compile(r"\bWahl|\bBewerber|\bKandidat|\bgewählt\b|\bStimmzettel", re.IGNORECASE)
_NO_ONE_HAS_MAJORITY = re.compile(r"\bkeine[rn]?\s+(?:de[rn]\s+\w+\s+)?(?:hat|haben|erhält|erhielt)\s+die\s+"
                                  r"(?:erforderliche\s+|notwendige\s+)?Mehrheit|Stimmengleichheit", re.IGNORECASE)


def result_record(text: str, speaker: str | None) -> str | None:
    """The result line of a typed protocol in a paragraph (from its label on), or None."""
    if speaker and _RESULT_LABEL.fullmatch(f"{speaker.strip()}: "):
        return f"{speaker.strip()}: {text.strip()}"
    found = _RESULT_LABEL.search(text)
    return text[found.start():].strip() if found is not None else None


def record_outcome(text: str, context: str = "") -> str | None:
    """The outcome a protocol's result line states: in words ("Die Änderungssatzung ist beschlossen"), a tied or
    failed ballot, by the figures (more Ja than Nein: adopted), or "einstimmig"/"mehrheitlich"."""
    body = _RESULT_LABEL.sub("", text, count=1)
    if _ELECTION.search(text) and _NO_ONE_HAS_MAJORITY.search(body):
        return "unentschieden"
    stated = [o for o in (result_outcome(s, context) for s in _sentences(body)) if o is not None]
    if stated:
        return stated[-1]
    counts = _counts(body)
    if counts["yes"] is not None and counts["no"] is not None:
        return "angenommen" if counts["yes"] > counts["no"] else "abgelehnt"
    if _MAJORITY.search(body) or re.search(r"\bMehrheit\b", body):
        if re.search(r"\babgelehnt\b", body, re.IGNORECASE):
            return "abgelehnt"
        return bare_tally_outcome(f"{context} {body}", body)
    return None


_TITLE_LEAD = re.compile(r"\b(?:(?:wir\s+kommen|kommen\s+wir|ich\s+komme)\s+(?:jetzt\s+|nun\s+|dann\s+)?(?:zu|zum|zur)|"
                         r"(?:wir\s+sind|sind\s+wir)\s+(?:jetzt\s+|nun\s+|dann\s+)?(?:bei|beim)|weiter\s+mit|"
                         r"ich\s+rufe\b|nächste[r]?\s+punkt|als\s+nächstes)\b", re.IGNORECASE)
_TITLE_STOP = frozenset({
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "und", "oder", "für", "von", "zur", "zum",
    "zu", "im", "in", "am", "an", "auf", "mit", "über", "nach", "bei", "aus", "sowie", "hier", "heute", "jetzt",
    "nun", "dann", "wir", "kommen", "komme", "sind", "rufe", "ich", "punkt", "top",
    "tagesordnungspunkt", "nächste", "nächster", "nächsten", "weiter", "als", "vorlage", "antrag", "beratung",
    "beschlussfassung"
})


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zäöüß]{4,}", text.lower()) if w not in _TITLE_STOP}


def _agenda_title_call(sentence: str, expected: list[AgendaHeading], called: set[str | None]) -> AgendaHeading | None:
    """The agenda entry a chair's sentence calls by its title ("Wir kommen zum Haushalt" for "Haushaltssatzung
    2027"): a call phrase, and a content word of the sentence that shares its first six letters (or is equal,
    for short words) with a word of a title not yet called. The best overlap wins; ties call nothing."""
    if not expected or not _TITLE_LEAD.search(sentence):
        return None
    spoken = _content_words(sentence[_TITLE_LEAD.search(sentence).start():])  # type: ignore[union-attr]

    def related(a: str, b: str) -> bool:
        return a == b or (len(a) >= 6 and len(b) >= 6 and a[:6] == b[:6])

    scored = []
    for entry in expected:
        if normalise_number("", entry.number) in called:
            continue
        title_words = _content_words(entry.title)
        overlap = sum(1 for w in title_words if any(related(w, s) for s in spoken))
        if overlap:
            scored.append((overlap, entry))
    if not scored:
        return None
    scored.sort(key=lambda x: -x[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    best = scored[0][1]
    return AgendaHeading(normalise_number("", best.number), best.title, best.public)


# A result given as a majority or as figures only ("Eindeutige Mehrheit für die Rückverweisung.", "Mehrheitlich
# dafür.", "Zehn Ja, zwei Nein, keiner enthält sich."), after a vote was called.
_BARE_MAJORITY = re.compile(r"^(?:(?:danke|gut|ja|also|das\s+ist|das\s+war)\s*,?\s*)*"
                            r"(?:(?:eine?\s+)?(?:eindeutige|klare|"
                            r"große|deutliche|breite|überwiegende|knappe)\s+Mehrheit|mehrheitlich)\b", re.IGNORECASE)


def bare_tally(sentence: str, context: str, following: str) -> str | None:
    """The outcome of a result stated as a majority or as figures only, or None."""
    if sentence.rstrip().endswith("?") or re.search(r"\b(?:angenommen|beschlossen|abgelehnt|gewählt|zugestimmt)\b",
                                                    sentence, re.IGNORECASE):
        return None
    around = f"{context} {sentence} {following}"
    if _BARE_MAJORITY.search(sentence):
        if re.search(r"\bdagegen\b", sentence, re.IGNORECASE):
            return "abgelehnt"
        adopted = True
    else:
        counts = _counts(sentence)
        if counts["yes"] is None or counts["no"] is None or re.search(r"\b(?:ich\s+habe|gezählt|zähle)\b", sentence,
                                                                     re.IGNORECASE):
            return None
        adopted = counts["yes"] > counts["no"]
        if not adopted:
            return "abgelehnt"
    return bare_tally_outcome(around, sentence)


def bare_tally_outcome(around: str, sentence: str) -> str:
    """What an adopted result without an outcome word decides: a postponement, a removal, a referral (from the
    sentence and what was put to the vote), or an adoption."""
    if re.search(r"\bVertagung\b|\bvertagt\b", sentence, re.IGNORECASE):
        return "vertagt"
    if re.search(r"\bAbsetzung\b", sentence, re.IGNORECASE):
        return "abgesetzt"
    return "überwiesen" if _CONTEXT_REFERRAL.search(around) else "angenommen"


# The chair's other acts: calling an item, opening or closing.
_CHAIR_ACTS = re.compile(r"\bich\s+rufe\b|\brufe\s+ich\b|\bich\s+eröffne\b|"
                         r"\bich\s+schließe\s+die\s+(?:Sitzung|Aussprache|Debatte|Beratung)\b", re.IGNORECASE)


def chair_work(text: str) -> int:
    """How many sentences of a contribution do the chair's work (call items, put questions to the vote, open or
    close)."""
    return sum(1 for sentence in _sentences(text) if is_vote_call(sentence) or _CHAIR_ACTS.search(sentence))


def chairing_speakers(transcript: Transcript) -> set[str]:
    """Speakers without a chair's title who do the chair's work: put questions to the vote ("Wer ist dafür?",
    "Gegenstimmen?"), call items, open or close the session — at least three times, and at least a third as often
    as the busiest such speaker (a clerk's label such as "Sprecher 7" for the chair)."""
    work: dict[str, int] = {}
    titled = 0  # the work of the speakers with a chair's title
    for segment in transcript.segments:
        if segment.kind != "speech" or not segment.speaker:
            continue
        found = chair_work(segment.text)
        if is_chair(segment.speaker):
            titled += found
        elif found:
            work[segment.speaker] = work.get(segment.speaker, 0) + found
    top = max([titled, *work.values()])
    return {speaker for speaker, n in work.items() if n >= 3 and n * 3 >= top}


_PUT_TO_VOTE = re.compile(r"\bHandzeichen\b|\bGegenstimmen\s*\?|\bEnthaltungen\s*\?|\bGegenprobe\b|"
                          r"\bwer\s+ist\s+(?:dafür|dagegen)\b|\bwer\s+enthält\b|"
                          r"\blasse\s+(?:ich\s+)?(?:jetzt\s+|nun\s+|darüber\s+)*abstimmen\b|\bstimmen\s+(?:wir\s+)?"
                          r"(?:jetzt\s+|nun\s+|dann\s+|darüber\s+)*ab\b|\bbitte\s+die\s+Hand\b", re.IGNORECASE)
_COUNT_REPLY = re.compile(rf"^(?:{_SPOKEN_NUMBER}|\d+|keine[rn]?|niemand|alle)\b", re.IGNORECASE)
_RESULT_VERB = re.compile(r"\b(?:ist|sind|bist|seid|damit|somit|also|geht|gehen)\b", re.IGNORECASE)
# A tally while counting ("Das sind sechs.", "Das ist die Mehrheit.", "ich zähle einundzwanzig"), an order of votes
# ("Der Verweisungsantrag geht vor."), an announcement ("wir werden … zustimmen"): no result yet.
_NO_ANSWER = re.compile(r"^(?:das|es)\s+(?:sind|waren|ist|war)\s+(?:[\wäöüß]+\s+){0,3}?(?:\d+|" + _SPOKEN_NUMBER
                        + r"|Mehrheit|Minderheit|einstimmig|Stimmengleichheit)\b|\bich\s+zähle\b|\bgeht\s+vor\b|"
                        r"\b(?:wir\s+werden|werden\s+wir)\b|\babzustimmen\b|\babstimmen\b|\bstimmen\s+\w+\s+ab\b|"
                        r"\bunterstützt\b|\bnichts\s+gegen\b|\bnoch\s+(?:offen|nicht)\b", re.IGNORECASE)


def is_vote_call(sentence: str) -> bool:
    """Whether the chair puts a question to the vote: "Wer stimmt zu?", "…, den bitte ich um das Handzeichen",
    "Gegenstimmen?", "Dann lasse ich abstimmen"."""
    asks_who = sentence.rstrip().endswith("?") and "wer" in re.findall(r"\w+", sentence.lower())[:5]
    return asks_who or bool(_PUT_TO_VOTE.search(sentence))


def answer_to_call(sentence: str, context: str, following: str) -> str | None:
    """The outcome of the chair's statement right after a question put to the vote, or None when the sentence
    states nothing (a question, a count reply, a thanks, a condition or a report)."""
    if (sentence.rstrip().endswith("?") or len(sentence.split()) < 3 or _COUNT_REPLY.match(sentence)
            or not _RESULT_VERB.search(sentence) or _NOT_A_RESULT.search(sentence) or _PAST_REPORT.search(sentence)
            or is_vote_call(sentence) or _SUMMARY.search(sentence) or _NO_ANSWER.search(sentence)
            or _CONSENT_REPLY.search(sentence)):
        return None
    if re.search(r"\b(?:abgelehnt|keine\s+Mehrheit|nicht\s+angenommen|nicht\s+beschlossen)\b", sentence, re.IGNORECASE):
        return "abgelehnt"
    return bare_tally_outcome(f"{context} {sentence} {following}", sentence)


# The wording of the decision before its vote: a typed protocol's "Beschluss:" / "Beschlussvorschlag:" line, or
# the chair reading it out ("Der Beschlussvorschlag lautet: „…“").
_WORDING_LINE = re.compile(r"^(?:Beschluss(?:vorschlag|text|empfehlung)?|Beschlussvorlage)(?:\s+[^\s:]{1,30})?\s*:\s*"
                           r"(?P<w>\S.{15,})$", re.IGNORECASE | re.DOTALL)
_WORDING_READ = re.compile(r"\b(?:Beschlussvorschlag|Beschlusstext|Beschlussentwurf|(?:der\s+)?Beschluss)\s+lautet"
                           r"\s*:?\s*(?P<w>[„\"].+?[“\"]|\S.{15,}?)(?=\s*(?:Wer\b|$))", re.IGNORECASE | re.DOTALL)


def decision_wording(text: str) -> str | None:
    """The verbatim wording of a decision in a paragraph that records or reads it out, or None."""
    text = text.strip()
    found = _WORDING_LINE.match(text) or _WORDING_READ.search(text)
    return found.group("w").strip().strip("„“\"").strip() if found else None


_TALLY_QUESTION = {
    "yes": re.compile(r"\bwer\s+(?:ist\s+dafür|stimmt\s+(?:zu|dafür)|dem\b|der\b|die\b|das\b|für\b)|\bdafür\s*$|"
                      r"\bHandzeichen\b|\bzustimmt\b", re.IGNORECASE),
    "no": re.compile(r"\bGegenstimmen\b|\bdagegen\s*$|\bwer\s+ist\s+dagegen\b|\bGegenprobe\b", re.IGNORECASE),
    "abstain": re.compile(r"\bEnthaltung(?:en)?\b|\benthält\b|\bStimmenthaltung", re.IGNORECASE),
}
_TALLY_ANSWER = re.compile(r"^\s*[–—-]?\s*(?:das\s+(?:sind|ist|war|waren)\s+)?"
                           r"(?P<n>\d{1,4}|keine[rn]?|niemand|eine[rns]?)\b"
                           r"(?!\s*(?:Uhr|Euro|%|Prozent|Minuten))", re.IGNORECASE)


def read_tally(sentence: str, tally: dict[str, int | None], pending: str | None) -> str | None:
    """Read the answers to the questions put to the vote ("Wer ist dafür? – 17. Gegenstimmen? – Keine.
    Enthaltungen? – Zwei.") into ``tally``; return the kind of a last question whose answer is still to come."""
    pieces = digits(sentence).split("?")
    for position, piece in enumerate(pieces):
        if pending is not None and piece.strip():
            answer = _TALLY_ANSWER.match(piece)
            if answer:
                word = answer.group("n").lower()
                tally[pending] = int(word) if word.isdigit() else (1 if word.startswith("ein") else 0)
            pending = None
        if position < len(pieces) - 1:  # a question
            kind = next((k for k in ("abstain", "no", "yes") if _TALLY_QUESTION[k].search(piece)), None)
            if kind == "yes":
                tally.update(yes=None, no=None, abstain=None)  # a new vote is put
            pending = kind
    return pending


# A member takes the chair: calls an item up, or says so.
_TAKES_CHAIR = re.compile(r"\b(?:ich\s+rufe|rufe\s+ich)\b[^.?!]{0,50}\b(?:Tagesordnungspunkt|TOP|Punkt)\s*\d"
                          r"[^.?!]{0,40}"
                          r"\bauf\b|\b(?:übernehme|übernehmen)\s+(?:ich\s+)?(?:jetzt\s+|nun\s+)?(?:die\s+Sitzungsleitung|"
                          r"den\s+Vorsitz)\b", re.IGNORECASE)


def extract(transcript: Transcript) -> Structure:
    """Agenda items (called by the chair, or marked by the source format) with the results stated in them."""
    chairs_known = any(is_chair(s.speaker) for s in transcript.segments)
    leaders = chairing_speakers(transcript) if chairs_known else set()
    headings = {h.segment: h for h in transcript.agenda if h.segment is not None}
    # The agenda of the invitation (an agenda file, OParl): items the chair calls by their title only
    # ("Wir kommen zum Haushalt") are found by it.
    expected = [h for h in transcript.agenda if h.segment is None]
    items: list[ExtractedItem] = []
    unassigned: list[Vote] = []
    context: list[str] = []
    pending_title: ExtractedItem | None = None  # called without a title: the next chair segment gives it
    last_bare: tuple[list[Vote], Vote] | None = None  # a bare consent ("Das ist der Fall") just recorded

    removed: set[str] = set()  # items taken off the agenda by an earlier decision
    acting: str | None = None  # a member who chairs for a while (the chair is excluded for an item)

    since_call: int | None = None  # chair's sentences since a question was put to the vote, none once answered
    items_at_call = 0

    wording: str | None = None  # the decision's wording read out or recorded before its vote
    wording_at = 0  # the number of items when it was read: a wording belongs to its own item's vote

    tally: dict[str, int | None] = {"yes": None, "no": None, "abstain": None}  # answers to the questions put
    pending_kind: str | None = None  # the last question put, when its answer is in the next sentence

    def record(vote: Vote) -> None:
        nonlocal since_call, wording, pending_kind
        if (since_call is not None and tally["yes"] is not None and vote.yes is None and vote.no is None
                and vote.outcome in ("angenommen", "abgelehnt", "überwiesen", "vertagt", "abgesetzt")):
            # "Wer ist dafür? – 17. Gegenstimmen? – Keine. Enthaltungen? – 2. Damit ist … bestätigt."
            vote.yes, vote.no, vote.abstain = tally["yes"], tally["no"], tally["abstain"]
        tally.update(yes=None, no=None, abstain=None)
        pending_kind = None
        since_call = None
        if wording is not None and vote.outcome == "angenommen" and len(items) == wording_at:
            vote.wording = wording
        wording = None
        if vote.outcome == "abgesetzt":
            named = {normalise_number(m.group(1), m.group(2)) for m in _NAMED_ITEM.finditer(item_digits(vote.text))}
            if named and named <= removed:
                return  # "Tagesordnungspunkt 9 ist abgesetzt." where item 9 would come: a reference, no decision
            removed.update(named)
        (items[-1].votes if items else unassigned).append(vote)

    for segment in transcript.segments:
        if segment.index in headings:
            heading = headings[segment.index]
            # A block without a number ("Zur Geschäftsordnung", "Fragestunde") of the source format is procedure
            # around the agenda, not an item of it.
            if re.search(r"\d", heading.number or "") and not re.match(r"^\W*(?:abgesetzt|entfällt|gestrichen)\b",
                                                                         heading.title, re.IGNORECASE):
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
        if segment.kind in ("speech", "narrative", "agenda") and (found := decision_wording(segment.text)):
            wording, wording_at = found, len(items)  # "Beschluss: Die Gemeindevertretung beschließt …"
        record_text = result_record(segment.text, segment.speaker) if segment.kind in ("speech", "narrative") \
            else None
        if record_text is not None:
            # A typed protocol's result line ("Abstimmungsergebnis: Ja 8, Nein 0, Enthaltung 2. …"): the record
            # states the result, not the chair.
            outcome = record_outcome(record_text, " ".join(context[-3:]))
            if outcome is not None:
                record(_vote(record_text, [], outcome, segment.ref()))
            pending_title = None
            last_bare = None
            context = []
            continue
        if segment.kind != "speech":
            pending_title = None  # a gap in the record: the title is not known
            last_bare = None
            continue
        chair = (is_chair(segment.speaker) or segment.speaker in leaders) if chairs_known else True
        if chair:
            acting = None
        elif segment.speaker and (segment.speaker == acting or _TAKES_CHAIR.search(segment.text)
                                  or chair_work(segment.text) >= 2):
            # A deputy chairs while the chair is excluded ("Dann rufe ich den Tagesordnungspunkt 5 auf"): acting
            # chair until the chair speaks again.
            acting, chair = segment.speaker, True
        if not chair:
            pending_title = None  # a member speaks: the call had no title
            # A member asks that their own vote be recorded: it belongs to the last result, verbatim.
            latest = (items[-1].votes if items else unassigned)
            if latest and _RECORD_OWN_VOTE.search(segment.text):
                latest[-1].recorded_votes.append(f"{segment.speaker}: {segment.text.strip()}")
            context = []
            last_bare = None
            continue
        sentences = _sentences(segment.text)
        local = 0  # sentences of this segment in ``context``
        if pending_title is not None:
            # The title is the next sentence of the chair, unless that sentence calls an item or states a result
            # itself; the rest of the segment is read as usual.
            first = sentences[0] if sentences else ""
            if first and not (_CALL.search(item_digits(first)) or _CALL_LEAD.match(item_digits(first))
                              or _CALL_UNNUMBERED.search(first) or result_outcome(first)
                              or consent_outcome(first, "") or _PROCEDURE.search(first)):
                pending_title.title = first.rstrip(" ;,")
                sentences = sentences[1:]
            pending_title = None
        carried, last_bare = last_bare, None  # a bare consent that ended the chair's previous turn
        # Weak decisions of this segment, absorbed by a decision stated right after them (within two sentences):
        # (holder, vote, position, absorbed by any later result of the segment). A reply ("Das ist der Fall")
        # is absorbed by any later result (it shaped the motion then voted on); a stated consent ("Ich sehe keinen
        # Widerspruch") or a bare "Einstimmig." only by what follows at once.
        bare_in_segment: list[tuple[list[Vote], Vote, int, bool]] = []

        def absorb(position: int, by_result: bool) -> None:
            nonlocal bare_in_segment
            for holder, earlier, at, anywhere in bare_in_segment:
                if earlier in holder and (position - at <= 2 or (anywhere and by_result)) and not (
                        anywhere and _OPEN_VOTE.search(earlier.text)):  # an open election's consent stands
                    holder.remove(earlier)
            bare_in_segment = [b for b in bare_in_segment if b[1] in b[0]]

        consent_in_segment: Vote | None = None
        skip_next = False
        for position, original in enumerate(sentences):
            if skip_next:  # the title of the item called by the sentence before
                skip_next = False
                continue
            following = sentences[position + 1] if position + 1 < len(sentences) else ""
            sentence = item_digits(original)  # "top drei a" → "top 3a" (speech recognition)
            sentence, call = find_call(sentence)
            if call and not _NOT_AGENDA.search(sentence):
                numbers = called_numbers(sentence, call)
                known = {i.number for i in items}
                fresh = [n for n in numbers if n not in known]
                title = _title_after(sentence, call) if len(numbers) == 1 else ""
                for number in fresh:
                    items.append(ExtractedItem(number, title, segment.ref(), source_text=original))
                if len(fresh) == 1 and not title:
                    pending_title = items[-1]
                context = []
                continue
            numbered = [i.number for i in items if i.number]
            by_order = sequence_call(sentence, numbered[-1] if numbered else None, {i.number for i in items},
                                     removed)
            if by_order is not None and not by_order[1] and context and _VOTE_CALL.search(context[-1]):
                by_order = None  # "Wer ist dafür? – Sieben.": a count, not item 7
            if by_order is not None and not result_outcome(sentence):
                title = by_order[1]
                if not title and following and not (result_outcome(following) or following.rstrip().endswith("?")):
                    title, skip_next = following.rstrip(" .;,"), True  # "Sieben. Die Straßennamen im Neubaugebiet."
                items.append(ExtractedItem(by_order[0], title, segment.ref(), source_text=original))
                pending_title = None if title else items[-1]
                context = []
                continue
            unnumbered = _CALL_UNNUMBERED.search(sentence)
            if unnumbered and items and items[-1].source.segment in headings and not items[-1].votes and (
                    segment.index - items[-1].source.segment <= 2):
                context = []
                continue  # "Tagesordnungspunkt 6 – …" then "Kommen wir zum nächsten Punkt, …": one item
            if unnumbered and not _NOT_AGENDA.search(sentence):
                # "Wir treten ein in die Fragestunde": the title follows; "rufe ich auf:": the next segment has it.
                titled = re.search(r"treten|nächsten\s+(?:Punkt|Tagesordnungspunkt)\b\s*[,:]?$|folgenden",
                                   unnumbered.group(0), re.IGNORECASE)
                title = sentence[unnumbered.end():].strip(" :;,.") if titled else ""
                title = re.sub(r"^(?:de[mnr]|die|das)\s+", "", title, flags=re.IGNORECASE)
                items.append(ExtractedItem(None, title, segment.ref(), source_text=sentence))
                pending_title = items[-1] if not title else None
                context = []
                continue
            titled_call = _agenda_title_call(sentence, expected, {i.number for i in items})
            if titled_call is not None:
                items.append(ExtractedItem(titled_call.number, titled_call.title, segment.ref(), titled_call.public,
                                           source_text=original))
                context = []
                continue
            closing = _CLOSE_DEBATE.search(sentence)
            if closing and (not items or len(_words(closing.group("title")) & _words(items[-1].title)) < 2):
                # The debate of an item whose call is not in the transcript (a cut, a late start) ends here.
                items.append(ExtractedItem(None, closing.group("title").rstrip(" ."), segment.ref(),
                                           source_text=sentence))
                context = [sentence]
                continue
            previous_consent, consent_in_segment = consent_in_segment, None
            outcome = None
            consent = consent_outcome(sentence, " ".join(context[-3:]))
            if consent is not None:
                # "ich sehe nicken und keinen widerspruch dann ist der … vertagt": the result stated in the same
                # sentence gives the outcome, and it is no bare consent.
                stated = result_outcome(sentence, " ".join(context[-3:]), following)
                if stated is not None:
                    consent = (stated, False)
            if consent is not None and previous_consent is not None and _CONSENT_FOLLOW.search(sentence):
                # "Das sehe ich nicht. Dann verfahren wir so.": one decision in two sentences.
                previous_consent.text = f"{previous_consent.text} {original}"
                consent_in_segment = previous_consent
            elif consent is not None:
                # votes quote the transcript as it is ("Punkt Zehn"), not as read ("Punkt 10")
                vote = _vote(original, context, consent[0], segment.ref(), local)
                vote.text = as_in_source(vote.text, original, segment.text)
                if consent[1] and context and context[-1].rstrip().endswith("?"):
                    vote.text = f"{context[-1]} – {original}"  # the question put and the house's answer
                # A consent stated in words ("Dann ist TOP 11 von der Tagesordnung abgesetzt", "Ich sehe
                # Einvernehmen, damit ist die Resolution so beschlossen") after "Das ist nicht der Fall" is the one
                # decision.
                absorb(position, by_result=not consent[1])
                record(vote)
                consent_in_segment = vote
                if consent[1]:
                    bare_in_segment.append((items[-1].votes if items else unassigned, vote, position,
                                            not (_CONSENT_STATED.search(sentence) or _CONSENT_INNER.search(sentence))))
            else:
                outcome = result_outcome(sentence, " ".join(context[-3:]), following)
                bare_unanimous = inferred = False
                if outcome is None and since_call is not None and len(items) == items_at_call:
                    # The chair's first statement after the question put to the vote states its result, whatever
                    # its words ("Lisa, du bist mit elf Stimmen gewählt", "Damit geht der Auftrag an Baumgärtner").
                    outcome = answer_to_call(sentence, " ".join(context[-4:]), following)
                    bare_unanimous = inferred = outcome is not None  # a result stated right after it decides
                if outcome is None and _BARE_UNANIMOUS.search(sentence) and _VOTE_CALL.search(
                        " ".join(context[-4:])):
                    outcome, bare_unanimous = "angenommen", True  # "Gegenstimmen? – Keine. Einstimmig."
                if outcome is None and _VOTE_CALL.search(" ".join(context[-4:])):
                    outcome = bare_tally(sentence, " ".join(context[-3:]), following)
                    bare_unanimous = outcome is not None
                    inferred = outcome is not None and _BARE_MAJORITY.search(sentence) is not None
                if outcome is not None and following.rstrip().endswith("?") and re.search(
                        r"\b(?:wird|werden|soll|sollen)\b", sentence, re.IGNORECASE):
                    outcome = None  # "TOP 11 wird abgesetzt. Gibt es Widerspruch?": a proposal
                if outcome is not None:
                    # A bare consent followed by a formal vote in the same breath only settled the wording of
                    # the motion then voted on: the vote is the decision.
                    absorb(position, by_result=True)
                    vote = _vote(original, context, outcome, segment.ref(), local)
                    vote.text = as_in_source(vote.text, original, segment.text)
                    vote.outcome_inferred = inferred
                    record(vote)
                    if bare_unanimous:  # "Das ist einstimmig. Der Zuschuss … ist beschlossen.": one decision
                        bare_in_segment.append((items[-1].votes if items else unassigned, vote, position, False))
            stated_here = (consent is not None and not consent[1]) or outcome is not None
            if carried is not None and position == 0 and stated_here:
                # "Sind alle einverstanden? – Ich sehe Nicken." ⏎ "Gut, dann ist die Bauvoranfrage … vertagt.": the
                # decision is stated at the start of the chair's next turn.
                holder, earlier = carried
                if earlier in holder and holder and holder[-1] is not earlier:
                    holder.remove(earlier)
            if bare_in_segment and ((sentence.rstrip().endswith("?")
                                     and "wer" in re.findall(r"\w+", sentence.lower())[:3])
                                    or re.search(r"\bwer\b", sentence, re.IGNORECASE) and _VOTE_CALL.search(sentence)):
                # "Einwände? – Keine. Wer bestätigt die Niederschrift?": the consent only cleared the way for the
                # vote that follows.
                for holder, earlier, at, reply in bare_in_segment:
                    # Consent to an open election is a decision of its own (rule 2 of the labelling guide).
                    if reply and earlier in holder and position - at <= 2 and not _OPEN_VOTE.search(earlier.text):
                        holder.remove(earlier)
                bare_in_segment = [b for b in bare_in_segment if b[1] in b[0]]
            pending_kind = read_tally(sentence, tally, pending_kind)
            if is_vote_call(sentence):
                since_call, items_at_call = 0, len(items)
            elif since_call is not None:
                since_call = since_call + 1 if since_call < 6 else None
            context.append(original)
            local += 1
        if bare_in_segment:
            last_bare = (bare_in_segment[-1][0], bare_in_segment[-1][1])
    return Structure(items, unassigned)
