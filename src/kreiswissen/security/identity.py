"""Users, groups, roles, local passwords and API tokens.

Local passwords are argon2id hashes (argon2-cffi's RFC 9106 low-memory profile). Failed logins are counted
per account; after ``login_max_failures`` the account is locked for ``login_lockout_minutes`` and every
attempt in that time fails without checking the password. Every change and every login is audited.
API tokens are 32 random bytes; only their SHA-256 is stored, they carry scopes and an expiry and can be
revoked.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, NotFound, PermissionDenied
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.principal import EVERYONE, Principal, validate_group

ROLES = ("leser", "redakteur", "ki-manager", "administrator", "datenschutz")
SCOPES = ("search", "ask", "documents:read", "documents:write", "admin")
TOKEN_PREFIX = "kw_"
_USER_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters
# Checked when the user does not exist, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def validate_user_name(name: str) -> str:
    clean = name.strip().lower()
    if not _USER_RE.match(clean):
        raise InputError(f"invalid user name {name!r}", user_message=f"Ungültiger Benutzername: {name!r} (erlaubt: "
                         "Kleinbuchstaben, Ziffern, . _ @ -).")
    return clean


def check_password_policy(password: str, user: str, min_length: int) -> None:
    """Length first (BSI IT-Grundschutz ORP.4 favours long passphrases), plus no trivial choices."""
    problems = []
    if len(password) < min_length:
        problems.append(f"mindestens {min_length} Zeichen")
    if user and user.split("@")[0] in password.lower():
        problems.append("darf den Benutzernamen nicht enthalten")
    if len(set(password)) < 5:
        problems.append("zu wenige verschiedene Zeichen")
    if problems:
        raise InputError("password policy", user_message="Das Passwort erfüllt die Richtlinie nicht: "
                         + "; ".join(problems) + ".")


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    auth_source: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    disabled: bool
    locked_until: datetime | None

    def principal(self) -> Principal:
        return Principal(name=self.name, groups=frozenset(self.groups) | {EVERYONE}, operator=False,
                         roles=frozenset(self.roles))


@dataclass(frozen=True)
class Token:
    id: str
    user: str
    label: str
    scopes: tuple[str, ...]
    expires_at: datetime
    revoked: bool


class Identity:
    def __init__(self, db: Database, settings: Settings, audit: AuditLog) -> None:
        self.db = db
        self.settings = settings
        self.audit = audit
        self._system = Principal(name="identity")

    # -- groups --------------------------------------------------------------------------------------------
    def add_group(self, actor: str, name: str, description: str = "") -> None:
        name = validate_group(name)
        with self.db.transaction(self._system) as conn:
            cur = conn.execute("INSERT INTO groups (name, description) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                               (name, description))
            if cur.rowcount == 0:
                raise InputError(f"group {name} exists", user_message=f"Die Gruppe '{name}' gibt es schon.")
            self.audit.record(actor, "group.add", {"group": name}, conn)

    def list_groups(self) -> list[tuple[str, str, int]]:
        with self.db.transaction(self._system) as conn:
            return [(r[0], r[1], int(r[2])) for r in conn.execute(
                "SELECT g.name, g.description, count(ug.user_name) FROM groups g "
                "LEFT JOIN user_groups ug ON ug.group_name = g.name GROUP BY g.name ORDER BY g.name")]

    def remove_group(self, actor: str, name: str) -> None:
        if name == EVERYONE:
            raise InputError("cannot remove alle", user_message="Die Gruppe 'alle' kann nicht entfernt werden.")
        with self.db.transaction(self._system) as conn:
            if conn.execute("DELETE FROM groups WHERE name = %s", (name,)).rowcount == 0:
                raise NotFound(f"group {name}", user_message=f"Die Gruppe '{name}' gibt es nicht.")
            self.audit.record(actor, "group.remove", {"group": name}, conn)

    # -- users ---------------------------------------------------------------------------------------------
    def add_user(self, actor: str, name: str, groups: list[str], password: str | None = None,
                 roles: list[str] | None = None, display_name: str = "", auth_source: str = "local") -> User:
        name = validate_user_name(name)
        roles = self._roles(roles or ["leser"])
        groups = sorted({validate_group(g) for g in groups} - {EVERYONE})
        pw_hash = None
        if auth_source == "local":
            if password is None:
                raise InputError("password required", user_message="Für ein lokales Konto ist ein Passwort nötig.")
            check_password_policy(password, name, self.settings.password_min_length)
            pw_hash = _hasher.hash(password)
        with self.db.transaction(self._system) as conn:
            self._require_groups(conn, groups)
            cur = conn.execute(
                "INSERT INTO users (name, display_name, auth_source, password_hash, roles) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING", (name, display_name, auth_source, pw_hash, roles))
            if cur.rowcount == 0:
                raise InputError(f"user {name} exists", user_message=f"Den Benutzer '{name}' gibt es schon.")
            self._write_groups(conn, name, groups)
            self.audit.record(actor, "user.add", {"user": name, "groups": groups, "roles": roles,
                                                  "auth_source": auth_source}, conn)
        return self.get_user(name)

    def get_user(self, name: str) -> User:
        with self.db.transaction(self._system) as conn:
            user = self.user_in(conn, name.strip().lower())
        if user is None:
            raise NotFound(f"user {name}", user_message=f"Den Benutzer '{name}' gibt es nicht.")
        return user

    def list_users(self) -> list[User]:
        with self.db.transaction(self._system) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM users ORDER BY name")]
        return [self.get_user(n) for n in names]

    def set_groups(self, actor: str, name: str, groups: list[str]) -> User:
        user = self.get_user(name)
        groups = sorted({validate_group(g) for g in groups} - {EVERYONE})
        with self.db.transaction(self._system) as conn:
            self._require_groups(conn, groups)
            conn.execute("DELETE FROM user_groups WHERE user_name = %s", (user.name,))
            self._write_groups(conn, user.name, groups)
            self.audit.record(actor, "user.change", {"user": user.name, "groups_before": list(user.groups),
                                                     "groups": groups}, conn)
        return self.get_user(user.name)

    def set_roles(self, actor: str, name: str, roles: list[str]) -> User:
        user = self.get_user(name)
        roles = self._roles(roles)
        with self.db.transaction(self._system) as conn:
            conn.execute("UPDATE users SET roles = %s WHERE name = %s", (roles, user.name))
            self.audit.record(actor, "user.change", {"user": user.name, "roles_before": list(user.roles),
                                                     "roles": roles}, conn)
        return self.get_user(user.name)

    def set_disabled(self, actor: str, name: str, disabled: bool) -> User:
        user = self.get_user(name)
        with self.db.transaction(self._system) as conn:
            conn.execute("UPDATE users SET disabled = %s, failed_logins = 0, locked_until = NULL WHERE name = %s",
                         (disabled, user.name))
            if disabled:  # a disabled account's tokens stop working at once
                conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE user_name = %s AND revoked_at IS NULL",
                             (user.name,))
            self.audit.record(actor, "user.disable" if disabled else "user.enable", {"user": user.name}, conn)
        return self.get_user(user.name)

    def set_password(self, actor: str, name: str, password: str) -> None:
        user = self.get_user(name)
        check_password_policy(password, user.name, self.settings.password_min_length)
        with self.db.transaction(self._system) as conn:
            conn.execute("UPDATE users SET password_hash = %s, failed_logins = 0, locked_until = NULL "
                         "WHERE name = %s", (_hasher.hash(password), user.name))
            self.audit.record(actor, "user.change", {"user": user.name, "password": "geändert"}, conn)

    def principal_for(self, name: str) -> Principal:
        """The principal of an active user (``--as-user``)."""
        user = self.get_user(name)
        if user.disabled:
            raise PermissionDenied(f"user {name} disabled", user_message=f"Das Konto '{user.name}' ist gesperrt.")
        return user.principal()

    # -- local authentication ------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, client: str = "") -> User:
        """Check a password: local accounts against their argon2id hash, everyone else against LDAP/AD when it
        is configured. Raises PermissionDenied with one message for every failure reason."""
        key = name.strip().lower()
        with self.db.transaction(self._system) as conn:
            row = conn.execute("SELECT auth_source FROM users WHERE name = %s", (key,)).fetchone()
        if self.settings.ldap_url and (row is None or row[0] == "ldap"):
            return self._authenticate_ldap(key, password, client)
        return self._authenticate_local(key, password, client)

    def _denied(self) -> PermissionDenied:
        return PermissionDenied("login failed", user_message="Anmeldung fehlgeschlagen: Benutzername oder "
                                "Passwort ist falsch, oder das Konto ist gesperrt.")

    def _authenticate_local(self, key: str, password: str, client: str) -> User:
        denied = self._denied()
        now = datetime.now(UTC)
        result: User | None = None
        # The transaction always commits (failure counters and audit entries must persist); the denial is
        # raised after it.
        with self.db.transaction(self._system) as conn:
            row = conn.execute(
                "SELECT password_hash, disabled, locked_until, failed_logins, auth_source FROM users "
                "WHERE name = %s FOR UPDATE", (key,)).fetchone()
            if row is None or row[4] != "local" or row[0] is None:
                with contextlib.suppress(VerificationError):
                    _hasher.verify(_DUMMY_HASH, password)  # same cost as a real check
                self.audit.record(key[:100] or "?", "login.failure", {"reason": "unknown_user", "client": client},
                                  conn)
            elif row[1]:
                self.audit.record(key, "login.failure", {"reason": "disabled", "client": client}, conn)
            elif row[2] is not None and row[2] > now:
                self.audit.record(key, "login.failure", {"reason": "locked", "client": client}, conn)
            else:
                result = self._check_password(conn, key, row[0], int(row[3]), password, now, client)
        if result is None:
            raise denied
        return result

    def _authenticate_ldap(self, key: str, password: str, client: str) -> User:
        from kreiswissen.security.ldap import LdapAuthenticator

        denied = self._denied()
        now = datetime.now(UTC)
        with self.db.transaction(self._system) as conn:
            row = conn.execute("SELECT disabled, locked_until, failed_logins FROM users WHERE name = %s",
                               (key,)).fetchone()
            blocked = "disabled" if row and row[0] else "locked" if row and row[1] and row[1] > now else None
            if blocked:
                self.audit.record(key, "login.failure", {"reason": blocked, "method": "ldap", "client": client},
                                  conn)
        if blocked:
            raise denied
        identity = LdapAuthenticator(self.settings).authenticate(key, password)  # network: outside transactions
        with self.db.transaction(self._system) as conn:
            if identity is None:
                if row is not None:
                    failures = int(row[2]) + 1
                    lock = failures >= self.settings.login_max_failures
                    conn.execute("UPDATE users SET failed_logins = %s, locked_until = %s WHERE name = %s",
                                 (0 if lock else failures,
                                  now + timedelta(minutes=self.settings.login_lockout_minutes) if lock else None, key))
                self.audit.record(key[:100] or "?", "login.failure", {"reason": "ldap", "client": client}, conn)
                result = None
            else:
                result = self._sync_directory_user(conn, key, identity.display_name, list(identity.groups),
                                                   list(identity.roles) or ["leser"], "ldap", client)
        if result is None:
            raise denied
        return result

    # -- OpenID Connect ------------------------------------------------------------------------------------
    def oidc_begin(self, redirect_uri: str) -> str:
        from kreiswissen.security.oidc import OidcClient

        return OidcClient(self.db, self.settings).begin(redirect_uri)

    def oidc_complete(self, state: str, code: str, client: str = "") -> User:
        """Finish an OpenID Connect login; the user is created or updated from the ID token's claims."""
        from kreiswissen.security.oidc import OidcClient

        try:
            identity = OidcClient(self.db, self.settings).complete(state, code)
        except PermissionDenied:
            self.audit.record("?", "login.failure", {"reason": "oidc", "client": client})
            raise
        with self.db.transaction(self._system) as conn:
            row = conn.execute("SELECT disabled, auth_source FROM users WHERE name = %s",
                               (identity.username,)).fetchone()
            refused = "disabled" if row and row[0] else "local_account" if row and row[1] != "oidc" else None
            if refused:
                self.audit.record(identity.username, "login.failure", {"reason": refused, "method": "oidc",
                                                                       "client": client}, conn)
                user = None
            else:
                user = self._sync_directory_user(conn, identity.username, identity.display_name,
                                                 list(identity.groups), list(identity.roles) or ["leser"], "oidc",
                                                 client)
        if user is None:
            raise self._denied()
        return user

    def _sync_directory_user(self, conn, key: str, display: str, groups: list[str],  # type: ignore[no-untyped-def]
                             roles: list[str], source: str, client: str) -> User:
        """Create or update a directory user from what the directory says now (groups and roles follow it)."""
        groups = sorted({validate_group(g) for g in groups} - {EVERYONE})
        roles = self._roles(roles)
        for g in groups:
            conn.execute("INSERT INTO groups (name, description) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (g, f"aus {source.upper()}"))
        before = conn.execute(
            "SELECT ARRAY(SELECT group_name FROM user_groups WHERE user_name = %s ORDER BY 1)", (key,)).fetchone()
        conn.execute(
            "INSERT INTO users (name, display_name, auth_source, roles, last_login_at) VALUES (%s, %s, %s, %s, now()) "
            "ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, "
            "failed_logins = 0, locked_until = NULL, last_login_at = now()",
            (key, display, source, roles))
        conn.execute("DELETE FROM user_groups WHERE user_name = %s", (key,))
        self._write_groups(conn, key, groups)
        previous = list(before[0]) if before and before[0] else []
        details: dict[str, object] = {"method": source, "client": client}
        if previous != groups:
            details |= {"groups_before": previous, "groups": groups}
        self.audit.record(key, "login.success", details, conn)
        return self._existing_user(conn, key)

    def _check_password(self, conn, key: str, pw_hash: str, failures: int, password: str,  # type: ignore[no-untyped-def]
                        now: datetime, client: str) -> User | None:
        try:
            _hasher.verify(pw_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failures += 1
            lock = failures >= self.settings.login_max_failures
            conn.execute(
                "UPDATE users SET failed_logins = %s, locked_until = %s WHERE name = %s",
                (0 if lock else failures,
                 now + timedelta(minutes=self.settings.login_lockout_minutes) if lock else None, key))
            self.audit.record(key, "login.locked" if lock else "login.failure",
                              {"reason": "password", "failures": failures, "client": client}, conn)
            return None
        if _hasher.check_needs_rehash(pw_hash):
            conn.execute("UPDATE users SET password_hash = %s WHERE name = %s", (_hasher.hash(password), key))
        conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() "
                     "WHERE name = %s", (key,))
        self.audit.record(key, "login.success", {"method": "local", "client": client}, conn)
        return self.user_in(conn, key)

    # -- API tokens ----------------------------------------------------------------------------------------
    def create_token(self, actor: str, user: str, scopes: list[str], days: int | None = None,
                     label: str = "") -> tuple[str, Token]:
        """Returns (secret, token). The secret is shown once; only its hash is stored."""
        owner = self.get_user(user)
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise InputError(f"bad scopes {bad}", user_message="Unbekannte oder fehlende Berechtigungen: "
                             f"{', '.join(bad) or '–'} (möglich: {', '.join(SCOPES)}).")
        days = self.settings.token_default_days if days is None else days
        if not 1 <= days <= 730:
            raise InputError("token lifetime", user_message="Gültigkeit muss zwischen 1 und 730 Tagen liegen.")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(days=days)
        with self.db.transaction(self._system) as conn:
            token_id = conn.execute(
                "INSERT INTO api_tokens (user_name, label, token_hash, scopes, expires_at) VALUES (%s, %s, %s, %s, %s) "
                "RETURNING id", (owner.name, label, _token_hash(secret), sorted(set(scopes)), expires)).fetchone()[0]  # type: ignore[index]
            self.audit.record(actor, "token.create", {"user": owner.name, "token": str(token_id),
                                                      "scopes": sorted(set(scopes)), "expires": expires.isoformat()},
                              conn)
        return secret, Token(str(token_id), owner.name, label, tuple(sorted(set(scopes))), expires, False)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        with self.db.transaction(self._system) as conn:
            rows = conn.execute(
                "SELECT id, user_name, label, scopes, expires_at, revoked_at IS NOT NULL FROM api_tokens "
                "WHERE %(u)s::text IS NULL OR user_name = %(u)s ORDER BY created_at", {"u": user}).fetchall()
        return [Token(str(r[0]), r[1], r[2], tuple(r[3]), r[4], r[5]) for r in rows]

    def revoke_token(self, actor: str, token_id: str) -> None:
        try:
            uuid.UUID(token_id)
        except ValueError:
            raise NotFound(f"token {token_id}", user_message=f"Token '{token_id}' gibt es nicht.") from None
        with self.db.transaction(self._system) as conn:
            cur = conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
                               (token_id,))
            if cur.rowcount == 0:
                raise NotFound(f"token {token_id}", user_message=f"Token '{token_id}' gibt es nicht "
                               "(oder es ist schon widerrufen).")
            self.audit.record(actor, "token.revoke", {"token": token_id}, conn)

    def authenticate_token(self, secret: str, scope: str) -> User:
        denied = PermissionDenied("token rejected", user_message="Das API-Token ist ungültig, abgelaufen oder "
                                  "widerrufen, oder es erlaubt diese Aktion nicht.")
        if not secret.startswith(TOKEN_PREFIX):
            raise denied
        with self.db.transaction(self._system) as conn:
            row = conn.execute(
                "SELECT t.id, t.user_name, t.scopes FROM api_tokens t JOIN users u ON u.name = t.user_name "
                "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now() AND NOT u.disabled",
                (_token_hash(secret),)).fetchone()
            if row is None or scope not in row[2]:
                raise denied
            conn.execute("UPDATE api_tokens SET last_used_at = now() WHERE id = %s", (row[0],))
            return self._existing_user(conn, row[1])

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _roles(roles: list[str]) -> list[str]:
        clean = sorted({r.strip().lower() for r in roles})
        bad = [r for r in clean if r not in ROLES]
        if bad or not clean:
            raise InputError(f"bad roles {bad}", user_message=f"Unbekannte Rolle: {', '.join(bad) or '–'} "
                             f"(möglich: {', '.join(ROLES)}).")
        return clean

    @staticmethod
    def _require_groups(conn, groups: list[str]) -> None:  # type: ignore[no-untyped-def]
        known = {r[0] for r in conn.execute("SELECT name FROM groups WHERE name = ANY(%s)", (groups,))}
        missing = [g for g in groups if g not in known]
        if missing:
            raise NotFound(f"groups {missing}", user_message="Diese Gruppen gibt es nicht: " + ", ".join(missing)
                           + " (anlegen mit 'kreiswissen groups add').")

    @staticmethod
    def _write_groups(conn, name: str, groups: list[str]) -> None:  # type: ignore[no-untyped-def]
        if groups:
            conn.execute("INSERT INTO user_groups (user_name, group_name) SELECT %s, unnest(%s::text[])",
                         (name, groups))

    def _existing_user(self, conn, name: str) -> User:  # type: ignore[no-untyped-def]
        user = self.user_in(conn, name)
        if user is None:  # the row was written in this very transaction
            raise NotFound(f"user {name} vanished", user_message=f"Den Benutzer '{name}' gibt es nicht.")
        return user

    @staticmethod
    def user_in(conn, name: str) -> User | None:  # type: ignore[no-untyped-def]
        row = conn.execute(
            "SELECT u.name, u.display_name, u.auth_source, u.roles, u.disabled, u.locked_until, "
            "ARRAY(SELECT group_name FROM user_groups WHERE user_name = u.name ORDER BY 1) "
            "FROM users u WHERE u.name = %s", (name,)).fetchone()
        return User(row[0], row[1], row[2], tuple(row[3]), tuple(row[6]), row[4], row[5]) if row else None


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
