"""German sentence splitting that respects abbreviations, ordinals, dates and § references."""

from __future__ import annotations

import re

# Abbreviations after which a period does not end a sentence (folded, without the period).
_ABBREVIATIONS = frozenset(
    [
        "abs",
        "art",
        "bzw",
        "ca",
        "dr",
        "evtl",
        "ggf",
        "gem",
        "inkl",
        "insb",
        "max",
        "min",
        "mind",
        "nr",
        "o.ä",
        "prof",
        "s",
        "sog",
        "str",
        "tel",
        "u.a",
        "usw",
        "vgl",
        "z.b",
        "zzgl",
        "abzgl",
        "bspw",
        "d.h",
        "i.d.r",
        "i.v.m",
        "i.s.d",
        "u.u",
        "v.a",
        "z.t",
        "ff",
        "lfd",
        "ziff",
        "buchst",
        "anm",
        "ebd",
        "hrsg",
        "jh",
        "jhd",
        "mio",
        "mrd",
        "st",
        "std",
        "mo",
        "di",
        "mi",
        "do",
        "fr",
        "sa",
        "so",
        "jan",
        "feb",
        "mär",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "okt",
        "nov",
        "dez",
        "kap",
        "bd",
        "gem.o",
        "gde",
        "lkr",
        "bgbl",
        "gbl",
    ]
)
_CANDIDATE = re.compile(r"([.!?…]+)([\"'»«“”)\]]*)(\s+)(?=[\"'»«„“(\[]*[A-ZÄÖÜ0-9§])")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences; returns stripped, non-empty sentences in order."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        end = match.end(2)
        if match.group(1) == "." and _is_abbreviation(text[start : match.start(1)]):
            continue
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = match.end(3)
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of ``split_sentences`` in ``text``."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in split_sentences(text):
        begin = text.index(sentence, cursor)
        spans.append((begin, begin + len(sentence)))
        cursor = begin + len(sentence)
    return spans


def _is_abbreviation(before: str) -> bool:
    raw = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = raw.lstrip("(\"'„»").casefold()
    if not word:
        return False
    if raw == "so":
        return False  # "Dann verfahren wir so." – the weekday is written "So."
    if word.isdigit():
        # "1." "5." ordinals and dates ("am 5. Mai"), "Abs. 2." list numbers: not sentence ends
        # unless the number is long (a year or an amount ending a sentence).
        return len(word) <= 2
    if len(word) == 1 and word.isalpha():
        return True  # initials, "S." "z."
    return word in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[a-zäöü]\.)+[a-zäöü]", word))
