"""German personal-data detection from rules, checksums and gazetteers, and consistent pseudonymisation.

No German NER model ships offline (see MODELS.md), so every type has its own evidence:

- IBAN (ISO 13616 mod-97 and per-country length), Steuer-ID (ISO 7064 MOD 11,10 and the digit-repetition
  rule of § 139b AO), e-mail, phone numbers (German prefixes and formats), postal addresses (street + number
  with street-type words or prepositional street names; PLZ + place), dates of birth (only with a birth
  marker), licence plates (German plate structure), Aktenzeichen (after a file-number marker),
- names: after salutations, titles and role nouns ("Frau Dr. Weber", "Sachbearbeiterin Anna Weber"), and a
  first name from Faker's name lists (MIT; German, Austrian, Turkish, Polish, Italian, Croatian, Romanian,
  Spanish, French, English) plus transliterated Arabic/Persian/Kurdish names, followed by a surname.

``detect`` returns non-overlapping entities (longest and strongest evidence wins); ``pseudonymise``
replaces them by placeholders that stay the same for the same value (``[PERSON_1]``) and returns the
mapping to restore them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kreiswissen.ingest.model import ParsedDocument

TYPES = ("IBAN", "STEUER_ID", "PHONE", "EMAIL", "ADDRESS", "DATE_OF_BIRTH", "LICENSE_PLATE", "AKTENZEICHEN",
         "PERSON")


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    text: str
    priority: int = 0  # tie-break for overlaps: checksummed and context-marked types win


# -- checksums -------------------------------------------------------------------------------------------
IBAN_LENGTHS = {
    "DE": 22, "AT": 20, "CH": 21, "NL": 18, "FR": 27, "BE": 16, "LU": 20, "IT": 27, "ES": 24, "PL": 28, "DK": 18,
    "CZ": 24, "GB": 22, "IE": 22, "PT": 25, "SE": 24, "FI": 18, "NO": 15, "HR": 21, "SI": 19, "SK": 24, "HU": 28,
    "RO": 24, "BG": 22, "GR": 27, "LI": 21, "TR": 26,
}


def iban_valid(value: str) -> bool:
    iban = re.sub(r"\s", "", value).upper()
    if len(iban) < 15 or not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def steuer_id_valid(value: str) -> bool:
    digits = re.sub(r"\s", "", value)
    if not re.fullmatch(r"[1-9]\d{10}", digits):
        return False
    head = digits[:10]
    counts = sorted((head.count(d) for d in set(head)), reverse=True)
    # Exactly one digit occurs twice or three times; the others once (so 8 or 9 distinct digits).
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    product = 10
    for ch in head:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    return check == int(digits[10])


# -- name lists ------------------------------------------------------------------------------------------
_EXTRA_FIRST = """Mohammed Muhammad Mohamed Ahmad Ahmed Ali Hassan Hussein Omar Mustafa Khaled Youssef Yusuf Ibrahim
Karim Samir Tarek Bilal Rami Nabil Walid Jamal Said Hamza Amir Mahmoud Abdullah Abdul Fatima Aisha Amina Leila Layla
Mariam Maryam Noor Nour Rania Samira Yasmin Yasemin Zainab Zeynep Hiba Dina Lina Rana Reza Farid Dariush Shirin
Parisa Azadeh Kawa Rojin Dilan Berfin Siamak Navid Arash Nasrin Mehmet Ayse Emine Hatice Hüseyin Murat Cem Deniz
Oksana Olena Natalia Tetiana Iryna Dmytro Oleksandr Andrii Serhii Volodymyr Wladimir Dmitri Sergej Jewgeni Swetlana
Tatjana Olga Jelena Ljudmila Kateryna Agnieszka Małgorzata Katarzyna Krzysztof Grzegorz Wojciech Łukasz
Kostas Giorgos Georgios Dimitrios Nikos Nikolaos Eleni Vasiliki Panagiotis Ioannis Yannis Christos Sofia Despina
Yonas Semhar Feven Robel Selam Dawit Tesfay Meron Saba Filmon Abel Helen Senait Mulugeta Tekle Haile Berhane Aman
Zahra Farzana Hamid Wahid Masoud Zarmina Habib Shabnam Nadia Soraya Bashir Jawad Rahim Sardar Gul
Nguyễn Trần Lê Phạm Hoàng Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Thị Văn"""
_EXTRA_FIRST_NAMES = _EXTRA_FIRST.split()



@lru_cache(maxsize=1)
def _names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) from Faker's person providers (Latin script only)."""
    import importlib

    first: set[str] = set(_EXTRA_FIRST_NAMES)
    last: set[str] = set()
    for locale in ("de_DE", "de_AT", "de_CH", "tr_TR", "pl_PL", "it_IT", "hr_HR", "ro_RO", "es_ES", "fr_FR",
                   "en_US", "nl_NL", "cs_CZ", "pt_PT"):
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("first_names", "first_names_male", "first_names_female"):
            names = getattr(provider, attr, ())
            first.update(n for n in (names.keys() if isinstance(names, dict) else names) if " " not in n)
        names = getattr(provider, "last_names", ())
        last.update(n for n in (names.keys() if isinstance(names, dict) else names) if " " not in n)
    latin = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ'’-]+$")
    return (frozenset(n for n in first if latin.match(n) and len(n) > 1),
            frozenset(n for n in last if latin.match(n) and len(n) > 1))


