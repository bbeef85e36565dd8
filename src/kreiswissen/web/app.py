"""The FastAPI application: routers, the one error mapping, security headers, the Runtime's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kreiswissen.errors import KreiswissenError
from kreiswissen.runtime import Runtime

DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"
UNAUTHENTICATED_PATHS = frozenset({"/api/v1/health", DOCS_URL, OPENAPI_URL, f"{DOCS_URL}/swagger-ui-bundle.js",
                                   f"{DOCS_URL}/swagger-ui.css"})

_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The Swagger UI page loads its script and style from this server (package swagger-ui-bundle: nothing from a
# CDN, so it works air-gapped and the browser contacts no third party) and runs one inline configuring script.
_DOCS_CSP = (b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
             b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
             b"form-action 'none'")
_DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


class SecurityHeaders:
    """Adds the security headers to every response, streamed ones included (plain ASGI, no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] == DOCS_URL

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-security-policy", b"cache-control")]
                headers += _COMMON_HEADERS
                headers.append((b"content-security-policy", _DOCS_CSP if docs else _API_CSP))
                headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    from kreiswissen.web import api, openai_compat

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = Runtime.open() if own else runtime
        try:
            yield
        finally:
            if own:
                app.state.runtime.close()

    app = FastAPI(title="Kreiswissen", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=OPENAPI_URL, swagger_ui_oauth2_redirect_url=None,
                  description="Wissensassistent der Verwaltung: Suche, Antworten mit Quellen, Zusammenfassungen. "
                              "Anmeldung mit API-Token (`Authorization: Bearer kw_…`).")
    if runtime is not None:  # also usable without running the lifespan (TestClient without `with`)
        app.state.runtime = runtime

    @app.exception_handler(KreiswissenError)
    async def kreiswissen_error(request: Request, exc: KreiswissenError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        code = {401: "invalid_api_key", 404: "not_found"}.get(exc.http_status)
        return JSONResponse(error_body(exc.user_message, type(exc).__name__, request.url.path, code),
                            status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        message = "Ungültige Eingabe: " + "; ".join(f"{p['field']} {p['problem']}" for p in problems) + "."
        return JSONResponse(error_body(message, "InputError", request.url.path, "invalid_request", problems=problems),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Diese Adresse gibt es nicht.", 405: "Diese Methode ist hier nicht erlaubt."}
        message = messages.get(exc.status_code, "Die Anfrage konnte nicht bearbeitet werden.")
        return JSONResponse(error_body(message, "HTTPError", request.url.path), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # This response is sent outside the middleware stack (by Starlette's error middleware): add the headers here.
        headers = {k.decode(): v.decode() for k, v in _COMMON_HEADERS}
        headers.update({"Content-Security-Policy": _API_CSP.decode(), "Cache-Control": "no-store"})
        return JSONResponse(error_body("Interner Fehler. Bitte wenden Sie sich an die Administration.",
                                       "InternalError", request.url.path), status_code=500, headers=headers)

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
            import swagger_ui_bundle

            return FileResponse(Path(swagger_ui_bundle.swagger_ui_path) / name, media_type=media_type)

    for name, media_type in _DOCS_ASSETS.items():
        asset_route(name, media_type)

    @app.get("/api/v1/health", tags=["Betrieb"], summary="Lebenszeichen (ohne Anmeldung)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api.router)
    app.include_router(openai_compat.router)
    app.add_middleware(SecurityHeaders)
    return app
