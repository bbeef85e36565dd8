"""Who is calling: FastAPI dependencies that turn request credentials into a ``Principal``.

Credentials come from sources tried in order; each returns a principal, or None when the request carries no
credentials of its kind: API tokens (``Authorization: Bearer kw_…``), then the session cookie of the web pages.
A request no source accepts gets 401 (a page: a redirect to the login), a valid token without the route's
scope 403. A session user's scopes follow from their roles (``ROLE_SCOPES``).

Requests that change something (POST, PUT, PATCH, DELETE) and authenticate by cookie must carry the session's
CSRF token, in the form field ``csrf_token`` or the header ``X-CSRF-Token``; token-authenticated API calls
need none (a browser never adds an Authorization header on its own). Every authenticated request counts
against the caller's rate limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from kreiswissen.errors import KreiswissenError, PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.identity import SCOPES
from kreiswissen.security.principal import Principal
from kreiswissen.web.sessions import COOKIE, Session, SessionStore, check_rate

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# What a signed-in user may do in the browser, by role (API tokens carry their scopes themselves).
ROLE_SCOPES = {
    "leser": {"search", "ask", "documents:read", "cases"},
    "redakteur": {"search", "ask", "documents:read", "documents:write", "minutes", "cases"},
    "ki-manager": {"search", "ask", "documents:read", "usage"},
    "datenschutz": {"search", "ask", "documents:read", "privacy"},
    "administrator": {"search", "ask", "documents:read", "documents:write", "admin", "usage", "minutes", "cases"},
}
# "cases": the work queue of citizens' requests; which requests a user sees is decided by their unit groups.
SESSION_SCOPES = frozenset(set(SCOPES) | {"usage", "privacy", "minutes", "cases"})

# auto_error=False: a missing header is our 401 with a German message, not FastAPI's English 403.
bearer = HTTPBearer(auto_error=False, description="API-Token (kw_…), angelegt mit 'kreiswissen tokens create'.")


class NotAuthenticated(KreiswissenError):
    """No credentials, or credentials that are invalid, expired or revoked (answered with 401)."""

    exit_code = 3
    http_status = 401


class LoginRequired(NotAuthenticated):
    """A page was requested without a valid session: answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__("login required", user_message="Bitte melden Sie sich an.")
        self.next_url = next_url


class CsrfFailed(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("csrf token missing or wrong", user_message="Das Formular ist abgelaufen oder stammt "
                         "nicht von dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es erneut.")


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
    if scope not in SCOPES:
        raise PermissionDenied(f"scope {scope} is for sessions only", user_message="Diese Funktion ist nur nach "
                               "Anmeldung im Browser verfügbar, nicht mit einem API-Token.")
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


def sessions(runtime: Runtime) -> SessionStore:
    return SessionStore(runtime.db, runtime.settings)


def current_session(request: Request, runtime: Runtime) -> Session | None:
    """The request's live session (looked up once per request)."""
    if not hasattr(request.state, "kw_session"):
        request.state.kw_session = sessions(runtime).get(request.cookies.get(COOKIE))
    session: Session | None = request.state.kw_session
    return session


def session_scopes(session: Session) -> set[str]:
    scopes: set[str] = set()
    for role in session.user.roles:
        scopes |= ROLE_SCOPES.get(role, set())
    return scopes


def session_source(request: Request, runtime: Runtime, scope: str) -> Principal | None:
    session = current_session(request, runtime)
    if session is None:
        return None
    if scope not in session_scopes(session):
        raise PermissionDenied(f"{session.user.name} lacks {scope}", user_message="Für diese Seite fehlt Ihnen "
                               "die Berechtigung. Bitte wenden Sie sich an die Administration.")
    if request.method in UNSAFE_METHODS:
        request.state.kw_csrf_needed = True
    return session.user.principal()


SOURCES: list[PrincipalSource] = [token_source, session_source]


def _authenticate(request: Request, runtime: Runtime, scope: str) -> Principal | None:
    for source in SOURCES:
        principal = source(request, runtime, scope)
        if principal is not None:
            check_rate(runtime.db, f"user:{principal.name}", runtime.settings.api_rate_limit_per_minute)
            return principal
    return None


async def _check_csrf(request: Request, session: Session | None) -> None:
    if session is None:
        raise CsrfFailed()
    candidate = request.headers.get(CSRF_HEADER)
    if candidate is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette: the route reads the same form
        value = form.get(CSRF_FIELD)
        candidate = value if isinstance(value, str) else None
    if not session.csrf_ok(candidate):
        raise CsrfFailed()


def require(scope: str, *, page: bool = False) -> Callable[..., object]:
    """A dependency returning the caller's principal, who must hold ``scope`` (search, ask, documents:read …).

    ``page``: an HTML page; without a session the browser is sent to the login page instead of a 401.
    """
    if scope not in SESSION_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(request: Request, runtime: Runtime = Depends(get_runtime),
                         _credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        # ``_credentials`` only declares the scheme in the OpenAPI document; the sources read the request.
        principal = await run_in_threadpool(_authenticate, request, runtime, scope)
        if principal is None:
            if page:
                raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
            raise NotAuthenticated("no credentials", user_message="Anmeldung erforderlich: Bitte anmelden oder "
                                   "ein API-Token im Header 'Authorization: Bearer kw_…' mitsenden.")
        if getattr(request.state, "kw_csrf_needed", False):
            await _check_csrf(request, request.state.kw_session)
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
