"""Document management services: delete and list, always for a principal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kreiswissen.db import documents as store
from kreiswissen.db.database import Database
from kreiswissen.errors import NotFound, PermissionDenied
from kreiswissen.security.principal import EVERYONE, Principal


def delete_source(db: Database, source: str, principal: Principal) -> int:
    """Delete every version of a source; the key is the path as resolved, or as given.

    Reading is not enough to delete: a non-operator must belong to one of the document's own groups other
    than ``alle``, so documents for everyone can only be removed by the operator. (Roles such as
    Redakteur refine this with the identity issue.)
    """
    candidates = [str(Path(source).resolve()), source]
    with db.transaction(principal) as conn:
        for key in candidates:
            row = conn.execute(
                "SELECT source_key, access_groups FROM documents WHERE (source_key = %s OR source = %s) "
                "AND is_current LIMIT 1",
                (key, key),
            ).fetchone()
            if row:
                own = set(row[1]) - {EVERYONE}
                if not principal.operator and not own & principal.groups:
                    raise PermissionDenied(
                        f"{principal.name} may not delete {row[0]}",
                        user_message=f"Sie dürfen '{source}' nicht löschen (keine gemeinsame Gruppe).",
                    )
                store.lock_source(conn, row[0])
                return store.delete_document(conn, row[0])
    raise NotFound(f"no document for source {source!r}",
                   user_message=f"Kein Dokument mit der Quelle '{source}' gefunden (oder keine Berechtigung).")


def list_documents(db: Database, principal: Principal) -> list[dict[str, Any]]:
    with db.transaction(principal) as conn:
        rows = conn.execute(
            """SELECT id, title, source, version, chunk_count, access_groups, department, municipality, doc_type,
                      format, doc_date, ingested_at
               FROM documents WHERE is_current ORDER BY source"""
        ).fetchall()
    return [
        {"id": str(r[0]), "title": r[1], "source": r[2], "version": r[3], "chunks": r[4], "access_groups": r[5],
         "department": r[6], "municipality": r[7], "doc_type": r[8], "format": r[9],
         "date": r[10].isoformat() if r[10] else None, "ingested_at": r[11].isoformat()}
        for r in rows
    ]
