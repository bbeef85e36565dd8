"""Conversations: a user's questions with their answers, so follow-up questions can be resolved.

Conversations are personal data. Each belongs to the principal that started it; PostgreSQL row-level
security (migration 0007) shows a conversation and its turns only to its owner, or to an operator
(administration, DSGVO export and erasure, retention). The owner check uses a signed principal name:
``_transaction`` sets it next to the signed groups that ``Database.transaction`` sets, so SQL slipped into a
session cannot claim another user's name. Conversations not continued for ``retention_days`` are deleted
by ``expire``.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import psycopg
from psycopg.types.json import Jsonb

from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, NotFound
from kreiswissen.security.principal import Principal

Mode = Literal["generated", "extractive", "refused"]
MODES: frozenset[str] = frozenset(get_args(Mode))
TITLE_CHARS = 120

# Retention runs for no user in particular: an operator sees every conversation.
_RETENTION = Principal(name="conversations", operator=True)


@dataclass(frozen=True)
class Turn:
    """One question of a conversation with what was answered."""

    conversation_id: str
    turn: int
    question: str
    standalone_question: str  # the question as resolved against the history (what retrieval saw)
    answer: str
    mode: str  # generated | extractive | refused
    citations: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.turn, "question": self.question, "standalone_question": self.standalone_question,
                "answer": self.answer, "mode": self.mode, "citations": self.citations,
                "created_at": self.created_at.isoformat() if self.created_at else None}


def _conversation_id(value: str) -> str:
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise NotFound(f"malformed conversation id {value!r}",
                       user_message=f"Das Gespräch '{value}' gibt es nicht.") from None


def _not_found(conversation_id: str) -> NotFound:
    # One message whether the conversation does not exist or belongs to someone else: no probing for ids.
    return NotFound(f"conversation {conversation_id} not visible",
                    user_message=f"Das Gespräch '{conversation_id}' gibt es nicht oder es gehört einem anderen "
                    "Benutzer.")


def _title(text: str | None) -> str | None:
    if text is None:
        return None
    clean = " ".join(text.split())
    if not clean:
        return None
    return clean if len(clean) <= TITLE_CHARS else clean[: TITLE_CHARS - 1].rstrip() + "…"


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _transaction(self, principal: Principal) -> Iterator[psycopg.Connection]:
        """``db.transaction(principal)``: it sets the signed principal name the ownership policies check."""
        with self.db.transaction(principal) as conn:
            yield conn

    def start(self, principal: Principal, title: str | None = None) -> str:
        """A new, empty conversation owned by ``principal``; its id. Without a title the first question is."""
        if not principal.name.strip():
            raise InputError("principal without a name", user_message="Gespräche brauchen einen angemeldeten "
                             "Benutzer.")
        with self._transaction(principal) as conn:
            row = conn.execute("INSERT INTO conversations (owner, title) VALUES (%s, %s) RETURNING id",
                               (principal.name, _title(title))).fetchone()
        assert row is not None
        return str(row[0])

    def append(self, principal: Principal, conversation_id: str, question: str, standalone_question: str,
               answer: str, mode: str, citations: builtins.list[dict[str, Any]]) -> int:
        """Add a turn to one of ``principal``'s conversations; its number (1, 2, …)."""
        if mode not in MODES:
            raise InputError(f"unknown answer mode {mode!r}",
                             user_message=f"Unbekannte Antwortart '{mode}' (erlaubt: {', '.join(sorted(MODES))}).")
        cid = _conversation_id(conversation_id)
        with self._transaction(principal) as conn:
            # The row lock serialises concurrent appends to one conversation: turn numbers stay dense.
            row = conn.execute("SELECT title FROM conversations WHERE id = %s FOR UPDATE", (cid,)).fetchone()
            if row is None:
                raise _not_found(cid)
            turn = conn.execute("SELECT COALESCE(max(turn), 0) + 1 FROM conversation_turns "
                                "WHERE conversation_id = %s", (cid,)).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO conversation_turns (conversation_id, turn, question, standalone_question, answer, "
                "mode, citations) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (cid, turn, question, standalone_question or question, answer, mode, Jsonb(citations)),
            )
            conn.execute("UPDATE conversations SET updated_at = now(), title = COALESCE(title, %s) WHERE id = %s",
                         (_title(question), cid))
        return int(turn)

    def history(self, principal: Principal, conversation_id: str, limit: int | None = 6) -> builtins.list[Turn]:
        """The last ``limit`` turns (all with ``None``), oldest first."""
        cid = _conversation_id(conversation_id)
        with self._transaction(principal) as conn:
            if conn.execute("SELECT 1 FROM conversations WHERE id = %s", (cid,)).fetchone() is None:
                raise _not_found(cid)
            return _turns(conn, cid, limit)

    def get(self, principal: Principal, conversation_id: str) -> dict[str, Any]:
        """One conversation with all its turns (for display and export)."""
        cid = _conversation_id(conversation_id)
        with self._transaction(principal) as conn:
            row = conn.execute("SELECT id, owner, title, created_at, updated_at FROM conversations WHERE id = %s",
                               (cid,)).fetchone()
            if row is None:
                raise _not_found(cid)
            turns = _turns(conn, cid, None)
        return {**_summary(row, len(turns)), "turns": [t.to_json() for t in turns]}

    def delete(self, principal: Principal, conversation_id: str) -> None:
        """Delete one of ``principal``'s conversations with its turns."""
        cid = _conversation_id(conversation_id)
        with self._transaction(principal) as conn:
            if conn.execute("DELETE FROM conversations WHERE id = %s", (cid,)).rowcount == 0:
                raise _not_found(cid)

    def expire(self, retention_days: int) -> int:
        """Delete conversations not continued for ``retention_days`` days; how many."""
        if retention_days < 1:
            raise InputError(f"retention_days {retention_days}",
                             user_message="Die Aufbewahrungsfrist für Gespräche muss mindestens 1 Tag sein.")
        with self._transaction(_RETENTION) as conn:
            return conn.execute("DELETE FROM conversations WHERE updated_at < now() - make_interval(days => %s)",
                                (retention_days,)).rowcount

    def list(self, principal: Principal) -> builtins.list[dict[str, Any]]:
        """The conversations ``principal`` may see, most recently continued first (an operator: everyone's)."""
        with self._transaction(principal) as conn:
            rows = conn.execute(
                "SELECT c.id, c.owner, c.title, c.created_at, c.updated_at, "
                "(SELECT count(*) FROM conversation_turns t WHERE t.conversation_id = c.id) "
                "FROM conversations c ORDER BY c.updated_at DESC, c.id").fetchall()
        return [_summary(r[:5], int(r[5])) for r in rows]


def _turns(conn: psycopg.Connection, cid: str, limit: int | None) -> list[Turn]:
    rows = conn.execute(
        "SELECT turn, question, standalone_question, answer, mode, citations, created_at "
        "FROM conversation_turns WHERE conversation_id = %s ORDER BY turn DESC LIMIT %s", (cid, limit)).fetchall()
    return [Turn(cid, r[0], r[1], r[2], r[3], r[4], list(r[5] or []), r[6]) for r in reversed(rows)]


def _summary(row: Any, turns: int) -> dict[str, Any]:
    return {"id": str(row[0]), "owner": row[1], "title": row[2], "created_at": row[3].isoformat(),
            "updated_at": row[4].isoformat(), "turns": turns}
