"""Stored Niederschriften: draft → bearbeitet → genehmigt, exported, and ingested into the knowledge base.

A draft holds the whole session, non-public deliberations included: only its owner (the Protokollführer who
created it) and operators can read it (row-level security, migration 0011).

Rules this module keeps:

- **Verbatim stays verbatim.** Header, attendance, TOP titles, the public flag and the discussion summary may be
  edited; vote results and decision texts may not (they are the transcript's own words with their source).
- **Agenda anchoring** (``--agenda FILE``, text or DOCX): lines "TOP 1: Titel", "TOP 3 a – Titel", "1. Titel"
  or "1) Titel"; a line that says "nichtöffentlich"/"nicht öffentlich" marks its TOP non-public (the mark is
  removed from the title). Extracted items are merged with agenda entries by number (case and spaces ignored,
  "TOP"/"Punkt" dropped): the agenda's title wins, and an item is public only when both the agenda and the
  transcript say so (fail closed). Agenda entries the transcript never reaches are not invented; extracted items
  without an agenda entry keep their extracted title and flag.
- **Approval** (owner or operator only): the approved minutes are written under
  ``$KREISWISSEN_HOME/minutes/<id>/`` as two Markdown files with stable names and ingested through
  ``Runtime.ingest`` (so a re-approval after edits makes a new version of the same documents): the public
  minutes (public TOPs only, no trace of the others) for the group ``alle``, and the non-public TOPs for
  ``nonpublic_groups`` (given at creation, else the approver's groups other than ``alle``). A draft with
  non-public TOPs and nobody entitled is not approved. The first entitled group the approver belongs to is the
  documents' department, so the Redakteur who approved can replace them on re-approval.
- **Exports for those not entitled** are rendered from minutes without the non-public TOPs (and their tasks
  and decisions), so nothing of them reaches the file.
"""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, NotFound, PermissionDenied
from kreiswissen.ingest.jobs import AUDIO_SUFFIXES
from kreiswissen.ingest.pipeline import IngestReport
from kreiswissen.minutes.draft import (
    ATTENDANCE_FIELDS,
    HEADER_FIELDS,
    Minutes,
    MinutesItem,
    SummarySentence,
    Task,
    build_draft,
)
from kreiswissen.minutes.extract import extract
from kreiswissen.minutes.model import SourceRef, Transcript, Vote
from kreiswissen.models.generator import Generator
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.principal import EVERYONE, Principal, validate_group

EXPORT_FORMATS = ("docx", "odt", "pdf")
PUBLIC_FILE = "niederschrift-oeffentlich.md"
NONPUBLIC_FILE = "niederschrift-nichtoeffentlich.md"
STATUS_LABELS = {"entwurf": "Entwurf", "bearbeitet": "bearbeitet", "genehmigt": "genehmigt"}

IngestFn = Callable[..., IngestReport]
Progress = Callable[[float], None]


# -- Minutes ⇄ JSON ----------------------------------------------------------------------------------------
def _ref(data: dict[str, Any] | None) -> SourceRef:
    data = data or {}
    return SourceRef(int(data.get("segment", 0)), data.get("line"), data.get("start_s"), data.get("end_s"))


def _vote(data: dict[str, Any]) -> Vote:
    counts = data.get("counts") or {}
    return Vote(outcome=data["outcome"], text=data["text"], source=_ref(data.get("source")),
                majority=data.get("majority"), yes=counts.get("ja"), no=counts.get("nein"),
                abstain=counts.get("enthaltung"), roll_call=bool(data.get("roll_call")),
                motion=data.get("motion"), recorded_votes=list(data.get("recorded_votes") or []),
                outcome_inferred=bool(data.get("outcome_inferred")), wording=data.get("wording"))


