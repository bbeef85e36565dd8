"""Every route of the application refuses a caller without credentials, except the few public ones: an API
route answers 401, a page sends the browser to the login page.

The routes are enumerated from the application itself, so a route added later without authentication fails
here without anyone having to remember to add a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app
from kreiswissen.web.app import UNAUTHENTICATED_PATHS

PUBLIC = {"/api/v1/health", "/api/docs", "/api/openapi.json", "/api/docs/oauth2-redirect",
          "/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/", "/anmelden", "/anmelden/oidc",
          "/anmelden/oidc/rueckkehr", "/static/app.css", "/static/app.js"}


@pytest.fixture(scope="module")
def client(corpus_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(corpus_rt), follow_redirects=False) as c:
        yield c


def _routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, those of included routers with their prefixes."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept as such: app.routes is flat
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))  # type: ignore[arg-type]
    found = []
    for route in routes:
        methods = route.methods  # type: ignore[attr-defined]
        # No mounts or websockets yet (no methods): they would need a check of their own.
        assert isinstance(route.path, str) and methods, route  # type: ignore[attr-defined]
        found.append((route.path, set(methods)))  # type: ignore[attr-defined]
    return found


def _calls(client: TestClient) -> list[tuple[str, str]]:
    calls = []
    for path, methods in _routes(client.app):  # type: ignore[arg-type]
        path = re.sub(r"\{[^}]+\}", "beispiel", path)
        calls += [(method, path) for method in sorted(methods) if method != "HEAD"]
    return calls


def test_every_route_but_the_public_ones_needs_credentials(client: TestClient) -> None:
    calls = _calls(client)
    assert len(calls) >= 40
    checked = pages = 0
    for method, path in calls:
        if path in PUBLIC:
            continue
        api = path.startswith(("/api/", "/v1/"))
        for kwargs in ({}, {"json": {}}, {"headers": {"Authorization": "Bearer "}}):
            response = client.request(method, path, params={"q": "Hundesteuer"}, **kwargs)  # type: ignore[arg-type]
            if api:
                assert response.status_code == 401, (method, path, kwargs, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["error"]["message"]
            elif "headers" in kwargs:  # a malformed Authorization header is refused on pages as well
                assert response.status_code == 401, (method, path, kwargs, response.text)
            else:
                assert response.status_code == 303, (method, path, kwargs, response.text)
                assert response.headers["location"].startswith("/anmelden?next="), (method, path)
        checked += 1
        pages += not api
    assert checked >= 40 and pages >= 25


def test_the_public_routes_are_exactly_these(client: TestClient) -> None:
    public = {path for method, path in _calls(client)
              if client.request(method, path).status_code not in (401, 303)
              or client.request(method, path).headers.get("location", "").startswith("/fragen")}
    assert public == UNAUTHENTICATED_PATHS
    assert public <= PUBLIC


def test_api_routes_declare_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    for path, methods in _routes(client.app):  # type: ignore[arg-type]
        if path not in PUBLIC and path.startswith(("/api/", "/v1/")):
            for method in methods - {"HEAD"}:
                assert schema["paths"][path][method.lower()]["security"] == [{"HTTPBearer": []}], path
