"""Upload jobs: a file a Redakteur uploads becomes a row in ``ingest_jobs`` that any worker takes and ingests.

The queue lives in PostgreSQL, so app processes and ``kreiswissen worker`` processes on one or many machines
share it, and nothing is lost when one of them (or the database) goes away:

- ``submit`` checks size, type, content and rights *before* anything is stored, so a wrong file or a missing
  right is an immediate error, not a failed job.
- ``run_next`` claims the oldest waiting job with ``FOR UPDATE SKIP LOCKED`` (two workers never take the same
  job) and ingests it through ``Runtime.ingest`` as the job's owner, rebuilt from the users table: auditing and
  permission checks stay where they are for every other way into the store.
- A running job's worker renews a heartbeat; a job whose heartbeat is older than the lease is taken again
  (its worker or the database died). A passing database failure puts the job back for a later attempt. After
  ``max_attempts`` attempts the job fails with a message. The uploaded bytes are dropped once the job is done
  or failed.

Uploads are staged under ``$KREISWISSEN_HOME/uploads/<scope>/<file name>``, one scope per department (or per
owner when no department is given). A file that was ingested stays there as the original the library offers for
download (a later upload of the same name replaces it); a file that failed is removed. The path is the
document's identity
(``source_key``), so uploading the same name again in the same department stores a new version of that
document (or "unchanged" for the same content) instead of a duplicate, and a job repeated after a crash finds
the document its first attempt may already have stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import (
    BackendUnavailable,
    FileTooLarge,
    InputError,
    KreiswissenError,
    NotFound,
    PermissionDenied,
    UnsupportedFormat,
)
from kreiswissen.ingest.parsers.detect import LABELS, SUFFIX_FORMATS, sniff_magic
from kreiswissen.ingest.pipeline import IngestReport
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.policy import normalise_classification, require_upload
from kreiswissen.security.principal import EVERYONE, Principal, validate_group

log = logging.getLogger(__name__)

CHANNEL = "kw_jobs"
MAX_NAME_CHARS = 200
# File systems allow 255 bytes per name; umlauts take two.
_MAX_NAME_BYTES = 240
HEAD_BYTES = 1024
STATUSES = ("queued", "running", "done", "failed")
# The German message of db.database._unavailable: a file that failed with it failed for the database, not
# for itself, and is tried again (a test keeps the two texts together).
DATABASE_DOWN_PREFIX = "Die Datenbank ist nicht erreichbar"

_ZIP_FORMATS = frozenset({"docx", "xlsx", "odt", "ods"})
_IMAGE_FORMATS = frozenset({"png", "jpeg", "tiff"})
_ODF_KINDS = {"text": "odt", "spreadsheet": "ods", "presentation": "odp", "graphics": "odg"}
_ODF_MIMETYPE = re.compile(rb"mimetypeapplication/vnd\.oasis\.opendocument\.([a-z-]+)")
_UTF_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_SYSTEM = Principal(name="jobs", groups=frozenset({EVERYONE}), operator=True)


# ``Runtime.ingest(paths, principal, groups, department, classification)``: the audited, permission-checked way
# into the store.
IngestFn = Callable[[list[Path], Principal, list[str] | None, str | None, str | None], IngestReport]


# -- checks before anything is stored ----------------------------------------------------------------------
def clean_file_name(raw: str) -> str:
    """The last path component of an uploaded name, without control or invisible characters (a right-to-left
    override can make ``rechnung\\u202efdp.exe`` look like a PDF), not hidden, at most 200 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]  # browsers on Windows may send the whole path
    name = "".join(" " if ch.isspace() else ch for ch in name if ch.isspace() or unicodedata.category(ch)[0] != "C")
    # Ingestion skips hidden files and office lock files (".x", "~$x"); trailing dots vanish on Windows shares.
    name = " ".join(name.split()).lstrip(".~$ ").rstrip(". ")
    suffix = PurePath(name).suffix if name else ""
    if len(suffix) > 20:
        suffix = ""
    stem = name[: len(name) - len(suffix)]
    stem = stem[: MAX_NAME_CHARS - len(suffix)]
    while stem and len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    if not stem:
        raise InputError(f"unusable file name {raw!r}",
                         user_message=f"Ungültiger Dateiname {raw[:80]!r}: Bitte die Datei umbenennen.")
    return stem + suffix


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def allowed_suffixes() -> str:
    return ", ".join(sorted(SUFFIX_FORMATS))


