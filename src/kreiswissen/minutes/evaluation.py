"""Evaluation of the minutes structure extraction against hand-labelled protocols.

The labels (``data/labels_bundestag.json``, rules in ``data/README.md``) list, per protocol, the agenda items and
every decision the chair states as the result of a vote or of the house's consent, each with a verbatim ``anchor``
from the protocol's ``.txt`` file. :func:`score` compares an extractor's output with them:

- **Agenda items** match by normalised number (``"TOP 3"``, ``"Punkt 3"``, ``"3."`` → ``"3"``;
  ``"Zusatzpunkt 7"`` → ``"ZP7"``) when both sides have one; otherwise by title token overlap ≥ 0.5 (shared content
  words over the shorter title's, at least two shared words unless the shorter title has only one; stop words and
  words found in nearly every title such as "Beratung", "Antrag", "Drucksache" do not count), or when the predicted
  ``source_text`` contains the label's anchor (or, with at least three words, is contained in it).
- **Votes** match when the outcome is equal **and** the predicted verbatim ``text`` contains the anchor, the anchor
  contains the text, or the text holds at least 60 % of the anchor's words. Both matchings are one-to-one, greedy by
  overlap (best pairs first). Votes are also matched by text alone, and ``outcome_accuracy`` is the share of those
  pairs whose outcome agrees.

Precision, recall and F1 are given per file and micro-averaged over all files, with the missed labels and the
spurious predictions for debugging. An empty denominator counts as 1.0 (nothing predicted: nothing spurious;
nothing labelled: nothing missed). Only the standard library is used.

Run ``python -m kreiswissen.minutes.evaluation PREDICTIONS.json`` to print the table for a predictions file of the
form ``{"<file>": {"agenda_items": [...], "votes": [...]}}``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NotRequired, TypedDict

OUTCOMES: frozenset[str] = frozenset(
    {"angenommen", "abgelehnt", "überwiesen", "zurückgezogen", "vertagt", "abgesetzt", "unentschieden", "offen"}
)
MAJORITIES: frozenset[str] = frozenset({"einstimmig", "mehrheitlich"})
DECIDED_BY: frozenset[str] = frozenset({"abstimmung", "einvernehmen"})
DEFAULT_LABELS = "labels_bundestag.json"

TITLE_OVERLAP = 0.5  # agenda items without a number on either side: shared title words over the shorter title's
VOTE_WORD_OVERLAP = 0.6  # votes: share of the anchor's words that the predicted text must hold


class AgendaItemLabel(TypedDict):
    id: str  # the normalised number, or a slug for an unnumbered item; votes refer to it
    number: str | None
    title: str
    anchor: str  # verbatim, unique in the protocol's .txt: where the item is called up
    note: NotRequired[str]


class VoteCounts(TypedDict):
    ja: int
    nein: int
    enthaltung: int


class VoteLabel(TypedDict):
    agenda_item: str | None  # id of the agenda item the decision concerns, None before the first item
    outcome: str  # one of OUTCOMES
    majority: str | None  # "einstimmig", "mehrheitlich", or None when the protocol does not say
    counts: VoteCounts | None
    roll_call: bool
    decided_by: str  # "abstimmung" (show of hands, roll call, election) or "einvernehmen" (consent)
    motion: str  # what was decided, short
    anchor: str  # verbatim, unique in the protocol's .txt: the sentence(s) stating the result
    note: NotRequired[str]


class ProtocolLabels(TypedDict):
    file: str  # file name without extension
    body: str
    session: str
    date: str
    agenda_items: list[AgendaItemLabel]
    votes: list[VoteLabel]


def load_labels(path: str | Path | None = None) -> list[ProtocolLabels]:
    """Load and check a labels file; by default the packaged ``labels_bundestag.json``.

    Raises ``ValueError`` when an entry lacks a field or an outcome is not one of :data:`OUTCOMES`.
    """
    if path is None:
        text = resources.files("kreiswissen.minutes").joinpath("data", DEFAULT_LABELS).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("protocols", [])
    if not isinstance(data, list):
        raise ValueError("labels: expected a list of protocols")
    for protocol in data:
        _check_protocol(protocol)
    return data


def _check_protocol(protocol: Mapping[str, Any]) -> None:
    name = protocol.get("file", "?")
    for key in ("file", "body", "session", "date", "agenda_items", "votes"):
        if key not in protocol:
            raise ValueError(f"labels {name}: missing {key!r}")
    ids = set()
    for item in protocol["agenda_items"]:
        for key in ("id", "number", "title", "anchor"):
            if key not in item:
                raise ValueError(f"labels {name}: agenda item without {key!r}: {item}")
        if item["id"] in ids:
            raise ValueError(f"labels {name}: duplicate agenda item id {item['id']!r}")
        ids.add(item["id"])
    for vote in protocol["votes"]:
        for key in ("agenda_item", "outcome", "majority", "counts", "roll_call", "decided_by", "motion", "anchor"):
            if key not in vote:
                raise ValueError(f"labels {name}: vote without {key!r}: {vote}")
        if vote["outcome"] not in OUTCOMES:
            raise ValueError(f"labels {name}: unknown outcome {vote['outcome']!r}")
        if vote["majority"] is not None and vote["majority"] not in MAJORITIES:
            raise ValueError(f"labels {name}: unknown majority {vote['majority']!r}")
        if vote["decided_by"] not in DECIDED_BY:
            raise ValueError(f"labels {name}: unknown decided_by {vote['decided_by']!r}")


# --- normalisation -------------------------------------------------------------------------------------------

_NUMBER_WORDS = re.compile(r"\b(?:tagesordnungspunkte?s?|top|punkte?s?|nr|nummer|der|tagesordnung)\b")
_ZUSATZ = re.compile(r"^(?:zusatzpunkte?s?|zusatztagesordnungspunkte?s?|zp)\s*", re.IGNORECASE)
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_QUOTES = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u00ab\u00bb"} | {c: "'" for c in "\u2018\u2019\u201a"})
_STOPWORDS = frozenset(
    {
        "der", "die", "das", "des", "dem", "den", "ein", "eine", "einer", "eines", "einem", "einen", "und", "oder",
        "zu", "zur", "zum", "im", "in", "am", "an", "auf", "aus", "bei", "mit", "nach", "über", "von", "vom", "vor",
        "für", "durch", "gegen", "ohne", "um", "als", "sowie", "betr", "betreffend", "nr"
    }
)
# Words in nearly every agenda title; they never decide whether two titles name the same item.
_GENERIC_TITLE_WORDS = frozenset(
    {
        "beratung", "antrag", "antrags", "antrages", "anträge", "anträgen", "entwurf", "entwurfs", "gesetz",
        "gesetzes", "gesetzentwurf", "gesetzentwurfs", "drucksache", "drucksachen", "erste", "ersten", "zweite",
        "zweiten", "dritte", "dritten", "bericht", "berichts", "mündlicher", "schriftlicher", "ausschuss",
        "ausschusses", "ausschuß", "ausschußes", "abgeordneten", "fraktion", "fraktionen", "genossen",
        "eingebrachten", "verbindung", "punkt", "tagesordnungspunkt", "tagesordnung", "top"
    }
)


def normalize_number(value: str | int | None) -> str | None:
    """Normalise an agenda item number: ``"TOP 3"``, ``"Punkt 3 der Tagesordnung"``, ``" 3. "`` → ``"3"``;
    ``"Zusatzpunkt 7"``, ``"ZP 7"`` → ``"ZP7"``; ``"TOP 1 a"`` → ``"1A"``. Empty or missing → ``None``."""
    if value is None:
        return None
    text = _NUMBER_WORDS.sub(" ", unicodedata.normalize("NFKC", str(value)).casefold()).strip()
    zusatz = _ZUSATZ.match(text)
    if zusatz:
        text = text[zusatz.end():]
    text = re.sub(r"[\s.:,;()\-]+", "", text).upper()
    if not text:
        return None
    return f"ZP{text}" if zusatz else text


def normalize_text(text: str) -> str:
    """Casefold, unify dashes and quotes, collapse whitespace: the form in which texts are compared."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text).strip()