def minutes_from_json(data: dict[str, Any]) -> Minutes:
    """The inverse of ``Minutes.to_json`` (decisions are derived from the votes again)."""
    header = data.get("header") or {}
    attendance = data.get("attendance") or {}
    minutes = Minutes(source=data.get("source") or "", status=data.get("status") or "entwurf",
                      attribution=data.get("attribution"))
    for name in HEADER_FIELDS:
        setattr(minutes, name, header.get(name))
    for name in ATTENDANCE_FIELDS:
        setattr(minutes, name, list(attendance.get(name) or []))
    for item in data.get("agenda_items") or []:
        minutes.items.append(MinutesItem(
            number=item.get("number"), title=item.get("title") or "", public=bool(item.get("public", True)),
            source=_ref(item.get("source")), votes=[_vote(v) for v in item.get("votes") or []],
            summary=[SummarySentence(s["text"], _ref(s["source"]) if s.get("source") else None, s.get("speaker"))
                     for s in item.get("summary") or []],
            summary_mode=item.get("summary_mode") or "extractive", motions=list(item.get("motions") or []),
            referred=bool(item.get("referred")), withdrawn=bool(item.get("withdrawn")),
            postponed=bool(item.get("postponed")), removed=bool(item.get("removed"))))
    for task in data.get("tasks") or []:
        minutes.tasks.append(Task(who=task["who"], what=task["what"], until=task.get("until"),
                                  source=_ref(task.get("source")), item=task.get("item")))
    return minutes


def public_part(minutes: Minutes) -> Minutes:
    """The minutes without the non-public TOPs and everything that belongs to them."""
    hidden = {key for item in minutes.items if not item.public for key in (item.number, item.title) if key}
    return replace(minutes, items=[i for i in minutes.items if i.public],
                   tasks=[t for t in minutes.tasks if t.item not in hidden])


def nonpublic_part(minutes: Minutes) -> Minutes:
    """The header with the non-public TOPs only (the second document ingested on approval)."""
    shown = {key for item in minutes.items if not item.public for key in (item.number, item.title) if key}
    return replace(minutes, items=[i for i in minutes.items if not i.public],
                   tasks=[t for t in minutes.tasks if t.item in shown],
                   title=f"{minutes.title or 'Niederschrift'} – nichtöffentlicher Teil")


# -- agenda files ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgendaEntry:
    number: str
    title: str
    public: bool


_NONPUBLIC = re.compile(r"\s*[(\[–-]?\s*\bnicht\s*öffentlich(?:er\s+Teil)?\b\s*[)\]]?\s*", re.IGNORECASE)
_AGENDA_LINE = re.compile(r"^\s*(?:(?:TOP|Tagesordnungspunkt|Punkt)\s*(?P<a>\d+\s*[a-z]?)|(?P<b>\d+\s*[a-z]?)"
                          r"(?=[.)]))\s*[.:)–-]?\s*(?P<title>.*\S)?\s*$", re.IGNORECASE)


def agenda_key(number: str | None) -> str:
    clean = re.sub(r"\s+|\.$", "", (number or "").lower())
    return re.sub(r"^(?:top|tagesordnungspunkt|punkt)", "", clean)


def parse_agenda(lines: list[str]) -> list[AgendaEntry]:
    """Agenda entries of the lines (the rule of the module docstring); other lines are ignored."""
    entries: list[AgendaEntry] = []
    for line in lines:
        match = _AGENDA_LINE.match(line)
        if not match:
            continue
        number = re.sub(r"\s+", "", match.group("a") or match.group("b"))
        raw_title = match.group("title") or ""
        public = not re.search(r"nicht\s*öffentlich", raw_title, re.IGNORECASE)
        title = _NONPUBLIC.sub(" ", raw_title).strip(" :–-") or f"TOP {number}"
        entries.append(AgendaEntry(number, title, public))
    return entries


def read_agenda(path: Path) -> list[AgendaEntry]:
    if not path.is_file():
        raise InputError(f"agenda {path} not found", user_message=f"Tagesordnung '{path}': nicht gefunden.")
    if path.suffix.lower() == ".docx":
        import docx

        lines = [p.text for p in docx.Document(str(path)).paragraphs]
    else:
        from kreiswissen.minutes.transcripts import UndecodableText, decode_text

        try:
            lines = decode_text(path.read_bytes())[0].splitlines()
        except UndecodableText:
            raise InputError(f"agenda {path} undecodable", user_message=f"Tagesordnung '{path}': keine lesbare "
                             "Textdatei.") from None
    entries = parse_agenda(lines)
    if not entries:
        raise InputError(f"agenda {path}: no items", user_message=f"Tagesordnung '{path}': keine Punkte gefunden "
                         "(erwartet Zeilen wie „TOP 1: Titel“ oder „1. Titel“).")
    return entries


