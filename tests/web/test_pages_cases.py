"""Vorgänge in the browser: each unit's queue (row-level security), drafting, editing, copying (audited),
DOCX export, accept / discard / reopen, re-routing to another unit, recording a request, the checklist."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from kreiswissen.cases.blocks import read_blocks, store_blocks
from kreiswissen.cases.catalogue import read_catalogue, store_catalogue
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web import create_app
from web_session import browser, login, make_user

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cases"
SAMPLE = ROOT / "samples" / "leistungen"


@pytest.fixture
def setup(rt: Runtime, tmp_path: Path) -> dict[str, str]:
    op = Principal.local_operator()
    catalogue = read_catalogue(SAMPLE / "leistungskatalog.yaml")
    store_catalogue(rt.db, op, catalogue)
    store_blocks(rt.db, op, read_blocks(SAMPLE / "textbausteine.yaml", set(catalogue.services)))
    inbox = tmp_path / "eingang"
    inbox.mkdir()
    for name in ("05-iso-8859-1-hundesteuer.eml", "03-multipart-alternative-kfz-abmeldung.eml"):
        (inbox / name).write_bytes((FIXTURES / name).read_bytes())
    report = rt.cases.import_folder(op, inbox)
    ids = {c["service"]: c["id"] for c in report.imported}
    return {"dog": ids["hundesteuer"], "car": ids["kfz-abmeldung"],
            "tax_unit": catalogue.services["hundesteuer"].unit, "car_unit": catalogue.services["kfz-abmeldung"].unit}


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    return create_app(Runtime(settings=rt.settings.model_copy(update={"web_worker": False}), db=rt.db))


@pytest.fixture
def tax_clerk(rt: Runtime, app, setup) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["leser"], [setup["tax_unit"]], prefix="steuer")
    with browser(app) as client:
        yield client, login(client, name, next_url="/vorgaenge")


def _textarea(html: str) -> str:
    match = re.search(r'<textarea id="antwort"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, html[:2000]
    return match.group(1)


def test_a_unit_sees_its_own_queue_and_not_another_units_requests(tax_clerk, setup) -> None:  # type: ignore[no-untyped-def]
    client, _ = tax_clerk
    page = client.get("/vorgaenge")
    assert page.status_code == 200
    assert "Hundesteuer Anmeldung" in page.text and "Abmeldung Golf" not in page.text
    assert 'href="/vorgaenge"' in page.text and "Vorgänge" in page.text  # in the navigation
    assert client.get(f"/vorgaenge/{setup['car']}").status_code == 404
    assert client.get(f"/vorgaenge/{setup['dog']}").status_code == 200


def test_draft_edit_copy_export_and_accept(tax_clerk, setup, rt: Runtime) -> None:  # type: ignore[no-untyped-def]
    client, csrf = tax_clerk
    cid = setup["dog"]
    page = client.get(f"/vorgaenge/{cid}")
    assert "Entwurf erstellen" in page.text and 'id="antwort"' not in page.text
    assert client.post(f"/vorgaenge/{cid}/entwurf", data={}).status_code == 403  # no CSRF token
    drafted = client.post(f"/vorgaenge/{cid}/entwurf", data={"csrf_token": csrf})
    assert drafted.status_code == 200
    text = _textarea(drafted.text)
    assert text.startswith("Guten Tag Daniel Kurz,") and "steueramt@beispielheim.example" in text
    assert "Passende Textbausteine" in drafted.text and "Leistungskatalog" in drafted.text
    edited = text.replace("Guten Tag Daniel Kurz,", "Guten Tag Herr Kurz,")
    saved = client.post(f"/vorgaenge/{cid}", data={"csrf_token": csrf, "draft": edited})
    assert "Gespeichert." in saved.text and _textarea(saved.text).startswith("Guten Tag Herr Kurz,")
    assert client.post(f"/vorgaenge/{cid}/kopiert", headers={"x-csrf-token": csrf}).status_code == 204
    exported = client.get(f"/vorgaenge/{cid}/antwort.docx")
    assert exported.status_code == 200
    paragraphs = [p.text for p in docx.Document(io.BytesIO(exported.content)).paragraphs]
    assert any("Guten Tag Herr Kurz," in p for p in paragraphs)
    accepted = client.post(f"/vorgaenge/{cid}/annehmen", data={"csrf_token": csrf})
    assert "Kreiswissen versendet nichts" in accepted.text and "readonly" in accepted.text
    refused = client.post(f"/vorgaenge/{cid}", data={"csrf_token": csrf, "draft": "anders"})
    assert refused.status_code == 400 and "bereits angenommen" in refused.text
    assert _textarea(refused.text) == "anders"  # what the clerk typed is not lost
    reopened = client.post(f"/vorgaenge/{cid}/oeffnen", data={"csrf_token": csrf})
    assert "Wieder geöffnet." in reopened.text
    case = rt.cases.store.get(Principal.local_operator(), cid)
    assert [e["action"] for e in case["events"]] == ["import", "draft", "edit", "copy", "export", "accept", "reopen"]
    assert case["status"] == "bearbeitet"


def test_rerouting_hands_the_request_to_the_other_unit(tax_clerk, setup, rt: Runtime, app) -> None:  # type: ignore[no-untyped-def]
    client, csrf = tax_clerk
    moved = client.post(f"/vorgaenge/{setup['dog']}/umleiten", data={"csrf_token": csrf,
                                                                     "leistung": "kfz-abmeldung"})
    assert moved.status_code == 200 and "in deren Arbeitsliste" in moved.text
    assert client.get(f"/vorgaenge/{setup['dog']}").status_code == 404
    car_clerk = make_user(rt, ["leser"], [setup["car_unit"]], prefix="kfz")
    with browser(app) as other:
        login(other, car_clerk, next_url="/vorgaenge")
        queue = other.get("/vorgaenge").text
        assert "Hundesteuer Anmeldung" in queue and "Abmeldung Golf" in queue


def test_recording_a_request_routes_it_and_says_where_it_went(tax_clerk) -> None:  # type: ignore[no-untyped-def]
    client, csrf = tax_clerk
    empty = client.post("/vorgaenge/neu", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 400 and "Bitte den Text der Anfrage einfügen" in empty.text
    elsewhere = client.post("/vorgaenge/neu", data={"csrf_token": csrf, "subject": "Führerschein verloren",
                                                    "text": "Ich habe meinen Führerschein verloren. Wie bekomme ich "
                                                            "einen Ersatzführerschein?"})
    assert elsewhere.status_code == 201 and "liegt in deren Arbeitsliste" in elsewhere.text
    own = client.post("/vorgaenge/neu", data={"csrf_token": csrf, "subject": "Hund",
                                              "text": "Wir haben einen Hund aus dem Tierheim. Wie melde ich ihn zur "
                                                      "Hundesteuer an?"})
    assert own.status_code == 303 and own.headers["location"].startswith("/vorgaenge/")
    page = client.get(own.headers["location"])
    assert "Hundesteuer" in page.text and "Erfasst" not in page.text


def test_checklist_page_lists_sources(tax_clerk, setup) -> None:  # type: ignore[no-untyped-def]
    client, _ = tax_clerk
    page = client.get(f"/vorgaenge/{setup['dog']}/checkliste")
    assert page.status_code == 200
    assert "Checkliste: Hundesteuer" in page.text and "Quelle: Leistungskatalog" in page.text
    assert "Anmeldeformular mit Angaben zum Hund" in page.text


def test_roles_without_the_queue_are_refused_and_a_reader_without_unit_sees_nothing(rt: Runtime, app, setup) -> None:  # type: ignore[no-untyped-def]
    manager = make_user(rt, ["ki-manager"], prefix="kim")
    with browser(app) as client:
        login(client, manager, next_url="/auswertung")
        assert client.get("/vorgaenge").status_code == 403
    reader = make_user(rt, ["leser"], prefix="leser")
    with browser(app) as client:
        login(client, reader, next_url="/vorgaenge")
        page = client.get("/vorgaenge")
        assert page.status_code == 200 and "Keine Vorgänge." in page.text
        assert client.get(f"/vorgaenge/{setup['dog']}").status_code == 404


# -- the catalogue and text blocks in the administration -------------------------------------------------------
@pytest.fixture
def admin(rt: Runtime, app, setup) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["administrator"], prefix="admin")
    with browser(app) as client:
        yield client, login(client, name, next_url="/verwaltung/leistungen")


def test_admin_edits_a_service_and_routing_uses_it_at_once(admin, rt: Runtime) -> None:  # type: ignore[no-untyped-def]
    client, csrf = admin
    page = client.get("/verwaltung/leistungen")
    assert page.status_code == 200 and "Leistungen (77)" in page.text
    form = client.get("/verwaltung/leistungen/leistung/hundesteuer").text
    assert 'value="hundesteuer"' in form and "readonly" in form
    op = Principal.local_operator()
    before = rt.cases.catalogue(op).services["hundesteuer"]
    data = {"csrf_token": csrf, "id": "hundesteuer", "name": before.name, "unit": before.unit, "level": before.level,
            "group": before.group, "synonyms": "\n".join([*before.synonyms, "Vierbeinerabgabe Quokka"]),
            "description": before.description, "legal_bases": "\n".join(before.legal_bases),
            "documents": "\n".join(before.documents), "fees": before.fees, "deadlines": before.deadlines,
            "online": "1"}
    saved = client.post("/verwaltung/leistungen/leistung", data=data)
    assert saved.status_code == 303
    after = rt.cases.catalogue(op).services["hundesteuer"]
    assert after.synonyms[-1] == "Vierbeinerabgabe Quokka" and after.documents == before.documents
    assert rt.cases.route_text(op, "Wo zahle ich die Vierbeinerabgabe für meinen Quokka?")["service"] == "hundesteuer"
    bad = client.post("/verwaltung/leistungen/leistung", data={**data, "unit": "gibt-es-nicht"})
    assert bad.status_code == 400 and "ist nicht im Katalog" in bad.text
    duplicate = client.post("/verwaltung/leistungen/leistung", data={**data, "neu": "1"})
    assert duplicate.status_code == 400 and "doppelt" in duplicate.text
    with rt.db.admin_connection() as conn:
        events = conn.execute("SELECT details FROM audit_log WHERE event = 'cases.catalogue'").fetchall()
    assert any('"hundesteuer"' in str(e[0]) for e in events)


def test_admin_adds_a_unit_and_a_text_block_which_drafts_then_suggest(admin, rt: Runtime, setup) -> None:  # type: ignore[no-untyped-def]
    client, csrf = admin
    unit = client.post("/verwaltung/leistungen/stelle", data={"csrf_token": csrf, "neu": "1", "id": "buergerbuero-2",
                                                              "name": "Bürgerbüro Nord", "email": "nord@example.org"})
    assert unit.status_code == 303
    assert rt.cases.catalogue(Principal.local_operator()).units["buergerbuero-2"].email == "nord@example.org"
    block = {"csrf_token": csrf, "neu": "1", "id": "hund-tierheim", "title": "Hund aus dem Tierheim",
             "kind": "sachinformation", "services": "hundesteuer",
             "text": "Für Hunde aus dem Tierheim gilt {{stelle}} als Ansprechstelle; Frist: {{frist}}."}
    assert client.post("/verwaltung/leistungen/baustein", data=block).status_code == 303
    wrong = client.post("/verwaltung/leistungen/baustein", data={**block, "id": "x2", "services": "mondlandung"})
    assert wrong.status_code == 400 and "mondlandung" in wrong.text
    draft = rt.cases.draft(Principal.local_operator(), setup["dog"], generate=False)
    mine = next(b for b in draft.blocks if b["id"] == "hund-tierheim")
    assert "Gemeindekasse" in mine["text"] and mine["missing"] == ["frist"]
    listing = client.get("/verwaltung/leistungen").text
    assert "Hund aus dem Tierheim" in listing and "Bürgerbüro Nord" in listing


def test_a_clerk_cannot_open_the_catalogue_administration(tax_clerk) -> None:  # type: ignore[no-untyped-def]
    client, _ = tax_clerk
    assert client.get("/verwaltung/leistungen").status_code == 403