def words(text: str) -> list[str]:
    """The words of a text (letters and digits), casefolded."""
    return re.findall(r"\w+", normalize_text(text))


def _title_words(text: str) -> set[str]:
    return {
        w for w in words(text)
        if (len(w) >= 3 or w.isdigit()) and w not in _STOPWORDS and w not in _GENERIC_TITLE_WORDS
    }


def title_overlap(label_title: str, predicted_title: str) -> float:
    """Shared content words over the shorter title's content words (0.0 when fewer than
    ``min(2, len(shorter))`` words are shared)."""
    a, b = _title_words(label_title), _title_words(predicted_title)
    if not a or not b:
        return 0.0
    shared = len(a & b)
    shorter = min(len(a), len(b))
    if shared < min(2, shorter):
        return 0.0
    return shared / shorter


def _contains(haystack: str, needle: str) -> bool:
    """Whether the needle's words occur in the haystack as a run, whatever the punctuation between them (the
    extractor joins a question and its answer with " – ")."""
    needle_words = " ".join(words(needle))
    return bool(needle_words) and f" {needle_words} " in f" {' '.join(words(haystack))} "


def text_overlap(anchor: str, predicted_text: str) -> float:
    """How well a predicted vote text covers a label anchor: 1.0 when it contains the anchor, otherwise the share
    of the anchor's (distinct) words found in it."""
    if _contains(predicted_text, anchor):
        return 1.0
    anchor_words = set(words(anchor))
    if not anchor_words:
        return 0.0
    return len(anchor_words & set(words(predicted_text))) / len(anchor_words)


