"""The web pages end to end, in real headless Chromium against the live server over the shared corpus: login,
asking (streamed answer, citation, feedback, follow-up), upload with the ingest status, search, a permission
denial, an administrator creating a user, the KI-Manager's dashboard, the DSB verifying the audit chain.

Every page is checked with axe-core (0 serious or critical WCAG 2.0/2.1 A/AA violations), ask and upload are done
with the keyboard alone, and each test ends with the check that no request left the server, no Content Security
Policy violation was reported and no script failed. The screenshots in ``docs/screenshots/`` come from here.

Only the login tests sign in through the form: the others put a fresh session cookie into their browser context
(the login form is rate-limited per client address, and every browser here comes from 127.0.0.1).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CONTEXT_OPTIONS,
    TIMEOUT_MS,
    BrowserLog,
    assert_accessible,
    focused_element,
    save_screenshot,
    tab_through,
)
from playwright.sync_api import expect

from kreiswissen.ingest.service import get_document
from kreiswissen.runtime import Runtime
from kreiswissen.web.sessions import COOKIE, SessionStore
from web_session import PASSWORD, make_user

QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"
FOLLOW_UP = "Und für einen Kampfhund?"
SLOW_MS = 60_000  # an answer or an ingest job on two shared cores
# Responses the tests ask for on purpose (wrong password, 403, 404) are logged by Chromium as console errors.
_EXPECTED_CONSOLE = re.compile(r"^error: Failed to load resource: the server responded with a status of 40[134] ")


# --- helpers --------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _nothing_leaves_the_server(live_server: str, browser_log: BrowserLog) -> Iterator[None]:
    """After every test (its pages closed): no request to anywhere but the live server, no CSP violation, no
    uncaught script error, no console error but the HTTP errors the tests provoke."""
    yield
    assert browser_log.foreign_requests(live_server) == [], "requests left the server"
    assert not [m for m in browser_log.console if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert browser_log.page_errors == []
    assert [m for m in browser_log.console if m.startswith("error:") and not _EXPECTED_CONSOLE.match(m)] == []


def user(rt: Runtime, roles: list[str], groups: list[str] | None = None) -> str:
    return make_user(rt, roles, groups, prefix="e2e")


def sign_in(page: Any, live_server: str, rt: Runtime, name: str) -> None:
    """A session for ``name``, as the login form would create it, in the page's browser context."""
    secret = SessionStore(rt.db, rt.settings).create(rt.identity.get_user(name))
    page.context.add_cookies([{"name": COOKIE, "value": secret, "url": live_server, "httpOnly": True,
                               "sameSite": "Lax"}])


def assert_focus_visible(stop: dict[str, Any] | None) -> None:
    assert stop is not None, "the focus left the page"
    assert stop["visible"] and (stop["outline"] or stop["box_shadow"]), f"no visible focus indicator: {stop}"


def tab_to(page: Any, matches: Any, max_steps: int = 40) -> list[dict[str, Any]]:
    """Presses Tab until the focused element satisfies ``matches``; every stop on the way must show its focus.
    Returns the stops (the last one matched)."""
    stops = []
    for _ in range(max_steps):
        page.keyboard.press("Tab")
        stop = focused_element(page)
        assert_focus_visible(stop)
        stops.append(stop)
        if matches(stop):
            return stops
    raise AssertionError(f"not reached by Tab in {max_steps} steps: {[(s['tag'], s['text']) for s in stops]}")


def statute(tmp_path: Path, tag: str) -> Path:
    path = tmp_path / f"bauhof-{tag}.md"
    path.write_text(f"---\ntitel: Satzung über den Verleih von Absperrbaken {tag}\n---\n\n# Bauhofsatzung\n\n"
                    f"## § 1 Verleih\n\nDer Bauhof verleiht Absperrbaken {tag} an Vereine gegen eine Gebühr von "
                    "12,50 Euro je Tag.\n", encoding="utf-8")
    return path


def remove_uploads(rt: Runtime, name: str) -> None:
    """Deletes what ``name`` uploaded: the shared corpus stays as the later tests expect it."""
    principal = rt.identity.get_user(name).principal()
    for job in rt.jobs.status(principal):
        if job.get("document_id"):
            try:
                doc = get_document(rt.db, principal, str(job["document_id"]))
            except Exception:  # noqa: BLE001 - already deleted (by the test itself)
                continue
            rt.delete(doc["source"], principal)