# First names that are also everyday German words or month names: they count only after a salutation.
_AMBIGUOUS_FIRST = {"Ernst", "Frank", "Will", "Mark", "Rose", "Rosa", "Lilie", "Heide", "Wolf", "Fuchs", "Hahn",
                    "Sonne", "Winter", "Sommer", "Mai", "April", "Juni", "Juli", "August", "Stern", "Engel", "Christ",
                    "Golden", "Jo", "Art", "Gay", "Fritz", "Sophie", "Hans", "Grün", "Weiß", "Fee", "Kim", "Bill",
                    "Job", "Hanne", "Roman", "Frieda", "Florian", "Gerade", "Ende", "Kurz", "Lang", "Klein", "Bauer"}


@lru_cache(maxsize=20000)
def _is_common_word(token: str) -> bool:
    """A capitalised token that is an everyday German word ("Antrag", "Haus"), so not a surname."""
    from wordfreq import zipf_frequency

    return zipf_frequency(token.lower(), "de") >= 4.0


# Words that look like names after a salutation but are not ("Frau Bürgermeisterin", "Herrn Landrat").
_ROLE_WORDS = {
    "bürgermeister", "bürgermeisterin", "oberbürgermeister", "oberbürgermeisterin", "landrat", "landrätin",
    "sachbearbeiter", "sachbearbeiterin", "kollege", "kollegin", "vorsitzender", "vorsitzende", "präsident",
    "präsidentin", "direktor", "direktorin", "stadtrat", "stadträtin", "gemeinderat", "gemeinderätin",
    "kreisrat", "kreisrätin", "kämmerer", "kämmerin", "minister", "ministerin", "abgeordneter", "abgeordnete",
    "amtsleiter", "amtsleiterin", "pfarrer", "pfarrerin", "rechtsanwalt", "rechtsanwältin", "notar", "notarin",
    "antragsteller", "antragstellerin", "ortsvorsteher", "ortsvorsteherin", "beigeordneter", "beigeordnete",
}

# Latin letters of German, Turkish, Polish, Balkan, Romance and Vietnamese names.
_UP = "A-ZÀ-ÖØ-ÞĀ-ŽȘȚ"
_LOW = "a-zß-öø-ÿĀ-žșțǀ-ɏḀ-ỿ'’"
_UPPER = rf"[{_UP}][{_LOW}]+"
_INSTITUTION = re.compile(r"(?:behörde|amt|ämter|stelle|ung|heit|keit|schaft|verwaltung|dienst|büro|zentrum|"
                          r"gericht|kasse|rat|verein|ring|bund|werk|haus|schule|kreis|referat|abteilung)$")
