"""Versioned SQL migrations (``migrations/NNNN_name.sql``), applied once each under an advisory lock."""

from __future__ import annotations

import re
from importlib import resources

import psycopg
from psycopg import sql

from kreiswissen.errors import ConfigurationError

_LOCK_KEY = 0x4B57_4D49  # "KWMI"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) sorted by version."""
    found = []
    for entry in resources.files("kreiswissen.db").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: psycopg.Connection, app_role: str | None, principal_key: bytes | None = None) -> list[str]:
    """Apply pending migrations in one transaction each; grant the application role; store the key that
    signs principals (the database's copy; the application reads its own from the key file)."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {row[0]: row[1] for row in conn.execute("SELECT version, name FROM schema_migrations")}
        packaged = {version: name for version, name, _ in available_migrations()}
        foreign = sorted(f"{v} ({done[v]})" for v in done if v in packaged and done[v] != packaged[v])
        if foreign:
            # A database migrated by another build (a branch numbering its migrations differently): applying
            # ours on top would fail half-way or, worse, succeed on a schema we do not know.
            raise ConfigurationError(
                f"schema_migrations holds migrations this version does not know: {', '.join(foreign)}",
                user_message="Die Datenbank wurde von einer anderen Kreiswissen-Version eingerichtet (Migration "
                f"{', '.join(foreign)}). Bitte die passende Version verwenden oder die Datenbank neu anlegen.")
        for version, name, text in available_migrations():
            if version in done:
                continue
            conn.execute(text)  # type: ignore[arg-type]  # trusted, packaged SQL
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(name)
        # Every packaged migration has run by now, so the tables below exist.
        if principal_key is not None:
            conn.execute("INSERT INTO kw_principal_key (id, key) VALUES (1, %s) "
                         "ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key", (principal_key,))
        if app_role:
            role = sql.Identifier(app_role)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
            conn.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role)
            )
            conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))
            # The application never changes the migration history.
            conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {}").format(role))
            # The principal key is for the database's own check only.
            conn.execute(sql.SQL("REVOKE ALL ON kw_principal_key FROM {}").format(role))
            # The audit log is append-only for the application; the chain head is written by the trigger only.
            conn.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {}").format(role))
            conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_head FROM {}").format(role))
            conn.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM {}").format(role))
    return applied


def ensure_vector_index(conn: psycopg.Connection, model: str, dim: int) -> None:
    """One partial HNSW index per embedding model (dimensions differ between models)."""
    safe = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:40]
    name = sql.Identifier(f"chunks_embedding_{safe}_{dim}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON chunks USING hnsw ((embedding::vector({})) vector_cosine_ops) "
                "WITH (m = 16, ef_construction = 64) WHERE embedding_model = {}"
            ).format(name, sql.Literal(dim), sql.Literal(model))
        )
