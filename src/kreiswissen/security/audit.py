"""The hash-chained audit log: record, verify, export, checkpoint.

PostgreSQL assigns each entry its position, time and hashes (trigger ``kw_audit_chain``); the application
role may only INSERT and SELECT. ``verify`` recomputes every hash with the same SQL function and walks the
links, so a row changed, removed or inserted out of order by anyone — the database superuser included — is
found and named. Signed checkpoints (HMAC with a key kept outside the database) protect the chain head and
let retention remove old entries while the rest stays verifiable.

Questions are stored pseudonymised: personal data replaced by placeholders (security/pii.py), plus an HMAC
of the normalised text so the KI-Manager can count repeated questions.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import InputError
from kreiswissen.security.keys import installation_key
from kreiswissen.security.principal import Principal

GENESIS = "0" * 64

EVENTS = frozenset({
    "login.success", "login.failure", "login.locked", "search", "ask", "document.upload", "document.change",
    "document.delete", "document.download", "document.access", "user.add", "user.change", "user.disable",
    "user.enable", "group.add", "group.remove", "token.create", "token.revoke", "audit.view", "audit.export",
    "audit.expire", "dsgvo.export", "dsgvo.erase", "summarize", "conversation.delete", "conversation.expire", "logout",
    "feedback", "job.create", "settings.view", "usage.export", "minutes.create", "minutes.edit", "minutes.approve",
    "minutes.export", "minutes.summarize", "minutes.delete", "cases.catalogue", "cases.route",
    "cases.import", "cases.import_failed", "cases.draft", "cases.edit", "cases.accept", "cases.discard", "cases.copy",
    "cases.export", "cases.reopen", "cases.blocks",
})


def canonical_json(details: dict[str, Any]) -> str:
    """One text per content: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


