"""Niederschriften in the browser: upload (a job), the review page with the draft beside the transcript and
every item linked to its place, edits that never touch votes, generated summaries, approval into the knowledge
base (non-public TOPs only for the entitled group), exports and deletion; owner-only access."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from kreiswissen.models.generator import ChatMessage
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web import create_app
from scripted_generator import ScriptedGenerator, source_number
from web_session import browser, login, make_user

VOTE = ("Der Beschlussvorschlag zum Ausbau der Kreisstraße ist mit 32 Ja-Stimmen, 5 Nein-Stimmen und "
        "2 Enthaltungen angenommen.")
SECRET_VOTE = "Der Verkauf des Flurstücks 47/3 an die Gemeinde Großenkneten ist einstimmig angenommen."
SECRET_SPEECH = "Der Verkaufspreis für das Flurstück 47/3 liegt mit 85 Euro je Quadratmeter über dem Bodenrichtwert."
MUELLER = ("Der Ausbau der K 12 kostet nach der Vorlage 2,4 Mio. € und entlastet die Ortsdurchfahrt von "
           "Großenkneten erheblich, weil der Schwerlastverkehr künftig über die neue Trasse am Gewerbegebiet "
           "Nord geführt wird und die Anwohner der Hauptstraße damit spürbar weniger Lärm ertragen müssen.")
WEISS = ("Die Kosten von 2,4 Mio. € sind im Haushalt 2027 nur gedeckt, wenn der Radweg an der Kreisstraße in das "
         "Jahr 2028 verschoben wird; das muss die Verwaltung im Bauausschuss noch einmal darstellen.")
TRANSCRIPT = f"""Kreistag Musterkreis – 12. Sitzung

Beginn: 17.00 Uhr
Anwesend: Anna Schulz, Bernd Müller, Dieter Weiß
Entschuldigt: Egon Krüger

Kreistagsvorsitzende Meyer: Ich eröffne die Sitzung.

TOP 1: Neubau der Kreisstraße K 12

Kreistagsvorsitzende Meyer: Das Wort hat Herr Müller.
Bernd Müller (SPD): {MUELLER}
Dieter Weiß (FDP): {WEISS}
Kreistagsvorsitzende Meyer: Wer dem Beschlussvorschlag zustimmt, den bitte ich um das Handzeichen. – {VOTE}

TOP 2: Grundstücksangelegenheit Gemarkung Ahlhorn

Anna Schulz (CDU): {SECRET_SPEECH}
Kreistagsvorsitzende Meyer: {SECRET_VOTE}

