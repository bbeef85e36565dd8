"""Documents (upload jobs, view, download, delete), administration, the KI-Manager dashboard and the DSB page,
through the HTML routes and the JSON API, against a real store."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app
from web_session import browser, csrf_of, login, make_user

STATUTE = ("# Satzung über die Benutzung des Bauhofs\n\n## § 1 Gebühren\n\nDie Gebühr für die Benutzung des "
           "Bauhofs beträgt 25 Euro je Stunde. Für Vereine mit Sitz in der Gemeinde ermäßigt sie sich auf 10 Euro.\n")


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    # The tests run the queue themselves (run_next), so no worker thread races them.
    quiet = Runtime(settings=rt.settings.model_copy(update={"web_worker": False}), db=rt.db)
    return create_app(quiet)


@pytest.fixture
def editor(rt: Runtime, app) -> Iterator[tuple[TestClient, str, str]]:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["leser", "redakteur"], ["bauamt"])
    with browser(app) as client:
        yield client, name, login(client, name, next_url="/dokumente")


def _upload(client: TestClient, csrf: str, files: list[tuple[str, bytes]], fetch: bool = False,
            groups: tuple[str, ...] = ("bauamt",)) -> tuple[int, str]:
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    response = client.post("/dokumente/hochladen", data={"csrf_token": csrf, "groups": list(groups),
                                                         "department": "bauamt", "classification": "intern"},
                           files=[("files", (name, content)) for name, content in files], headers=headers)
    return response.status_code, response.text


def test_upload_queues_jobs_and_reports_each_file(rt: Runtime, editor: tuple[TestClient, str, str]) -> None:
    client, name, csrf = editor
    status, page = _upload(client, csrf, [("Bauhof.md", STATUTE.encode()), ("kaputt.pdf", b"%PDF-1.7\n\x00\x01"),
                                          ("virus.exe", b"MZ\x90\x00")])
    assert status == 202
    assert "2 Datei(en) zum Einlesen angenommen." in page and "virus.exe" in page  # the .exe refused up front
    assert page.count("wartet") >= 2
    while rt.jobs.run_next("test") is not None:
        pass
    jobs = client.get("/api/v1/jobs").json()["jobs"]
    by_name = {j["file_name"]: j for j in jobs}
    assert set(by_name) == {"Bauhof.md", "kaputt.pdf"}
    assert by_name["Bauhof.md"]["status"] == "done" and by_name["Bauhof.md"]["message"].startswith("Eingelesen")
    assert by_name["kaputt.pdf"]["status"] == "failed" and "beschädigt" in by_name["kaputt.pdf"]["message"]
    library = client.get("/dokumente").text
    assert "fertig" in library and "fehlgeschlagen" in library
    assert "Satzung über die Benutzung des Bauhofs" in library
    # The new document is found, opened, downloaded as the original, and deleted after confirmation.
    doc_id = by_name["Bauhof.md"]["document_id"]
    hits = client.get("/suche", params={"q": "Gebühr Bauhof Stunde"}).text
    assert f"/dokumente/{doc_id}?abschnitt=" in hits
    page = client.get(f"/dokumente/{doc_id}")
    assert page.status_code == 200 and "25 Euro je Stunde" in page.text
    original = client.get(f"/dokumente/{doc_id}/original")
    assert original.status_code == 200 and original.content == STATUTE.encode()
    assert "attachment" in original.headers["content-disposition"]
    confirm = client.get(f"/dokumente/{doc_id}/loeschen")
    assert "Endgültig löschen" in confirm.text
    gone = client.post(f"/dokumente/{doc_id}/loeschen", data={"csrf_token": csrf_of(confirm.text)})
    assert gone.status_code == 303
    assert client.get(f"/dokumente/{doc_id}").status_code == 404
    events = [e["event"] for e in rt.audit.entries(None, None) if e["actor"] == name]
    for event in ("job.create", "document.upload", "document.access", "document.download", "document.delete"):
        assert event in events, event


def test_fetch_upload_answers_json_per_file(editor: tuple[TestClient, str, str]) -> None:
    client, _, csrf = editor
    status, body = _upload(client, csrf, [("Bauhof.md", STATUTE.encode())], fetch=True)
    assert status == 202
    import json

    jobs = json.loads(body)["jobs"]
    assert jobs[0]["status"] == "queued" and re.fullmatch(r"[0-9a-f-]{36}", jobs[0]["job_id"])
    status, body = _upload(client, csrf, [("bild.pdf", b"\x89PNG\r\n\x1a\n0000")], fetch=True)
    assert status == 400 and "passt nicht zur Dateiendung" in json.loads(body)["jobs"][0]["message"]


def test_a_reader_cannot_upload_or_delete(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["leser"], ["bauamt"])
    with browser(app) as client:
        csrf = login(client, name, next_url="/dokumente")
        assert 'id="hochladen"' not in client.get("/dokumente").text
        status, page = _upload(client, csrf, [("Bauhof.md", STATUTE.encode())])
        assert status == 403 and "Berechtigung" in page
    with rt.db.admin_connection() as admin:
        assert admin.execute("SELECT count(*) FROM ingest_jobs").fetchone()[0] == 0  # type: ignore[index]


def test_an_editor_may_share_only_with_own_groups(editor: tuple[TestClient, str, str]) -> None:
    client, _, csrf = editor
    status, page = _upload(client, csrf, [("Bauhof.md", STATUTE.encode())], groups=("personal",))
    assert status == 400 and "nur für Gruppen freigeben, denen Sie selbst angehören" in page


def test_oversized_uploads_are_refused_before_reading(rt: Runtime) -> None:
    small = Runtime(settings=rt.settings.model_copy(update={"upload_max_bytes": 2048, "web_worker": False}),
                    db=rt.db)
    name = make_user(rt, ["leser", "redakteur"], ["bauamt"])
    with browser(create_app(small)) as client:
        csrf = login(client, name, next_url="/dokumente")
        status, page = _upload(client, csrf, [("gross.md", b"# Titel\n\n" + b"Text " * 20_000)])
        assert status == 413 and "zu groß" in page
        api = client.post("/api/v1/documents", files=[("files", ("gross.md", b"x" * 100_000))],
                          headers={"X-CSRF-Token": csrf})
        assert api.status_code == 413 and "zu groß" in api.json()["error"]["message"]
        # A form elsewhere is limited to 1 MB.
        huge = client.post("/fragen", data={"csrf_token": csrf, "question": "x" * 1_100_000})
        assert huge.status_code == 413
    with rt.db.admin_connection() as admin:
        assert admin.execute("SELECT count(*) FROM ingest_jobs").fetchone()[0] == 0  # type: ignore[index]


def test_documents_api_upload_jobs_and_delete_with_a_token(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["leser", "redakteur"], ["bauamt"])
    secret, _ = rt.identity.create_token("test", name, ["documents:read", "documents:write", "search"], days=1)
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as client:
        response = client.post("/api/v1/documents", files=[("files", ("Bauhof.md", STATUTE.encode()))],
                               data={"groups": "bauamt", "department": "bauamt"}, headers=auth)
        assert response.status_code == 202, response.text
        job_id = response.json()["jobs"][0]["job_id"]
        assert rt.jobs.run_next("test") == job_id
        job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
        assert job["status"] == "done"
        doc = client.get(f"/api/v1/documents/{job['document_id']}", headers=auth).json()
        assert doc["title"] == "Satzung über die Benutzung des Bauhofs" and doc["passages"]
        assert client.delete(f"/api/v1/documents/{doc['id']}", headers=auth).json()["versions"] == 1
        assert client.get(f"/api/v1/documents/{doc['id']}", headers=auth).status_code == 404
        # Another user's job is invisible.
        other = make_user(rt, ["leser"])
        other_secret, _ = rt.identity.create_token("test", other, ["documents:read"], days=1)
        assert client.get(f"/api/v1/jobs/{job_id}",
                          headers={"Authorization": f"Bearer {other_secret}"}).status_code == 404


def test_admin_manages_users_groups_and_tokens(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(rt, ["leser", "administrator"])
    with browser(app) as client:
        csrf = login(client, admin, next_url="/verwaltung")
        page = client.post("/verwaltung/gruppen", data={"csrf_token": csrf, "name": "jugendamt",
                                                        "description": "Fachdienst Jugend"})
        assert "Gruppe &#39;jugendamt&#39; angelegt." in page.text or "Gruppe 'jugendamt' angelegt." in page.text
        page = client.post("/verwaltung/benutzer", data={"csrf_token": csrf, "name": "Jana.Jung",
                                                         "password": "Jugendhilfe-Planung-2026", "display_name":
                                                         "Jana Jung", "roles": ["leser", "redakteur"],
                                                         "groups": ["jugendamt"]})
        assert page.status_code == 200 and "jana.jung" in page.text
        user = rt.identity.get_user("jana.jung")
        assert set(user.roles) == {"leser", "redakteur"} and user.groups == ("jugendamt",)
        weak = client.post("/verwaltung/benutzer", data={"csrf_token": csrf, "name": "kurt", "password": "kurz"})
        assert weak.status_code == 400 and "Richtlinie" in weak.text
        page = client.post("/verwaltung/tokens", data={"csrf_token": csrf, "user": "jana.jung",
                                                       "scopes": ["search", "ask"], "days": "30", "label": "WebUI"})
        secret = re.search(r'<code id="neues-token">(kw_[^<]+)</code>', page.text)
        assert secret and rt.identity.authenticate_token(secret.group(1), "search").name == "jana.jung"
        token_id = rt.identity.list_tokens("jana.jung")[0].id
        client.post(f"/verwaltung/tokens/{token_id}/widerrufen", data={"csrf_token": csrf})
        assert rt.identity.list_tokens("jana.jung")[0].revoked
        client.post("/verwaltung/benutzer/jana.jung/sperren", data={"csrf_token": csrf, "sperren": "1"})
        assert rt.identity.get_user("jana.jung").disabled
        own = client.post(f"/verwaltung/benutzer/{admin}/sperren", data={"csrf_token": csrf, "sperren": "1"})
        assert own.status_code == 400 and not rt.identity.get_user(admin).disabled
        status = client.get("/verwaltung/status").text
        assert "Datenbank" in status and "ok" in status
        assert "audit_key_file" not in status and "ldap_bind_password" not in status and "llm_api_key" not in status
    with TestClient(app) as api:
        secret, _ = rt.identity.create_token("test", admin, ["admin"], days=1)
        created = api.post("/api/v1/users", json={"name": "paul", "password": "Brief-an-die-Römer-2026",
                                                  "roles": ["leser"]},
                           headers={"Authorization": f"Bearer {secret}"})
        assert created.status_code == 201 and created.json()["name"] == "paul"
        listed = api.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"}).json()["users"]
        assert "paul" in {u["name"] for u in listed}


def test_dsb_verifies_views_with_reason_and_exports(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    dsb = make_user(rt, ["leser", "datenschutz"])
    with browser(app) as client:
        csrf = login(client, dsb, next_url="/datenschutz")
        verified = client.post("/datenschutz/pruefen", data={"csrf_token": csrf})
        assert "Protokoll unversehrt" in verified.text
        no_reason = client.post("/datenschutz/protokoll", data={"csrf_token": csrf, "reason": ""})
        assert no_reason.status_code == 400 and "Anlass" in no_reason.text
        view = client.post("/datenschutz/protokoll", data={"csrf_token": csrf, "reason": "Prüfung Beschwerde 4/26",
                                                           "event": "login.success"})
        assert view.status_code == 200 and "login.success" in view.text
        export = client.post("/datenschutz/export", data={"csrf_token": csrf, "reason": "Jahresprüfung 2026",
                                                          "fmt": "csv"})
        assert export.status_code == 200 and export.text.startswith("id,ts,actor,event")
        info = client.post("/datenschutz/auskunft", data={"csrf_token": csrf, "reason": "Auskunft nach Art. 15",
                                                          "user": dsb})
        assert info.status_code == 200 and info.json()["account"]["name"] == dsb
    reasons = [e["details"].get("reason") for e in rt.audit.entries(None, None)
               if e["event"] in ("audit.view", "audit.export", "dsgvo.export")]
    assert reasons == ["Prüfung Beschwerde 4/26", "Jahresprüfung 2026", "Auskunft nach Art. 15"]


def test_ki_manager_dashboard_shows_aggregates_without_names(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    manager = make_user(rt, ["leser", "ki-manager"])
    for i in range(3):
        asker = make_user(rt, ["leser"], ["ordnungsamt"], prefix=f"frager{i}")
        rt.audit.record_query(asker, "ask", f"Wie lange gilt der Anwohnerparkausweis von Erika Mustermann {i}?",
                              [], {"answered": False, "mode": "extractive"})
    with browser(app) as client:
        login(client, manager, next_url="/auswertung")
        page = client.get("/auswertung")
        assert page.status_code == 200
        assert "<svg" in page.text and "ordnungsamt" in page.text
        assert "frager" not in page.text and "Erika Mustermann" not in page.text
        assert "Anwohnerparkausweis" in page.text  # the knowledge gap, pseudonymised
        export = client.get("/auswertung/wissensluecken.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))
        assert len(rows) >= 2 and "frager" not in export.text
        assert client.get("/auswertung/unbekannt.csv").status_code == 400
        assert client.get("/auswertung", params={"von": "gestern"}).status_code == 400


def test_the_api_docs_list_the_rest_routes_and_no_pages(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/documents", "/api/v1/documents/{document_id}", "/api/v1/jobs", "/api/v1/jobs/{job_id}",
            "/api/v1/feedback", "/api/v1/users", "/api/v1/ask", "/api/v1/search"} <= paths
    assert not [p for p in paths if not p.startswith(("/api/", "/v1/"))]


def test_editor_changes_groups_and_classification_of_a_document(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    from kreiswissen.security.principal import Principal

    editor = make_user(rt, ["leser", "redakteur"], ["bauamt", "ordnungsamt"])
    reader = make_user(rt, ["leser"], ["ordnungsamt"])
    doc = rt.settings.home / "upload-test" / "Bauhof.md"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(STATUTE, encoding="utf-8")
    rt.ingest([doc], rt.identity.principal_for(editor), groups=["bauamt"], department="bauamt")
    doc_id = rt.search("Gebühr Bauhof Stunde", Principal.local_operator()).hits[0].document.id
    assert not rt.search("Gebühr Bauhof Stunde", rt.identity.principal_for(reader)).hits
    with browser(app) as client:
        csrf = login(client, editor, next_url=f"/dokumente/{doc_id}")
        page = client.get(f"/dokumente/{doc_id}").text
        assert "Freigabe und Einstufung ändern" in page
        done = client.post(f"/dokumente/{doc_id}/freigabe", data={
            "csrf_token": csrf, "groups": ["bauamt", "ordnungsamt"], "department": "bauamt",
            "classification": "vertraulich"})
        assert done.status_code == 200 and "Freigabe und Einstufung gespeichert." in done.text
        hits = rt.search("Gebühr Bauhof Stunde", rt.identity.principal_for(reader)).hits
        assert hits and hits[0].document.id == doc_id  # the database now lets the Ordnungsamt read it
        foreign = client.post(f"/dokumente/{doc_id}/freigabe", data={
            "csrf_token": csrf, "groups": ["personal"], "department": "bauamt", "classification": "intern"})
        assert foreign.status_code == 403 and "denen Sie selbst angehören" in foreign.text
        personal = client.post(f"/dokumente/{doc_id}/freigabe", data={
            "csrf_token": csrf, "groups": ["bauamt"], "department": "bauamt", "classification": "personenbezogen"})
        assert personal.status_code == 400 and "erneut hochladen" in personal.text
    with browser(app) as client:
        login(client, reader)
        assert "Freigabe und Einstufung ändern" not in client.get(f"/dokumente/{doc_id}").text
        refused = client.post(f"/dokumente/{doc_id}/freigabe", data={"csrf_token": csrf_of(
            client.get("/fragen").text), "groups": ["alle"], "classification": "intern"})
        assert refused.status_code == 403
    changes = [e["details"] for e in rt.audit.entries(None, None) if e["event"] == "document.change"]
    assert changes[-1]["access_groups"] == ["bauamt", "ordnungsamt"]
    assert changes[-1]["previous"]["access_groups"] == ["bauamt"] and changes[-1]["classification"] == "vertraulich"


def test_access_change_through_the_api(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    from kreiswissen.security.principal import Principal

    editor = make_user(rt, ["leser", "redakteur"], ["bauamt"])
    doc = rt.settings.home / "upload-api" / "Bauhof.md"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(STATUTE, encoding="utf-8")
    rt.ingest([doc], rt.identity.principal_for(editor), groups=["bauamt"], department="bauamt")
    doc_id = rt.search("Gebühr Bauhof Stunde", Principal.local_operator()).hits[0].document.id
    secret, _ = rt.identity.create_token("test", editor, ["documents:write"], days=1)
    with TestClient(app) as client:
        response = client.patch(f"/api/v1/documents/{doc_id}", json={"groups": ["alle"], "classification":
                                                                     "oeffentlich"},
                                headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200, response.text
        assert response.json()["access_groups"] == ["alle"] and response.json()["classification"] == "oeffentlich"
        bad = client.patch(f"/api/v1/documents/{doc_id}", json={"groups": ["alle"], "classification": "geheim"},
                           headers={"Authorization": f"Bearer {secret}"})
        assert bad.status_code == 422


def test_a_cited_pdf_passage_links_to_its_page_in_the_original(rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    from fpdf import FPDF

    from kreiswissen.security.principal import Principal

    pdf = FPDF()
    for text in ("Satzung über die Benutzung des Bauhofs. Allgemeines und Geltungsbereich der Satzung.",
                 "Die Gebühr für die Benutzung des Bauhofs beträgt 25 Euro je Stunde für jede Maschine."):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    path = rt.settings.home / "pdf-test" / "Bauhof.pdf"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(bytes(pdf.output()))
    assert not rt.ingest([path], Principal.local_operator()).failed
    hit = [h for h in rt.search("Gebühr Bauhof Stunde Maschine", Principal.local_operator()).hits
           if h.chunk.page == 2][0]
    name = make_user(rt, ["leser"])
    with browser(app) as client:
        login(client, name)
        page = client.get(f"/dokumente/{hit.document.id}?abschnitt={hit.chunk.id}").text
        link = f"/dokumente/{hit.document.id}/original?ansicht=1#page=2"
        assert f'href="{link}"' in page and "Seite 2" in page
        viewer = client.get(link.split("#")[0])
        assert viewer.status_code == 200 and viewer.headers["content-type"] == "application/pdf"
        assert viewer.headers["content-disposition"].startswith("inline")
        assert viewer.content.startswith(b"%PDF")
