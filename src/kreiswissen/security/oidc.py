"""OpenID Connect login (Keycloak, ADFS, Entra ID, …): authorisation code flow with PKCE (S256).

``begin`` creates state, nonce and a PKCE verifier, stores them single-use in ``oidc_logins`` (any worker can
finish the login) and returns the provider's authorisation URL. ``complete`` takes the state and code from
the redirect, exchanges the code (with the verifier) at the token endpoint and verifies the ID token: the
signature against the provider's JWKS, issuer, audience, expiry and nonce. The username, display name,
groups and roles come from configurable claims; only mapped groups become Kreiswissen groups.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.errors import BackendUnavailable, ConfigurationError, PermissionDenied
from kreiswissen.security.principal import Principal


@dataclass(frozen=True)
class OidcIdentity:
    username: str
    display_name: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    claims: dict[str, Any]


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OidcClient:
    def __init__(self, db: Database, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ConfigurationError("oidc not configured", user_message="OpenID Connect ist nicht eingerichtet "
                                     "(KREISWISSEN_OIDC_ISSUER und _CLIENT_ID fehlen).")
        self.db = db
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._system = Principal(name="oidc")

    def _http(self) -> httpx.Client:
        verify: Any = str(self.settings.oidc_ca_file) if self.settings.oidc_ca_file else True
        return httpx.Client(timeout=self.settings.oidc_timeout_s, verify=verify, follow_redirects=False)

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.get(url)
                response.raise_for_status()
                return response.json()  # type: ignore[no-any-return]
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendUnavailable(f"oidc provider: {exc}", user_message="Der Anmeldedienst (OpenID Connect) "
                                     "ist nicht erreichbar.") from exc

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            meta = self._get_json(self.issuer + "/.well-known/openid-configuration")
            if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
                raise ConfigurationError(f"issuer mismatch: {meta.get('issuer')}", user_message="Der Anmeldedienst "
                                         "meldet einen anderen Aussteller als konfiguriert.")
            self._metadata = meta
        return self._metadata

    def begin(self, redirect_uri: str) -> str:
        """The provider URL to send the browser to."""
        meta = self.metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        with self.db.transaction(self._system) as conn:
            conn.execute("DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => %s)",
                         (self.settings.oidc_login_ttl_s,))
            conn.execute("INSERT INTO oidc_logins (state, nonce, code_verifier, redirect_uri) VALUES (%s, %s, %s, %s)",
                         (state, nonce, verifier, redirect_uri))
        params = {
            "response_type": "code", "client_id": self.settings.oidc_client_id, "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes, "state": state, "nonce": nonce,
            "code_challenge": _s256(verifier), "code_challenge_method": "S256",
        }
        return str(meta["authorization_endpoint"]) + "?" + urlencode(params)

    def complete(self, state: str, code: str) -> OidcIdentity:
        """Finish a login from the redirect's ``state`` and ``code``. Raises PermissionDenied on any mismatch."""
        denied = PermissionDenied("oidc login rejected", user_message="Die Anmeldung über den Anmeldedienst ist "
                                  "fehlgeschlagen oder abgelaufen. Bitte erneut anmelden.")
        with self.db.transaction(self._system) as conn:
            row = conn.execute(
                "DELETE FROM oidc_logins WHERE state = %s AND created_at >= now() - make_interval(secs => %s) "
                "RETURNING nonce, code_verifier, redirect_uri", (state, self.settings.oidc_login_ttl_s)).fetchone()
        if row is None or not code:
            raise denied
        nonce, verifier, redirect_uri = row
        meta = self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.settings.oidc_client_id, "code_verifier": verifier}
        auth: tuple[str | bytes, str | bytes] | None = None
        if self.settings.oidc_client_secret:
            auth = (self.settings.oidc_client_id or "", self.settings.oidc_client_secret)
        try:
            with self._http() as http:
                response = (http.post(str(meta["token_endpoint"]), data=form, auth=auth) if auth
                            else http.post(str(meta["token_endpoint"]), data=form))
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"token endpoint: {exc}", user_message="Der Anmeldedienst (OpenID Connect) "
                                     "ist nicht erreichbar.") from exc
        if response.status_code != 200:
            raise denied
        id_token = response.json().get("id_token")
        if not id_token:
            raise denied
        claims = self._verify(id_token, nonce, denied)
        return self._identity(claims)

    def _verify(self, id_token: str, nonce: str, denied: PermissionDenied) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        if self._jwks is None:
            self._jwks = self._get_json(str(self.metadata()["jwks_uri"]))
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(self._jwks))  # type: ignore[arg-type]
            registry = jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.metadata()["issuer"]},
                aud={"essential": True, "value": str(self.settings.oidc_client_id)},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise denied from exc
        claims = dict(token.claims)
        if claims.get("exp", 0) < time.time() - 60:
            raise denied
        return claims

    def _identity(self, claims: dict[str, Any]) -> OidcIdentity:
        from kreiswissen.security.identity import validate_user_name

        raw_name = claims.get(self.settings.oidc_username_claim) or claims.get("email") or claims.get("sub")
        username = validate_user_name(str(raw_name))
        display = str(claims.get("name") or " ".join(
            str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)) or username)

        def values(claim: str) -> list[str]:
            value = claims.get(claim) or []
            return [str(v) for v in (value if isinstance(value, list) else [value])]

        group_values = values(self.settings.oidc_groups_claim)
        role_values = values(self.settings.oidc_roles_claim) + group_values
        groups = sorted({self.settings.oidc_group_map[v] for v in group_values if v in self.settings.oidc_group_map})
        roles = sorted({self.settings.oidc_role_map[v] for v in role_values if v in self.settings.oidc_role_map})
        return OidcIdentity(username, display, tuple(groups), tuple(roles), claims)
