"""Connections: the embedded or configured PostgreSQL, bootstrap, and principal-scoped transactions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from kreiswissen.config import Settings
from kreiswissen.db.embedded import APP_ROLE, DATABASE, start_embedded, with_user_and_db
from kreiswissen.db.migrate import migrate
from kreiswissen.errors import BackendUnavailable
from kreiswissen.security.keys import derive, installation_key, principal_mac, principal_name_mac
from kreiswissen.security.principal import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionInfo:
    app_url: str
    admin_url: str
    embedded: bool


def _unavailable(exc: Exception, what: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"{what}: {exc}",
        user_message=f"Die Datenbank ist nicht erreichbar ({what}). Bitte später erneut versuchen "
        "oder die Administration informieren.",
    )


def _bootstrap_embedded(settings: Settings) -> ConnectionInfo:
    super_uri = start_embedded(settings.db_dir)
    try:
        with psycopg.connect(super_uri, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                        sql.Identifier(APP_ROLE)
                    )
                )
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    except psycopg.Error as exc:
        raise _unavailable(exc, "Bootstrap der eingebetteten Datenbank") from exc
    admin = with_user_and_db(super_uri, "postgres", DATABASE)
    app = with_user_and_db(super_uri, APP_ROLE, DATABASE)
    return ConnectionInfo(app_url=app, admin_url=admin, embedded=True)


def resolve(settings: Settings) -> ConnectionInfo:
    if settings.database_url:
        return ConnectionInfo(
            app_url=settings.database_url,
            admin_url=settings.database_admin_url or settings.database_url,
            embedded=False,
        )
    return _bootstrap_embedded(settings)


def redact(url: str) -> str:
    """A connection string without its password, for display."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<ungültige URL>"
    if params.get("password"):
        params["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in params.items() if v)


class Database:
    """Owns one application connection. Every read and write runs inside ``transaction(principal)``."""

    def __init__(self, settings: Settings, *, migrate_schema: bool = True) -> None:
        self.settings = settings
        self.info = resolve(settings)
        self.principal_key = derive(installation_key(settings), "principal")
        if migrate_schema:
            self.migrate()
        # One connection per thread and channel: a transaction sets its principal with SET LOCAL, so two threads
        # (web requests) must never share one; channel 1 lets a search run its dense query beside the lexical one.
        self._conns: dict[tuple[int, int], psycopg.Connection] = {}
        self._conns_lock = threading.Lock()

    def migrate(self) -> list[str]:
        try:
            with psycopg.connect(self.info.admin_url, autocommit=True) as admin:
                app_user = str(conninfo_to_dict(self.info.app_url).get("user") or "")
                admin_user = admin.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
                role = app_user if app_user and app_user != admin_user else None
                return migrate(admin, role, self.principal_key)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, "Migration") from exc

    def admin_connection(self) -> psycopg.Connection:
        """Owner connection, for schema work (indexes) only."""
        try:
            return psycopg.connect(self.info.admin_url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, "Verbindung als Eigentümer") from exc

    def connection(self, channel: int = 0) -> psycopg.Connection:
        """This thread's connection for ``channel``."""
        key = (threading.get_ident(), channel)
        conn = self._conns.get(key)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = self._connect()
            except psycopg.OperationalError as exc:
                raise _unavailable(exc, "Verbindung") from exc
            from pgvector.psycopg import register_vector

            register_vector(conn)
            with self._conns_lock:
                self._close_orphans()
                self._conns[key] = conn
        return conn

    def _close_orphans(self) -> None:
        """Close the connections of threads that have ended (caller holds the lock)."""
        alive = {t.ident for t in threading.enumerate()}
        for key in [k for k in self._conns if k[0] not in alive]:
            conn = self._conns.pop(key)
            if not conn.closed:
                conn.close()

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.info.app_url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError:
            if not self.info.embedded:
                raise
            # The embedded server was stopped or crashed since we attached: start it again (WAL recovery).
            self.info = _bootstrap_embedded(self.settings)
            return psycopg.connect(self.info.app_url, autocommit=True, connect_timeout=10)

    def _healthy_connection(self, channel: int) -> psycopg.Connection:
        """The connection, replaced once if the server went away since its last use (restart, failover)."""
        conn = self.connection(channel)
        try:
            conn.execute("SELECT 1")
        except psycopg.OperationalError:
            conn.close()
            with self._conns_lock:
                self._conns.pop((threading.get_ident(), channel), None)
            conn = self.connection(channel)
        return conn

    @contextmanager
    def transaction(self, principal: Principal, channel: int = 0) -> Iterator[psycopg.Connection]:
        """A transaction whose row-level security sees exactly what ``principal`` may read.

        A database restart between transactions is healed by reconnecting; one during a transaction
        aborts it (nothing half-written) and raises ``BackendUnavailable``.
        """
        conn = self._healthy_connection(channel)
        try:
            with conn.transaction():
                groups = _pg_array(principal.group_list())
                conn.execute(
                    "SELECT set_config('kreiswissen.groups', %s, true), "
                    "set_config('kreiswissen.operator', %s, true), "
                    "set_config('kreiswissen.principal_mac', %s, true), "
                    "set_config('kreiswissen.principal_name', %s, true), "
                    "set_config('kreiswissen.principal_name_mac', %s, true)",
                    (groups, "on" if principal.operator else "off",
                     principal_mac(self.principal_key, groups, principal.operator),
                     principal.name, principal_name_mac(self.principal_key, principal.name)),
                )
                yield conn
        except psycopg.OperationalError as exc:
            raise _unavailable(exc, "Abfrage") from exc

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns.values():
                if not conn.closed:
                    conn.close()
            self._conns.clear()


def _pg_array(items: list[str]) -> str:
    """A text[] literal. Group names are validated (no quotes, commas or braces) but quote anyway."""
    quoted = ['"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items]
    return "{" + ",".join(quoted) + "}"