_NAME_TOKEN = rf"{_UPPER}(?:-{_UPPER})?"
_TITLES = r"(?:(?:Dr|Prof|Dipl|Ing|Mag|jur|med|rer|nat|phil|h\.\s?c|mult)\.?(?:-Ing\.|-Kfm\.|-Kffr\.|-Verww\.)?\s+)*"
_SALUTATION = re.compile(
    rf"\b(?:Herrn?|Frau|Hr\.|Fr\.|Familie|Eheleute)\s+{_TITLES}"
    rf"((?:{_NAME_TOKEN}\s+)?(?:(?:von|van|de|zu|vom|von\s+der|van\s+der|van\s+den|de\s+la|el|al)\s+)?{_NAME_TOKEN})"
)
_ROLE = re.compile(
    r"\b(?:Sachbearbeiter(?:in)?|Ansprechpartner(?:in)?|Bürgermeister(?:in)?|Oberbürgermeister(?:in)?|Landrat|"
    r"Landrätin|Antragsteller(?:in)?|Kämmerer|Kämmerin|Gemeinderat|Gemeinderätin|Stadtrat|Stadträtin|"
    r"Kreisrat|Kreisrätin|Protokollführer(?:in)?|Schriftführer(?:in)?|Vorsitzende[rn]?|Ortsvorsteher(?:in)?|"
    r"Mitarbeiter(?:in)?|Kolleg(?:e|in)|Zeuge|Zeugin|Schüler(?:in)?|Sohn|Tochter|Ehemann|Ehefrau|Mieter(?:in)?|"
    r"Vermieter(?:in)?|Halter(?:in)?|Eigentümer(?:in)?|Bearbeiter(?:in)?|Kontoinhaber(?:in)?|Inhaber(?:in)?|"
    r"Zulassungsinhaber(?:in)?|Beschuldigte[rn]?|Betroffene[rn]?|Beschwerdeführer(?:in)?|Jubilar(?:in)?|Kind|"
    r"Gemeinderäte|Stadträte|Kreisräte|GR|BM|OB|StR|KR|Name|Vorname|Ich,|Auftrag,|gez\.|i\.\s?A\.|"
    r"i\.\s?V\.|Eltern|Pflegeeltern|Pflegefamilie|Fahrzeughalter(?:in)?|Familie|Ansprechpartner(?:in)?\s+\w+)"
    r"(?:(?<=[a-zäöü])(?:s|en|innen))?[ \t]*:?[ \t]+"
    rf"{_TITLES}((?:{_NAME_TOKEN}\s+)?(?:(?:von|van|de|zu)\s+)?{_NAME_TOKEN})"
)
_WORD_START = re.compile(rf"(?<![\w{_LOW}-])[{_UP}]")
# A name does not run over a line break ("Sabine Krause\nLindenstraße 12" is a name, then an address).
_CAP_SEQ = re.compile(
    rf"\b({_NAME_TOKEN})((?:[ \t]+{_NAME_TOKEN})?)[ \t]+((?:(?:von|van|de|zu|vom|von[ \t]+der|van[ \t]+der|"
    rf"van[ \t]+den|de[ \t]+la|el|al|ter|ten)[ \t]+)?{_NAME_TOKEN})"
)

# -- structured types ------------------------------------------------------------------------------------
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# Upper case as printed, or all lower case as typed in a hurry (mixed case would swallow the next word).
_IBAN = re.compile(r"\b(?:[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?"
                   r"|[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,3})?)\b")
_STEUER_ID = re.compile(r"(?<![\d,.])[1-9]\d(?:[ ]?\d){9}(?![\d,.]\d)")
_PHONE = re.compile(
    r"(?<![\w/])(?:(?:\+|00)\d{2}[ ]?(?:\(0\)[ ]?)?\d{2,5}|\(0\d{2,5}\)|0\d{2,5})"
    r"(?:[ ]?[/-][ ]?|[ ])?\d(?:[ -]?\d){2,10}(?:[ ]?-[ ]?\d{1,5})?(?![\d])"
)
_PHONE_CONTEXT = re.compile(r"(?:Tel|Telefon|Fon|Fax|Telefax|Mobil|Handy|Ruf|Rufnummer|Durchwahl|erreichbar|"
                            r"anrufen|Telefonnummer|Handynummer|Notfallkontakt|Rückruf)\b", re.IGNORECASE)
_STREET_SUFFIX = (r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|steig|pfad|chaussee|markt|"
                  r"hof|berg|feld|garten|anger|promenade|zeile|graben|wall|tor|stieg|kamp|brücke|halde|höhe|"
                  r"grund|park|siedlung|steige|wiese|winkel)")
