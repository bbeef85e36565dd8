"""Stored requests (Vorgänge) and their work queue: import, routing, reply draft, edit, accept or discard.

Who sees a request is decided by the database (migration 0014): the responsible unit's group and the intake
group. Every step is written to the request's history (``case_events``) and to the audit log in the same
transaction. Kreiswissen sends nothing: "angenommen" means the clerk took the draft over to send it through
the administration's own mail or letter system.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from kreiswissen.cases.catalogue import Catalogue
from kreiswissen.cases.intake import IncomingRequest
from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, NotFound
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.principal import Principal

STATUS_LABELS = {"neu": "neu", "entwurf": "Entwurf", "bearbeitet": "bearbeitet", "angenommen": "angenommen",
                 "verworfen": "verworfen"}
OPEN_STATUSES = ("neu", "entwurf", "bearbeitet")
MAX_DRAFT_CHARS = 50_000

_COLUMNS = ("id, source_kind, source_name, source_sha256, message_id, sender, subject, received_at, body, "
            "request_text, attachments, problems, service_id, unit_id, confidence, out_of_scope, routing, "
            "access_groups, status, draft, draft_meta, created_by, created_at, updated_at, decided_by, decided_at")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _row(row: Any) -> dict[str, Any]:
    keys = [c.strip() for c in _COLUMNS.split(",")]
    data = dict(zip(keys, row, strict=True))
    data["id"] = str(data["id"])
    for key in ("received_at", "created_at", "updated_at", "decided_at"):
        data[key] = _iso(data[key])
    for key in ("attachments", "problems", "access_groups"):
        data[key] = list(data[key] or [])
    return data


def case_id(value: str) -> str:
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError as exc:
        raise InputError(f"bad case id {value!r}", user_message=f"Ungültige Vorgangsnummer: {value!r}.") from exc


def _not_found(cid: str) -> NotFound:
    return NotFound(f"case {cid} not found or not visible",
                    user_message=f"Vorgang {cid} nicht gefunden (oder für Sie nicht sichtbar).")


class CaseStore:
    def __init__(self, db: Database, settings: Settings, audit: AuditLog) -> None:
        self.db = db
        self.settings = settings
        self.audit = audit

    def access_groups(self, unit_id: str | None) -> list[str]:
        groups = [self.settings.cases_intake_group]
        if unit_id and unit_id not in groups:
            groups.insert(0, unit_id)
        return groups

    # -- import --------------------------------------------------------------------------------------------
    def known(self, principal: Principal, sha256: str) -> str | None:
        """'case' when this file is already a request, 'failed' when it was reported unreadable, else None."""
        with self.db.transaction(principal) as conn:
            if conn.execute("SELECT 1 FROM cases WHERE source_sha256 = %s", (sha256,)).fetchone():
                return "case"
            if conn.execute("SELECT 1 FROM case_import_failures WHERE source_sha256 = %s", (sha256,)).fetchone():
                return "failed"
        return None

    def add(self, principal: Principal, request: IncomingRequest, routing: dict[str, Any]) -> tuple[str, bool]:
        """Store a routed request; (id, True), or (the existing id, False) when the same file is already one."""
        unit = routing.get("unit")
        with self.db.transaction(principal) as conn:
            row = conn.execute(
                "INSERT INTO cases (source_kind, source_name, source_sha256, message_id, sender, subject, received_at, "
                "body, request_text, attachments, problems, service_id, unit_id, confidence, out_of_scope, routing, "
                "access_groups, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s) ON CONFLICT (source_sha256) DO NOTHING RETURNING id",
                (request.source_kind, request.source_name, request.sha256, request.message_id, request.sender,
                 request.subject, request.received_at, request.body, request.request_text, request.attachments,
                 request.problems, routing.get("service"), unit, routing.get("confidence"),
                 bool(routing.get("out_of_scope")), Jsonb(routing), self.access_groups(unit),
                 principal.name)).fetchone()
            if row is None:
                existing = conn.execute("SELECT id FROM cases WHERE source_sha256 = %s", (request.sha256,)).fetchone()
                if existing is None:  # a row this principal may not see: report it as present, reveal nothing
                    return "", False
                return str(existing[0]), False
            cid = str(row[0])
            details = {"case": cid, "source": request.source_name, "service": routing.get("service"),
                       "unit": unit, "out_of_scope": bool(routing.get("out_of_scope")),
                       "problems": len(request.problems)}
            self._event(conn, cid, principal, "import", details)
            self.audit.record(principal.name, "cases.import", details, conn=conn)
        return cid, True

    def record_failure(self, principal: Principal, name: str, sha256: str, reason: str) -> None:
        with self.db.transaction(principal) as conn:
            conn.execute("INSERT INTO case_import_failures (source_name, source_sha256, reason, actor) "
                         "VALUES (%s, %s, %s, %s) ON CONFLICT (source_sha256) DO UPDATE SET reason = EXCLUDED.reason, "
                         "at = now()", (name, sha256, reason, principal.name))
            self.audit.record(principal.name, "cases.import_failed", {"source": name, "reason": reason}, conn=conn)

    def failures(self, principal: Principal) -> builtins.list[dict[str, Any]]:
        with self.db.transaction(principal) as conn:
            rows = conn.execute("SELECT source_name, reason, actor, at FROM case_import_failures "
                                "ORDER BY at DESC, id DESC").fetchall()
        return [{"source": r[0], "reason": r[1], "actor": r[2], "at": _iso(r[3])} for r in rows]

    # -- read ----------------------------------------------------------------------------------------------
    def list(self, principal: Principal, *, unit: str | None = None, status: str | None = None,
             open_only: bool = False, limit: int = 500) -> builtins.list[dict[str, Any]]:
        """The requests ``principal`` may see, newest first, without body and draft."""
        where, params = ["true"], []
        if unit:
            where.append("unit_id = %s")
            params.append(unit)
        if status:
            if status not in STATUS_LABELS:
                raise InputError(f"bad status {status}", user_message=f"Unbekannter Status „{status}“ (möglich: "
                                 f"{', '.join(STATUS_LABELS)}).")
            where.append("status = %s")
            params.append(status)
        if open_only:
            where.append("status IN ('neu', 'entwurf', 'bearbeitet')")
        with self.db.transaction(principal) as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM cases WHERE {' AND '.join(where)} "
                                "ORDER BY COALESCE(received_at, created_at) DESC, id LIMIT %s",
                                (*params, limit)).fetchall()
        return [{k: v for k, v in _row(r).items() if k not in ("body", "request_text", "draft")} for r in rows]

    def get(self, principal: Principal, cid: str) -> dict[str, Any]:
        cid = case_id(cid)
        with self.db.transaction(principal) as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM cases WHERE id = %s", (cid,)).fetchone()
            if row is None:
                raise _not_found(cid)
            events = conn.execute("SELECT actor, action, details, at FROM case_events WHERE case_id = %s ORDER BY id",
                                  (cid,)).fetchall()
        return {**_row(row), "events": [{"actor": e[0], "action": e[1], "details": e[2], "at": _iso(e[3])}
                                        for e in events]}

    # -- work steps ----------------------------------------------------------------------------------------
    def _locked(self, conn: psycopg.Connection, cid: str) -> tuple[str, str | None]:
        row = conn.execute("SELECT status, draft FROM cases WHERE id = %s FOR UPDATE", (cid,)).fetchone()
        if row is None:
            raise _not_found(cid)
        return row[0], row[1]

    @staticmethod
    def _open(status: str) -> None:
        if status not in OPEN_STATUSES:
            raise InputError(f"case is {status}", user_message=f"Der Vorgang ist bereits {STATUS_LABELS[status]}; "
                             "bitte zuerst wieder öffnen.")

    def set_draft(self, principal: Principal, cid: str, draft: str, meta: dict[str, Any]) -> None:
        cid = case_id(cid)
        with self.db.transaction(principal) as conn:
            status, _ = self._locked(conn, cid)
            self._open(status)
            conn.execute("UPDATE cases SET draft = %s, draft_meta = %s, status = 'entwurf', updated_at = now() "
                         "WHERE id = %s", (draft, Jsonb(meta), cid))
            details = {"case": cid, "generated": bool(meta.get("generated")), "sources": len(meta.get("sources") or []),
                       "blocks": [b["id"] for b in meta.get("blocks") or []]}
            self._event(conn, cid, principal, "draft", details)
            self.audit.record(principal.name, "cases.draft", details, conn=conn)

    def edit(self, principal: Principal, cid: str, draft: str) -> bool:
        """Replace the draft's text (the clerk's edit); False when nothing changed."""
        cid = case_id(cid)
        if len(draft) > MAX_DRAFT_CHARS:
            raise InputError("draft too long", user_message=f"Der Entwurf ist zu lang (höchstens {MAX_DRAFT_CHARS} "
                             "Zeichen).")
        draft = draft.replace("\r\n", "\n").strip()
        if not draft:
            raise InputError("empty draft", user_message="Der Entwurf ist leer; zum Verwerfen bitte „Verwerfen“ "
                             "wählen.")
        with self.db.transaction(principal) as conn:
            status, old = self._locked(conn, cid)
            self._open(status)
            if (old or "").strip() == draft:
                return False
            conn.execute("UPDATE cases SET draft = %s, status = 'bearbeitet', updated_at = now() WHERE id = %s",
                         (draft, cid))
            details = {"case": cid, "chars_before": len(old or ""), "chars_after": len(draft)}
            self._event(conn, cid, principal, "edit", details)
            self.audit.record(principal.name, "cases.edit", details, conn=conn)
        return True

    def decide(self, principal: Principal, cid: str, decision: str, reason: str = "") -> None:
        """'angenommen' (the clerk takes the draft over) or 'verworfen'; 'reopen' makes it editable again."""
        cid = case_id(cid)
        with self.db.transaction(principal) as conn:
            status, draft = self._locked(conn, cid)
            if decision == "reopen":
                if status in OPEN_STATUSES:
                    raise InputError("already open", user_message="Der Vorgang ist bereits offen.")
                conn.execute("UPDATE cases SET status = CASE WHEN draft IS NULL THEN 'neu' ELSE 'bearbeitet' END, "
                             "decided_by = NULL, decided_at = NULL, updated_at = now() WHERE id = %s", (cid,))
                action = "reopen"
            elif decision in ("angenommen", "verworfen"):
                self._open(status)
                if decision == "angenommen" and not (draft or "").strip():
                    raise InputError("no draft", user_message="Es gibt noch keinen Antwortentwurf zum Annehmen.")
                conn.execute("UPDATE cases SET status = %s, decided_by = %s, decided_at = now(), updated_at = now() "
                             "WHERE id = %s", (decision, principal.name, cid))
                action = "accept" if decision == "angenommen" else "discard"
            else:
                raise InputError(f"bad decision {decision}", user_message=f"Unbekannte Entscheidung „{decision}“.")
            details = {"case": cid, **({"reason": reason[:500]} if reason else {})}
            self._event(conn, cid, principal, action, details)
            self.audit.record(principal.name, f"cases.{action}", details, conn=conn)

    def reroute(self, principal: Principal, cid: str, catalogue: Catalogue, service_id: str) -> None:
        """Assign another service (and so its unit and queue) by hand."""
        cid = case_id(cid)
        service = catalogue.services.get(service_id)
        if service is None:
            raise InputError(f"unknown service {service_id}", user_message=f"Leistung „{service_id}“ gibt es im "
                             "Leistungskatalog nicht.")
        unit = catalogue.unit_of(service)
        with self.db.transaction(principal) as conn:  # the clerk must see the request to hand it over
            row = conn.execute("SELECT service_id, routing FROM cases WHERE id = %s", (cid,)).fetchone()
        if row is None:
            raise _not_found(cid)
        routing = dict(row[1] or {})
        routing["manual"] = {"service": service.id, "by": principal.name}
        details = {"case": cid, "from": row[0], "to": service.id, "unit": unit.id}
        # The new row is another unit's: PostgreSQL checks an UPDATE's new row against the reading policy, so
        # the clerk could not write it. The handover itself (only the routing columns of a request the clerk
        # was just shown to see) is written with the application's operator rights, event and audit included.
        with self.db.transaction(Principal.local_operator()) as conn:
            changed = conn.execute(
                "UPDATE cases SET service_id = %s, unit_id = %s, out_of_scope = false, routing = %s, "
                "access_groups = %s, updated_at = now() WHERE id = %s AND service_id IS NOT DISTINCT FROM %s",
                (service.id, unit.id, Jsonb(routing), self.access_groups(unit.id), cid, row[0])).rowcount
            if not changed:
                raise InputError("changed meanwhile", user_message="Der Vorgang wurde inzwischen von jemand "
                                 "anderem umgeleitet; bitte neu laden.")
            self._event(conn, cid, principal, "route", details)
            self.audit.record(principal.name, "cases.route", details, conn=conn)

    def record(self, principal: Principal, cid: str, action: str, details: dict[str, Any] | None = None) -> None:
        """A step that changes nothing stored but is audited: 'copy' (to the clipboard), 'export' (DOCX)."""
        if action not in ("copy", "export"):
            raise ValueError(action)
        cid = case_id(cid)
        with self.db.transaction(principal) as conn:
            if conn.execute("SELECT 1 FROM cases WHERE id = %s", (cid,)).fetchone() is None:
                raise _not_found(cid)
            data = {"case": cid, **(details or {})}
            self._event(conn, cid, principal, action, data)
            self.audit.record(principal.name, f"cases.{action}", data, conn=conn)

    @staticmethod
    def _event(conn: psycopg.Connection, cid: str, principal: Principal, action: str, details: dict[str, Any]) -> None:
        conn.execute("INSERT INTO case_events (case_id, actor, action, details) VALUES (%s, %s, %s, %s)",
                     (cid, principal.name, action, Jsonb(details)))