def vote_text_matches(anchor: str, predicted_text: str) -> bool:
    """The text rule for votes: contains the anchor, is contained in it, or holds ≥ 60 % of its words."""
    return (
        _contains(predicted_text, anchor)
        or _contains(anchor, predicted_text)
        or text_overlap(anchor, predicted_text) >= VOTE_WORD_OVERLAP
    )


# --- matching ------------------------------------------------------------------------------------------------


def _greedy(
    gold: Sequence[Mapping[str, Any]],
    pred: Sequence[Mapping[str, Any]],
    pair_score: Callable[[Mapping[str, Any], Mapping[str, Any]], float | None],
) -> list[tuple[int, int]]:
    """One-to-one matching: every admissible pair (score not None), best score first, ties in document order."""
    pairs = []
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            s = pair_score(g, p)
            if s is not None:
                pairs.append((-s, i, j))
    pairs.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    matches = []
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            matches.append((i, j))
    return sorted(matches)


def _agenda_pair(label: Mapping[str, Any], pred: Mapping[str, Any]) -> float | None:
    gold_no = normalize_number(label.get("number"))
    pred_no = normalize_number(pred.get("number"))
    title = str(pred.get("title") or "")
    overlap = title_overlap(str(label.get("title") or ""), title)
    if gold_no and pred_no:
        return 1.0 + overlap if gold_no == pred_no else None
    source = str(pred.get("source_text") or "")
    if source and (
        _contains(source, label["anchor"]) or (len(words(source)) >= 3 and _contains(label["anchor"], source))
    ):
        return max(overlap, 0.5)
    return overlap if overlap >= TITLE_OVERLAP else None


def _outcome(value: Any) -> str:
    return normalize_text(str(value or ""))


def _vote_pair(label: Mapping[str, Any], pred: Mapping[str, Any]) -> float | None:
    if _outcome(label["outcome"]) != _outcome(pred.get("outcome")):
        return None
    return _vote_text_pair(label, pred)


def _vote_text_pair(label: Mapping[str, Any], pred: Mapping[str, Any]) -> float | None:
    text = str(pred.get("text") or "")
    if not vote_text_matches(label["anchor"], text):
        return None
    return text_overlap(label["anchor"], text)