(Schluss der Sitzung: 19.42 Uhr)
"""
AGENDA = "TOP 1: Neubau der Kreisstraße K 12\nTOP 2: Verkauf eines Grundstücks (nichtöffentlich)\n"


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    quiet = Runtime(settings=rt.settings.model_copy(update={"web_worker": False}), db=rt.db)
    return create_app(quiet)


@pytest.fixture
def clerk(rt: Runtime, app) -> Iterator[tuple[TestClient, str, str]]:  # type: ignore[no-untyped-def]
    name = make_user(rt, ["leser", "redakteur"], ["kreistag"], prefix="protokoll")
    with browser(app) as client:
        yield client, name, login(client, name, next_url="/niederschriften")


def _create(rt: Runtime, client: TestClient, csrf: str, *, agenda: str = AGENDA,
            groups: tuple[str, ...] = ("kreistag",), transcript: str = TRANSCRIPT) -> str:
    response = client.post("/niederschriften/neu", data={"csrf_token": csrf, "agenda_text": agenda,
                                                         "nonpublic_groups": list(groups)},
                           files={"file": ("kreistag-12.txt", transcript.encode("utf-8"))})
    assert response.status_code == 202, response.text
    assert "kreistag-12.txt" in response.text and "wartet" in response.text
    assert rt.jobs.run_next("test") is not None
    page = client.get("/niederschriften").text
    found = re.search(r'href="/niederschriften/([0-9a-f-]{36})">Entwurf der Niederschrift angelegt', page)
    assert found, page
    return found.group(1)


def _segment(page: str, segment_id: str) -> str:
    match = re.search(rf'<p id="{segment_id}"[^>]*>(.*?)</p>', page, re.S)
    assert match, f"no transcript segment {segment_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_upload_makes_a_draft_whose_items_link_to_the_transcript(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, name, csrf = clerk
    minutes_id = _create(rt, client, csrf)
    page = client.get(f"/niederschriften/{minutes_id}").text
    # The draft: agenda titles from the pasted agenda, TOP 2 non-public, the vote verbatim in a quotation.
    assert "TOP 1: Neubau der Kreisstraße K 12" in page
    assert re.search(r"TOP 2: Verkauf eines Grundstücks <span class=\"marke-np\">nichtöffentlich", page)
    assert f"<blockquote>{VOTE}</blockquote>" in page and f"<blockquote>{SECRET_VOTE}</blockquote>" in page
    # Every link of a vote points at a transcript segment that holds its text; the item's call links to the
    # heading; the summary sentence of Müller links to his contribution.
    links = re.findall(r'<div class="abstimmung">.*?href="#(z\d+)"', page, re.S)
    assert len(links) == 2
    assert VOTE in _segment(page, links[0]) and SECRET_VOTE in _segment(page, links[1])
    call = re.search(r'href="#(z\d+)">Aufruf im Wortprotokoll \(Zeile (\d+)\)', page)
    assert call and "Neubau der Kreisstraße K 12" in _segment(page, call.group(1))
    assert TRANSCRIPT.splitlines()[int(call.group(2)) - 1].startswith("TOP 1")
    summary_link = re.search(r"entlastet die Ortsdurchfahrt[^<]*<a href=\"#(z\d+)\"", html.unescape(page))
    assert summary_link and "Bernd Müller" in _segment(page, summary_link.group(1))
    assert "Auszug aus dem Wortprotokoll" in page
    # The transcript column: a focusable, labelled region with the speakers and line numbers.
    assert '<section class="wortprotokoll" aria-labelledby="wortprotokoll-titel" tabindex="0">' in page
    assert "Zeile 12</span> <strong>Bernd Müller (SPD):</strong>" in page
    # The job row in the overview links the draft; the draft is listed as the clerk's.
    overview = client.get("/niederschriften").text
    assert f'href="/niederschriften/{minutes_id}"' in overview and "Entwurf" in overview
    record = rt.minutes.get(Principal(name=name, groups=frozenset({"alle"})), minutes_id)
    assert record["source_file"] == "kreistag-12.txt" and record["nonpublic_groups"] == ["kreistag"]


def test_edits_change_header_titles_and_summaries_but_never_votes(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, name, csrf = clerk
    minutes_id = _create(rt, client, csrf)
    owner = Principal(name=name, groups=frozenset({"alle", "kreistag"}))
    before = rt.minutes.get(owner, minutes_id)["content"]
    form = {"csrf_token": csrf, "place": "Kreishaus Wildeshausen, Sitzungssaal", "date": "2026-11-19",
            "chair": before["header"]["chair"] or "", "present": "Anna Schulz\nBernd Müller\nDieter Weiß\nNeu Person",
            "absent_excused": "Egon Krüger", "absent_unexcused": "",
            "top.@0.title": "Neubau der K 12 (Vorlage 2026/117)", "top.@0.public": "ja",
            "top.@0.summary": "Herr Müller begründete den Ausbau mit der Entlastung der Ortsdurchfahrt.",
            "top.@1.title": before["agenda_items"][1]["title"],
            "top.@1.summary": " ".join(s["text"] for s in before["agenda_items"][1]["summary"]),
            # A crafted field for the vote text is ignored: only known fields are read.
            "top.@0.votes.0.text": "Der Antrag ist abgelehnt."}
    response = client.post(f"/niederschriften/{minutes_id}", data=form)
    assert response.status_code == 200 and "5 Änderung(en) gespeichert." in response.text, response.text
    record = rt.minutes.get(owner, minutes_id)
    content = record["content"]
    assert record["status"] == "bearbeitet"
    assert content["header"]["place"] == "Kreishaus Wildeshausen, Sitzungssaal"
    assert content["header"]["date"] == "2026-11-19" and record["meeting_date"] == "2026-11-19"
    assert content["attendance"]["present"][-1] == "Neu Person"
    item = content["agenda_items"][0]
    assert item["title"] == "Neubau der K 12 (Vorlage 2026/117)" and item["summary_mode"] == "edited"
    assert item["votes"] == before["agenda_items"][0]["votes"] and item["votes"][0]["text"] == VOTE
    assert content["agenda_items"][1]["public"] is False  # unchanged: still non-public
    assert "Von der Protokollführung bearbeitet" in response.text
    assert [e["action"] for e in record["events"]] == ["create", "edit"]
    # Saving the same form again changes nothing.
    form.pop("top.@0.votes.0.text")
    again = client.post(f"/niederschriften/{minutes_id}", data={**form, "top.@0.summary": item["summary"][0]["text"]})
    assert "Keine Änderungen." in again.text
    # Without the CSRF token nothing is saved.
    assert client.post(f"/niederschriften/{minutes_id}", data={"place": "Anderswo"}).status_code == 403
    assert rt.minutes.get(owner, minutes_id)["content"]["header"]["place"].startswith("Kreishaus")


def test_drafts_are_the_owners_only_and_readers_have_no_minutes_pages(rt: Runtime, app, clerk) -> None:  # type: ignore[no-untyped-def]
    client, _, csrf = clerk
    minutes_id = _create(rt, client, csrf)
    other = make_user(rt, ["leser", "redakteur"], ["kreistag"], prefix="andere")
    with browser(app) as second:
        other_csrf = login(second, other, next_url="/niederschriften")
        for url in (f"/niederschriften/{minutes_id}", f"/niederschriften/{minutes_id}/export/pdf",
                    f"/niederschriften/{minutes_id}/genehmigen"):
            assert second.get(url).status_code == 404, url
        assert second.post(f"/niederschriften/{minutes_id}/loeschen",
                           data={"csrf_token": other_csrf}).status_code == 404
        assert "Noch keine Niederschriften." in second.get("/niederschriften").text
    reader = make_user(rt, ["leser"], ["kreistag"], prefix="leser")
    with browser(app) as third:
        login(third, reader, next_url="/fragen")
        assert third.get("/niederschriften").status_code == 403
        assert 'href="/niederschriften"' not in third.get("/fragen").text  # no menu entry
    assert 'href="/niederschriften"' in client.get("/fragen").text


def test_exports_and_approval_keep_non_public_items_to_the_entitled(rt: Runtime, app, clerk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, name, csrf = clerk
    minutes_id = _create(rt, client, csrf)
    full = client.get(f"/niederschriften/{minutes_id}/export/docx")
    assert full.status_code == 200 and full.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(full.content)).paragraphs)
    assert "Verkauf eines Grundstücks" in text and VOTE in text and "ENTWURF" in text
    public_pdf = client.get(f"/niederschriften/{minutes_id}/export/pdf?oeffentlich=1")
    assert public_pdf.status_code == 200 and public_pdf.content.startswith(b"%PDF")
    (tmp_path / "o.pdf").write_bytes(public_pdf.content)
    pdf = subprocess.run(["pdftotext", str(tmp_path / "o.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    assert "Neubau der Kreisstraße" in pdf and "47/3" not in pdf and "Grundstück" not in pdf
    assert client.get(f"/niederschriften/{minutes_id}/export/rtf").status_code == 400
    confirm = client.get(f"/niederschriften/{minutes_id}/genehmigen").text
    assert "1 nichtöffentliche TOP(s) nur für kreistag" in confirm
    approved = client.post(f"/niederschriften/{minutes_id}/genehmigen", data={"csrf_token": csrf})
    assert approved.status_code == 200 and "nichtöffentlichen nur für kreistag" in approved.text
    assert "Änderungen speichern" not in approved.text  # read-only once approved
    assert client.post(f"/niederschriften/{minutes_id}", data={"csrf_token": csrf, "place": "x"}).status_code == 409
    member = Principal(name="mitglied", groups=frozenset({"alle", "kreistag"}))
    public = Principal(name="buerger", groups=frozenset({"alle"}))
    assert "47/3" in "\n".join(h.chunk.text for h in rt.search("Verkauf Flurstück 47/3", member).hits)
    assert "47/3" not in "\n".join(h.chunk.text for h in rt.search("Verkauf Flurstück 47/3", public).hits)
    events = [e["action"] for e in rt.minutes.get(member.__class__(name=name, groups=frozenset({"alle"})),
                                                   minutes_id)["events"]]
    assert events == ["create", "export", "export", "approve"]


def test_delete_removes_the_draft_after_confirmation(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, name, csrf = clerk
    minutes_id = _create(rt, client, csrf)
    assert "Endgültig löschen" in client.get(f"/niederschriften/{minutes_id}/loeschen").text
    response = client.post(f"/niederschriften/{minutes_id}/loeschen", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/niederschriften?geloescht=1"
    assert client.get(f"/niederschriften/{minutes_id}").status_code == 404
    with rt.db.transaction(Principal.local_operator()) as conn:
        audit = conn.execute("SELECT details FROM audit_log WHERE event = 'minutes.delete'").fetchall()
    assert [json.loads(a[0])["minutes"] for a in audit] == [minutes_id]


def test_bad_uploads_and_agendas_get_german_errors_and_store_nothing(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, _, csrf = clerk
    cases = [
        ({"file": ("programm.exe", b"MZ\x90\x00")}, {}, "erwartet wird eine Aufnahme"),
        ({"file": ("sitzung.mp3", b"%PDF-1.7 kein Ton")}, {}, "passt nicht zur Dateiendung"),
        ({"file": ("sitzung.vtt", b"\x89PNG\r\n\x1a\n" + bytes(200))}, {}, "erkannt: PNG"),
        ({"file": ("leer.txt", b"")}, {}, "ist leer"),
        ({"file": ("k.txt", TRANSCRIPT.encode())}, {"agenda_text": "Begrüßung und Sonstiges"}, "keine Punkte gefunden"),
        ({"file": ("k.txt", TRANSCRIPT.encode()), "agenda_file": ("to.txt", AGENDA.encode())},
         {"agenda_text": AGENDA}, "nur eine Tagesordnung"),
        ({"file": ("k.txt", TRANSCRIPT.encode())}, {"oparl_meeting": "https://ris.example/oparl/meeting/9"},
         "nicht bekannt"),
    ]
    for files, data, message in cases:
        response = client.post("/niederschriften/neu", data={"csrf_token": csrf, **data}, files=files)
        assert response.status_code in (400, 404, 415), (files, response.status_code)
        assert message in html.unescape(response.text), (message, response.text[-2000:])
    assert rt.jobs.run_next("test") is None  # nothing was queued


def test_a_transcript_the_reader_cannot_parse_fails_its_job_with_a_reason(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, _, csrf = clerk
    response = client.post("/niederschriften/neu", data={"csrf_token": csrf},
                           files={"file": ("kaputt.docx", b"PK\x03\x04 kein echtes Word-Dokument")})
    assert response.status_code == 202
    assert rt.jobs.run_next("test") is not None
    job = [j for j in client.get("/api/v1/jobs").json()["jobs"] if j["file_name"] == "kaputt.docx"][0]
    assert job["status"] == "failed" and job["kind"] == "minutes" and job["minutes_id"] is None
    assert "kaputt.docx" in job["message"] or "Word" in job["message"], job["message"]
    assert "kaputt.docx" in client.get("/niederschriften").text


def test_generated_summaries_are_checked_labelled_and_linked(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, name, csrf = clerk

    def reply(messages: list[ChatMessage]) -> str:
        n, m = source_number(messages, "Ortsdurchfahrt"), source_number(messages, "Radweg")
        return (f"Herr Müller (SPD) begründete den Ausbau der K 12 mit der Entlastung der Ortsdurchfahrt von "
                f"Großenkneten vom Schwerlastverkehr [{n}]. Herr Weiß (FDP) wies darauf hin, dass die Kosten von "
                f"2,4 Mio. € nur gedeckt sind, wenn der Radweg in das Jahr 2028 verschoben wird [{m}]. "
                f"Die Kosten steigen auf 9 Mio. € [{n}].")

    minutes_id = _create(rt, client, csrf)
    generating = Runtime(settings=rt.settings.model_copy(update={"web_worker": False,
                                                                 "llm_base_url": "http://127.0.0.1:9/v1",
                                                                 "llm_model": "scripted"}), db=rt.db)
    scripted = ScriptedGenerator(reply)
    generating.__dict__["generator"] = scripted
    generating.__dict__["embedder"] = rt.embedder
    with browser(create_app(generating)) as second:
        csrf2 = login(second, name, next_url=f"/niederschriften/{minutes_id}")
        page = second.get(f"/niederschriften/{minutes_id}").text
        assert "KI-Zusammenfassung für diesen TOP erzeugen" in page
        response = second.post(f"/niederschriften/{minutes_id}/zusammenfassung",
                               data={"csrf_token": csrf2, "top": "1"})
    assert response.status_code == 200, response.text
    assert "KI-Zusammenfassung erzeugt für: TOP 1. Bitte prüfen." in response.text
    prompt = scripted.calls[0][-1].content
    assert MUELLER[:40] in prompt and "Handzeichen" not in prompt  # members' words, not the chair's procedure
    owner = Principal(name=name, groups=frozenset({"alle"}))
    item = rt.minutes.get(owner, minutes_id)["content"]["agenda_items"][0]
    assert item["summary_mode"] == "generated"
    texts = [s["text"] for s in item["summary"]]
    assert len(texts) == 2 and not any("9 Mio" in t for t in texts)  # the invented figure is dropped
    assert [s["source"]["line"] for s in item["summary"]] == [12, 13]  # Müller's turn, then Weiß's
    assert "KI-generiert – bitte prüfen" in response.text
    assert item["votes"][0]["text"] == VOTE  # votes untouched
    segments = rt.minutes.transcript_segments(owner, minutes_id)
    assert segments[item["summary"][0]["source"]["segment"]]["speaker"] == "Bernd Müller (SPD)"


def test_an_outcome_read_from_its_place_is_marked_for_checking(rt: Runtime, clerk) -> None:  # type: ignore[no-untyped-def]
    client, _, csrf = clerk
    inferred = "Damit geht der Auftrag an die Firma Krenz aus Ahlhorn."
    transcript = TRANSCRIPT.replace(f"– {VOTE}", f"– Gegenstimmen? – Keine. {inferred}")
    minutes_id = _create(rt, client, csrf, transcript=transcript)
    page = client.get(f"/niederschriften/{minutes_id}").text
    block = re.search(r'<div class="abstimmung">(.*?)</div>', page, re.S)
    assert block and inferred in html.unescape(block.group(1))
    assert "Ergebnis erschlossen – bitte prüfen" in block.group(1)
    # the stated result of TOP 2 carries no such mark
    assert page.count("Ergebnis erschlossen") == 1
