"""Data subjects' rights (DSGVO): access (Art. 15) and erasure (Art. 17), each recorded with its reason.

- ``export_user``: everything stored about a staff account — account, groups, roles, tokens (never secrets or
  hashes), the audit entries it caused or that concern it, the user's conversations with every turn, and
  (with ``person``) the documents that mention a person's name, found by full-text search over every
  document regardless of groups.
- ``erase_document``: every version of a source with everything derived from it — chunks, embeddings,
  lexical postings and statistics, cached embeddings no other document uses.
- ``erase_user``: the account with its group memberships, tokens and pending logins, and the user's
  conversations (questions, answers, citations).

The audit log is kept: it is the legally required record of processing (Art. 5(2), § 76 BDSG) and
Art. 17(3)(b) exempts it; its entries hold ids and pseudonymised questions, and expire with the audit
retention (``kreiswissen audit expire``). See docs/verarbeitungsverzeichnis.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from kreiswissen.db import documents as store
from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, NotFound
from kreiswissen.ingest.pipeline import embedding_text
from kreiswissen.models.embedder import text_hash
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.principal import Principal

_SYSTEM = Principal(name="dsgvo", operator=True)


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 5:
        raise InputError("reason required", user_message="Bitte einen Anlass angeben (--reason), z. B. "
                         "'Auskunftsersuchen vom 12.03.2026'. Er wird protokolliert.")
    return reason


class DataSubjectRights:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db = db
        self.audit = audit

    def export_user(self, actor: str, user: str | None, person: str | None, reason: str) -> dict[str, Any]:
        reason = _require_reason(reason)
        if not user and not person:
            raise InputError("nothing to export", user_message="Bitte --user und/oder --person angeben.")
        result: dict[str, Any] = {"reason": reason}
        with self.db.transaction(_SYSTEM) as conn:
            if user:
                key = user.strip().lower()
                row = conn.execute(
                    "SELECT name, display_name, auth_source, roles, disabled, failed_logins, locked_until, "
                    "last_login_at, created_at, password_hash IS NOT NULL FROM users WHERE name = %s", (key,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"user {user}", user_message=f"Den Benutzer '{user}' gibt es nicht.")
                result["account"] = {
                    "name": row[0], "display_name": row[1], "auth_source": row[2], "roles": list(row[3]),
                    "disabled": row[4], "failed_logins": row[5], "locked_until": _iso(row[6]),
                    "last_login_at": _iso(row[7]), "created_at": _iso(row[8]), "has_local_password": row[9],
                }
                result["groups"] = [r[0] for r in conn.execute(
                    "SELECT group_name FROM user_groups WHERE user_name = %s ORDER BY 1", (key,))]
                result["api_tokens"] = [
                    {"id": str(r[0]), "label": r[1], "scopes": list(r[2]), "created_at": _iso(r[3]),
                     "expires_at": _iso(r[4]), "revoked_at": _iso(r[5]), "last_used_at": _iso(r[6])}
                    for r in conn.execute(
                        "SELECT id, label, scopes, created_at, expires_at, revoked_at, last_used_at FROM api_tokens "
                        "WHERE user_name = %s ORDER BY created_at", (key,))]
                result["audit_entries"] = [
                    {"id": r[0], "ts": _iso(r[1]), "actor": r[2], "event": r[3], "details": r[4]}
                    for r in conn.execute(
                        "SELECT id, ts, actor, event, details::jsonb FROM audit_log WHERE actor = %s "
                        "OR details::jsonb ->> 'user' = %s ORDER BY id", (key, key))]
                result["conversations"] = _conversations(conn, key)
                result["web_sessions"] = [
                    {"created_at": _iso(r[0]), "last_seen_at": _iso(r[1]), "expires_at": _iso(r[2])}
                    for r in conn.execute("SELECT created_at, last_seen_at, expires_at FROM web_sessions "
                                          "WHERE user_name = %s ORDER BY created_at", (key,))]
                result["upload_jobs"] = [
                    {"id": str(r[0]), "file_name": r[1], "size_bytes": r[2], "status": r[3], "message": r[4],
                     "created_at": _iso(r[5]), "finished_at": _iso(r[6])}
                    for r in conn.execute("SELECT id, file_name, size_bytes, status, message, created_at, "
                                          "finished_at FROM ingest_jobs WHERE owner = %s ORDER BY created_at",
                                          (key,))]
                # Feedback is stored under a keyed pseudonym of the account, not its name.
                result["feedback"] = [
                    {"created_at": _iso(r[0]), "department": r[1], "question": r[2], "mode": r[3], "rating": r[4],
                     "comment": r[5]}
                    for r in conn.execute("SELECT created_at, department, question, mode, rating, comment "
                                          "FROM feedback WHERE user_pseudonym = %s ORDER BY created_at",
                                          (self.audit.user_pseudonym(key),))]
            if person:
                phrase = " ".join(person.split())
                result["documents_mentioning"] = [
                    {"document_id": str(r[0]), "title": r[1], "source": r[2], "access_groups": list(r[3]),
                     "passages": r[4]}
                    for r in conn.execute(
                        """SELECT d.id, d.title, d.source, d.access_groups, count(*)
                           FROM chunks c JOIN documents d ON d.id = c.document_id
                           WHERE d.is_current AND c.text ILIKE '%%' || %s || '%%'
                           GROUP BY d.id ORDER BY d.title""", (phrase,))]
            self.audit.record(actor, "dsgvo.export", {"user": user, "person_searched": bool(person),
                                                      "reason": reason}, conn)
        return result

    def erase_document(self, actor: str, source: str, reason: str) -> dict[str, int]:
        """Remove every version of ``source`` and everything derived from it. Returns counts."""
        reason = _require_reason(reason)
        candidates = [str(Path(source).resolve()), source]
        with self.db.transaction(_SYSTEM) as conn:
            key = None
            for candidate in candidates:
                row = conn.execute("SELECT source_key FROM documents WHERE source_key = %s OR source = %s LIMIT 1",
                                   (candidate, candidate)).fetchone()
                if row:
                    key = row[0]
                    break
            if key is None:
                raise NotFound(f"no document {source}", user_message=f"Kein Dokument mit der Quelle '{source}'.")
            store.lock_source(conn, key)
            ids = [r[0] for r in conn.execute("SELECT id FROM documents WHERE source_key = %s", (key,))]
            # Cached embeddings are keyed by the hash of the text the embedder saw (section path + chunk text).
            hashes = sorted({text_hash(embedding_text(r[0], r[1], r[2])) for r in conn.execute(
                "SELECT d.title, c.section, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE c.document_id = ANY(%s)", (ids,))})
            chunks = conn.execute("SELECT count(*) FROM chunks WHERE document_id = ANY(%s)", (ids,)).fetchone()[0]  # type: ignore[index]
            versions = store.delete_document(conn, key)
            # The cache only saves re-embedding; an identical passage elsewhere keeps its stored embedding.
            cached = conn.execute("DELETE FROM embedding_cache WHERE text_hash = ANY(%s)", (hashes,)).rowcount
            self.audit.record(actor, "dsgvo.erase", {"document_ids": [str(i) for i in ids], "versions": versions,
                                                     "chunks": chunks, "reason": reason}, conn)
        return {"versions": versions, "chunks": int(chunks), "cached_embeddings": cached}

    def erase_user(self, actor: str, user: str, reason: str) -> None:
        reason = _require_reason(reason)
        key = user.strip().lower()
        with self.db.transaction(_SYSTEM) as conn:
            # Turns go with their conversation, sessions, tokens and group memberships with the account
            # (ON DELETE CASCADE). Upload jobs name their owner; feedback carries the account's pseudonym.
            conversations = conn.execute("DELETE FROM conversations WHERE owner = %s", (key,)).rowcount
            jobs = conn.execute("DELETE FROM ingest_jobs WHERE owner = %s", (key,)).rowcount
            feedback = conn.execute("DELETE FROM feedback WHERE user_pseudonym = %s",
                                    (self.audit.user_pseudonym(key),)).rowcount
            if (conn.execute("DELETE FROM users WHERE name = %s", (key,)).rowcount == 0
                    and not conversations and not jobs and not feedback):
                raise NotFound(f"user {user}", user_message=f"Den Benutzer '{user}' gibt es nicht.")
            self.audit.record(actor, "dsgvo.erase", {"user": key, "conversations": conversations,
                                                     "upload_jobs": jobs, "feedback": feedback,
                                                     "reason": reason}, conn)


def _conversations(conn: psycopg.Connection, owner: str) -> list[dict[str, Any]]:
    """Every conversation of ``owner`` with all its turns, oldest first."""
    conversations: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for r in conn.execute("SELECT id, title, created_at, updated_at FROM conversations WHERE owner = %s "
                          "ORDER BY created_at, id", (owner,)):
        entry = {"id": str(r[0]), "title": r[1], "created_at": _iso(r[2]), "updated_at": _iso(r[3]), "turns": []}
        conversations.append(entry)
        by_id[entry["id"]] = entry
    for r in conn.execute(
            "SELECT t.conversation_id, t.turn, t.question, t.standalone_question, t.answer, t.mode, t.citations, "
            "t.created_at FROM conversation_turns t JOIN conversations c ON c.id = t.conversation_id "
            "WHERE c.owner = %s ORDER BY t.conversation_id, t.turn", (owner,)):
        by_id[str(r[0])]["turns"].append({
            "turn": r[1], "question": r[2], "standalone_question": r[3], "answer": r[4], "mode": r[5],
            "citations": r[6], "created_at": _iso(r[7])})
    return conversations


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