def answer_articles(page: Any) -> Any:
    return page.locator("#gespraech article.antwort")


# --- login ----------------------------------------------------------------------------------------------------


def test_login_through_the_form(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    name = user(corpus_rt, ["leser"])
    page.goto(f"{live_server}/fragen")
    expect(page).to_have_url(f"{live_server}/anmelden?next=/fragen")  # no session: sent to the login
    expect(page.get_by_role("heading", name="Anmelden", level=1)).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    assert_accessible(page)
    save_screenshot(page, "anmelden")

    page.get_by_label("Benutzername").fill(name)
    page.get_by_label("Passwort").fill("falsch-falsch-falsch")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/anmelden")) as refused:
        page.get_by_role("button", name="Anmelden").click()
    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("Anmeldung fehlgeschlagen")
    expect(page.get_by_label("Benutzername")).to_have_value(name)
    expect(page.get_by_label("Benutzername")).to_have_attribute("aria-describedby", "anmeldefehler")
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    assert_accessible(page)

    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{live_server}/fragen")
    expect(page.get_by_role("heading", name="Fragen", level=1)).to_be_visible()
    expect(page.locator(".angemeldet")).to_have_text(f"Angemeldet als {name}")
    cookie = [c for c in page.context.cookies() if c["name"] == COOKIE][0]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    assert_accessible(page)  # the empty ask page

    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(f"{live_server}/anmelden?abgemeldet=1")
    expect(page.get_by_role("status")).to_have_text("Sie wurden abgemeldet.")


# --- ask -------------------------------------------------------------------------------------------------------


def test_ask_open_a_citation_give_feedback_and_follow_up(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    sign_in(page, live_server, corpus_rt, user(corpus_rt, ["leser"], ["bauamt"]))
    page.goto(f"{live_server}/fragen")
    page.evaluate("() => { window.kwSamePage = true; }")
    page.get_by_label("Ihre Frage").fill(QUESTION)
    page.get_by_role("button", name="Frage stellen").click()

    answer = answer_articles(page).first
    expect(answer).to_be_visible(timeout=SLOW_MS)
    assert page.evaluate("() => window.kwSamePage === true"), "the answer came by reloading, not streamed"
    expect(answer.get_by_role("heading", level=2)).to_be_focused()  # screen readers land on the new answer
    expect(answer.locator(".etikett")).to_contain_text("Wörtliche Auszüge")  # no language model configured
    expect(answer.locator(".antworttext")).to_contain_text("330,00 €")  # the second dog in Bad Boll
    sources = answer.locator("ol.quellen a")
    expect(sources.first).to_contain_text("Bad Boll")
    expect(page).to_have_url(re.compile(r"/fragen\?gespraech=[0-9a-f-]{36}$"))
    expect(page.get_by_label("Folgefrage")).to_be_visible()
    assert_accessible(page)  # with an answer
    save_screenshot(page, "fragen")

    href = sources.first.get_attribute("href")
    cited = re.fullmatch(r"/dokumente/([0-9a-f-]{36})\?abschnitt=(\d+)#abschnitt-(\d+)", href or "")
    assert cited and cited.group(2) == cited.group(3), href
    sources.first.click()
    expect(page).to_have_url(f"{live_server}{href}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bad Boll")
    marked = page.locator("section.passage.markiert")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("id", f"abschnitt-{cited.group(2)}")
    expect(marked).to_contain_text("330,00")
    expect(marked).to_be_in_viewport()
    assert page.evaluate("() => window.scrollY") > 0  # the passage is not at the top: the page scrolled to it
    assert_accessible(page)  # a document with the cited passage marked
    save_screenshot(page, "dokument", full_page=False)  # the viewport, scrolled to the marked passage

    page.go_back()
    expect(page).to_have_url(re.compile(r"/fragen\?gespraech="))
    answer = answer_articles(page).first
    feedback = answer.locator("form.bewertung")
    comment = f"Der Betrag für Kampfhunde fehlt {uuid.uuid4().hex[:8]}"
    feedback.get_by_label("Kommentar").fill(comment)
    feedback.get_by_role("button", name="Nicht hilfreich").click()
    expect(answer.get_by_role("status")).to_have_text("Vielen Dank für Ihre Bewertung.")
    expect(answer.locator("form.bewertung")).to_have_count(0)
    with corpus_rt.db.admin_connection() as admin:
        stored = admin.execute("SELECT rating, mode FROM feedback WHERE comment = %s", (comment,)).fetchall()
    assert stored == [(-1, "extractive")]

    page.get_by_label("Folgefrage").fill(FOLLOW_UP)
    page.get_by_role("button", name="Frage stellen").click()
    expect(answer_articles(page)).to_have_count(2, timeout=SLOW_MS)
    second = answer_articles(page).nth(1)
    expect(second.get_by_role("heading", level=2)).to_contain_text(FOLLOW_UP)
    expect(second).to_contain_text("Verstanden als")  # resolved with the conversation's first question
    expect(second.locator(".antworttext")).to_contain_text("900,00 €")
    expect(second.locator("ol.quellen a").first).to_contain_text("Bad Boll")
    assert_accessible(page)

    # The conversation is in the history and can be deleted (after the confirmation).
    history = page.locator(".verlauf li")
    expect(history).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    history.get_by_role("button", name=re.compile("löschen")).click()
    expect(page).to_have_url(f"{live_server}/fragen")
    expect(page.locator(".seitenspalte")).to_contain_text("Noch keine Unterhaltungen.")


def test_search_with_a_filter_and_the_hints(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    sign_in(page, live_server, corpus_rt, user(corpus_rt, ["leser"], ["bauamt"]))
    page.goto(f"{live_server}/suche")
    assert_accessible(page)
    page.get_by_label("Suchbegriffe").fill("Hundesteuer zweiter Hund")
    page.get_by_label("Gemeinde").select_option("Bad Boll")
    page.get_by_role("button", name="Suchen").click()
    expect(page).to_have_url(re.compile(r"/suche\?q=Hundesteuer\+zweiter\+Hund&.*gemeinde=Bad\+Boll"))
    hits = page.locator("ol.treffer > li")
    expect(hits.first).to_be_visible()
    titles = hits.locator("h3").all_inner_texts()
    assert titles and all("Bad Boll" in t for t in titles), titles
    expect(hits.first.locator("mark").first).to_be_visible()
    assert_accessible(page)  # with results
    save_screenshot(page, "suche")

    hits.first.get_by_role("link").click()
    expect(page.locator("section.passage.markiert")).to_have_count(1)
    expect(page.locator("section.passage.markiert mark").first).to_be_visible()  # the search words highlighted
    assert_accessible(page)

    page.get_by_role("link", name="Hinweise zur Nutzung und zum Datenschutz").click()
    expect(page.get_by_role("heading", name="Hinweise zur Nutzung", level=1)).to_be_visible()
    assert_accessible(page)


# --- upload ----------------------------------------------------------------------------------------------------


def test_upload_shows_the_ingest_status_then_search_finds_the_document(page: Any, live_server: str,
                                                                       corpus_rt: Runtime, tmp_path: Path) -> None:
    editor = user(corpus_rt, ["redakteur"], ["bauamt"])
    tag = uuid.uuid4().hex[:8]
    good = statute(tmp_path, tag)
    broken = tmp_path / f"kaputt-{tag}.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog\n")
    sign_in(page, live_server, corpus_rt, editor)
    try:
        page.goto(f"{live_server}/dokumente")
        form = page.locator("#hochladen")
        form.locator("#dateien").set_input_files([good, broken])
        form.get_by_label("bauamt", exact=True).check()
        form.get_by_label("Fachdienst (zuständig)").select_option("bauamt")
        form.get_by_role("button", name="Hochladen").click()

        jobs = page.locator("#auftraege tbody")
        good_row = jobs.locator("tr", has_text=good.name)
        broken_row = jobs.locator("tr", has_text=broken.name)
        expect(good_row).to_have_count(1)
        expect(broken_row).to_have_count(1)
        # The app's own worker thread ingests; the page polls /api/v1/jobs.
        expect(good_row.locator("td").nth(1)).to_have_text("fertig", timeout=SLOW_MS)
        expect(broken_row.locator("td").nth(1)).to_have_text("fehlgeschlagen", timeout=SLOW_MS)
        expect(broken_row.locator("td").nth(2)).to_contain_text(f"Datei '{broken.name}': beschädigt")
        expect(page).to_have_url(f"{live_server}/dokumente")  # all of it without leaving the page
        assert_accessible(page)

        page.reload()  # the server's view of the same jobs, with a link to the new document
        expect(jobs.locator("tr", has_text=good.name).locator("td.status-done")).to_have_text("fertig")
        expect(jobs.locator("tr", has_text=broken.name).locator("td.status-failed")).to_have_text("fehlgeschlagen")
        assert_accessible(page)  # the library as a Redakteur: upload form, jobs
        save_screenshot(page, "dokumente")

        jobs.locator("tr", has_text=good.name).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Satzung über den Verleih von Absperrbaken {tag}")
        expect(page.locator("dl.merkmale")).to_contain_text("bauamt")

        page.goto(f"{live_server}/suche")
        page.get_by_label("Suchbegriffe").fill(f"Absperrbaken {tag}")
        page.get_by_role("button", name="Suchen").click()
        hit = page.locator("ol.treffer > li", has_text=tag)
        expect(hit.first).to_be_visible()
        expect(hit.first.locator("h3")).to_have_text(f"Satzung über den Verleih von Absperrbaken {tag}")

        # And away again, through the confirmation page.
        hit.first.get_by_role("link").click()
        page.get_by_role("link", name="Löschen …").click()
        expect(page.get_by_role("heading", name="Dokument löschen?", level=1)).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Endgültig löschen").click()
        expect(page).to_have_url(f"{live_server}/dokumente?geloescht=1")
        expect(page.get_by_role("status")).to_have_text("Das Dokument wurde gelöscht.")
        page.goto(f"{live_server}/suche?q=Absperrbaken+{tag}")
        expect(page.locator("ol.treffer > li", has_text=tag)).to_have_count(0)
    finally:
        remove_uploads(corpus_rt, editor)


# --- roles ------------------------------------------------------------------------------------------------------


def test_a_leser_is_refused_administration_and_upload(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    sign_in(page, live_server, corpus_rt, user(corpus_rt, ["leser"], ["bauamt"]))
    page.goto(f"{live_server}/fragen")
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link")).to_have_text(["Fragen", "Suche", "Dokumente", "Vorgänge"])

    for path in ("/verwaltung", "/verwaltung/status", "/verwaltung/leistungen", "/auswertung", "/datenschutz"):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Keine Berechtigung")
        expect(page.get_by_role("alert")).to_contain_text("fehlt Ihnen die Berechtigung")
        expect(nav.get_by_role("link", name="Verwaltung")).to_have_count(0)
    assert_accessible(page)  # the 403 page

    page.goto(f"{live_server}/dokumente")
    expect(page.get_by_role("heading", name="Dokumente", level=1)).to_be_visible()
    expect(page.locator("#hochladen")).to_have_count(0)
    expect(page.get_by_text("Dokumente hochladen")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Gehaltsliste")  # for the group "personal" only
    assert_accessible(page)

    with corpus_rt.db.admin_connection() as admin:
        secret = admin.execute("SELECT id FROM documents WHERE title LIKE '%Gehaltsliste%'").fetchone()[0]
    for path in (f"/dokumente/{secret}", f"/dokumente/{secret}/loeschen", "/gibt-es-nicht"):
        response = page.goto(f"{live_server}{path}")
        assert response is not None, path
        if path.endswith("/loeschen"):
            assert response.status == 403, path  # deleting needs the Redakteur role before anything is looked up
        else:
            assert response.status == 404, path  # a document one may not read does not exist for one
            expect(page.get_by_role("heading", level=1)).to_have_text("Nicht gefunden")
    expect(page.locator("main")).not_to_contain_text("98.765")
    assert_accessible(page)  # the 404 page


def test_admin_creates_a_user_who_can_then_log_in(page: Any, live_server: str, corpus_rt: Runtime, browser: Any,
                                                  browser_log: BrowserLog) -> None:
    sign_in(page, live_server, corpus_rt, user(corpus_rt, ["administrator"], ["bauamt"]))
    page.goto(f"{live_server}/verwaltung")
    assert_accessible(page)
    new = f"e2e-neu-{uuid.uuid4().hex[:8]}"
    form = page.locator("form[action='/verwaltung/benutzer']")
    form.get_by_label("Benutzername").fill(new)
    form.get_by_label("Anzeigename").fill("Erika Neu")
    form.get_by_label("Anfangspasswort").fill(PASSWORD)
    form.get_by_label("Redakteur/in").check()
    form.get_by_label("bauamt", exact=True).check()
    form.get_by_role("button", name="Benutzer anlegen").click()
    expect(page.get_by_role("status")).to_have_text(f"Benutzer '{new}' angelegt.")
    row = page.locator("section[aria-labelledby='benutzer-titel'] tbody tr", has_text=new)
    expect(row.locator("input[name=roles][value=redakteur]")).to_be_checked()
    expect(row.locator("input[name=roles][value=leser]")).to_be_checked()
    expect(row.locator("input[name=groups][value=bauamt]")).to_be_checked()
    assert_accessible(page)  # with the confirmation
    save_screenshot(page, "verwaltung", full_page=False)  # the top: the confirmation, the first users

    page.get_by_role("link", name="Systemstatus und Einstellungen").click()
    expect(page.get_by_role("heading", name="Systemstatus", level=1)).to_be_visible()
    assert_accessible(page)

    # The new user, in a browser of their own, through the login form.
    context = browser.new_context(**CONTEXT_OPTIONS)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        other = context.new_page()
        browser_log.attach(other)
        other.goto(f"{live_server}/anmelden")
        other.get_by_label("Benutzername").fill(new)
        other.get_by_label("Passwort").fill(PASSWORD)
        other.get_by_role("button", name="Anmelden").click()
        expect(other).to_have_url(f"{live_server}/fragen")
        expect(other.locator(".angemeldet")).to_have_text("Angemeldet als Erika Neu")
        nav = other.get_by_role("navigation", name="Hauptnavigation")
        # a Redakteurin also writes minutes
        expect(nav.get_by_role("link")).to_have_text(["Fragen", "Suche", "Dokumente", "Vorgänge", "Niederschriften"])
        other.goto(f"{live_server}/dokumente")
        expect(other.locator("#hochladen")).to_be_visible()  # a Redakteur
        expect(other.locator("#hochladen").get_by_label("bauamt", exact=True)).to_be_visible()
    finally:
        context.close()


MINUTES_VOTE = "Der Beschlussvorschlag ist mit 31 Ja-Stimmen, 4 Nein-Stimmen und 2 Enthaltungen angenommen."
MINUTES_TRANSCRIPT = f"""Kreistag Musterkreis – 12. Sitzung

Beginn: 17.00 Uhr
Anwesend: Anna Schulz, Bernd Müller, Dieter Weiß

Kreistagsvorsitzende Meyer: Ich eröffne die Sitzung.

TOP 1: Neubau der Kreisstraße K 12

Bernd Müller (SPD): Der Ausbau der K 12 kostet nach der Vorlage 2,4 Mio. € und entlastet die Ortsdurchfahrt von \
Großenkneten erheblich, weil der Schwerlastverkehr künftig über die neue Trasse geführt wird.
Kreistagsvorsitzende Meyer: Wer dem Beschlussvorschlag zustimmt, den bitte ich um das Handzeichen. – {MINUTES_VOTE}

TOP 2: Grundstücksangelegenheit

Anna Schulz (CDU): Der Verkaufspreis für das Flurstück 47/3 liegt über dem Bodenrichtwert.
Kreistagsvorsitzende Meyer: Der Verkauf des Flurstücks 47/3 ist einstimmig angenommen.

(Schluss der Sitzung: 19.42 Uhr)
"""


def test_minutes_upload_review_beside_the_transcript_and_delete(page: Any, live_server: str, corpus_rt: Runtime,
                                                                tmp_path: Path) -> None:
    clerk = user(corpus_rt, ["redakteur"], ["kreistag"])
    transcript = tmp_path / "kreistag-12.txt"
    transcript.write_text(MINUTES_TRANSCRIPT, encoding="utf-8")
    sign_in(page, live_server, corpus_rt, clerk)
    page.goto(f"{live_server}/niederschriften")
    form = page.locator("#niederschrift-neu")
    form.get_by_label("Aufnahme oder Wortprotokoll").set_input_files(transcript)
    form.get_by_label("oder Tagesordnung einfügen").fill("TOP 1: Neubau der Kreisstraße K 12\n"
                                                          "TOP 2: Verkauf eines Grundstücks (nichtöffentlich)")
    form.get_by_label("kreistag", exact=True).check()
    form.get_by_role("button", name="Entwurf erstellen").click()
    row = page.locator("#auftraege tbody tr", has_text="kreistag-12.txt")
    # The app's own worker makes the draft; the page polls the job and links the draft when it is done.
    expect(row.locator("td").nth(1)).to_have_text("fertig", timeout=SLOW_MS)
    assert_accessible(page)
    save_screenshot(page, "niederschriften", full_page=False)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kreistag Musterkreis – 12. Sitzung")  # its first line
    expect(page.get_by_role("heading", name="TOP 2: Verkauf eines Grundstücks nichtöffentlich")).to_be_visible()
    vote = page.locator(".abstimmung").first
    expect(vote.locator("blockquote")).to_have_text(MINUTES_VOTE)
    assert_accessible(page)
    save_screenshot(page, "niederschrift-pruefen", full_page=False)
    # The vote's link scrolls the transcript to its segment, which is marked as the target.
    vote.get_by_role("link").click()
    target = page.locator(".wortprotokoll .segment:target")
    expect(target).to_contain_text(MINUTES_VOTE)
    expect(target).to_be_in_viewport()
    # An edit: the place, saved through the form.
    page.get_by_label("Ort", exact=True).fill("Kreishaus, Sitzungssaal 1")
    page.get_by_role("button", name="Änderungen speichern").click()
    expect(page.get_by_role("status")).to_have_text("1 Änderung(en) gespeichert.")
    expect(page.get_by_label("Ort", exact=True)).to_have_value("Kreishaus, Sitzungssaal 1")
    page.get_by_role("link", name="Genehmigen …").click()
    expect(page.get_by_role("heading", name="Niederschrift genehmigen?", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Abbrechen").click()
    page.get_by_role("link", name="Löschen …").click()
    assert_accessible(page)
    page.get_by_role("button", name="Endgültig löschen").click()
    expect(page).to_have_url(f"{live_server}/niederschriften?geloescht=1")
    expect(page.get_by_role("status")).to_have_text("Der Entwurf wurde gelöscht.")


CASE_REQUEST = ("Guten Tag,\n\nwir haben seit letzter Woche einen Hund aus dem Tierheim. Wie melde ich ihn zur "
                "Hundesteuer an?\n\nViele Grüße\nDaniel Kurz")


def test_cases_queue_draft_copy_and_accept(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    from kreiswissen.cases.catalogue import read_catalogue, store_catalogue
    from kreiswissen.security.principal import Principal

    catalogue = read_catalogue(Path(__file__).resolve().parents[2] / "samples" / "leistungen" / "leistungskatalog.yaml")
    # A part of the sample (taxes, vehicles, waste) keeps the first routing's embedding work small.
    catalogue.services = {k: v for k, v in catalogue.services.items()
                          if k in ("hundesteuer", "kfz-zulassung", "kfz-abmeldung", "sperrmuell", "abfall-termine")}
    store_catalogue(corpus_rt.db, Principal.local_operator(), catalogue)
    clerk = user(corpus_rt, ["leser"], [catalogue.services["hundesteuer"].unit])
    corpus_rt.cases.router(Principal.local_operator())  # the catalogue's vectors into the shared embedding cache
    try:
        sign_in(page, live_server, corpus_rt, clerk)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        page.goto(f"{live_server}/vorgaenge")
        expect(page.get_by_role("heading", name="Vorgänge", level=1)).to_be_visible()
        form = page.locator("#vorgang-neu")
        form.get_by_label("Betreff").fill("Hund anmelden")
        form.get_by_label("Text der Anfrage").fill(CASE_REQUEST)
        # The first routing embeds the catalogue (tens of seconds on two cores): no navigation wait of 15 s.
        form.get_by_role("button", name="Erfassen und zuordnen").click(no_wait_after=True)
        expect(page.get_by_role("heading", name="Hund anmelden", level=1)).to_be_visible(timeout=SLOW_MS)
        expect(page.locator("#zuordnung-titel + p")).to_contain_text("Hundesteuer")
        page.get_by_role("button", name="Entwurf erstellen").click(no_wait_after=True)
        answer = page.get_by_label(re.compile("^Text"))
        expect(answer).to_have_value(re.compile("^Guten Tag Daniel Kurz,"), timeout=SLOW_MS)
        assert_accessible(page)
        save_screenshot(page, "vorgang", full_page=False)
        page.get_by_role("button", name="In die Zwischenablage").click()
        expect(page.locator("#kopier-status")).to_have_text("In die Zwischenablage kopiert.")
        assert page.evaluate("navigator.clipboard.readText()").startswith("Guten Tag Daniel Kurz,")
        page.get_by_role("button", name="Annehmen").click()
        expect(page.get_by_role("status").first).to_contain_text("Kreiswissen versendet nichts")
        expect(page.locator("#verlauf-titel + ol")).to_contain_text("kopiert")
        page.goto(f"{live_server}/vorgaenge?status=alle")
        expect(page.locator("#vorgaenge")).to_contain_text("Hund anmelden")
        assert_accessible(page)
        save_screenshot(page, "vorgaenge", full_page=False)
    finally:
        with corpus_rt.db.admin_connection() as admin:
            admin.execute("TRUNCATE cases, case_events, case_import_failures, services, service_units, catalogue_meta "
                          "CASCADE")


def test_dsb_verifies_the_audit_chain_and_views_entries(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    dsb = user(corpus_rt, ["datenschutz"])
    sign_in(page, live_server, corpus_rt, dsb)
    page.goto(f"{live_server}/datenschutz")
    expect(page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Datenschutz")
           ).to_have_attribute("aria-current", "page")
    assert_accessible(page)

    page.get_by_role("button", name="Kette prüfen").click()
    result = page.locator("#pruefergebnis")
    expect(result).to_contain_text("Protokoll unversehrt")
    expect(result).to_have_attribute("role", "status")
    checked = re.search(r"(\d+) Einträge geprüft", result.inner_text())
    assert checked and int(checked.group(1)) > 0
    assert_accessible(page)
    save_screenshot(page, "datenschutz")

    # Viewing the log needs a stated reason: the browser refuses the form without one.
    view = page.locator("form[action='/datenschutz/protokoll']")
    view.get_by_label("Benutzer (optional)").fill(dsb)
    view.get_by_role("button", name="Einträge anzeigen").click()
    assert view.get_by_label("Anlass der Einsicht (Pflicht)").evaluate("el => el.validity.valueMissing")
    expect(page).to_have_url(f"{live_server}/datenschutz/pruefen")
    view.get_by_label("Anlass der Einsicht (Pflicht)").fill("Prüfung Beschwerde vom 12.03.2026")
    view.get_by_role("button", name="Einträge anzeigen").click()
    expect(page).to_have_url(f"{live_server}/datenschutz/protokoll")
    # The second look shows the first one: each view is logged with its reason.
    view = page.locator("form[action='/datenschutz/protokoll']")
    view.get_by_role("button", name="Einträge anzeigen").click()
    entries = page.get_by_role("table", name="Protokolleinträge")
    first_view = entries.locator("tbody tr", has_text="audit.view")
    expect(first_view).to_have_count(1)
    expect(first_view).to_contain_text("reason: Prüfung Beschwerde vom 12.03.2026")
    assert_accessible(page)  # with audit entries


def test_ki_manager_dashboard_shows_the_usage(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    from kreiswissen.admin.usage import record_eval_run, record_feedback

    clerk = corpus_rt.identity.get_user(user(corpus_rt, ["leser"], ["bauamt"])).principal()
    corpus_rt.search("Räumpflicht Gehweg Schnee", clerk)
    answered = corpus_rt.ask_in_conversation(QUESTION, clerk, None)
    corpus_rt.ask_in_conversation("Wann ist die Kfz-Zulassungsstelle samstags geöffnet?", clerk, None)
    comment = f"Kampfhunde fehlen {uuid.uuid4().hex[:8]}"
    record_feedback(corpus_rt.db, corpus_rt.audit, clerk, QUESTION, answered.mode, -1, comment,
                    [c.document.id for c in answered.citations])
    manager = user(corpus_rt, ["ki-manager"])
    for accuracy in (0.75, 0.85):
        record_eval_run(corpus_rt.db, corpus_rt.identity.get_user(manager).principal(), "extractive", 20,
                        {"decision_accuracy": accuracy, "citation_precision": 0.9, "contains_expected": 0.7,
                         "unsupported_rate": 0.05})

    sign_in(page, live_server, corpus_rt, manager)
    page.goto(f"{live_server}/auswertung")
    expect(page.get_by_role("heading", name="Auswertung für das KI-Management", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Fragen (beantwortet, abgelehnt) und Suchen je Tag")).to_be_visible()
    expect(page.get_by_role("img", name="Antwortqualität je Auswertungslauf")).to_be_visible()
    feedback = page.locator("section[aria-labelledby='feedback-titel'] tbody")
    expect(feedback.locator("tr", has_text=comment)).to_contain_text("nicht hilfreich")
    gaps = page.locator("section[aria-labelledby='luecken-titel'] tbody")
    expect(gaps).not_to_contain_text("Keine offenen Fragen")
    expect(page.locator("section[aria-labelledby='dokumente-titel'] tbody a").first).to_be_visible()
    assert_accessible(page)  # charts and tables with content
    save_screenshot(page, "auswertung")

    csv_link = page.get_by_role("link", name="Bewertungen")
    response = page.context.request.get(f"{live_server}{csv_link.get_attribute('href')}")
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    assert comment in response.text()


# --- keyboard only ---------------------------------------------------------------------------------------------


def test_keyboard_only_ask_and_open_a_source(page: Any, live_server: str, corpus_rt: Runtime) -> None:
    sign_in(page, live_server, corpus_rt, user(corpus_rt, ["leser"], ["bauamt"]))
    page.goto(f"{live_server}/fragen")
    stops = tab_through(page)
    for stop in stops:
        assert_focus_visible(stop)
    assert (stops[0]["href"], stops[0]["text"]) == ("#inhalt", "Zum Inhalt springen")
    assert [s["id"] for s in stops if s["id"] in ("frage", "fragen-knopf")] == ["frage", "fragen-knopf"]

    # From the top: the skip link first, Enter jumps into the main content.
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    assert focused_element(page)["href"] == "#inhalt"  # type: ignore[index]
    page.keyboard.press("Enter")
    expect(page.locator("main#inhalt")).to_be_focused()
    tab_to(page, lambda s: s["id"] == "frage")
    page.keyboard.type(QUESTION)
    tab_to(page, lambda s: s["id"] == "fragen-knopf")
    page.keyboard.press("Enter")
    expect(answer_articles(page)).to_have_count(1, timeout=SLOW_MS)
    expect(answer_articles(page).first.get_by_role("heading", level=2)).to_be_focused()

    # A follow-up from the answer: on to the question field, sent with Ctrl+Enter (app.js).
    tab_to(page, lambda s: s["id"] == "frage")
    page.keyboard.type(FOLLOW_UP)
    page.keyboard.press("Control+Enter")
    expect(answer_articles(page)).to_have_count(2, timeout=SLOW_MS)
    second = answer_articles(page).nth(1)
    expect(second.get_by_role("heading", level=2)).to_be_focused()

    source = tab_to(page, lambda s: (s["href"] or "").startswith("/dokumente/"))[-1]
    expect(second.locator("ol.quellen a").first).to_be_focused()  # the answer's first source
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}{source['href']}")
    expect(page.locator("section.passage.markiert")).to_be_in_viewport()


def test_keyboard_only_upload(page: Any, live_server: str, corpus_rt: Runtime, tmp_path: Path) -> None:
    editor = user(corpus_rt, ["redakteur"], ["bauamt"])
    good = statute(tmp_path, uuid.uuid4().hex[:8])
    sign_in(page, live_server, corpus_rt, editor)
    try:
        page.goto(f"{live_server}/dokumente")
        tab_to(page, lambda s: s["id"] == "dateien")
        # A native file dialog cannot be driven: the files go into the focused input directly.
        page.locator(":focus").set_input_files(good)
        tab_to(page, lambda s: s["name"] == "groups" and s["text"] == "bauamt", max_steps=1)
        page.keyboard.press("Space")
        expect(page.locator("#hochladen input[name=groups][value=bauamt]")).to_be_checked()
        tab_to(page, lambda s: s["tag"] == "button" and s["text"] == "Hochladen", max_steps=5)
        page.keyboard.press("Enter")
        row = page.locator("#auftraege tbody tr", has_text=good.name)
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(1)).to_have_text("fertig", timeout=SLOW_MS)
        principal = corpus_rt.identity.get_user(editor).principal()
        job = [j for j in corpus_rt.jobs.status(principal) if j["file_name"] == good.name][0]
        assert get_document(corpus_rt.db, principal, str(job["document_id"]))["access_groups"] == ["bauamt"]
    finally:
        remove_uploads(corpus_rt, editor)