def _check_size(name: str, size: int, settings: Settings) -> None:
    if size <= 0:
        raise InputError(f"{name}: empty", user_message=f"Datei '{name}' ist leer (0 Byte).")
    if size > settings.max_file_bytes:
        raise FileTooLarge(f"{name}: {size} bytes over the limit of {settings.max_file_bytes}",
                           user_message=f"Datei '{name}' ist zu groß ({_mb(size)}, erlaubt sind "
                           f"{_mb(settings.max_file_bytes)}).")


def check_upload(file_name: str, head: bytes, size: int, settings: Settings) -> str:
    """Check an upload before it is stored or parsed: name, size, type and that the first bytes (``head``,
    about the first KB) fit the type. Returns the clean file name; raises an ``InputError`` otherwise.

    The parser checks the whole file again (container bombs, encryption, the real format); this is the
    quick check that turns away a 2 GB video or a renamed program at the door."""
    name = clean_file_name(file_name)
    suffix = PurePath(name).suffix.lower()
    _check_size(name, size, settings)
    fmt = SUFFIX_FORMATS.get(suffix)
    if fmt is None:
        what = f"Dateityp '{suffix}' wird" if suffix else "Dateien ohne Endung werden"
        raise UnsupportedFormat(f"{name}: unsupported suffix {suffix!r}",
                                user_message=f"Datei '{name}': {what} nicht unterstützt. Erlaubt sind: "
                                f"{allowed_suffixes()}.")
    problem = content_mismatch(fmt, head[:4096])
    if problem:
        raise InputError(f"{name}: content does not match {suffix} ({problem})",
                         user_message=f"Datei '{name}': Der Inhalt passt nicht zur Dateiendung '{suffix}' "
                         f"({problem}).")
    return name


def _utf16_or_32(head: bytes) -> bool:
    """Text in UTF-16/32 has NUL bytes; the text parser reads it (with or without byte order mark)."""
    if head.startswith(_UTF_BOMS):
        return True
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return False
    half = len(sample) / 2
    return sample[0::2].count(0) / half > 0.3 or sample[1::2].count(0) / half > 0.3


def _found(magic: str | None, head: bytes) -> str:
    if magic is not None:
        return f"erkannt: {LABELS.get(magic, magic)}"
    if b"\x00" not in head and not any(b < 9 for b in head):
        return "erkannt: Text"
    return "unbekannte Daten"


def content_mismatch(fmt: str, head: bytes) -> str | None:
    """Why the first bytes do not fit the format named by the suffix (German), or None when they do."""
    magic = sniff_magic(head)
    if fmt == "pdf":
        return None if magic == "pdf" else _found(magic, head)
    if fmt in _ZIP_FORMATS:
        if magic == "ole":
            return "verschlüsselt (passwortgeschützt) oder im alten Office-Format gespeichert"
        if not head.startswith(b"PK\x03\x04"):
            return _found(magic, head)
        # ODF stores its mimetype uncompressed as the first member: an ODS renamed to .odt shows here.
        odf = _ODF_MIMETYPE.search(head)
        kind = _ODF_KINDS.get(odf.group(1).decode(), "odf") if odf else None
        if kind is not None and kind != fmt:
            return f"erkannt: {LABELS.get(kind, 'OpenDocument')}"
        return None
    if fmt in _IMAGE_FORMATS:
        # A PNG saved as .jpg is harmless: the image parser reads every one of them.
        return None if magic in _IMAGE_FORMATS else _found(magic, head)
    # Text formats (Markdown, text, HTML, e-mail): a note that merely mentions "%PDF-1.7" is still text.
    if magic == "pdf" and not head.startswith(b"%PDF-"):
        magic = None
    if magic is not None:
        return f"erkannt: {LABELS.get(magic, magic)}"
    if b"\x00" in head and not _utf16_or_32(head):
        return "enthält Binärdaten statt Text"
    return None


# -- the queue ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Claim:
    id: str
    owner: str
    file_name: str
    sha256: str
    content: bytes | None
    groups: list[str]
    department: str | None
    classification: str
    attempt: int
    kind: str = "ingest"  # or "minutes": a Niederschrift draft from a recording or transcript
    options: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Outcome:
    status: str  # done, failed, or retry (a passing failure: the job waits and is tried again)
    message: str
    source_key: str | None = None
    minutes_id: str | None = None


