"""Who is calling: FastAPI dependencies that turn request credentials into a ``Principal``.

Credentials come from sources tried in order; each returns a principal, or None when the request carries no
credentials of its kind. Today there is one source, API tokens (``Authorization: Bearer kw_…``); session cookies
of the web pages will be a second source in ``SOURCES``. A request no source accepts gets 401, a valid token
without the route's scope 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kreiswissen.errors import KreiswissenError, PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.identity import SCOPES
from kreiswissen.security.principal import Principal

# auto_error=False: a missing header is our 401 with a German message, not FastAPI's English 403.
bearer = HTTPBearer(auto_error=False, description="API-Token (kw_…), angelegt mit 'kreiswissen tokens create'.")


class NotAuthenticated(KreiswissenError):
    """No credentials, or credentials that are invalid, expired or revoked (answered with 401)."""

    exit_code = 3
    http_status = 401


class PrincipalSource(Protocol):
    def __call__(self, request: Request, runtime: Runtime, scope: str) -> Principal | None: ...


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def token_source(request: Request, runtime: Runtime, scope: str) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    kind, _, secret = header.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("malformed authorization header", user_message="Der Authorization-Header muss "
                               "'Bearer kw_…' lauten.")
    secret = secret.strip()
    identity = runtime.identity
    try:
        return identity.authenticate_token(secret, scope).principal()
    except PermissionDenied:
        pass
    # The identity service answers every refusal alike; tell "wrong scope" (403) from "no valid token" (401).
    for other in SCOPES:
        if other == scope:
            continue
        try:
            identity.authenticate_token(secret, other)
        except PermissionDenied:
            continue
        raise PermissionDenied(f"token lacks scope {scope}", user_message=f"Dieses API-Token erlaubt die Aktion "
                               f"'{scope}' nicht.")
    raise NotAuthenticated("token rejected", user_message="Das API-Token ist ungültig, abgelaufen oder widerrufen.")


SOURCES: list[PrincipalSource] = [token_source]


def require(scope: str) -> Callable[..., Principal]:
    """A dependency returning the caller's principal, who must hold ``scope`` (search, ask, documents:read …)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(request: Request, runtime: Runtime = Depends(get_runtime),
                   _credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        # ``_credentials`` only declares the scheme in the OpenAPI document; the sources read the request.
        for source in SOURCES:
            principal = source(request, runtime, scope)
            if principal is not None:
                return principal
        raise NotAuthenticated("no credentials", user_message="Anmeldung erforderlich: Bitte ein API-Token im "
                               "Header 'Authorization: Bearer kw_…' mitsenden.")

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