_STREET = re.compile(
    rf"(?:\b[A-ZÄÖÜa-zäöü][\wäöüß.-]*{_STREET_SUFFIX}|\b[A-ZÄÖÜ][\wäöüß.]*(?:-[A-ZÄÖÜ][\wäöüß.]*)*-(?:Straße|Str\.|Weg|"
    rf"Platz|Allee|Ring|Gasse|Damm)|\b[A-ZÄÖÜ][\wäöüß.-]*\s+(?:Straße|Weg|Platz|Allee|Ring|Gasse|Damm)"
    r"|\b(?:Am|An\s+der|An\s+den|Auf\s+dem|Auf\s+der|Im|In\s+der|In\s+den|Zum|Zur|Unter\s+den|Hinter\s+der|"
    r"Hinter\s+dem|Vor\s+dem|Bei\s+der|Alte[rn]?|Neue[rn]?|Obere[rn]?|Untere[rn]?|Große[rn]?|Kleine[rn]?)"
    r"\s+(?:(?:alte[nmr]?|neue[nmr]?|hohe[nmr]?|lange[nmr]?|kleine[nmr]?|große[nmr]?|obere[nmr]?|untere[nmr]?)\s+)?"
    r"[A-ZÄÖÜ][\wäöüß-]+(?:\s+[A-ZÄÖÜ][\wäöüß-]+)?"
    r"|\bStraße\s+des\s+\d{1,2}\.\s+[A-ZÄÖÜ][a-zäöü]+|\bPlatz\s+der\s+[A-ZÄÖÜ][\wäöüß-]+)"
    r"\s+\d{1,4}(?:\s?[a-zA-Z](?![\wäöü]))?(?:\s?[-–/]\s?\d{1,4}[a-z]?)?(?![\d,.]\d)"
)
_PLZ_PLACE = re.compile(
    r"(?<![\d.,])(?:D-)?\d{5}[ \t]+([A-ZÄÖÜ][\wäöüß.-]+(?:[ \t](?:(?:an|am|im|in|ob|bei|vor|der|dem|den|u\.|a\.|"
    r"unter|auf)[ \t]?)*[A-ZÄÖÜ(][\wäöüß.)-]*)?(?:[ \t]\([A-ZÄÖÜ][\wäöüß. ]+\))?)"
)
_STREET_PREPOSITIONS = {"Am", "An", "Auf", "Im", "In", "Zum", "Zur", "Unter", "Hinter", "Vor", "Bei"}
_NOT_STREET = {"Jahr", "Jahre", "Jahren", "Monat", "Wahlkreis", "Bezirk", "Zeitraum", "Rahmen", "Fall", "Haushalt",
               "Haushaltsjahr", "Ortsteil", "Kreis", "Landkreis", "Abschnitt", "Gebiet", "Durchschnitt", "Vorjahr",
               "Alter", "Schnitt", "Mittel", "Vergleich", "Zuge", "Sommer", "Winter", "Namen", "Auftrag", "Januar",
               "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
               "Dezember", "Quartal", "Halbjahr", "Wirtschaftsjahr", "Kalenderjahr", "Schuljahr", "Tagesordnungspunkt",
               "Paragraph", "Absatz", "Artikel", "Kapitel", "Anhang", "Anlage", "Bereich", "Stadtteil", "Gemeinderat"}
_NOT_PLACE = {"Einwohner", "Euro", "EUR", "Stimmen", "Menschen", "Personen", "Fälle", "Exemplare", "Besucher",
              "Teilnehmer", "Stück", "Tonnen", "Liter", "Kilometer", "Quadratmeter", "Haushalte", "Mitglieder",
              "Anträge", "Schüler", "Kinder", "Stunden", "Tage", "Jahre", "Mal", "Seiten"}
_MONTHS = r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember)"
_DATE = (rf"(?:\d{{1,2}}\.\s?\d{{1,2}}\.\s?(?:19|20)?\d{{2}}|\d{{1,2}}\.\s?{_MONTHS}\s+\d{{4}}"
         r"|(?:19|20)\d{2}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/(?:19|20)\d{2})")
