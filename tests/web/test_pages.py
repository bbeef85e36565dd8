"""The HTML pages against the real corpus: login and sessions, CSRF, ask with citations and feedback, search
with filters and highlights, roles, safe rendering of document text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app
from web_session import PASSWORD, browser, csrf_of, login, make_user

QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"


@pytest.fixture(scope="module")
def app(corpus_rt: Runtime):  # type: ignore[no-untyped-def]
    return create_app(corpus_rt)


@pytest.fixture
def clerk(corpus_rt: Runtime, app) -> Iterator[tuple[TestClient, str, str]]:  # type: ignore[no-untyped-def]
    """A logged-in Leser of the group bauamt: (client, user name, csrf token)."""
    name = make_user(corpus_rt, ["leser"], ["bauamt"])
    with browser(app) as client:
        yield client, name, login(client, name)


def test_login_page_is_german_and_sets_no_session(app) -> None:  # type: ignore[no-untyped-def]
    with browser(app) as client:
        page = client.get("/anmelden")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and "Benutzername" in page.text and "Passwort" in page.text
    assert "kw_session" not in page.headers.get("set-cookie", "")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_login_sets_a_secure_httponly_samesite_cookie(corpus_rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    name = make_user(corpus_rt, ["leser"])
    with browser(app) as client:
        page = client.get("/anmelden")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = client.post("/anmelden", data={"username": name, "password": PASSWORD, "login_token": token,
                                                  "next": "/suche"})
    assert response.status_code == 303 and response.headers["location"] == "/suche"
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("kw_session=")][0]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


def test_wrong_password_is_refused_in_german_and_audited(corpus_rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    name = make_user(corpus_rt, ["leser"])
    with browser(app) as client:
        page = client.get("/anmelden")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = client.post("/anmelden", data={"username": name, "password": "falsch-falsch-falsch",
                                                  "login_token": token})
    assert response.status_code == 401
    assert "Anmeldung fehlgeschlagen" in response.text
    assert "kw_session" not in response.headers.get("set-cookie", "")
    failures = [e for e in corpus_rt.audit.entries(None, None) if e["actor"] == name]
    assert [e["event"] for e in failures] == ["login.failure"]


def test_login_form_without_its_token_is_refused(corpus_rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    name = make_user(corpus_rt, ["leser"])
    with browser(app) as client:
        response = client.post("/anmelden", data={"username": name, "password": PASSWORD, "login_token": "x"})
    assert response.status_code == 400 and "abgelaufen" in response.text


def test_next_never_leaves_the_server(corpus_rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        name = make_user(corpus_rt, ["leser"])
        with browser(app) as client:
            page = client.get("/anmelden")
            token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            response = client.post("/anmelden", data={"username": name, "password": PASSWORD,
                                                      "login_token": token, "next": target})
        assert response.headers["location"] == "/fragen", target


def test_pages_without_session_redirect_to_login_with_next(app) -> None:  # type: ignore[no-untyped-def]
    with browser(app) as client:
        response = client.get("/suche?q=Hund")
    assert response.status_code == 303
    assert response.headers["location"] == "/anmelden?next=/suche%3Fq%3DHund"


def test_logout_ends_the_session(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    cookie = client.cookies.get("kw_session")
    response = client.post("/abmelden", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"].startswith("/anmelden")
    client.cookies.set("kw_session", cookie or "", domain="testserver")
    assert client.get("/fragen").status_code == 303  # the old cookie opens nothing


def test_idle_session_expires(corpus_rt: Runtime, clerk: tuple[TestClient, str, str]) -> None:
    client, name, _ = clerk
    assert client.get("/fragen").status_code == 200
    with corpus_rt.db.admin_connection() as admin:
        admin.execute("UPDATE web_sessions SET last_seen_at = %s WHERE user_name = %s",
                      (datetime.now(UTC) - timedelta(minutes=corpus_rt.settings.session_idle_minutes + 1), name))
    assert client.get("/fragen").status_code == 303


def test_disabling_a_user_ends_their_session(corpus_rt: Runtime, clerk: tuple[TestClient, str, str]) -> None:
    client, name, _ = clerk
    corpus_rt.identity.set_disabled("test", name, True)
    assert client.get("/fragen").status_code == 303


def test_posts_without_the_csrf_token_are_refused(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    for data in ({"question": QUESTION}, {"question": QUESTION, "csrf_token": "falsch"}):
        response = client.post("/fragen", data=data)
        assert response.status_code == 403, data
        assert "Formular ist abgelaufen" in response.text
    stream = client.post("/fragen/stream", json={"question": QUESTION})
    assert stream.status_code == 403
    ok = client.post("/fragen/stream", json={"question": QUESTION}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200


def test_ask_without_javascript_answers_with_linked_sources(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    page = client.post("/fragen", data={"question": QUESTION, "csrf_token": csrf})
    assert page.status_code == 200
    assert "Wörtliche Auszüge" in page.text  # no model configured: quoted, and labelled so
    links = re.findall(r'href="(/dokumente/[0-9a-f-]{36}\?abschnitt=\d+#abschnitt-\d+)"', page.text)
    assert links
    assert "Bad Boll" in page.text
    assert re.search(r'<a class="zitat" href="#quelle-1-1"', page.text)
    # The citation opens the document at the cited passage, marked.
    target = client.get(links[0].replace("&amp;", "&"))
    chunk = links[0].rsplit("-", 1)[1]
    assert target.status_code == 200
    assert f'id="abschnitt-{chunk}" class="passage markiert"' in target.text
    # The conversation continues: a follow-up is resolved against it.
    conversation = re.search(r'name="gespraech" id="gespraech-id" value="([0-9a-f-]{36})"', page.text)
    assert conversation
    follow = client.post("/fragen", data={"question": "Und für einen Kampfhund?", "csrf_token": csrf,
                                          "gespraech": conversation.group(1)})
    assert follow.status_code == 200
    assert "Verstanden als:" in follow.text and follow.text.count('class="antwort"') == 2


def test_ask_stream_sends_the_checked_turn_as_html(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    response = client.post("/fragen/stream", json={"question": QUESTION}, headers={"X-CSRF-Token": csrf})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.startswith("event: answer")]
    assert len(events) == 1
    data = json.loads(events[0].split("data: ", 1)[1])
    assert data["conversation_id"] and '<article class="antwort"' in data["html"]
    assert "/dokumente/" in data["html"]


def test_input_policy_errors_are_shown_on_the_page(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    page = client.post("/fragen", data={"question": "x" * 2500, "csrf_token": csrf})
    assert page.status_code == 400
    assert 'role="alert"' in page.text and "zu lang" in page.text


def test_feedback_is_stored_without_the_user_name(corpus_rt: Runtime, clerk: tuple[TestClient, str, str]) -> None:
    client, name, csrf = clerk
    response = client.post("/fragen/bewertung", data={
        "csrf_token": csrf, "rating": "-1", "question": QUESTION, "mode": "extractive",
        "comment": "Die Antwort von Erika Mustermann fehlt.", "documents": ""})
    assert response.status_code == 303 and "bewertet=1" in response.headers["location"]
    with corpus_rt.db.admin_connection() as admin:
        rows = admin.execute("SELECT user_pseudonym, question, comment, rating FROM feedback "
                             "ORDER BY id DESC LIMIT 1").fetchall()
    assert rows and rows[0][3] == -1
    assert name not in json.dumps(rows, default=str)
    assert "Erika Mustermann" not in rows[0][2]
    assert "Vielen Dank" in client.get(response.headers["location"]).text


def test_conversation_history_lists_and_deletes(clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    page = client.post("/fragen", data={"question": QUESTION, "csrf_token": csrf})
    cid = re.search(r'id="gespraech-id" value="([0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]
    assert f"/fragen?gespraech={cid}" in client.get("/fragen").text
    response = client.post(f"/fragen/{cid}/loeschen", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert cid not in client.get("/fragen").text
    assert client.get(f"/fragen?gespraech={cid}").status_code == 404


def test_another_users_conversation_is_not_visible(corpus_rt: Runtime, app,  # type: ignore[no-untyped-def]
                                                   clerk: tuple[TestClient, str, str]) -> None:
    client, _, csrf = clerk
    page = client.post("/fragen", data={"question": QUESTION, "csrf_token": csrf})
    cid = re.search(r'id="gespraech-id" value="([0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]
    other = make_user(corpus_rt, ["leser"], ["bauamt"])
    with browser(app) as second:
        login(second, other)
        assert second.get(f"/fragen?gespraech={cid}").status_code == 404
        assert QUESTION not in second.get("/fragen").text


def test_search_filters_and_highlights(clerk: tuple[TestClient, str, str]) -> None:
    client, _, _ = clerk
    page = client.get("/suche", params={"q": "Hundesteuer Kampfhund"})
    assert page.status_code == 200
    assert "<mark>" in page.text
    assert re.search(r"\d+ Treffer", page.text)
    municipalities = re.findall(r'<select id="gemeinde" name="gemeinde">(.*?)</select>', page.text, re.S)[0]
    assert "Bad Boll" in municipalities
    filtered = client.get("/suche", params={"q": "Hundesteuer", "gemeinde": "Bad Boll"})
    titles = re.findall(r'<h3><a href="/dokumente/[^"]+">([^<]+)</a></h3>', filtered.text)
    assert titles and all("Boll" in t or "Erhebung" in t for t in titles), titles
    bad = client.get("/suche", params={"q": "Hundesteuer", "von": "31.12.2026"})
    assert bad.status_code == 400 and "2026-03-31" in bad.text


def test_confidential_documents_stay_invisible(clerk: tuple[TestClient, str, str]) -> None:
    client, _, _ = clerk
    page = client.get("/suche", params={"q": "Gehaltsliste Kämmerin Jahresgehalt"})
    shown = re.sub(r'href="[^"]*"', "", page.text.split("Treffer", 1)[1])  # the query itself is in the links
    assert "98.765" not in shown and "Gehaltsliste" not in shown and "Jahresgehalt" not in shown
    assert "Gehaltsliste" not in client.get("/dokumente").text


def test_roles_decide_the_navigation_and_access(corpus_rt: Runtime, app,  # type: ignore[no-untyped-def]
                                                clerk: tuple[TestClient, str, str]) -> None:
    client, _, _ = clerk
    page = client.get("/fragen").text
    assert 'href="/suche"' in page and 'href="/verwaltung"' not in page and 'href="/datenschutz"' not in page
    for path in ("/verwaltung", "/datenschutz", "/auswertung"):
        denied = client.get(path)
        assert denied.status_code == 403, path
        assert "Berechtigung" in denied.text and denied.headers["content-type"].startswith("text/html")
    admin = make_user(corpus_rt, ["leser", "administrator"])
    with browser(app) as second:
        login(second, admin)
        page = second.get("/fragen").text
        assert 'href="/verwaltung"' in page and 'href="/datenschutz"' not in page  # separate duties


def test_unknown_pages_answer_in_german_html(clerk: tuple[TestClient, str, str]) -> None:
    client, _, _ = clerk
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404 and "Diese Adresse gibt es nicht." in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_login_is_rate_limited_per_client(corpus_rt: Runtime) -> None:
    strict = Runtime(settings=corpus_rt.settings.model_copy(update={"login_rate_limit_per_minute": 3}),
                     db=corpus_rt.db)
    name = make_user(corpus_rt, ["leser"])
    codes = []
    with browser(create_app(strict)) as client:
        for _ in range(5):
            page = client.get("/anmelden")
            token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            codes.append(client.post("/anmelden", data={"username": name, "password": "falsch-falsch!",
                                                        "login_token": token}).status_code)
        last = client.post("/anmelden", data={"username": name, "password": PASSWORD, "login_token": token})
    assert 429 in codes and codes[:2] == [401, 401]
    assert last.status_code == 429 and "Zu viele Anfragen" in last.text and int(last.headers["retry-after"]) >= 1


def test_api_calls_are_rate_limited_per_user(corpus_rt: Runtime) -> None:
    strict = Runtime(settings=corpus_rt.settings.model_copy(update={"api_rate_limit_per_minute": 4}),
                     db=corpus_rt.db)
    name = make_user(corpus_rt, ["leser"])
    secret, _ = corpus_rt.identity.create_token("test", name, ["search"], days=1)
    with TestClient(create_app(strict)) as client:
        codes = [client.get("/api/v1/search", params={"q": "Hundesteuer"},
                            headers={"Authorization": f"Bearer {secret}"}).status_code for _ in range(6)]
    assert codes[:4] == [200] * 4 and codes[4:] == [429, 429]


def test_document_text_is_rendered_escaped(rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "gebuehren.txt"
    doc.write_text("Gebührenordnung Bücherei\n\nDie Jahresgebühr <script>alert('x')</script> beträgt "
                   "<img src=x onerror=alert(1)> 12 Euro für Erwachsene.\n", encoding="utf-8")
    from kreiswissen.security.principal import Principal

    report = rt.ingest([doc], Principal.local_operator())
    assert not report.failed
    name = make_user(rt, ["leser"])
    with browser(create_app(rt)) as client:
        login(client, name)
        page = client.get("/suche", params={"q": "Jahresgebühr Bücherei"})
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text
        asked = client.post("/fragen", data={"question": "Wie hoch ist die Jahresgebühr der Bücherei?",
                                             "csrf_token": csrf_of(page.text)})
        assert "<script>alert" not in asked.text and "onerror=alert" not in asked.text.replace("onerror=alert(1)&gt;",
                                                                                             "")


def test_a_generated_answer_streams_a_draft_then_the_checked_labelled_turn(corpus_rt: Runtime) -> None:
    from scripted_generator import ScriptedGenerator, source_number

    generated = Runtime(settings=corpus_rt.settings, db=corpus_rt.db)  # same store, with a language model
    generated.__dict__["generator"] = ScriptedGenerator(
        lambda m: f"Für den zweiten Hund sind 330,00 € zu zahlen [{source_number(m, '330,00 €')}]. "
                  "Hunde dürfen nachts nicht bellen. <img src=x onerror=alert(1)>")
    name = make_user(corpus_rt, ["leser"])
    with browser(create_app(generated)) as client:
        csrf = login(client, name)
        response = client.post("/fragen/stream", json={"question": QUESTION}, headers={"X-CSRF-Token": csrf})
        blocks = [b for b in response.text.split("\n\n") if b.startswith("event: ")]
        kinds = [b.split("\n", 1)[0][7:] for b in blocks]
        assert kinds[0] == "draft" and kinds[-1] == "answer" and set(kinds) == {"draft", "answer"}
        html = json.loads(blocks[-1].split("data: ", 1)[1])["html"]
        assert "KI-generiert – bitte prüfen." in html
        assert "330,00 € zu zahlen" in html and 'href="#quelle-' in html
        assert "1 Aussage(n) entfernt" in html and "bellen" in html.split("Aussage(n) entfernt", 1)[1]
        assert "<img" not in html and "onerror" not in html
        # Without JavaScript the same answer comes as a page.
        page = client.post("/fragen", data={"question": QUESTION, "csrf_token": csrf})
        assert "KI-generiert – bitte prüfen." in page.text and "<img src=x" not in page.text
