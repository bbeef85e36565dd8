"""Browser sessions and rate limits, both kept in PostgreSQL so that every app process shares them.

A session cookie holds 32 random bytes; the database keeps only their SHA-256, the user and a CSRF token of
its own. A session ends after ``session_idle_minutes`` without a request, after ``session_max_hours`` in
any case, at logout, and when the user is disabled (checked on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import KreiswissenError
from kreiswissen.security.identity import Identity, User
from kreiswissen.security.principal import Principal

COOKIE = "kw_session"
_SYSTEM = Principal(name="web")


class RateLimited(KreiswissenError):
    exit_code = 7
    http_status = 429

    def __init__(self, message: str, *, user_message: str, retry_after: int) -> None:
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime

    def csrf_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(self.csrf_token, candidate or "")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


class SessionStore:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def create(self, user: User) -> str:
        """A new session for ``user`` (after a successful login); returns the cookie value."""
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.db.transaction(_SYSTEM) as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at < %s", (now,))
            conn.execute("INSERT INTO web_sessions (id_hash, user_name, csrf_token, expires_at) "
                         "VALUES (%s, %s, %s, %s)",
                         (_hash(secret), user.name, secrets.token_urlsafe(32),
                          now + timedelta(hours=self.settings.session_max_hours)))
        return secret

    def get(self, secret: str | None) -> Session | None:
        """The live session for a cookie value (its idle clock restarted), or None."""
        if not secret or len(secret) > 100:
            return None
        now = datetime.now(UTC)
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        with self.db.transaction(_SYSTEM) as conn:
            row = conn.execute(
                "UPDATE web_sessions s SET last_seen_at = %s FROM users u "
                "WHERE s.id_hash = %s AND u.name = s.user_name AND NOT u.disabled "
                "AND s.expires_at > %s AND s.last_seen_at > %s "
                "RETURNING s.user_name, s.csrf_token, s.expires_at",
                (now, _hash(secret), now, now - idle)).fetchone()
            user = Identity.user_in(conn, row[0]) if row else None
        if row is None or user is None:
            return None
        return Session(user=user, csrf_token=row[1], expires_at=row[2])

    def delete(self, secret: str | None) -> None:
        if secret:
            with self.db.transaction(_SYSTEM) as conn:
                conn.execute("DELETE FROM web_sessions WHERE id_hash = %s", (_hash(secret),))

    def delete_for_user(self, name: str) -> int:
        with self.db.transaction(_SYSTEM) as conn:
            return conn.execute("DELETE FROM web_sessions WHERE user_name = %s", (name,)).rowcount


def check_rate(db: Database, key: str, limit: int, window_s: int = 60) -> None:
    """Count one hit for ``key`` in the current window; RateLimited once more than ``limit`` hits."""
    if limit <= 0:
        return
    now = datetime.now(UTC)
    start = datetime.fromtimestamp(int(now.timestamp()) // window_s * window_s, UTC)
    with db.transaction(_SYSTEM) as conn:
        row = conn.execute(
            "INSERT INTO rate_limits AS r (key, window_start, hits) VALUES (%s, %s, 1) "
            "ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1 RETURNING hits",
            (key, start)).fetchone()
        if secrets.randbelow(200) == 0:  # now and then, forget old windows
            conn.execute("DELETE FROM rate_limits WHERE window_start < %s", (start - timedelta(hours=1),))
    if row is not None and row[0] > limit:
        retry = max(1, int((start + timedelta(seconds=window_s) - now).total_seconds()))
        raise RateLimited(f"rate limit {key}", retry_after=retry,
                          user_message=f"Zu viele Anfragen in kurzer Zeit. Bitte in {retry} Sekunden erneut "
                                       "versuchen.")