_BIRTH = re.compile(
    rf"(?:\bgeb\.?(?:\s?am)?|\bgeboren(?:\s+am)?|\bGeburtsdatum(?:\s+(?:des|der|von|vom|laut|lt\.|gem\.|"
    rf"nach)\s+\w+)?|\bTag\s+der\s+Geburt|\bGeb\.-?[Dd]at(?:um|\.)|\bGeburtstag|(?<![\w*])\*)\s*[:(]?\s*({_DATE})",
    re.IGNORECASE,
)
_BIRTH_AFTER = re.compile(rf"\bam\s+({_DATE})\s+(?:[\w-]+\s+){{0,3}}geboren\b", re.IGNORECASE)
_PLATE = re.compile(r"(?<![\w-])([A-ZÄÖÜ]{1,3})(?:-|[ ])([A-Z]{1,2})[ -]?(\d{1,4})([EH]?)(?![\w-])")
_PLATE_CONTEXT = re.compile(r"(?:Kennzeichen|Kfz|Fahrzeug|Pkw|PKW|Lkw|LKW|Wagen|Auto|Anhänger|Motorrad|"
                            r"zugelassen|Zulassung|parkt|geparkt|Halter)", re.IGNORECASE)
_AZ = re.compile(
    r"(?:\bAz\.?|\bAktenzeichens?|\bGesch\.?\s?-?\s?Z(?:eichen|\.)|\bGeschäftszeichens?|\bUnser\s+Zeichen|"
    r"\bIhr\s+Zeichen|"
    r"\bVorgangsnummer|\bBearbeitungsnummer|\bAntragsnummer)"
    r"(?:\s+(?:der|des|bitte|dortiges|unser|ihr|im|beim)(?:\s+[A-ZÄÖÜa-zäöü]\w*)?)?\s*[:.]?\s*"
    # a code with a digit; court style "4 K 1234/23"; letters then number "OWi 4711/25", "BG 2025/0311"
    r"(\d{1,2}\s[A-Z][a-zA-Z]{0,3}\s\d[\w./–-]*|[A-Za-z]{1,5}(?:-[A-Za-z]{1,5})*\s\d[\w./–-]*|"
    r"[A-Za-z0-9][\w./–-]*\d[\w./–-]*)",
    re.IGNORECASE,
)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in ".,;:)–-/ ":
        end -= 1
    return start, end


def _structured(text: str) -> list[Entity]:
    found: list[Entity] = []
    for m in _EMAIL.finditer(text):
        found.append(Entity("EMAIL", m.start(), m.end(), m.group(), 9))
    iban_shaped: list[tuple[int, int]] = []  # also invalid ones: their digit groups are no phone numbers
    for m in _IBAN.finditer(text):
        iban_shaped.append((m.start(), m.end()))
        if iban_valid(m.group()):
            found.append(Entity("IBAN", m.start(), m.end(), m.group(), 9))
    for m in _STEUER_ID.finditer(text):
        if steuer_id_valid(m.group()):
            found.append(Entity("STEUER_ID", m.start(), m.end(), m.group(), 8))
    for pattern in (_BIRTH, _BIRTH_AFTER):
        for m in pattern.finditer(text):
            found.append(Entity("DATE_OF_BIRTH", m.start(1), m.end(1), m.group(1), 8))
    for m in _AZ.finditer(text):
        s, e = _trim(text, m.start(1), m.end(1))
        if e > s:
            found.append(Entity("AKTENZEICHEN", s, e, text[s:e], 7))
    for m in _PHONE.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        digits = re.sub(r"\D", "", text[s:e])
        if not 6 <= len(digits) <= 16 or any(s < b and a < e for a, b in iban_shaped):
            continue
        context = _PHONE_CONTEXT.search(text[max(0, s - 30):s])
        international = text[s] == "+" or text[s:s + 2] == "00"
        structured = bool(re.match(r"\(?0\d{2,5}\)?(?:[ ]?/[ ]?|[ ]|-)\d", text[s:e]))
        if context or international or (structured and len(digits) >= 7):
            found.append(Entity("PHONE", s, e, text[s:e], 6))
    for m in _STREET.finditer(text):
        words = m.group().split()
        if words[0] in _STREET_PREPOSITIONS and (words[1] in _NOT_STREET or re.fullmatch(r"(?:19|20)\d\d", words[-1])):
            continue  # "Im Jahr 2024", "Im Wahlkreis 10"
        found.append(Entity("ADDRESS", m.start(), m.end(), m.group(), 5))
    for m in _PLZ_PLACE.finditer(text):
        place = m.group(1).split()[0].rstrip(".,")
        if place in _NOT_PLACE:
            continue
        s, e = _trim(text, m.start(), m.end())
        found.append(Entity("ADDRESS", s, e, text[s:e], 5))
    for m in _PLATE.finditer(text):
        district, number = m.group(1), m.group(3)
        context = _PLATE_CONTEXT.search(text[max(0, m.start() - 60):m.start()])
        hyphen = "-" in m.group()
        # Without a hyphen or context, a one-digit number ("S K 1") is too weak to call a plate.
        if not (context or hyphen or len(number) >= 2):
            continue
        if district in {"AB", "AG", "AZ", "NR", "ST", "TOP", "DIN", "ISO", "EU", "BV", "DS", "VO"} and not context:
            continue
        found.append(Entity("LICENSE_PLATE", m.start(), m.end(), m.group(), 6))
    return found