# ``MinutesStore.create_draft(principal, path, agenda_entries, *, nonpublic_groups, progress, source_name,
# meeting)``: the draft of a minutes job, stored for its owner.
CreateMinutesFn = Callable[..., str]
TRANSCRIPT_SUFFIXES = frozenset({".vtt", ".srt", ".txt", ".docx", ".xml"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".webm", ".flac", ".aac", ".mp4",
                            ".mkv", ".mov"})


def check_minutes_upload(file_name: str, head: bytes, size: int, settings: Settings) -> str:
    """The door check for a recording or transcript of a session (see ``check_upload``); the clean name."""
    name = clean_file_name(file_name)
    suffix = PurePath(name).suffix.lower()
    _check_size(name, size, settings)
    if suffix not in TRANSCRIPT_SUFFIXES | AUDIO_SUFFIXES:
        raise UnsupportedFormat(f"{name}: unsupported suffix {suffix!r}", user_message=f"Datei '{name}': "
                                "erwartet wird eine Aufnahme (WAV, MP3, M4A, OGG, WebM, FLAC) oder ein "
                                "Wortprotokoll (VTT, SRT, TXT, DOCX, Bundestag-XML).")
    if suffix in AUDIO_SUFFIXES:
        magic = sniff_magic(head[:4096])
        problem = f"erkannt: {LABELS.get(magic, magic)}" if magic is not None else (
            "erkannt: Text" if head and b"\x00" not in head[:512] and head[:512].isascii() else None)
    else:
        problem = content_mismatch("docx" if suffix == ".docx" else "text", head[:4096])
    if problem:
        raise InputError(f"{name}: content does not match {suffix} ({problem})",
                         user_message=f"Datei '{name}': Der Inhalt passt nicht zur Dateiendung '{suffix}' "
                         f"({problem}).")
    return name


