"""LDAP / Active Directory authentication: look the user up, bind as the user, map groups.

1. Bind with the service account (or anonymously) and search ``ldap_user_base`` with ``ldap_user_filter``
   (the login name escaped per RFC 4515), reading the DN, display name and ``memberOf``.
2. Bind as that DN with the given password. An empty password is refused before any bind: LDAP treats it
   as an unauthenticated bind that "succeeds" (RFC 4513 § 5.1.2).
3. Groups come from ``memberOf`` (AD, OpenLDAP memberof overlay), else from a search for
   ``(member=<DN>)`` under ``ldap_group_base``; only DNs in ``ldap_group_map`` become Kreiswissen groups,
   ``ldap_role_map`` grants roles.

TLS: ``ldaps://`` URLs or StartTLS (``ldap_start_tls``), certificate verification on by default, a CA file
for the county's own PKI.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError


@dataclass(frozen=True)
class LdapIdentity:
    login: str
    dn: str
    display_name: str
    group_dns: tuple[str, ...]
    groups: tuple[str, ...]  # mapped Kreiswissen groups
    roles: tuple[str, ...]  # mapped roles (may be empty)


class LdapAuthenticator:
    def __init__(self, settings: Settings) -> None:
        if not settings.ldap_url:
            raise ConfigurationError("ldap_url not set", user_message="LDAP ist nicht eingerichtet "
                                     "(KREISWISSEN_LDAP_URL fehlt).")
        if not settings.ldap_user_base:
            raise ConfigurationError("ldap_user_base not set", user_message="KREISWISSEN_LDAP_USER_BASE fehlt.")
        self.settings = settings
        self.group_map = {k.lower(): v for k, v in settings.ldap_group_map.items()}
        self.role_map = {k.lower(): v for k, v in settings.ldap_role_map.items()}

    def _server(self):  # type: ignore[no-untyped-def]
        import ldap3

        tls = None
        url = self.settings.ldap_url or ""
        if url.startswith("ldaps://") or self.settings.ldap_start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED if self.settings.ldap_tls_verify else ssl.CERT_NONE,
                ca_certs_file=str(self.settings.ldap_ca_file) if self.settings.ldap_ca_file else None,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )
        timeout = max(1, int(self.settings.ldap_timeout_s))
        return ldap3.Server(url, tls=tls, connect_timeout=timeout, get_info=ldap3.NONE)

    def _connect(self, user: str | None, password: str | None):  # type: ignore[no-untyped-def]
        import ldap3
        from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPSocketOpenError

        conn = ldap3.Connection(self._server(), user=user, password=password,
                                receive_timeout=max(1, int(self.settings.ldap_timeout_s)), raise_exceptions=False,
                                read_only=True)
        try:
            if not conn.open() and conn.closed:
                raise BackendUnavailable("ldap open failed",
                                         user_message="Der Verzeichnisdienst (LDAP) ist nicht erreichbar.")
            if self.settings.ldap_start_tls and not conn.start_tls():
                raise BackendUnavailable(f"StartTLS failed: {conn.result}",
                                         user_message="Verschlüsselte Verbindung zum Verzeichnisdienst fehlgeschlagen.")
            if not conn.bind():
                conn.unbind()
                return None
        except (LDAPSocketOpenError, OSError) as exc:
            raise BackendUnavailable(f"ldap unreachable: {exc}",
                                     user_message="Der Verzeichnisdienst (LDAP) ist nicht erreichbar.") from exc
        except LDAPBindError:
            return None
        except LDAPException as exc:
            raise BackendUnavailable(f"ldap error: {exc}",
                                     user_message="Fehler beim Verzeichnisdienst (LDAP).") from exc
        return conn

    def authenticate(self, login: str, password: str) -> LdapIdentity | None:
        """The directory identity when the password is right; None when the user or password is wrong.
        Raises BackendUnavailable when the directory cannot be reached."""
        from ldap3.utils.conv import escape_filter_chars

        if not password or not login:
            return None
        service = self._connect(self.settings.ldap_bind_dn, self.settings.ldap_bind_password)
        if service is None:
            raise ConfigurationError("service bind failed", user_message="Das LDAP-Dienstkonto wurde abgewiesen "
                                     "(KREISWISSEN_LDAP_BIND_DN / _BIND_PASSWORD prüfen).")
        try:
            flt = self.settings.ldap_user_filter.replace("{user}", escape_filter_chars(login))
            service.search(self.settings.ldap_user_base, flt, attributes=["displayName", "cn", "memberOf"],
                           size_limit=2)
            entries = list(service.entries)
            if len(entries) != 1:
                return None  # unknown, or ambiguous: never guess which account was meant
            entry = entries[0]
            dn = entry.entry_dn
            display = str(entry.displayName.value or entry.cn.value or login) if "displayName" in entry \
                else str(entry.cn.value or login)
            group_dns = [str(g) for g in (entry.memberOf.values if "memberOf" in entry else [])]
            if not group_dns and self.settings.ldap_group_base:
                service.search(self.settings.ldap_group_base,
                               f"(|(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)}))",
                               attributes=["cn"])
                group_dns = [e.entry_dn for e in service.entries]
        finally:
            service.unbind()
        user_conn = self._connect(dn, password)
        if user_conn is None:
            return None
        user_conn.unbind()
        lowered = [g.lower() for g in group_dns]
        groups = sorted({self.group_map[g] for g in lowered if g in self.group_map})
        roles = sorted({self.role_map[g] for g in lowered if g in self.role_map})
        return LdapIdentity(login, dn, display, tuple(group_dns), tuple(groups), tuple(roles))