def _persons(text: str) -> list[Entity]:
    first_names, last_names = _names()
    found: list[Entity] = []
    for pattern in (_SALUTATION, _ROLE):
        for m in pattern.finditer(text):
            span = m.group(1)
            tokens = span.split()
            # Drop a trailing common noun the pattern swallowed ("Frau Weber Antrag" is rare; "Herr Müller"
            # followed by a verb is lowercase anyway), and role words after the salutation.
            if tokens[0].lower() in _ROLE_WORDS or tokens[0] in {"Frau", "Herr", "Herrn", "Familie"}:
                continue
            if len(tokens) == 1 and _INSTITUTION.search(tokens[0]):
                continue  # "Ansprechpartnerin Jagdbehörde: …"
            if len(tokens) == 2 and tokens[0] not in first_names and _is_common_word(tokens[1]) \
                    and tokens[1] not in last_names:
                tokens = tokens[:1]
            s = m.start(1)
            e = s + len(" ".join(tokens)) if len(tokens) < len(span.split()) else m.end(1)
            found.append(Entity("PERSON", s, e, text[s:e], 7))
    for start in (w.start() for w in _WORD_START.finditer(text)):
        seq = _CAP_SEQ.match(text, start)  # at every capitalised word: the matches may overlap
        if seq is None:
            continue
        first, middle, last = seq.group(1), seq.group(2).strip(), seq.group(3)
        base_first = first.split("-")[0]
        if base_first not in first_names:
            continue
        if base_first in _AMBIGUOUS_FIRST:
            continue  # "Ernst", "Frank", "Will" need a salutation
        surname = last.split()[-1]
        if middle and middle.split("-")[0] not in first_names and middle not in last_names \
                and _is_common_word(middle):
            continue
        if surname not in last_names and _is_common_word(surname.split("-")[0]):
            continue
        found.append(Entity("PERSON", seq.start(), seq.end(), seq.group(), 4))
    return found


_INITIAL = re.compile(rf"(?<![\w.])([{_UP}]\.[ ]?(?:[{_UP}]\.[ ]?)?{_NAME_TOKEN})")
_SURNAME_FIRST = re.compile(
    rf"(?:\bName,\s*Vorname|\b(?:Antragsteller|Fahrzeughalter|Halter|Kontoinhaber|Eigentümer|Mieter|Schüler|Kind|"
    rf"Betroffene|Beschuldigte)(?:in|r)?)\s*:?\s*({_NAME_TOKEN},\s*{_NAME_TOKEN})(?=[;,)\s]|$)")
_BIRTH_NAME = re.compile(rf"\bgeb(?:\.|oren)\s+({_NAME_TOKEN})(?=[,;)\s]|$)")


