"""Document management services: delete and list, always for a principal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kreiswissen.db import documents as store
from kreiswissen.db.database import Database
from kreiswissen.errors import NotFound
from kreiswissen.security.policy import require_delete
from kreiswissen.security.principal import Principal


def delete_source(db: Database, source: str, principal: Principal) -> int:
    """Delete every version of a source; the key is the path as resolved, or as given.

    Reading is not enough to delete (security/policy.py): an Administrator, or a Redakteur of the document's
    department (or of one of its own groups other than ``alle``); documents for everyone without a department
    only the Administrator or the operator.
    """
    candidates = [str(Path(source).resolve()), source]
    with db.transaction(principal) as conn:
        for key in candidates:
            row = conn.execute(
                "SELECT source_key, access_groups, department FROM documents WHERE (source_key = %s OR source = %s) "
                "AND is_current LIMIT 1",
                (key, key),
            ).fetchone()
            if row:
                require_delete(principal, list(row[1]), row[2])
                store.lock_source(conn, row[0])
                return store.delete_document(conn, row[0])
    raise NotFound(f"no document for source {source!r}",
                   user_message=f"Kein Dokument mit der Quelle '{source}' gefunden (oder keine Berechtigung).")


def list_documents(db: Database, principal: Principal) -> list[dict[str, Any]]:
    with db.transaction(principal) as conn:
        rows = conn.execute(
            """SELECT id, title, source, version, chunk_count, access_groups, department, municipality, doc_type,
                      format, doc_date, ingested_at, classification
               FROM documents WHERE is_current ORDER BY source"""
        ).fetchall()
    return [
        {"id": str(r[0]), "title": r[1], "source": r[2], "version": r[3], "chunks": r[4], "access_groups": r[5],
         "department": r[6], "municipality": r[7], "doc_type": r[8], "format": r[9],
         "date": r[10].isoformat() if r[10] else None, "ingested_at": r[11].isoformat(), "classification": r[12]}
        for r in rows
    ]