def apply_agenda(minutes: Minutes, agenda: list[AgendaEntry]) -> None:
    by_key = {agenda_key(e.number): e for e in agenda}
    for item in minutes.items:
        entry = by_key.get(agenda_key(item.number))
        if entry is None:
            continue
        item.title = entry.title
        item.public = item.public and entry.public


# -- edits -------------------------------------------------------------------------------------------------
_VERBATIM = re.compile(r"vote|stimm|decision|beschluss|ergebnis|outcome|counts|text$", re.IGNORECASE)
_YES = {"ja", "true", "1", "öffentlich", "oeffentlich", "yes"}
_NO = {"nein", "false", "0", "nichtöffentlich", "nicht öffentlich", "nichtoeffentlich", "no"}


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[;,\n]", str(value)) if p.strip()]


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputError(f"bad flag {key}={value}", user_message=f"„{key}“: erwartet ja oder nein, nicht „{value}“.")


def apply_changes(minutes: Minutes, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply edits (keys: header and attendance fields, ``top.<Nummer>.title|public|summary``, or
    ``top.@<position>.…`` for the item at that 0-based position); returns
    ``{key: [old, new]}``. Vote results and decision texts are refused."""
    done: dict[str, list[Any]] = {}
    for key, value in changes.items():
        if key in HEADER_FIELDS:
            old = getattr(minutes, key)
            setattr(minutes, key, str(value).strip() or None)
        elif key in ATTENDANCE_FIELDS:
            old = list(getattr(minutes, key))
            setattr(minutes, key, _names(value))
        elif key.startswith("top."):
            number, _, field_name = key[4:].rpartition(".")
            if _VERBATIM.search(field_name):
                raise PermissionDenied(f"verbatim field {key}", user_message="Abstimmungsergebnisse und "
                                       "Beschlusstexte stehen wörtlich wie im Wortprotokoll und können nicht "
                                       f"bearbeitet werden („{key}“).")
            if re.fullmatch(r"@\d+", number or ""):  # by position (0-based): items without a number too
                position = int(number[1:])
                matches = minutes.items[position:position + 1]
            else:
                matches = [i for i in minutes.items if agenda_key(i.number) == agenda_key(number)]
            if not number or not matches:
                raise InputError(f"no item {number}", user_message=f"Einen TOP „{number}“ gibt es in dieser "
                                 "Niederschrift nicht.")
            item = matches[0]
            if field_name == "title":
                old = item.title
                item.title = str(value).strip()
            elif field_name == "public":
                old = item.public
                item.public = _flag(value, key)
            elif field_name == "summary":
                old = [s.text for s in item.summary]
                item.summary = [SummarySentence(str(value).strip(), None)] if str(value).strip() else []
                item.summary_mode = "edited"  # type: ignore[assignment]
            else:
                raise InputError(f"unknown item field {key}", user_message=f"Unbekanntes Feld „{field_name}“ "
                                 "(möglich: title, public, summary).")
            value = getattr(item, field_name) if field_name != "summary" else [s.text for s in item.summary]
        elif _VERBATIM.search(key):
            raise PermissionDenied(f"verbatim field {key}", user_message="Abstimmungsergebnisse und Beschlusstexte "
                                   "stehen wörtlich wie im Wortprotokoll und können nicht bearbeitet werden "
                                   f"(„{key}“).")
        else:
            raise InputError(f"unknown minutes field {key!r}", user_message=f"Unbekanntes Feld der Niederschrift: "
                             f"„{key}“ (möglich: {', '.join(HEADER_FIELDS + ATTENDANCE_FIELDS)}, "
                             "top.<Nummer>.title|public|summary).")
        new = getattr(minutes, key) if key in HEADER_FIELDS + ATTENDANCE_FIELDS else value
        done[key] = [old, new]
    return done


# -- the store ---------------------------------------------------------------------------------------------
def _minutes_id(value: str) -> str:
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise NotFound(f"malformed minutes id {value!r}",
                       user_message=f"Die Niederschrift '{value}' gibt es nicht.") from None


def _not_found(minutes_id: str) -> NotFound:
    # One message for "does not exist" and "belongs to someone else": no probing for ids.
    return NotFound(f"minutes {minutes_id} not visible",
                    user_message=f"Die Niederschrift '{minutes_id}' gibt es nicht oder sie gehört einem anderen "
                    "Benutzer.")


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_COLUMNS = ("id, owner, status, title, body, session, meeting_date, source_file, source_sha256, content, "
            "nonpublic_groups, created_at, updated_at, approved_at, approved_by")


def _row(row: Any) -> dict[str, Any]:
    return {"id": str(row[0]), "owner": row[1], "status": row[2], "title": row[3], "body": row[4],
            "session": row[5], "meeting_date": row[6].isoformat() if row[6] else None, "source_file": row[7],
            "source_sha256": row[8], "content": row[9], "nonpublic_groups": list(row[10] or []),
            "created_at": _iso(row[11]), "updated_at": _iso(row[12]), "approved_at": _iso(row[13]),
            "approved_by": row[14]}


class MinutesStore:
    def __init__(self, db: Database, settings: Settings, ingest: IngestFn, audit: AuditLog) -> None:
        self.db = db
        self.settings = settings
        self.ingest = ingest  # Runtime.ingest: audited, access-checked
        self.audit = audit

    @contextmanager
    def _transaction(self, principal: Principal) -> Iterator[psycopg.Connection]:
        with self.db.transaction(principal) as conn:
            yield conn

    # -- create --------------------------------------------------------------------------------------------
    def transcript(self, input_path: Path, progress: Progress | None = None) -> Transcript:
        """The transcript of a recording (speech-to-text, resumable) or of a transcript file."""
        if not input_path.is_file():
            raise InputError(f"{input_path} not found", user_message=f"Datei '{input_path}': nicht gefunden.")
        if input_path.suffix.lower() in AUDIO_SUFFIXES:
            from kreiswissen.minutes.audio import transcribe_audio
            from kreiswissen.models.speech import get_transcriber

            return transcribe_audio(input_path, get_transcriber(self.settings), self.settings.home / "speech",
                                    progress, settings=self.settings)
        from kreiswissen.minutes.transcripts import read_transcript

        return read_transcript(input_path, self.settings)

    def create_draft(self, principal: Principal, input_path: Path,
                     agenda: Path | builtins.list[AgendaEntry] | None = None, *,
                     nonpublic_groups: builtins.list[str] | None = None, progress: Progress | None = None,
                     source_name: str | None = None, meeting: dict[str, Any] | None = None) -> str:
        """Read (or transcribe) ``input_path``, extract, draft and store it for ``principal``; the new id.

        ``agenda`` is an agenda file or its entries (from OParl: ``meeting`` then holds the meeting's name and
        date for the header where the transcript has none); ``source_name`` is the name the clerk knows the
        file by (an upload is staged under another)."""
        if not principal.name.strip():
            raise InputError("principal without a name", user_message="Niederschriften brauchen einen "
                             "angemeldeten Benutzer.")
        groups = sorted({validate_group(g) for g in nonpublic_groups or []} - {EVERYONE})
        agenda_name = agenda.name if isinstance(agenda, Path) else ("OParl" if meeting else None)
        entries = read_agenda(agenda) if isinstance(agenda, Path) else agenda
        transcript = self.transcript(input_path, progress)
        if entries:  # the invitation's agenda also finds items the chair calls by their title only
            from kreiswissen.minutes.model import AgendaHeading

            transcript.agenda += [AgendaHeading(e.number, e.title, e.public) for e in entries]
        minutes = build_draft(transcript, extract(transcript))
        if source_name:
            minutes.source = source_name
        if entries:
            apply_agenda(minutes, entries)
        if meeting:
            minutes.title = minutes.title or meeting.get("name")
            minutes.date = minutes.date or (str(meeting.get("start") or "")[:10] or None)
        from kreiswissen.minutes.audio import file_sha256

        sha = file_sha256(input_path)
        name = source_name or input_path.name
        segments = [{k: v for k, v in asdict(seg).items() if v is not None} for seg in transcript.segments]
        with self._transaction(principal) as conn:
            row = conn.execute(
                "INSERT INTO minutes (owner, title, body, session, meeting_date, source_file, source_sha256, "
                "content, nonpublic_groups, transcript) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id",
                (principal.name, minutes.title, minutes.body, minutes.session, _iso_date(minutes.date),
                 name, sha, Jsonb(minutes.to_json()), groups, Jsonb(segments))).fetchone()
            assert row is not None
            minutes_id = str(row[0])
            self._event(conn, minutes_id, principal, "create", {"source": name, "sha256": sha,
                                                                "agenda": agenda_name})
            self.audit.record(principal.name, "minutes.create", {"minutes": minutes_id, "source": name,
                                                                 "sha256": sha}, conn=conn)
        if transcript.format == "audio":
            # The transcript is stored with the draft now: the resume state of the speech recognition (the
            # recognised text per chunk) is no longer needed and is not kept beside it.
            (self.settings.home / "speech" / f"{sha}.json").unlink(missing_ok=True)
        return minutes_id

    # -- read ----------------------------------------------------------------------------------------------
    def get(self, principal: Principal, minutes_id: str) -> dict[str, Any]:
        """The stored row with its content (``Minutes.to_json``) and its history."""
        mid = _minutes_id(minutes_id)
        with self._transaction(principal) as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM minutes WHERE id = %s", (mid,)).fetchone()
            if row is None:
                raise _not_found(mid)
            events = conn.execute("SELECT actor, action, details, at FROM minutes_events WHERE minutes_id = %s "
                                  "ORDER BY id", (mid,)).fetchall()
        return {**_row(row), "events": [{"actor": e[0], "action": e[1], "details": e[2], "at": _iso(e[3])}
                                        for e in events]}

    def minutes(self, principal: Principal, minutes_id: str) -> Minutes:
        return minutes_from_json(self.get(principal, minutes_id)["content"])

    def list(self, principal: Principal) -> builtins.list[dict[str, Any]]:
        """The drafts ``principal`` may see (an operator: all), most recently changed first."""
        with self._transaction(principal) as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM minutes ORDER BY updated_at DESC, id").fetchall()
        return [{k: v for k, v in _row(r).items() if k != "content"} for r in rows]

    def transcript_segments(self, principal: Principal, minutes_id: str) -> builtins.list[dict[str, Any]]:
        """The stored transcript (segments as dicts: index, text, speaker, kind, line, start_s, end_s); empty for
        drafts stored before it was kept."""
        mid = _minutes_id(minutes_id)
        with self._transaction(principal) as conn:
            row = conn.execute("SELECT transcript FROM minutes WHERE id = %s", (mid,)).fetchone()
        if row is None:
            raise _not_found(mid)
        return list(row[0] or [])

    def delete(self, principal: Principal, minutes_id: str) -> None:
        """Delete a stored draft with its history (owner or operator). Documents ingested on approval stay in
        the library and are deleted there."""
        mid = _minutes_id(minutes_id)
        with self._transaction(principal) as conn:
            row = conn.execute("SELECT owner, status, source_file FROM minutes WHERE id = %s FOR UPDATE",
                               (mid,)).fetchone()
            if row is None:
                raise _not_found(mid)
            if row[0] != principal.name and not principal.operator:
                raise PermissionDenied(f"{principal.name} is not the owner of {mid}", user_message="Nur die "
                                       "Protokollführung (wer den Entwurf angelegt hat) darf ihn löschen.")
            conn.execute("DELETE FROM minutes WHERE id = %s", (mid,))
            self.audit.record(principal.name, "minutes.delete", {"minutes": mid, "status": row[1],
                                                                 "source": row[2]}, conn=conn)

    # -- edit ----------------------------------------------------------------------------------------------
    def edit(self, principal: Principal, minutes_id: str, changes: dict[str, Any]) -> dict[str, builtins.list[Any]]:
        """Apply ``changes`` (see ``apply_changes``); status becomes "bearbeitet"; the history records them."""
        if not changes:
            raise InputError("no changes", user_message="Keine Änderung angegeben (--set FELD=WERT).")
        mid = _minutes_id(minutes_id)
        with self._transaction(principal) as conn:
            row = conn.execute("SELECT content FROM minutes WHERE id = %s FOR UPDATE", (mid,)).fetchone()
            if row is None:
                raise _not_found(mid)
            minutes = minutes_from_json(row[0])
            done = apply_changes(minutes, changes)
            minutes.status = "bearbeitet"
            conn.execute("UPDATE minutes SET content = %s, status = 'bearbeitet', title = %s, body = %s, "
                         "session = %s, meeting_date = %s, updated_at = now() WHERE id = %s",
                         (Jsonb(minutes.to_json()), minutes.title, minutes.body, minutes.session,
                          _iso_date(minutes.date), mid))
            self._event(conn, mid, principal, "edit", {"changes": done})
            self.audit.record(principal.name, "minutes.edit", {"minutes": mid, "fields": sorted(done)}, conn=conn)
        return done

    # -- generated summaries ---------------------------------------------------------------------------
    def summarize(self, principal: Principal, minutes_id: str, generator: Generator,
                  embed: Callable[[builtins.list[str]], Any], item: str | None = None) -> dict[str, Any]:
        """Generated, checked discussion summaries (see ``minutes.summaries``) for every item or one; the
        draft becomes "bearbeitet" when any summary changed. Approved minutes are not changed."""
        from kreiswissen.minutes.summaries import generate_summaries

        mid = _minutes_id(minutes_id)
        record = self.get(principal, mid)
        if record["status"] == "genehmigt":
            raise InputError(f"minutes {mid} approved", user_message="Die Niederschrift ist genehmigt; "
                             "Zusammenfassungen werden nur im Entwurf erzeugt.")
        segments = self.transcript_segments(principal, mid)
        if not segments:
            raise InputError(f"minutes {mid} has no stored transcript", user_message="Zu diesem Entwurf ist kein "
                             "Wortprotokoll gespeichert; bitte den Entwurf neu anlegen.")
        minutes = minutes_from_json(record["content"])
        outcome = generate_summaries(minutes, segments, generator, embed, self.settings, only=item)
        if item is not None and not outcome.generated and not outcome.kept:
            raise InputError(f"no item {item}", user_message=f"Einen TOP „{item}“ gibt es in dieser Niederschrift "
                             "nicht.")
        with self._transaction(principal) as conn:
            if outcome.generated:
                minutes.status = "bearbeitet"
                conn.execute("UPDATE minutes SET content = %s, status = 'bearbeitet', updated_at = now() "
                             "WHERE id = %s AND status <> 'genehmigt'", (Jsonb(minutes.to_json()), mid))
            self._event(conn, mid, principal, "summarize", outcome.to_json())
            self.audit.record(principal.name, "minutes.summarize", {"minutes": mid, **outcome.to_json()},
                              conn=conn)
        return outcome.to_json()

    # -- approve -------------------------------------------------------------------------------------------
    def approve(self, principal: Principal, minutes_id: str) -> dict[str, Any]:
        """Approve (owner or operator) and ingest: public part for ``alle``, non-public part for the entitled."""
        mid = _minutes_id(minutes_id)
        record = self.get(principal, mid)
        if record["owner"] != principal.name and not principal.operator:
            raise PermissionDenied(f"{principal.name} is not the owner of {mid}",
                                   user_message="Nur die Protokollführung (wer den Entwurf angelegt hat) darf die "
                                   "Niederschrift genehmigen.")
        if record["status"] == "genehmigt":
            raise InputError(f"minutes {mid} already approved", user_message="Diese Niederschrift ist bereits "
                             "genehmigt; nach einer Änderung kann sie erneut genehmigt werden.")
        minutes = minutes_from_json(record["content"])
        minutes.status = "genehmigt"
        groups = record["nonpublic_groups"] or sorted(principal.groups - {EVERYONE})
        has_nonpublic = any(not item.public for item in minutes.items)
        if has_nonpublic and not groups:
            raise PermissionDenied(f"minutes {mid}: non-public items and no entitled group",
                                   user_message="Die Niederschrift hat nichtöffentliche TOPs, aber keine Gruppe ist "
                                   "berechtigt, sie zu lesen. Bitte beim Anlegen --nonpublic-group angeben.")
        from kreiswissen.minutes.render import render_text

        folder = self.settings.home / "minutes" / mid
        folder.mkdir(parents=True, exist_ok=True)
        public_file, nonpublic_file = folder / PUBLIC_FILE, folder / NONPUBLIC_FILE
        title = minutes.title or f"Niederschrift {minutes.body or ''} {minutes.date_german or ''}".strip()
        public_file.write_text(_front_matter(title, minutes) + render_text(public_part(minutes),
                                                                           settings=self.settings),
                               encoding="utf-8")
        documents = {"public": str(public_file)}
        # The approver's entitled group is the documents' department: a Redakteur may replace a document only
        # within a department of theirs, and the public part is otherwise just "alle" (re-approval must work).
        department = next((g for g in groups if g in principal.groups), None)
        self._ingested(self.ingest([public_file], principal, groups=[EVERYONE], department=department))
        if has_nonpublic:
            part = nonpublic_part(minutes)
            nonpublic_file.write_text(_front_matter(part.title or title, minutes)
                                      + render_text(part, settings=self.settings), encoding="utf-8")
            self._ingested(self.ingest([nonpublic_file], principal, groups=groups, department=department))
            documents["nonpublic"] = str(nonpublic_file)
        with self._transaction(principal) as conn:
            conn.execute("UPDATE minutes SET content = %s, status = 'genehmigt', approved_at = now(), "
                         "approved_by = %s, nonpublic_groups = %s, updated_at = now() WHERE id = %s",
                         (Jsonb(minutes.to_json()), principal.name, groups if has_nonpublic else
                          record["nonpublic_groups"], mid))
            details = {"documents": documents, "nonpublic_groups": groups if has_nonpublic else []}
            self._event(conn, mid, principal, "approve", details)
            self.audit.record(principal.name, "minutes.approve", {"minutes": mid, **details}, conn=conn)
        return {"id": mid, "status": "genehmigt", **details}

    @staticmethod
    def _ingested(report: IngestReport) -> None:
        if report.failed:
            raise InputError(f"ingesting approved minutes failed: {report.failed[0].error}",
                             user_message="Die genehmigte Niederschrift konnte nicht in den Wissensbestand "
                             f"übernommen werden: {report.failed[0].error}")

    # -- export --------------------------------------------------------------------------------------------
    def entitled(self, principal: Principal, record: dict[str, Any]) -> bool:
        """May ``principal`` read the non-public TOPs of this draft?"""
        return principal.operator or record["owner"] == principal.name or bool(
            set(record["nonpublic_groups"]) & principal.groups)

    def export(self, principal: Principal, minutes_id: str, fmt: str, path: Path, *,
               include_nonpublic: bool) -> Path:
        """Write DOCX, ODT or PDF; without ``include_nonpublic`` the non-public TOPs are left out entirely."""
        fmt = fmt.lower()
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"unknown export format {fmt}", user_message=f"Unbekanntes Format „{fmt}“: möglich "
                             "sind docx, odt und pdf.")
        record = self.get(principal, minutes_id)
        if include_nonpublic and not self.entitled(principal, record):
            raise PermissionDenied(f"{principal.name} not entitled to non-public items",
                                   user_message="Sie sind nicht berechtigt, die nichtöffentlichen TOPs zu lesen.")
        minutes = minutes_from_json(record["content"])
        if not include_nonpublic:
            minutes = public_part(minutes)
        from kreiswissen.minutes.render import export

        written = export(minutes, path, fmt, settings=self.settings)
        details = {"format": fmt, "nonpublic": include_nonpublic, "file": path.name}
        with self._transaction(principal) as conn:
            self._event(conn, record["id"], principal, "export", details)
            self.audit.record(principal.name, "minutes.export", {"minutes": record["id"], **details}, conn=conn)
        return written

    @staticmethod
    def _event(conn: psycopg.Connection, minutes_id: str, principal: Principal, action: str,
               details: dict[str, Any]) -> None:
        conn.execute("INSERT INTO minutes_events (minutes_id, actor, action, details) VALUES (%s, %s, %s, %s)",
                     (minutes_id, principal.name, action, Jsonb(details)))


def _front_matter(title: str, minutes: Minutes) -> str:
    lines = ["---", f"titel: {_yaml(title)}", "dokumenttyp: niederschrift"]
    if minutes.date:
        lines.append(f"datum: {minutes.date}")
    return "\n".join(lines) + "\n---\n\n"


def _yaml(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'