def _plural(n: int) -> str:
    return f"{n} Abschnitt" if n == 1 else f"{n} Abschnitte"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class JobQueue:
    """The upload queue. ``ingest`` is ``Runtime.ingest``, ``principal_for`` is ``Identity.principal_for``."""

    def __init__(self, db: Database, settings: Settings, ingest: IngestFn,
                 principal_for: Callable[[str], Principal], audit: AuditLog, *, lease_seconds: float = 600.0,
                 max_attempts: int = 3, retry_delay_seconds: float = 5.0,
                 create_minutes: CreateMinutesFn | None = None) -> None:
        self._create_minutes = create_minutes
        self.db = db
        self.settings = settings
        self._ingest = ingest
        self._principal_for = principal_for
        self.audit = audit
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_delay_seconds = retry_delay_seconds

    @property
    def upload_dir(self) -> Path:
        return self.settings.home / "uploads"

    # -- submit ------------------------------------------------------------------------------------------
    def submit(self, principal: Principal, file_name: str, content: bytes, groups: list[str] | None = None,
               department: str | None = None, classification: str | None = None) -> str:
        """Check and queue one uploaded file; returns the job id. Nothing is stored when a check fails."""
        if principal.operator:
            # A job runs as its owner, rebuilt from the users table; the operator is no user.
            raise InputError("operator cannot queue jobs", user_message="Uploads in die Warteschlange sind nur "
                             "mit einem Benutzerkonto möglich; auf dem Server bitte 'kreiswissen ingest' verwenden.")
        access = sorted({validate_group(g) for g in groups}) if groups else [EVERYONE]
        department = validate_group(department) if department else None
        level = normalise_classification(classification)
        require_upload(principal, access, department)
        name = check_upload(file_name, content[:HEAD_BYTES], len(content), self.settings)
        digest = hashlib.sha256(content).hexdigest()
        with self.db.transaction(principal) as conn:
            row = conn.execute(
                "INSERT INTO ingest_jobs (owner, file_name, size_bytes, sha256, content, access_groups, department, "
                "classification) VALUES (%s, %s, %s, %s, %b, %s, %s, %s) RETURNING id",  # %b: bytes sent as binary
                (principal.name, name, len(content), digest, content, access, department, level)).fetchone()
            assert row is not None
            job_id = str(row[0])
            self.audit.record(principal.name, "job.create", {
                "job": job_id, "file_name": name, "size_bytes": len(content), "sha256": digest, "groups": access,
                "department": department, "classification": level}, conn)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, job_id))  # delivered on commit
        return job_id

    def submit_minutes(self, principal: Principal, file_name: str, content: bytes, *,
                       agenda: list[dict[str, Any]] | None = None, meeting: dict[str, Any] | None = None,
                       nonpublic_groups: list[str] | None = None) -> str:
        """Queue a recording or transcript for a Niederschrift draft (``agenda``: entries as dicts with number,
        title, public); returns the job id. Nothing is stored when a check fails."""
        if principal.operator:
            raise InputError("operator cannot queue jobs", user_message="Entwürfe über die Warteschlange sind nur "
                             "mit einem Benutzerkonto möglich; auf dem Server bitte 'kreiswissen minutes draft' "
                             "verwenden.")
        groups = sorted({validate_group(g) for g in nonpublic_groups or []} - {EVERYONE})
        name = check_minutes_upload(file_name, content[:HEAD_BYTES], len(content), self.settings)
        digest = hashlib.sha256(content).hexdigest()
        options = {"agenda": agenda or [], "meeting": meeting, "nonpublic_groups": groups}
        with self.db.transaction(principal) as conn:
            row = conn.execute(
                "INSERT INTO ingest_jobs (owner, file_name, size_bytes, sha256, content, access_groups, kind, "
                "options) VALUES (%s, %s, %s, %s, %b, %s, 'minutes', %s) RETURNING id",
                (principal.name, name, len(content), digest, content, groups, Jsonb(options))).fetchone()
            assert row is not None
            job_id = str(row[0])
            self.audit.record(principal.name, "job.create", {
                "job": job_id, "kind": "minutes", "file_name": name, "size_bytes": len(content), "sha256": digest,
                "nonpublic_groups": groups}, conn)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, job_id))
        return job_id

    # -- status ------------------------------------------------------------------------------------------
    def status(self, principal: Principal, job_ids: list[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The principal's jobs, newest first (an administrator sees everyone's). ``job_ids`` narrows the list;
        ids that are malformed or not visible are left out."""
        admin = principal.has_role("administrator")
        where: list[str] = []
        params: list[Any] = []
        if not admin:
            where.append("owner = %s")
            params.append(principal.name)
        if job_ids is not None:
            ids = [str(u) for u in (_uuid(j) for j in job_ids) if u is not None]
            if not ids:
                return []
            where.append("id = ANY(%s::uuid[])")
            params.append(ids)
        sql = ("SELECT id, owner, file_name, size_bytes, status, message, document_id, attempts, created_at, "
               "started_at, finished_at, kind, minutes_id FROM ingest_jobs"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY created_at DESC, id LIMIT %s")
        # Row-level security lets a user see only their own jobs; administrators read as the system.
        with self.db.transaction(_SYSTEM if admin else principal) as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()  # type: ignore[arg-type]
        return [
            {"id": str(r[0]), "owner": r[1], "file_name": r[2], "size_bytes": r[3], "status": r[4],
             "message": r[5], "document_id": r[6], "attempts": r[7], "created_at": _iso(r[8]),
             "started_at": _iso(r[9]), "finished_at": _iso(r[10]), "kind": r[11],
             "minutes_id": str(r[12]) if r[12] else None}
            for r in rows
        ]

    # -- work --------------------------------------------------------------------------------------------
    def run_next(self, worker_name: str = "worker") -> str | None:
        """Take the oldest waiting (or abandoned) job and process it; returns its id, or None when there is
        none. Raises ``BackendUnavailable`` when the database cannot be reached to claim a job."""
        claim = self._claim(worker_name)
        if claim is None:
            return None
        if isinstance(claim, str):
            return claim  # given up after too many attempts
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, stop), name=f"kw-job-heartbeat-{claim.id}",
                                daemon=True)
        beat.start()
        try:
            outcome = self._process(claim)
        finally:
            stop.set()
            beat.join()
        self._finish(claim, outcome)
        return claim.id

    def _claim(self, worker_name: str) -> _Claim | str | None:
        with self.db.transaction(_SYSTEM) as conn:
            row = conn.execute(
                """SELECT id, owner, file_name, sha256, access_groups, department, classification, status,
                          attempts, message, kind, options
                   FROM ingest_jobs
                   WHERE (status = 'queued' AND available_at <= now())
                      OR (status = 'running'
                          AND coalesce(heartbeat_at, started_at, created_at) < now() - make_interval(secs => %s))
                   ORDER BY created_at
                   LIMIT 1
                   FOR UPDATE SKIP LOCKED""", (self.lease_seconds,)).fetchone()
            if row is None:
                return None
            job_id, status, attempts, message = str(row[0]), row[7], row[8], row[9]
            if attempts >= self.max_attempts:
                reason = ("die Verarbeitung wurde wiederholt unterbrochen" if status == "running"
                          else message or "wiederholter Fehler")
                conn.execute(
                    "UPDATE ingest_jobs SET status = 'failed', content = NULL, finished_at = now(), worker = %s, "
                    "message = %s WHERE id = %s",
                    (worker_name, f"Nach {attempts} Versuchen abgebrochen ({reason}). Bitte die Datei erneut "
                     "hochladen oder die Administration informieren.", job_id))
                log.warning("job %s failed after %s attempts (%s)", job_id, attempts, reason)
                return job_id
            if status == "running":
                log.warning("job %s was abandoned by its worker; taking it again", job_id)
            taken = conn.execute(
                "UPDATE ingest_jobs SET status = 'running', attempts = attempts + 1, started_at = now(), "
                "heartbeat_at = now(), worker = %s, message = '' WHERE id = %s RETURNING attempts, content",
                (worker_name, job_id)).fetchone()
            assert taken is not None
        return _Claim(id=job_id, owner=row[1], file_name=row[2], sha256=row[3],
                      content=bytes(taken[1]) if taken[1] is not None else None, groups=list(row[4]),
                      department=row[5], classification=row[6], attempt=taken[0], kind=row[10],
                      options=dict(row[11] or {}))

    def _heartbeat(self, claim: _Claim, stop: threading.Event) -> None:
        """Keep the lease of a long job (OCR of a thick scan) while its worker is alive."""
        every = max(self.lease_seconds / 3, 0.05)
        while not stop.wait(every):
            try:
                with self.db.transaction(_SYSTEM) as conn:
                    conn.execute("UPDATE ingest_jobs SET heartbeat_at = now() WHERE id = %s AND status = 'running' "
                                 "AND attempts = %s", (claim.id, claim.attempt))
            except KreiswissenError as exc:
                log.warning("heartbeat of job %s failed: %s", claim.id, exc)

    def _process(self, claim: _Claim) -> _Outcome:
        try:
            try:
                principal = self._principal_for(claim.owner)
            except (PermissionDenied, NotFound) as exc:
                return _Outcome("failed", f"Nicht eingelesen: {exc.user_message}")
            if claim.content is None or hashlib.sha256(claim.content).hexdigest() != claim.sha256:
                return _Outcome("failed", "Der gespeicherte Inhalt fehlt oder ist beschädigt. Bitte die Datei erneut "
                                "hochladen.")
            if claim.kind == "minutes":
                return self._draft_staged(claim, principal)
            return self._ingest_staged(claim, principal)
        except BackendUnavailable as exc:
            log.warning("job %s: backend unavailable: %s", claim.id, exc)
            return _Outcome("retry", exc.user_message)
        except KreiswissenError as exc:
            return _Outcome("failed", exc.user_message)
        except OSError as exc:  # staging the file: a full or read-only disk passes, the upload stays queued
            log.warning("job %s: cannot stage the upload: %s", claim.id, exc)
            return _Outcome("retry", f"Die Datei konnte auf dem Server nicht zwischengespeichert werden "
                            f"({exc.strerror or type(exc).__name__}).")
        except Exception as exc:  # noqa: BLE001 - a bug must fail one job, not the worker
            log.exception("job %s: unexpected error", claim.id)
            return _Outcome("failed", f"Interner Fehler beim Einlesen ({type(exc).__name__}). Bitte die "
                            "Administration informieren.")

    def _ingest_staged(self, claim: _Claim, principal: Principal) -> _Outcome:
        name = clean_file_name(claim.file_name)
        with self._staged(claim, name) as (path, keep):
            report = self._ingest([path], principal, claim.groups, claim.department, claim.classification)
            key = str(path.resolve())
            if not report.results:
                return _Outcome("failed", f"Datei '{name}': nicht gefunden.")
            result = report.results[0]
            if result.status == "failed":
                # Messages name the staged path; the clerk knows the file by its name.
                message = (result.error or "Einlesen fehlgeschlagen.").replace(str(path), name)
                if message.startswith(DATABASE_DOWN_PREFIX):
                    return _Outcome("retry", message)
                return _Outcome("failed", message)
            message = {
                "added": f"Eingelesen: {_plural(result.chunks)}",
                "updated": f"Neue Version eingelesen: {_plural(result.chunks)}",
                "unchanged": "Unverändert (bereits vorhanden)",
                "access_updated": "Unverändert; Freigabe und Einstufung aktualisiert",
            }[result.status]
            keep.append(True)  # the original of the current version, for download
            return _Outcome("done", message, key)

    def _draft_staged(self, claim: _Claim, principal: Principal) -> _Outcome:
        """A minutes job: the upload in a private folder of the job, the draft stored for its owner. Speech
        recognition saves its chunks by the file's hash, so a job taken again continues where it stopped."""
        if self._create_minutes is None:
            return _Outcome("failed", "Dieser Server kann keine Niederschriften entwerfen.")
        from kreiswissen.minutes.store import AgendaEntry

        options = claim.options or {}
        name = clean_file_name(claim.file_name)
        folder = self.settings.home / "speech" / "jobs" / claim.id
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"aufnahme{PurePath(name).suffix.lower()}"
        last = [0.0]

        def progress(fraction: float) -> None:
            if fraction - last[0] < 0.05 and fraction < 1.0:
                return
            last[0] = fraction
            try:
                with self.db.transaction(_SYSTEM) as conn:
                    conn.execute("UPDATE ingest_jobs SET message = %s WHERE id = %s AND status = 'running' "
                                 "AND attempts = %s", (f"Transkription: {round(fraction * 100)} %", claim.id,
                                                       claim.attempt))
            except KreiswissenError as exc:
                log.warning("progress of job %s not recorded: %s", claim.id, exc)

        try:
            path.write_bytes(claim.content or b"")
            entries = [AgendaEntry(str(e["number"]), str(e["title"]), bool(e.get("public", True)))
                       for e in options.get("agenda") or []]
            minutes_id = self._create_minutes(principal, path, entries or None,
                                              nonpublic_groups=list(options.get("nonpublic_groups") or []),
                                              progress=progress, source_name=name, meeting=options.get("meeting"))
        finally:
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return _Outcome("done", "Entwurf der Niederschrift angelegt", minutes_id=minutes_id)

    @contextlib.contextmanager
    def _staged(self, claim: _Claim, name: str) -> Iterator[tuple[Path, list[bool]]]:
        """The upload as a file at its stable path; one job per path at a time on this machine (another job for
        the same name waits). The file stays when the caller appends to the yielded list (ingested), else it
        is removed."""
        scope = f"fachdienst-{validate_group(claim.department)}" if claim.department else f"benutzer-{claim.owner}"
        if "/" in scope or "\x00" in scope:
            raise InputError(f"bad scope {scope!r}", user_message="Ungültiger Fachdienst oder Benutzername.")
        folder = self.upload_dir / scope
        locks = folder / ".locks"
        for directory in (self.upload_dir, folder, locks):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / name
        keep: list[bool] = []
        with open(locks / name, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(claim.content or b"")
                yield path, keep
            finally:
                if not keep:
                    path.unlink(missing_ok=True)

    def _finish(self, claim: _Claim, outcome: _Outcome) -> None:
        """Record the outcome. Only the worker that holds the job's current attempt may; when the database is
        away the job stays 'running' and is taken again after the lease (its document is then 'unchanged')."""
        if outcome.status == "retry" and claim.attempt >= self.max_attempts:
            outcome = _Outcome("failed", f"Nach {claim.attempt} Versuchen abgebrochen: {outcome.message}")
        if outcome.status == "retry":
            sql = ("UPDATE ingest_jobs SET status = 'queued', message = %s, "
                   "available_at = now() + make_interval(secs => %s) "
                   "WHERE id = %s AND status = 'running' AND attempts = %s")
            params: tuple[Any, ...] = (f"{outcome.message} Neuer Versuch folgt.", self.retry_delay_seconds,
                                       claim.id, claim.attempt)
        else:
            sql = ("UPDATE ingest_jobs SET status = %s, message = %s, content = NULL, finished_at = now(), "
                   "document_id = (SELECT id::text FROM documents WHERE source_key = %s AND is_current), "
                   "minutes_id = %s WHERE id = %s AND status = 'running' AND attempts = %s")
            params = (outcome.status, outcome.message, outcome.source_key, outcome.minutes_id, claim.id,
                      claim.attempt)
        last: KreiswissenError | None = None
        for wait in (0.0, 1.0, 3.0):
            time.sleep(wait)
            try:
                with self.db.transaction(_SYSTEM) as conn:
                    if conn.execute(sql, params).rowcount == 0:
                        log.warning("job %s: attempt %s was taken over by another worker", claim.id, claim.attempt)
                return
            except BackendUnavailable as exc:
                last = exc
        log.error("job %s: outcome %r not recorded (%s); it is taken again after the lease", claim.id,
                  outcome.status, last)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# -- the worker --------------------------------------------------------------------------------------------
def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Runs ``JobQueue.run_next`` until stopped: in a daemon thread (``start``/``stop``, one per app process)
    or in the foreground (``run``, the ``kreiswissen worker`` command). Wakes at once on a new job through
    PostgreSQL ``LISTEN kw_jobs``, and polls every ``poll_interval`` seconds for the rest (abandoned jobs,
    jobs put back for later, or when listening fails). Database outages are logged and waited out."""

    def __init__(self, queue: JobQueue, name: str | None = None, *, poll_interval: float = 0.5,
                 listen: bool = True, max_backoff: float = 30.0) -> None:
        self.queue = queue
        self.name = name or default_worker_name()
        self.poll_interval = poll_interval
        self.listen = listen
        self.max_backoff = max_backoff
        self.processed = 0  # jobs taken (done, failed or put back)
        self.errors = 0  # failed attempts to reach the queue
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: psycopg.Connection | None = None
        self._listen_retry_at = 0.0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"kw-worker-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the worker to stop after its current job; True when it has stopped within ``timeout``. A job it
        is still working on when the process ends is taken again by another worker after the lease."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        log.info("worker %s started", self.name)
        backoff = 0.0
        try:
            while not self._stop.is_set():
                try:
                    job = self.queue.run_next(self.name)
                except BackendUnavailable as exc:
                    self.errors += 1
                    backoff = min(max(backoff * 2, 0.5), self.max_backoff)
                    log.warning("worker %s: queue not reachable, next try in %.1f s: %s", self.name, backoff, exc)
                    self._close_listener()
                    self._stop.wait(backoff)
                    continue
                except Exception:  # noqa: BLE001 - the worker outlives any single failure
                    self.errors += 1
                    backoff = min(max(backoff * 2, 0.5), self.max_backoff)
                    log.exception("worker %s: unexpected error, next try in %.1f s", self.name, backoff)
                    self._stop.wait(backoff)
                    continue
                backoff = 0.0
                if job is not None:
                    self.processed += 1
                    continue
                self._idle()
        finally:
            self._close_listener()
            log.info("worker %s stopped", self.name)

    def drain(self) -> int:
        """Process jobs until none is waiting (``kreiswissen worker --once``); returns how many were taken."""
        count = 0
        while not self._stop.is_set() and self.queue.run_next(self.name) is not None:
            count += 1
            self.processed += 1
        return count

    def _idle(self) -> None:
        listener = self._listener_connection()
        if listener is None:
            self._stop.wait(self.poll_interval)
            return
        try:
            for _ in listener.notifies(timeout=self.poll_interval, stop_after=1):
                pass
        except psycopg.Error as exc:
            log.info("worker %s: listening for new jobs failed (%s); polling", self.name, exc)
            self._close_listener()
            self._stop.wait(self.poll_interval)

    def _listener_connection(self) -> psycopg.Connection | None:
        if not self.listen:
            return None
        if self._listener is not None and not self._listener.closed:
            return self._listener
        now = time.monotonic()
        if now < self._listen_retry_at:
            return None
        try:
            conn = psycopg.connect(self.queue.db.info.app_url, autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            log.info("worker %s: cannot listen for new jobs (%s); polling", self.name, exc)
            self._listen_retry_at = now + 10.0
            return None
        self._listener = conn
        return conn

    def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
