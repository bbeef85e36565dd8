"""The FastAPI application: routers, the one error mapping, security headers, the Runtime's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kreiswissen.errors import KreiswissenError
from kreiswissen.runtime import Runtime

DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {"app.css": "text/css", "app.js": "text/javascript"}
UNAUTHENTICATED_PATHS = frozenset({"/api/v1/health", DOCS_URL, OPENAPI_URL, f"{DOCS_URL}/swagger-ui-bundle.js",
                                   f"{DOCS_URL}/swagger-ui.css", "/", "/anmelden", "/anmelden/oidc",
                                   "/anmelden/oidc/rueckkehr", "/static/app.css", "/static/app.js"})
# Paths that answer in JSON (APIs); everything else is a page and answers errors in HTML.
JSON_PREFIXES = ("/api/", "/v1/")
# Request bodies: uploads up to the upload limit, everything else small.
UPLOAD_PATHS = frozenset({"/dokumente/hochladen", "/api/v1/documents"})
MAX_FORM_BYTES = 1024 * 1024

_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The Swagger UI page loads its script and style from this server (swagger-ui-py, Swagger UI 5: nothing from a
# CDN, so it works air-gapped and the browser contacts no third party) and runs one inline configuring script.
_DOCS_CSP = (b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
             b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
             b"form-action 'none'")
_DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
# The pages: script and style only from this server (no inline code), forms only to this server.
_PAGE_CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
             b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders:
    """Adds the security headers to every response, streamed ones included (plain ASGI, no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = _DOCS_CSP if path == DOCS_URL else _API_CSP if path.startswith(JSON_PREFIXES) else _PAGE_CSP
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-security-policy", b"cache-control")]
                headers += _COMMON_HEADERS
                headers.append((b"content-security-policy", csp))
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over the limit before anything reads them: by Content-Length at once, and by
    counting for chunked uploads (413 either way; nothing is parsed or stored)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # Multipart overhead on top of the file itself.
        upload_limit = scope["app"].state.runtime.settings.upload_max_bytes
        limit = upload_limit + 64 * 1024 if path in UPLOAD_PATHS else MAX_FORM_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(path, limit, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(path, limit, send)


class _BodyTooLarge(StarletteHTTPException):
    # An HTTPException: FastAPI passes it through its body parsing unchanged, and the one error mapping
    # answers 413 (JSON or HTML by path).
    def __init__(self) -> None:
        super().__init__(413)


async def _too_large(path: str, limit: int, send: Send) -> None:
    message = f"Die Anfrage ist zu groß (höchstens {limit // (1024 * 1024)} MB)."
    if path.startswith(JSON_PREFIXES) or path in UPLOAD_PATHS:
        body = JSONResponse(error_body(message, "FileTooLarge", path), status_code=413).body
        kind = b"application/json"
    else:
        body = message.encode()
        kind = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def error_body(message: str, kind: str, path: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    """``{"error": {"message", "type"}}``; under ``/v1`` with OpenAI's ``param`` and ``code`` as well."""
    error: dict[str, Any] = {"message": message, "type": kind, **extra}
    if path.startswith("/v1/"):
        error.setdefault("param", None)
        error["code"] = code
    return {"error": error}


_PROBLEMS = {
    "missing": "Angabe fehlt",
    "string_type": "muss Text sein",
    "bool_type": "muss true oder false sein",
    "bool_parsing": "muss true oder false sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_parsing": "muss eine ganze Zahl sein",
    "greater_than_equal": "ist zu klein",
    "less_than_equal": "ist zu groß",
    "string_too_short": "ist zu kurz",
    "string_too_long": "ist zu lang",
    "too_short": "hat zu wenige Einträge",
    "json_invalid": "ist kein gültiges JSON",
    "model_attributes_type": "muss ein JSON-Objekt sein",
    "dict_type": "muss ein JSON-Objekt sein",
    "list_type": "muss eine Liste sein",
    "literal_error": "hat einen nicht erlaubten Wert",
    "enum": "hat einen nicht erlaubten Wert",
    "extra_forbidden": "ist unbekannt",
}


def _validation_problems(exc: RequestValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors():
        kind = str(error.get("type"))
        # For unparsable JSON the location holds a character offset, no field.
        parts = () if kind == "json_invalid" else error.get("loc", ())
        loc = [str(part) for part in parts if part not in ("body", "query", "path", "header")]
        problems.append({"field": ".".join(loc) or "Anfrage",
                         "problem": _PROBLEMS.get(kind, "ist ungültig")})
    return problems


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """The web application for ``runtime``; with None it opens one from the settings and closes it on shutdown."""
    from kreiswissen.web import (
        api,
        openai_compat,
        pages,
        pages_admin,
        pages_cases,
        pages_catalogue,
        pages_documents,
        pages_minutes,
        pages_usage,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        rt = Runtime.open() if runtime is None else runtime
        app.state.runtime = rt
        # Each app process also ingests uploads (unless separate `kreiswissen worker` processes do).
        from kreiswissen.ingest.jobs import Worker

        worker = Worker(rt.jobs) if rt.settings.web_worker else None
        if worker is not None:
            _ = rt.ingestor  # load the models once, before the worker thread and the first request race for it
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if own:
                rt.close()

    app = FastAPI(title="Kreiswissen", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=OPENAPI_URL, swagger_ui_oauth2_redirect_url=None,
                  description="Wissensassistent der Verwaltung: Suche, Antworten mit Quellen, Zusammenfassungen, "
                              "Dokumente, Einleseaufträge, Bewertungen, Benutzer. Anmeldung mit API-Token "
                              "(`Authorization: Bearer kw_…`) oder mit der Sitzung der Weboberfläche (dann mit "
                              "CSRF-Token im Header `X-CSRF-Token` bei ändernden Anfragen).")
    if runtime is not None:  # also usable without running the lifespan (TestClient without `with`)
        app.state.runtime = runtime

    def respond(request: Request, status: int, message: str, kind: str, code: str | None = None,
                headers: dict[str, str] | None = None, **extra: Any) -> Response:
        """The one place errors become responses: JSON for the APIs, a German HTML page for the pages."""
        if request.url.path.startswith(JSON_PREFIXES) or request.headers.get("x-requested-with") == "fetch":
            return JSONResponse(error_body(message, kind, request.url.path, code, **extra), status_code=status,
                                headers=headers)
        from kreiswissen.web.templating import render

        headings = {400: "Eingabe nicht verarbeitbar", 401: "Anmeldung erforderlich", 403: "Keine Berechtigung",
                    404: "Nicht gefunden", 413: "Zu groß", 422: "Eingabe nicht verarbeitbar",
                    429: "Zu viele Anfragen", 503: "Dienst nicht erreichbar"}
        response = render(request, "error.html", {"title": headings.get(status, "Fehler"),
                                                  "heading": headings.get(status, "Fehler"), "message": message},
                          status)
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(KreiswissenError)
    async def kreiswissen_error(request: Request, exc: KreiswissenError) -> Response:
        from kreiswissen.web.auth import LoginRequired
        from kreiswissen.web.sessions import RateLimited

        if isinstance(exc, LoginRequired):
            from urllib.parse import quote

            return RedirectResponse("/anmelden?next=" + quote(exc.next_url, safe="/"), status_code=303)
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        code = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}.get(exc.http_status)
        return respond(request, exc.http_status, exc.user_message, type(exc).__name__, code, headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = _validation_problems(exc)
        message = "Ungültige Eingabe: " + "; ".join(f"{p['field']} {p['problem']}" for p in problems) + "."
        return respond(request, 422, message, "InputError", "invalid_request", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Diese Adresse gibt es nicht.", 405: "Diese Methode ist hier nicht erlaubt.",
                    413: "Die Anfrage ist zu groß. Bitte die Größenbeschränkung beachten."}
        message = messages.get(exc.status_code, "Die Anfrage konnte nicht bearbeitet werden.")
        return respond(request, exc.status_code, message, "HTTPError", headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # This response is sent outside the middleware stack (by Starlette's error middleware): add the headers here.
        headers = {k.decode(): v.decode() for k, v in _COMMON_HEADERS}
        headers.update({"Content-Security-Policy": _API_CSP.decode(), "Cache-Control": "no-store"})
        return JSONResponse(error_body("Interner Fehler. Bitte wenden Sie sich an die Administration.",
                                       "InternalError", request.url.path), status_code=500, headers=headers)

    def static_route(name: str, media_type: str) -> None:
        @app.get(f"/static/{name}", include_in_schema=False)
        def static() -> FileResponse:
            return FileResponse(STATIC_DIR / name, media_type=media_type)

    for name, media_type in STATIC_FILES.items():
        static_route(name, media_type)

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        # FastAPI's page, without its favicon from fastapi.tiangolo.com and Swagger's online validator.
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title="Kreiswissen – API", swagger_favicon_url="data:,",
                                   swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
                                   swagger_ui_parameters={"validatorUrl": None})

    def asset_route(name: str, media_type: str) -> None:
        @app.get(f"{DOCS_URL}/{name}", include_in_schema=False)
        def asset() -> FileResponse:
            import swagger_ui

            return FileResponse(Path(swagger_ui.__file__).parent / "static" / name, media_type=media_type)

    for name, media_type in _DOCS_ASSETS.items():
        asset_route(name, media_type)

    @app.get("/api/v1/health", tags=["Betrieb"], summary="Lebenszeichen (ohne Anmeldung)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api.router)
    app.include_router(openai_compat.router)
    app.include_router(pages.router)
    app.include_router(pages_documents.router)
    app.include_router(pages_minutes.router)
    app.include_router(pages_cases.router)
    app.include_router(pages_catalogue.router)
    app.include_router(pages_usage.router)
    app.include_router(pages_admin.router)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    return app