class AuditLog:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = installation_key(self.settings)
        return self._key

    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(self.key, purpose.encode() + b"\0" + text.encode("utf-8"), hashlib.sha256).hexdigest()

    def pseudonym(self, text: str) -> str:
        """A stable keyed digest of a question (whitespace and case normalised): countable, not readable."""
        return self._mac("question", " ".join(text.casefold().split()))[:32]

    def user_pseudonym(self, name: str) -> str:
        """A stable keyed digest of an account name (feedback, usage figures): the same user is recognised as the
        same, but cannot be named without the installation key."""
        return self._mac("user", name.strip().lower())[:32]

    # -- writing ---------------------------------------------------------------------------------------
    def record(self, actor: str, event: str, details: dict[str, Any] | None = None,
               conn: psycopg.Connection | None = None) -> None:
        """Append an entry; inside ``conn``'s transaction when given (the action and its entry commit together)."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        row = (actor, event, canonical_json(details or {}))
        if conn is not None:
            self._insert(conn, row)
            return
        with self.db.transaction(Principal(name=actor)) as own:
            self._insert(own, row)

    def _insert(self, conn: psycopg.Connection, row: tuple[str, str, str]) -> None:
        entry = conn.execute("INSERT INTO audit_log (actor, event, details) VALUES (%s, %s, %s) RETURNING id, hash",
                             row).fetchone()
        every = self.settings.audit_checkpoint_every
        if entry is not None and every > 0 and entry[0] % every == 0:
            # A signed anchor every N entries: cutting off the newest entries (and rewriting the head) is then
            # found as soon as a signed entry is missing.
            conn.execute("INSERT INTO audit_checkpoints (entry_id, entry_hash, signature) VALUES (%s, %s, %s) "
                         "ON CONFLICT (entry_id) DO NOTHING", (entry[0], entry[1], self._signature(entry[0], entry[1])))

    def record_query(self, actor: str, event: str, question: str, document_ids: list[str],
                     extra: dict[str, Any] | None = None) -> None:
        """A search or ask: the question with its personal data replaced by placeholders ([PERSON_1], [IBAN_1],
        …), a keyed digest to count repeats, and the ids of the documents returned."""
        from kreiswissen.security.pii import pseudonymise

        self.record(actor, event, {"question": pseudonymise(question).text, "question_id": self.pseudonym(question),
                                   "documents": list(dict.fromkeys(document_ids)), **(extra or {})})

    # -- verification ----------------------------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Walk the chain from the oldest entry (or the checkpoint it starts from) to the head."""
        with self.db.transaction(Principal(name="audit")) as conn:
            head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
            first = conn.execute("SELECT min(id) FROM audit_log").fetchone()
            start_id = first[0] if first and first[0] is not None else None
            prev_hash = GENESIS
            if start_id is not None and start_id > 1:
                cp = conn.execute("SELECT entry_id, entry_hash, signature FROM audit_checkpoints "
                                  "WHERE entry_id = %s", (start_id - 1,)).fetchone()
                if cp is None or not self._checkpoint_ok(cp[0], cp[1], cp[2]):
                    return VerifyResult(False, 0, start_id, "Anfang der Kette fehlt (kein gültiger Prüfpunkt "
                                        f"vor Eintrag {start_id})")
                prev_hash = cp[1]
            count = 0
            expected_id = start_id
            cur = conn.execute(
                "SELECT id, hash, prev_hash, kw_audit_hash(id, ts, actor, event, details, prev_hash) "
                "FROM audit_log ORDER BY id"
            )
            for entry_id, stored, prev, recomputed in cur:
                count += 1
                if entry_id != expected_id:
                    return VerifyResult(False, count, expected_id, f"Eintrag {expected_id} fehlt")
                if prev != prev_hash:
                    return VerifyResult(False, count, entry_id, "Verkettung unterbrochen (Vorgänger geändert, "
                                        "entfernt oder eingefügt)")
                if stored != recomputed:
                    return VerifyResult(False, count, entry_id, "Inhalt geändert")
                prev_hash = stored
                expected_id = entry_id + 1
            last_id = (expected_id - 1) if expected_id is not None else 0
            if head is None or head[0] != last_id or head[1] != (prev_hash if count else head[1]):
                return VerifyResult(False, count, last_id + 1, "die neuesten Einträge fehlen (Kopf der Kette "
                                    f"zeigt auf Eintrag {head[0] if head else '?'})")
            for cp_id, cp_hash, sig in conn.execute(
                "SELECT c.entry_id, c.entry_hash, c.signature FROM audit_checkpoints c ORDER BY entry_id"
            ):
                if not self._checkpoint_ok(cp_id, cp_hash, sig):
                    return VerifyResult(False, count, cp_id, "Prüfpunkt mit ungültiger Signatur")
                row = conn.execute("SELECT hash FROM audit_log WHERE id = %s", (cp_id,)).fetchone()
                if row is not None and row[0] != cp_hash:
                    return VerifyResult(False, count, cp_id, "Eintrag weicht vom signierten Prüfpunkt ab")
                if row is None and start_id is not None and cp_id >= start_id:
                    return VerifyResult(False, count, cp_id, "signierter Eintrag fehlt (Protokoll gekürzt)")
        return VerifyResult(True, count)

    # -- checkpoints and retention ---------------------------------------------------------------------
    def _signature(self, entry_id: int, entry_hash: str) -> str:
        return self._mac("checkpoint", f"{entry_id}:{entry_hash}")

    def _checkpoint_ok(self, entry_id: int, entry_hash: str, signature: str) -> bool:
        return hmac.compare_digest(self._signature(entry_id, entry_hash), signature)

    def checkpoint(self) -> int | None:
        """Sign the current head. Returns its entry id (None on an empty log)."""
        with self.db.transaction(Principal(name="audit")) as conn:
            head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
            if head is None or head[0] == 0:
                return None
            conn.execute(
                "INSERT INTO audit_checkpoints (entry_id, entry_hash, signature) VALUES (%s, %s, %s) "
                "ON CONFLICT (entry_id) DO NOTHING",
                (head[0], head[1], self._signature(head[0], head[1])),
            )
            return int(head[0])

    def expire(self, before: datetime) -> int:
        """Delete entries older than ``before`` (retention). A signed checkpoint at the cut keeps the rest
        verifiable. Needs the owner connection: the application role cannot delete audit entries."""
        with self.db.transaction(Principal(name="audit")) as conn:
            row = conn.execute("SELECT max(id) FROM audit_log WHERE ts < %s", (before,)).fetchone()
        cut = row[0] if row else None
        if cut is None:
            return 0
        with self.db.transaction(Principal(name="audit")) as conn:
            h = conn.execute("SELECT hash FROM audit_log WHERE id = %s", (cut,)).fetchone()
            conn.execute(
                "INSERT INTO audit_checkpoints (entry_id, entry_hash, signature) VALUES (%s, %s, %s) "
                "ON CONFLICT (entry_id) DO NOTHING",
                (cut, h[0], self._signature(cut, h[0])),  # type: ignore[index]
            )
        with self.db.admin_connection() as admin, admin.transaction():
            deleted = admin.execute("DELETE FROM audit_log WHERE id <= %s", (cut,)).rowcount
        self.record("operator", "audit.expire", {"before": before.isoformat(), "deleted": deleted,
                                                  "checkpoint": cut})
        return deleted

    # -- export ----------------------------------------------------------------------------------------
    def entries(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        with self.db.transaction(Principal(name="audit")) as conn:
            rows = conn.execute(
                "SELECT id, ts, actor, event, details, prev_hash, hash FROM audit_log "
                "WHERE (%(s)s::timestamptz IS NULL OR ts >= %(s)s) AND (%(e)s::timestamptz IS NULL OR ts < %(e)s) "
                "ORDER BY id",
                {"s": start, "e": end},
            ).fetchall()
        return [
            {"id": r[0], "ts": r[1].isoformat(), "actor": r[2], "event": r[3], "details": json.loads(r[4]),
             "prev_hash": r[5], "hash": r[6]}
            for r in rows
        ]

    def export(self, start: datetime | None, end: datetime | None, fmt: str) -> str:
        if fmt not in ("csv", "json"):
            raise InputError(f"unknown format {fmt}", user_message="Format muss 'csv' oder 'json' sein.")
        items = self.entries(start, end)
        if fmt == "json":
            return json.dumps(items, ensure_ascii=False, indent=2)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "ts", "actor", "event", "details", "prev_hash", "hash"])
        for item in items:
            writer.writerow([item["id"], item["ts"], item["actor"], item["event"],
                             canonical_json(item["details"]), item["prev_hash"], item["hash"]])
        return out.getvalue()
