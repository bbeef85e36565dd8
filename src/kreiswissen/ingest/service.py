"""Document management services: delete and list, always for a principal."""

from __future__ import annotations

import uuid
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


def document_facets(db: Database, principal: Principal) -> dict[str, list[str]]:
    """The departments, document types and municipalities among the documents the principal may read (the
    search filters' choices)."""
    with db.transaction(principal) as conn:
        rows = conn.execute(
            """SELECT ARRAY(SELECT DISTINCT department FROM documents WHERE is_current AND department IS NOT NULL
                            ORDER BY 1),
                      ARRAY(SELECT DISTINCT doc_type FROM documents WHERE is_current AND doc_type <> '' ORDER BY 1),
                      ARRAY(SELECT DISTINCT municipality FROM documents
                            WHERE is_current AND municipality IS NOT NULL AND municipality <> '' ORDER BY 1)"""
        ).fetchone()
    assert rows is not None
    return {"fachdienst": list(rows[0]), "typ": list(rows[1]), "gemeinde": list(rows[2])}


def get_document(db: Database, principal: Principal, document_id: str) -> dict[str, Any]:
    """One document the principal may read, with its passages and the list of its versions."""
    _check_id(document_id)
    with db.transaction(principal) as conn:
        row = conn.execute(
            """SELECT id, title, source, source_key, version, is_current, chunk_count, access_groups, department,
                      municipality, doc_type, format, doc_date, ingested_at, classification, size_bytes
               FROM documents WHERE id = %s""", (document_id,)).fetchone()
        if row is None:
            raise _not_found()
        chunks = conn.execute("SELECT id, ord, text, section, page FROM chunks WHERE document_id = %s ORDER BY ord",
                              (document_id,)).fetchall()
        versions = conn.execute("SELECT id, version, is_current, ingested_at FROM documents WHERE source_key = %s "
                                "ORDER BY version DESC", (row[3],)).fetchall()
    return {
        "id": str(row[0]), "title": row[1], "source": row[2], "version": row[4], "current": row[5],
        "chunks": row[6], "access_groups": list(row[7]), "department": row[8], "municipality": row[9],
        "doc_type": row[10], "format": row[11], "date": row[12].isoformat() if row[12] else None,
        "ingested_at": row[13].isoformat(), "classification": row[14], "size_bytes": row[15],
        "passages": [{"id": str(c[0]), "ord": c[1], "text": c[2], "section": c[3], "page": c[4]} for c in chunks],
        "versions": [{"id": str(v[0]), "version": v[1], "current": v[2], "ingested_at": v[3].isoformat()}
                     for v in versions],
    }


def original_file(db: Database, principal: Principal, document_id: str) -> Path:
    """The original file of a readable document, if it is still where it was read from and unchanged."""
    from kreiswissen.ingest.pipeline import file_hash

    _check_id(document_id)
    with db.transaction(principal) as conn:
        row = conn.execute("SELECT source_key, content_hash FROM documents WHERE id = %s",
                           (document_id,)).fetchone()
    if row is None:
        raise _not_found()
    path = Path(row[0])
    if not path.is_file() or file_hash(path) != row[1]:
        raise NotFound(f"original of {document_id} gone or changed", user_message="Die Originaldatei dieser "
                       "Version ist nicht mehr vorhanden (verschoben, geändert oder eine ältere Version).")
    return path


def _check_id(document_id: str) -> None:
    """A malformed id is answered like an unknown one."""
    try:
        uuid.UUID(document_id)
    except ValueError as exc:
        raise _not_found() from exc


def _not_found() -> NotFound:
    return NotFound("no such document", user_message="Dieses Dokument gibt es nicht, oder Sie dürfen es nicht lesen.")


def change_access(db: Database, principal: Principal, document_id: str, groups: list[str],
                  department: str | None, classification: str | None) -> dict[str, Any]:
    """Change who may read a document (groups), its department and its classification; all versions keep
    their own settings, the current one changes. Managing rights as for deleting, granting as for uploading.

    Switching to or from ``personenbezogen`` changes the indexed text itself (pseudonymised or not): that
    needs a new upload, not a change of settings.
    """
    import psycopg

    from kreiswissen.errors import InputError, PermissionDenied
    from kreiswissen.security.policy import normalise_classification, require_upload
    from kreiswissen.security.principal import EVERYONE, validate_group

    access = sorted({validate_group(g) for g in groups}) or [EVERYONE]
    department = validate_group(department) if department else None
    level = normalise_classification(classification)
    _check_id(document_id)
    try:
        with db.transaction(principal) as conn:
            row = conn.execute("SELECT source_key, access_groups, department, classification, is_current "
                               "FROM documents WHERE id = %s FOR UPDATE", (document_id,)).fetchone()
            if row is None:
                raise _not_found()
            if not row[4]:
                raise InputError("not current", user_message="Nur die aktuelle Version eines Dokuments kann "
                                 "geändert werden.")
            require_delete(principal, list(row[1]), row[2])
            require_upload(principal, access, department)
            if row[3] != level and "personenbezogen" in (row[3], level):
                raise InputError("classification changes the text", user_message="Die Einstufung "
                                 "„personenbezogen“ ändert den gespeicherten Text (Pseudonymisierung): bitte das "
                                 "Dokument mit der neuen Einstufung erneut hochladen.")
            store.lock_source(conn, row[0])
            store.set_access(conn, uuid.UUID(document_id), access, department, level)
    except psycopg.errors.InsufficientPrivilege as exc:
        # Row-level security: the new groups would hide the document from the one changing it.
        raise PermissionDenied("rls refused access change", user_message="Sie können ein Dokument nur für "
                               "Gruppen freigeben, denen Sie selbst angehören.") from exc
    return {"id": document_id, "access_groups": access, "department": department, "classification": level,
            "previous": {"access_groups": list(row[1]), "department": row[2], "classification": row[3]}}