def _prf(tp: int, gold: int, pred: int) -> dict[str, float]:
    precision = tp / pred if pred else 1.0
    recall = tp / gold if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _file_key(name: str) -> str:
    name = Path(str(name)).name
    for suffix in (".txt", ".xml", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _score_kind(
    gold: Sequence[Mapping[str, Any]],
    pred: Sequence[Mapping[str, Any]],
    pair_score: Callable[[Mapping[str, Any], Mapping[str, Any]], float | None],
) -> dict[str, Any]:
    matches = _greedy(gold, pred, pair_score)
    hit_g = {i for i, _ in matches}
    hit_p = {j for _, j in matches}
    result: dict[str, Any] = {"tp": len(matches), "gold": len(gold), "predicted": len(pred)}
    result.update(_prf(len(matches), len(gold), len(pred)))
    result["matched"] = [{"label": dict(gold[i]), "predicted": dict(pred[j])} for i, j in matches]
    result["missed"] = [dict(g) for i, g in enumerate(gold) if i not in hit_g]
    result["spurious"] = [dict(p) for j, p in enumerate(pred) if j not in hit_p]
    return result


def score(labels: Sequence[ProtocolLabels], predicted: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Score predictions against labels.

    ``predicted`` maps a protocol's file name (with or without ``.txt``/``.xml``) to
    ``{"agenda_items": [{"number", "title", "source_text"?}], "votes": [{"agenda_item", "outcome", "text"}]}``;
    a labelled file without predictions counts as predicting nothing.

    Returns ``{"files": {file: {"agenda_items": M, "votes": M}}, "overall": {"agenda_items": M, "votes": M},
    "unlabelled_files": [...]}`` where ``M`` holds ``tp``, ``gold``, ``predicted``, ``precision``, ``recall``,
    ``f1``, ``matched``, ``missed``, ``spurious`` (overall: each entry with its ``file``); vote entries also hold
    ``text_matched``, ``outcome_correct`` and ``outcome_accuracy`` (None when no vote matched by text).
    """
    preds = {_file_key(k): v for k, v in predicted.items()}
    files: dict[str, Any] = {}
    totals: dict[str, dict[str, Any]] = {
        kind: {"tp": 0, "gold": 0, "predicted": 0, "missed": [], "spurious": []} for kind in ("agenda_items", "votes")
    }
    totals["votes"].update(text_matched=0, outcome_correct=0)
    for protocol in labels:
        name = protocol["file"]
        pred = preds.get(name) or {}
        pred_items = list(pred.get("agenda_items") or [])
        pred_votes = list(pred.get("votes") or [])
        items = _score_kind(protocol["agenda_items"], pred_items, _agenda_pair)
        votes = _score_kind(protocol["votes"], pred_votes, _vote_pair)
        by_text = _greedy(protocol["votes"], pred_votes, _vote_text_pair)
        correct = sum(
            1 for i, j in by_text if _outcome(protocol["votes"][i]["outcome"]) == _outcome(pred_votes[j].get("outcome"))
        )
        counted = [m for m in votes["matched"] if m["label"].get("counts")]
        counts_ok = sum(1 for m in counted if counts_agree(m["label"]["counts"], m["predicted"].get("counts")))
        votes["counts_labelled"], votes["counts_correct"] = len(counted), counts_ok
        votes["text_matched"] = len(by_text)
        votes["outcome_correct"] = correct
        votes["outcome_accuracy"] = correct / len(by_text) if by_text else None
        files[name] = {"agenda_items": items, "votes": votes}
        for kind, res in (("agenda_items", items), ("votes", votes)):
            total = totals[kind]
            for key in ("tp", "gold", "predicted"):
                total[key] += res[key]
            total["missed"].extend({"file": name, **m} for m in res["missed"])
            total["spurious"].extend({"file": name, **s} for s in res["spurious"])
        totals["votes"]["text_matched"] += len(by_text)
        totals["votes"]["counts_labelled"] = totals["votes"].get("counts_labelled", 0) + len(counted)
        totals["votes"]["counts_correct"] = totals["votes"].get("counts_correct", 0) + counts_ok
        totals["votes"]["outcome_correct"] += correct
    for total in totals.values():
        total.update(_prf(total["tp"], total["gold"], total["predicted"]))
    tv = totals["votes"]
    tv["outcome_accuracy"] = tv["outcome_correct"] / tv["text_matched"] if tv["text_matched"] else None
    labelled = {p["file"] for p in labels}
    return {"files": files, "overall": totals, "unlabelled_files": sorted(k for k in preds if k not in labelled)}


def counts_agree(label: Mapping[str, Any], predicted: Mapping[str, Any] | None) -> bool:
    """Every figure as labelled; a figure the protocol leaves out of a complete result is 0 in the labels
    ("24:0", "mit zwölf Ja-Stimmen und zwei Enthaltungen") and may be left unstated (None) by the extractor,
    which never infers figures. Ja must be stated."""
    if not predicted or predicted.get("ja") != label.get("ja"):
        return False
    return all(predicted.get(k) == label.get(k) or (predicted.get(k) is None and label.get(k) == 0)
               for k in ("nein", "enthaltung"))


def format_table(result: Mapping[str, Any], *, errors: bool = True) -> str:
    """A plain-text table: precision, recall, F1 and tp/gold/predicted per file and overall, for agenda items and
    votes, the vote outcome accuracy, then (unless ``errors`` is false: a blind set's errors must stay unseen)
    the missed and spurious entries."""

    def cells(m: Mapping[str, Any]) -> str:
        return (f"{m['precision']:5.2f} {m['recall']:5.2f} {m['f1']:5.2f} "
                f"{m['tp']:>3}/{m['gold']:<3}/{m['predicted']:<3}")

    def acc(m: Mapping[str, Any]) -> str:
        value = m.get("outcome_accuracy")
        return "    -" if value is None else f"{value:5.2f}"

    rows = [(name, r["agenda_items"], r["votes"]) for name, r in result["files"].items()]
    rows.append(("overall (micro)", result["overall"]["agenda_items"], result["overall"]["votes"]))
    width = max(len(r[0]) for r in rows)
    head = (f"{'':<{width}}  {'agenda items':<29}  {'votes':<29}  outcome\n"
            f"{'file':<{width}}  {'    P     R    F1  tp/gold/pred':<29}  {'    P     R    F1  tp/gold/pred':<29}"
            f"  acc.")
    lines = [head, "-" * (width + 70)]
    for name, items, votes in rows:
        if name.startswith("overall"):
            lines.append("-" * (width + 70))
        lines.append(f"{name:<{width}}  {cells(items):<29}  {cells(votes):<29}  {acc(votes)}")
    overall = result["overall"]
    if overall["votes"].get("counts_labelled"):
        lines.append(f"vote counts (Ja/Nein/Enthaltungen) right: {overall['votes']['counts_correct']}/"
                     f"{overall['votes']['counts_labelled']} of the matched votes with labelled counts")
    for kind, label in (("agenda_items", "agenda item"), ("votes", "vote")) if errors else ():
        for entry in overall[kind]["missed"]:
            lines.append(f"missed {label}: {entry['file']}: {_describe(entry)}")
        for entry in overall[kind]["spurious"]:
            lines.append(f"spurious {label}: {entry['file']}: {_describe(entry)}")
    if result.get("unlabelled_files"):
        lines.append("not scored (no labels): " + ", ".join(result["unlabelled_files"]))
    return "\n".join(lines)


def _describe(entry: Mapping[str, Any]) -> str:
    parts = []
    if entry.get("outcome"):
        parts.append(str(entry["outcome"]))
    if entry.get("number"):
        parts.append(f"[{entry['number']}]")
    text = entry.get("anchor") or entry.get("text") or entry.get("title") or entry.get("source_text") or ""
    text = re.sub(r"\s+", " ", str(text))
    parts.append(repr(text[:100] + ("…" if len(text) > 100 else "")))
    return " ".join(parts)


HELDOUT_LABELS = "labels_bundestag_heldout.json"
KOMMUNAL_DEV_LABELS = "labels_kommunal_dev.json"
KOMMUNAL_HELDOUT_LABELS = "labels_kommunal_heldout.json"
KOMMUNAL_BLIND_LABELS = "labels_kommunal_blind.json"
KOMMUNAL_D_LABELS = "labels_kommunal_d.json"
KOMMUNAL_E_LABELS = "labels_kommunal_e.json"
KOMMUNAL_F_LABELS = "labels_kommunal_f.json"
TRANSCRIPT_SUFFIXES = (".txt", ".vtt", ".srt", ".docx", ".xml")


def predictions_for(structure: Any) -> dict[str, Any]:
    """An extraction result (``minutes.extract.Structure``) in the form :func:`score` compares."""
    items = structure.agenda_items
    return {"agenda_items": [{"number": i.number, "title": i.title, "source_text": i.source_text} for i in items],
            "votes": [{"agenda_item": i.number, **_vote_prediction(v)} for i in items for v in i.votes]
            + [{"agenda_item": None, **_vote_prediction(v)} for v in structure.unassigned_votes]}


def _vote_prediction(vote: Any) -> dict[str, Any]:
    counts = {"ja": vote.yes, "nein": vote.no, "enthaltung": vote.abstain}
    return {"outcome": vote.outcome, "text": vote.text,
            "counts": counts if vote.yes is not None or vote.no is not None else None}


def evaluate_directory(directory: Path, labels: Sequence[ProtocolLabels], suffix: str = ".txt") -> dict[str, Any]:
    """Read each labelled protocol from ``directory`` (``<file><suffix>``; suffix ``"*"``: whichever transcript
    format is there), extract its structure and score it. Protocols without such a file are left out of the
    result (and listed under ``not_found``)."""
    from kreiswissen.minutes.extract import extract
    from kreiswissen.minutes.transcripts import read_transcript

    predicted: dict[str, Any] = {}
    missing: list[str] = []
    for protocol in labels:
        candidates = TRANSCRIPT_SUFFIXES if suffix == "*" else (suffix,)
        path = next((directory / f"{protocol['file']}{s}" for s in candidates
                     if (directory / f"{protocol['file']}{s}").is_file()), directory / protocol["file"])
        if not path.is_file():
            missing.append(protocol["file"])
            continue
        predicted[protocol["file"]] = predictions_for(extract(read_transcript(path)))
    result = score([p for p in labels if p["file"] in predicted], predicted)
    result["not_found"] = missing
    return result


def load_packaged(name: str) -> list[ProtocolLabels]:
    with resources.as_file(resources.files("kreiswissen.minutes").joinpath("data", name)) as path:
        return load_labels(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table (or the JSON result) for a predictions file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path, help='JSON: {"<file>": {"agenda_items": [...], "votes": [...]}}')
    parser.add_argument("--labels", type=Path, default=None, help="labels file (default: the packaged one)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = score(load_labels(args.labels), json.loads(args.predictions.read_text("utf-8")))
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