def _more_persons(text: str) -> list[Entity]:
    _, last_names = _names()
    found: list[Entity] = []
    for m in _SURNAME_FIRST.finditer(text):
        found.append(Entity("PERSON", m.start(1), m.end(1), m.group(1), 7))
    for m in _BIRTH_NAME.finditer(text):  # birth name: "Maria Weber, geb. Schulze"
        if not _is_common_word(m.group(1)) or m.group(1) in last_names:
            found.append(Entity("PERSON", m.start(1), m.end(1), m.group(1), 7))
    for m in _INITIAL.finditer(text):
        surname = m.group(1).split()[-1].split(".")[-1]
        if surname in last_names or not _is_common_word(surname):
            found.append(Entity("PERSON", m.start(1), m.end(1), m.group(1), 3))
    return found


def detect(text: str, types: tuple[str, ...] | None = None) -> list[Entity]:
    """Personal data in ``text``, as non-overlapping entities in text order."""
    candidates = _structured(text) + _persons(text) + _more_persons(text)
    if types is not None:
        candidates = [c for c in candidates if c.type in types]
    # Prefer strong evidence, then longer spans; drop anything overlapping an accepted entity.
    candidates.sort(key=lambda c: (-c.priority, -(c.end - c.start), c.start))
    accepted: list[Entity] = []
    for cand in candidates:
        if any(cand.start < a.end and a.start < cand.end for a in accepted):
            continue
        accepted.append(cand)
    return sorted(accepted, key=lambda c: c.start)


@dataclass
class Pseudonymised:
    text: str
    mapping: dict[str, str]  # placeholder -> original

    def restore(self, text: str) -> str:
        for placeholder, original in sorted(self.mapping.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(placeholder, original)
        return text


def pseudonymise(text: str, mapping: dict[str, str] | None = None) -> Pseudonymised:
    """Replace personal data by ``[TYPE_n]``; the same value gets the same placeholder (also across calls
    that share ``mapping``). Once a value is known, every further occurrence is replaced too — also where
    the rules alone would not find it ("Quirinius Zabelmayer zahlt …") — and a person's surname alone gets
    the person's placeholder."""
    mapping = dict(mapping or {})
    reverse = {(v, k.strip("[]").rpartition("_")[0]): k for k, v in mapping.items()}
    counters: dict[str, int] = {}
    for placeholder in mapping:
        kind, _, num = placeholder.strip("[]").rpartition("_")
        counters[kind] = max(counters.get(kind, 0), int(num) if num.isdigit() else 0)
    spans: list[tuple[int, int, str]] = []  # start, end, placeholder
    for ent in detect(text):
        key = (ent.text, ent.type)
        known = reverse.get(key)
        if known is None:
            counters[ent.type] = counters.get(ent.type, 0) + 1
            known = f"[{ent.type}_{counters[ent.type]}]"
            reverse[key] = known
            mapping[known] = ent.text
        spans.append((ent.start, ent.end, known))
    # Further occurrences of known values, and surnames of known persons.
    variants: dict[str, str] = {}
    for (value, kind), placeholder in reverse.items():
        variants.setdefault(value, placeholder)
        if kind == "PERSON":
            surname = value.replace(",", " ").split()[0 if "," in value else -1]
            if len(surname) >= 3 and surname[0].isupper():
                variants.setdefault(surname, placeholder)
    for value in sorted(variants, key=len, reverse=True):
        for m in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text):
            if not any(m.start() < e and s < m.end() for s, e, _ in spans):
                spans.append((m.start(), m.end(), variants[value]))
    out: list[str] = []
    pos = 0
    for start, end, placeholder in sorted(spans):
        out.append(text[pos:start])
        out.append(placeholder)
        pos = end
    out.append(text[pos:])
    return Pseudonymised("".join(out), mapping)


def pseudonymise_document(parsed: ParsedDocument) -> ParsedDocument:
    """A copy of a parsed document with personal data replaced by placeholders that are consistent across
    the title, every block and the text values of the metadata."""
    from dataclasses import replace

    mapping: dict[str, str] = {}

    def clean(text: str) -> str:
        nonlocal mapping
        result = pseudonymise(text, mapping)
        mapping = result.mapping
        return result.text

    title = clean(parsed.title)
    blocks = [replace(b, text=clean(b.text)) for b in parsed.blocks]
    metadata = {k: clean(v) if isinstance(v, str) else v for k, v in parsed.metadata.items()}
    return replace(parsed, title=title, blocks=blocks, metadata=metadata)
