"""The JSON API under /api/v1 against the real corpus: CLI-shaped JSON, permissions, auth, errors, audit."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kreiswissen.config import get_settings
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app

PASSWORD = "Lange Passphrase für die Tests 2026!"
QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"


def make_token(rt: Runtime, scopes: list[str], groups: list[str] | None = None) -> tuple[str, str]:
    """A new user (unique name: the corpus runtime is shared by the session) with a token; (user, secret)."""
    for group in groups or []:
        with contextlib.suppress(InputError):
            rt.identity.add_group("test", group)
    name = f"web-{uuid.uuid4().hex[:10]}"
    rt.identity.add_user("test", name, groups or [], password=PASSWORD)
    secret, _ = rt.identity.create_token("test", name, scopes, days=1)
    return name, secret


@pytest.fixture(scope="module")
def client(corpus_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(corpus_rt)) as c:
        yield c


@pytest.fixture(scope="module")
def reader(corpus_rt: Runtime) -> tuple[str, dict[str, str]]:
    name, secret = make_token(corpus_rt, ["search", "ask", "documents:read"], ["bauamt"])
    return name, {"Authorization": f"Bearer {secret}"}


def _is_hit(item: dict[str, object]) -> None:
    assert set(item) == {"rank", "score", "document", "chunk"}
    assert set(item["document"]) == {"id", "title", "source"}  # type: ignore[arg-type]
    assert set(item["chunk"]) == {"id", "text", "section", "page"}  # type: ignore[arg-type]


def test_health_needs_no_login_and_carries_security_headers(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


def test_docs_and_schema(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "script-src" in docs.headers["content-security-policy"]
    schema = client.get("/api/openapi.json").json()
    assert {"/api/v1/search", "/api/v1/ask", "/api/v1/documents", "/api/v1/summarize", "/v1/chat/completions",
            "/v1/models"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_search_json_is_the_cli_contract(client: TestClient, reader: tuple[str, dict[str, str]],
                                         corpus_home: object) -> None:
    response = client.get("/api/v1/search", params={"q": "Hundesteuer zweiter Hund Bad Boll", "top_k": 3},
                          headers=reader[1])
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"query", "results"} and data["query"] == "Hundesteuer zweiter Hund Bad Boll"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    for item in data["results"]:
        _is_hit(item)
    assert data["results"][0]["document"]["source"].endswith("BBO_Satzung_Erhebung_Hundesteuer.md")
    lexical = client.get("/api/v1/search", params={"q": "Streupflicht", "mode": "lexical"}, headers=reader[1])
    assert lexical.status_code == 200 and lexical.json()["results"]


def test_ask_answers_with_citations_and_refuses(client: TestClient, reader: tuple[str, dict[str, str]]) -> None:
    data = client.post("/api/v1/ask", json={"question": QUESTION}, headers=reader[1]).json()
    assert data["answered"] is True and "330,00 €" in data["answer"] and data["citations"]
    for item in data["citations"]:
        _is_hit(item)
    refused = client.post("/api/v1/ask", json={"question": "Was kostet ein neuer Reisepass?"}, headers=reader[1])
    assert refused.status_code == 200
    assert refused.json()["answered"] is False and refused.json()["citations"] == []


def test_ask_in_a_conversation(client: TestClient, reader: tuple[str, dict[str, str]]) -> None:
    first = client.post("/api/v1/ask", json={"question": QUESTION, "new_conversation": True}, headers=reader[1]).json()
    assert first["conversation_id"]
    follow = client.post("/api/v1/ask", json={"question": "Und für einen Kampfhund?",
                                              "conversation_id": first["conversation_id"]}, headers=reader[1]).json()
    assert follow["conversation_id"] == first["conversation_id"]
    assert "Kampfhund" in follow["standalone_question"] and "Bad Boll" in follow["standalone_question"]
    other = make_token(client.app.state.runtime, ["ask"])[1]  # type: ignore[attr-defined]
    foreign = client.post("/api/v1/ask", json={"question": "Und für einen Kampfhund?",
                                               "conversation_id": first["conversation_id"]},
                          headers={"Authorization": f"Bearer {other}"})
    assert foreign.status_code == 404 and foreign.json()["error"]["type"] == "NotFound"


def test_restricted_documents_stay_hidden(client: TestClient, corpus_rt: Runtime,
                                          reader: tuple[str, dict[str, str]]) -> None:
    query = {"q": "Jahresgehalt der Kämmerin Erika Mustermann", "top_k": 20}
    outsider = client.get("/api/v1/search", params=query, headers=reader[1]).json()["results"]
    assert all("gehaltsliste" not in r["document"]["source"] for r in outsider)
    docs = client.get("/api/v1/documents", headers=reader[1]).json()["documents"]
    assert docs and all("gehaltsliste" not in d["source"] for d in docs)
    answer = client.post("/api/v1/ask", json={"question": "Wie hoch ist das Jahresgehalt der Kämmerin?"},
                         headers=reader[1]).json()
    assert "98.765" not in answer["answer"] and all("gehaltsliste" not in c["document"]["source"]
                                                    for c in answer["citations"])
    _, insider = make_token(corpus_rt, ["search", "documents:read"], ["personal"])
    inside = client.get("/api/v1/search", params=query, headers={"Authorization": f"Bearer {insider}"}).json()
    assert "gehaltsliste" in inside["results"][0]["document"]["source"]
    listed = client.get("/api/v1/documents", headers={"Authorization": f"Bearer {insider}"}).json()["documents"]
    assert any("gehaltsliste" in d["source"] for d in listed)


def test_summarize(client: TestClient, reader: tuple[str, dict[str, str]]) -> None:
    docs = client.get("/api/v1/documents", headers=reader[1]).json()["documents"]
    source = next(d["source"] for d in docs if d["source"].endswith("BBO_Satzung_Streupflicht.md"))
    data = client.post("/api/v1/summarize", json={"source": source, "extractive": True}, headers=reader[1]).json()
    assert data["source"] == source and data["summary"] and data["mode"] == "extractive" and data["citations"]
    missing = client.post("/api/v1/summarize", json={"source": "/gibt/es/nicht.md"}, headers=reader[1])
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_missing_or_bad_token_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer kw_falsch"}, {"Authorization": "Bearer nichtmalkw"},
                    {"Authorization": "Basic dXNlcjpwdw=="}):
        response = client.get("/api/v1/search", params={"q": "Hundesteuer"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        error = response.json()["error"]
        assert error["type"] == "NotAuthenticated" and ("Token" in error["message"] or "Bearer" in error["message"])


def test_revoked_token_is_401(client: TestClient, corpus_rt: Runtime) -> None:
    name, secret = make_token(corpus_rt, ["search"])
    corpus_rt.identity.revoke_token("test", corpus_rt.identity.list_tokens(name)[0].id)
    response = client.get("/api/v1/search", params={"q": "Hundesteuer"}, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_wrong_scope_is_403(client: TestClient, corpus_rt: Runtime) -> None:
    _, secret = make_token(corpus_rt, ["search"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/search", params={"q": "Hundesteuer"}, headers=headers).status_code == 200
    for response in (client.post("/api/v1/ask", json={"question": QUESTION}, headers=headers),
                     client.get("/api/v1/documents", headers=headers)):
        assert response.status_code == 403
        assert response.json()["error"] == {"message": response.json()["error"]["message"],
                                            "type": "PermissionDenied"}
        assert "erlaubt" in response.json()["error"]["message"]


def test_bad_input_is_422_in_german(client: TestClient, reader: tuple[str, dict[str, str]]) -> None:
    cases = [
        client.post("/api/v1/ask", json={}, headers=reader[1]),
        client.post("/api/v1/ask", json={"question": ""}, headers=reader[1]),
        client.post("/api/v1/ask", content=b"{kaputt", headers={**reader[1], "Content-Type": "application/json"}),
        client.get("/api/v1/search", params={"q": "Hund", "top_k": 0}, headers=reader[1]),
        client.get("/api/v1/search", params={"q": "Hund", "mode": "magisch"}, headers=reader[1]),
    ]
    for response in cases:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["type"] == "InputError" and error["message"].startswith("Ungültige Eingabe:")
    assert "question Angabe fehlt" in cases[0].json()["error"]["message"]
    # A question the input policy rejects is the service's InputError: 400 with its German message.
    for question, words in (("Hund " * 3000, "zu lang"), ("Hunde\x07steuer", "Steuerzeichen")):
        response = client.post("/api/v1/ask", json={"question": question}, headers=reader[1])
        assert response.status_code == 400 and words in response.json()["error"]["message"]
        assert response.json()["error"]["type"] == "InputError"


def test_unknown_path_is_404_json(client: TestClient) -> None:
    response = client.get("/api/v1/gibtsnicht")
    assert response.status_code == 404 and response.json()["error"]["message"] == "Diese Adresse gibt es nicht."


def test_api_calls_are_audited(client: TestClient, corpus_rt: Runtime, reader: tuple[str, dict[str, str]]) -> None:
    name, headers = reader
    client.post("/api/v1/ask", json={"question": QUESTION}, headers=headers)
    client.get("/api/v1/search", params={"q": "Streupflicht Bad Boll"}, headers=headers)
    mine = [e for e in corpus_rt.audit.entries(None, None) if e["actor"] == name]
    asks = [e for e in mine if e["event"] == "ask"]
    assert asks and asks[-1]["details"]["question"] == QUESTION and asks[-1]["details"]["answered"] is True
    assert asks[-1]["details"]["documents"]
    assert any(e["event"] == "search" and e["details"]["question"] == "Streupflicht Bad Boll" for e in mine)


def test_unexpected_errors_are_500_in_german_with_headers() -> None:
    broken = TestClient(create_app(object()), raise_server_exceptions=False)  # type: ignore[arg-type]
    response = broken.get("/api/v1/search", params={"q": "Hund"}, headers={"Authorization": "Bearer kw_x"})
    assert response.status_code == 500
    assert response.json() == {"error": {"message": "Interner Fehler. Bitte wenden Sie sich an die Administration.",
                                         "type": "InternalError"}}
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"


def test_app_without_runtime_opens_and_closes_its_own(home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KREISWISSEN_HOME", str(home_dir))
    monkeypatch.delenv("KREISWISSEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("KREISWISSEN_CONFIG", raising=False)
    get_settings.cache_clear()
    try:
        closed: list[Path] = []
        real_close = Runtime.close

        def close(self: Runtime) -> None:
            closed.append(self.settings.home)
            real_close(self)

        monkeypatch.setattr(Runtime, "close", close)
        app = create_app()
        with TestClient(app) as client:
            assert client.get("/api/v1/health").json() == {"status": "ok"}
            assert client.get("/api/v1/documents", headers={"Authorization": "Bearer kw_x"}).status_code == 401
            assert app.state.runtime.settings.home == home_dir and not closed
        assert closed == [home_dir]
    finally:
        get_settings.cache_clear()


def test_concurrent_requests_of_different_users_stay_apart(client: TestClient, corpus_rt: Runtime) -> None:
    """Requests run in a threadpool: users with different groups asking at once never see each other's
    documents, and nothing fails."""
    _, outsider = make_token(corpus_rt, ["search"], ["bauamt"])
    _, insider = make_token(corpus_rt, ["search"], ["personal"])
    query = {"q": "Jahresgehalt der Kämmerin Erika Mustermann", "top_k": 20}

    def call(i: int) -> tuple[int, int, bool]:
        token = insider if i % 2 else outsider
        response = client.get("/api/v1/search", params=query, headers={"Authorization": f"Bearer {token}"})
        sees = response.status_code == 200 and any("gehaltsliste" in r["document"]["source"]
                                                   for r in response.json()["results"])
        return i, response.status_code, sees

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(64)))
    assert [(i, status, sees) for i, status, sees in results if status != 200 or sees != bool(i % 2)] == []


def test_the_api_docs_load_nothing_from_outside(corpus_rt: Runtime) -> None:
    from fastapi.testclient import TestClient

    from kreiswissen.web.app import create_app

    client = TestClient(create_app(corpus_rt))
    page = client.get("/api/docs")
    assert page.status_code == 200 and "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text and "/api/docs/swagger-ui-bundle.js" in page.text
    assert "'self'" in page.headers["content-security-policy"] and "cdn" not in page.headers["content-security-policy"]
    script = client.get("/api/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/api/docs/swagger-ui.css").status_code == 200
    assert client.get("/api/docs/index.html").status_code == 404  # only the two assets are served
