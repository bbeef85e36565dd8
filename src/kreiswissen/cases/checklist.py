"""The checklist of a service: required documents, fees and deadlines, each with its source.

Two kinds of source, both named per item:

- the **catalogue entry** of the service (documents, fees, deadlines as the administration maintains them,
  with the entry's legal bases);
- the **governing rules in the knowledge base**: the clerk's search (row-level security) for the service's
  documents, fees and deadlines; from passages of documents that are about the service (their title or section
  shares a word of the service's name or synonyms) the sentences that state an amount, a deadline or a
  document to submit are taken verbatim, with document, section and page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kreiswissen.cases.catalogue import Catalogue, Service
from kreiswissen.search.hybrid import SearchResult
from kreiswissen.search.models import SearchHit
from kreiswissen.text.analyzer import query_terms
from kreiswissen.text.sentences import split_sentences

KINDS = ("unterlage", "gebuehr", "frist")
KIND_LABELS = {"unterlage": "Unterlagen", "gebuehr": "Gebühren", "frist": "Fristen"}
MAX_PER_KIND = 5
MAX_SENTENCE_CHARS = 400

_QUERIES = {
    "unterlage": "{name}: Antrag, vorzulegende Unterlagen und Nachweise",
    "gebuehr": "{name}: Höhe der Gebühr, Steuersatz, Kosten in Euro",
    "frist": "{name}: Frist, innerhalb welcher Zeit anzeigen oder beantragen",
}
_PATTERNS = {
    "unterlage": re.compile(r"\b(?:vorzulegen|beizufügen|einzureichen|nachzuweisen|Nachweis(?:e|es)?|"
                            r"Bescheinigung|Unterlagen|glaubhaft zu machen)\b", re.IGNORECASE),
    "gebuehr": re.compile(r"\d[\d.,]*\s*(?:€|Euro|EUR)\b|\bGebühr(?:en)?\s+(?:beträgt|von|in Höhe)|"
                          r"\bSteuersatz\b.*\d", re.IGNORECASE),
    "frist": re.compile(r"\binnerhalb\s+(?:von\s+)?(?:\w+\s+){0,2}(?:Tag|Woche|Monat|Jahr)\w*|\bFrist\b|"
                        r"\bspätestens\b|\bbis\s+zum\s+\d|\bbinnen\b", re.IGNORECASE),
}
# Words of service names that say nothing about the subject ("Antrag", "Bescheinigung", …).
_GENERIC = {"antrag", "anmeld", "abmeld", "bescheinig", "ausstell", "erteil", "beantrag", "verfahr", "gemeind",
            "kreis", "leist", "satzung", "ordnung", "allgemein", "änderung", "auskunft", "beratung", "befreiung"}

SearchFn = Callable[[str], SearchResult]


@dataclass
class ChecklistItem:
    kind: str
    text: str
    source: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "source": self.source}


def _subject_terms(service: Service) -> set[str]:
    text = " ".join([service.name, *service.synonyms])
    return {t for t, w in query_terms(text).items() if w >= 1.0 and t not in _GENERIC and not t[0].isdigit()}


def _about(hit: SearchHit, subject: set[str]) -> bool:
    where = f"{hit.document.title} {hit.chunk.section or ''}"
    return bool(subject & {t for t, w in query_terms(where).items() if w >= 1.0})


def _hit_source(hit: SearchHit) -> dict[str, Any]:
    section = (hit.chunk.section or "").split(" › ")[-1]
    return {"kind": "dokument", "title": hit.document.title, "section": section, "page": hit.chunk.page,
            "document_id": hit.document.id, "chunk_id": hit.chunk.id}


def checklist(catalogue: Catalogue, service_id: str, search: SearchFn | None = None) -> dict[str, Any]:
    """``{"service", "service_name", "unit", "unit_name", "items": [{kind, text, source}], "sources_searched"}``."""
    from kreiswissen.errors import InputError

    service = catalogue.services.get(service_id)
    if service is None:
        raise InputError(f"unknown service {service_id}", user_message=f"Leistung „{service_id}“ gibt es im "
                         "Leistungskatalog nicht ('kreiswissen cases catalogue list').")
    unit = catalogue.unit_of(service)
    entry = {"kind": "leistungskatalog", "title": f"Leistungskatalog: {service.name}",
             "section": "; ".join(service.legal_bases)}
    items = [ChecklistItem("unterlage", d, entry) for d in service.documents]
    if service.fees:
        items.append(ChecklistItem("gebuehr", service.fees, entry))
    if service.deadlines:
        items.append(ChecklistItem("frist", service.deadlines, entry))
    searched = 0
    if search is not None:
        subject = _subject_terms(service)
        seen: set[str] = set()
        for kind in KINDS:
            found = 0
            result = search(_QUERIES[kind].format(name=service.name))
            searched += len(result.hits)
            for hit in result.hits:
                if found >= MAX_PER_KIND or not _about(hit, subject):
                    continue
                for sentence in split_sentences(hit.chunk.text.replace("\n", " ")):
                    sentence = sentence.strip()
                    key = " ".join(sentence.split()).casefold()
                    if (len(sentence) < 20 or len(sentence) > MAX_SENTENCE_CHARS or key in seen
                            or not _PATTERNS[kind].search(sentence)):
                        continue
                    seen.add(key)
                    items.append(ChecklistItem(kind, sentence, _hit_source(hit)))
                    found += 1
                    if found >= MAX_PER_KIND:
                        break
    return {"service": service.id, "service_name": service.name, "unit": unit.id, "unit_name": unit.name,
            "items": [i.to_json() for i in items], "sources_searched": searched}
