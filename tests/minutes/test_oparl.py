"""OParl 1.1 import against a real HTTP server on loopback (tests/oparl_server.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kreiswissen.errors import BackendUnavailable, InputError, NotFound
from kreiswissen.minutes import oparl
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import SearchFilters
from kreiswissen.security.principal import Principal
from oparl_server import DOCX, PAPERS, OParlServer

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "oparl" / "schema"
# Which schema an embedded object follows, by the property it sits in.
EMBEDDED = {"mainFile": "File", "auxiliaryFile": "File", "resolutionFile": "File", "invitation": "File",
            "resultsProtocol": "File", "verbatimProtocol": "File", "agendaItem": "AgendaItem",
            "consultation": "Consultation"}


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def validate(obj: dict[str, Any]) -> int:
    """Validate an object and every embedded object against the OParl 1.1 schemas; returns how many."""
    kind = obj["type"].rsplit("/", 1)[-1]
    if not (SCHEMAS / f"{kind}.json").exists():
        return 0  # e.g. LegislativeTerm: no schema stored
    jsonschema.validate(obj, _schema(kind))
    count = 1
    for key, value in obj.items():
        if key in EMBEDDED:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    count += validate(item)
    return count


@pytest.fixture
def server() -> Iterator[OParlServer]:
    srv = OParlServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def ort(rt: Runtime) -> Runtime:
    with rt.db.admin_connection() as admin:
        admin.execute("TRUNCATE oparl_sync, oparl_objects")
    return rt


def _sync(rt: Runtime, server: OParlServer) -> oparl.SyncReport:
    return oparl.sync(rt, server.system_url, Principal.local_operator(), timeout_s=10)


def _hit_sources(rt: Runtime, query: str) -> list[str]:
    result = rt.search(query, Principal.local_operator())
    return [h.document.source for h in result.hits]


def test_served_objects_follow_the_oparl_schema(server: OParlServer) -> None:
    import httpx

    checked = 0
    with httpx.Client() as http:
        system = http.get(server.system_url).json()
        checked += validate(system)
        lists = [system["body"]]
        for list_url in lists:
            url: str | None = list_url
            while url:
                page = http.get(url).json()
                jsonschema.validate(page, _schema("ObjectList"))
                for obj in page["data"]:
                    checked += validate(obj)
                    if obj["type"].endswith("/Body"):
                        lists += [obj["paper"], obj["meeting"], obj["organization"], obj["person"]]
                url = page["links"].get("next")
        for path, obj in server.objects.items():
            assert http.get(server.url(path)).json() == obj
            checked += validate(obj)
    assert checked > 40
    # The schemas can fail: a Paper with a 1.0 type, or a File without its accessUrl, is rejected.
    bad = dict(server.objects["paper/1"], type="https://schema.oparl.org/1.0/Paper")
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad_file = {k: v for k, v in server.objects["file/1"].items() if k != "accessUrl"}
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_file)


def test_full_sync_then_incremental(ort: Runtime, server: OParlServer) -> None:
    report = _sync(ort, server)
    assert report.bodies == 1
    assert report.papers == 6 and report.papers_unchanged == 0
    # Seven files exist; the Breitband attachment answers 404 and is reported, not fatal.
    assert report.files_downloaded == 7
    assert report.documents_added == 7
    assert [e.object for e in report.errors] == [server.url("files/anlage-4.pdf")]
    assert "404" in report.errors[0].error
    # Paging: both pages of papers were read.
    assert any("papers?page=2" in r for r in server.requests)

    # Papers are searchable with their text (PDF and DOCX).
    assert any("DS-2025-002" in s for s in _hit_sources(ort, "Kreisumlage 33,5 Prozent"))
    assert any("DS-2025-001" in s for s in _hit_sources(ort, "Radweg K 12 Baukosten"))
    folder = ort.settings.home / "oparl" / "Musterkreis"
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "DS-2025-001_vorlage-1.pdf", "DS-2025-001_anlage-1.pdf", "DS-2025-002_vorlage-2.docx",
        "DS-2025-003_vorlage-3.pdf", "DS-2025-004_vorlage-4.pdf", "DS-2025-005_vorlage-5.docx",
        "DS-2025-006_vorlage-6.pdf"])

    # Metadata of the paper a document came from.
    meta = oparl.paper_for_source(ort, Principal.local_operator(), str((folder / "DS-2025-005_vorlage-5.docx")
                                                                       .resolve()))
    assert meta is not None
    assert (meta["reference"], meta["paper_type"], meta["date"], meta["body"], meta["oparl_url"]) == (
        "DS-2025/005", "Beschlussvorlage", "2025-02-17", "Landkreis Musterkreis", server.url("paper/5"))

    # Meetings and agenda items, with the non-public one marked.
    meetings = oparl.meetings(ort, Principal.local_operator())
    assert [m["name"] for m in meetings] == ["Kreistag – 12. Sitzung",
                                                  "Ausschuss für Umwelt und Abfall – 5. Sitzung"]
    items = [(i["number"], i["public"]) for m in meetings for i in m["agenda_items"]]
    assert items == [("1", True), ("2", True), ("3", True), ("4", False), ("1", True)]
    assert report.meetings == 2 and report.agenda_items == 5
    # The operator-only table is invisible to a clerk.
    assert oparl.meetings(ort, Principal.with_groups(["sitzungsdienst"])) == []

    # Nothing modified: nothing downloaded, nothing re-ingested.
    before = len(server.downloads())
    again = _sync(ort, server)
    assert len(server.downloads()) == before
    assert (again.papers, again.files_downloaded, again.documents_added, again.errors) == (0, 0, 0, [])
    assert any("modified_since=" in r for r in server.requests[-6:])

    # One paper modified: only its files come again; the new text is found, the old file is gone.
    server.modify_paper(2, "Die Kreisumlage für 2025 wird abweichend auf 31,9 Prozent festgesetzt.")
    before = len(server.downloads())
    changed = _sync(ort, server)
    assert [d.rsplit("/", 1)[-1] for d in server.downloads()[before:]] == ["vorlage-2-v2.docx"]
    assert (changed.papers, changed.documents_added, changed.documents_deleted) == (1, 1, 1)
    assert any("vorlage-2-v2" in s for s in _hit_sources(ort, "Kreisumlage 31,9 Prozent"))
    assert not (folder / "DS-2025-002_vorlage-2.docx").exists()

    # One paper deleted on the server: its documents leave the knowledge base.
    server.delete_paper(1)
    deleted = _sync(ort, server)
    assert (deleted.papers_deleted, deleted.documents_deleted) == (1, 2)
    assert not any("DS-2025-001" in s for s in _hit_sources(ort, "Radweg K 12 Baukosten"))
    assert oparl.paper_for_source(ort, Principal.local_operator(),
                                  str((folder / "DS-2025-001_vorlage-1.pdf").resolve())) is None


def test_server_down_gives_a_german_error(ort: Runtime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendUnavailable) as info:
        oparl.sync(ort, f"http://127.0.0.1:{port}/oparl/v1/system", Principal.local_operator(), timeout_s=3)
    assert "OParl-Schnittstelle nicht erreichbar" in info.value.user_message


def test_refuses_other_schemes_and_foreign_hosts(ort: Runtime, server: OParlServer) -> None:
    with pytest.raises(InputError) as info:
        oparl.sync(ort, "file:///etc/passwd", Principal.local_operator())
    assert "http://" in info.value.user_message
    # A list that sends the client to another host is refused for that body, reported, not followed.
    server.objects["body/1"]["paper"] = "http://localhost.invalid/oparl/papers"
    report = _sync(ort, server)
    assert report.papers == 0
    assert any("fremden Server" in e.error for e in report.errors)


def test_only_the_operator_may_sync(ort: Runtime, server: OParlServer) -> None:
    from kreiswissen.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        oparl.sync(ort, server.system_url, Principal.with_groups(["sitzungsdienst"]))


def test_file_names_follow_reference_and_mime_type() -> None:
    paper = {"id": "http://x/paper/1", "reference": "DS 2025/7 ä"}
    assert oparl.file_name(paper, {"fileName": "Vorlage.PDF"}, "application/pdf") == "DS-2025-7-ae_Vorlage.pdf"
    assert oparl.file_name(paper, {"name": "Anlage"}, DOCX) == "DS-2025-7-ae_Anlage.docx"
    assert oparl.file_name({"id": "http://x/paper/9"}, {"fileName": "../../etc/passwd"}, "") == "9_etc-passwd.bin"
    assert len(PAPERS) == 6


MEETING_TRANSCRIPT = """Kreistagsvorsitzende Meyer: Ich eröffne die 12. Sitzung des Kreistages. Wir kommen zu TOP 1.
Kreistagsvorsitzende Meyer: Die Beschlussfähigkeit ist festgestellt. Ich rufe Tagesordnungspunkt 2 auf.
Bernd Müller (SPD): Der Radweg zwischen Musterstadt und Beispieldorf ist überfällig.
Kreistagsvorsitzende Meyer: Wer zustimmt, den bitte ich um das Handzeichen. – Damit ist der Radweg \
einstimmig beschlossen.
Kreistagsvorsitzende Meyer: Ich rufe Tagesordnungspunkt 3 auf.
Kreistagsvorsitzende Meyer: Die Kreisumlage 2025 ist mit 30 Ja-Stimmen, 8 Nein-Stimmen und 2 Enthaltungen beschlossen.
Kreistagsvorsitzende Meyer: Wir kommen zu TOP 4. Ich stelle die Nichtöffentlichkeit fest.
Kreistagsvorsitzende Meyer: Die Besetzung der Amtsleitung ist einstimmig beschlossen.
"""


def test_a_synced_meeting_is_the_agenda_of_a_draft(ort: Runtime, server: OParlServer, tmp_path: Path) -> None:
    _sync(ort, server)
    listed = oparl.list_meetings(ort)
    assert [(m["name"], m["agenda_items"]) for m in listed] == [
        ("Ausschuss für Umwelt und Abfall – 5. Sitzung", 1), ("Kreistag – 12. Sitzung", 4)]
    meeting, entries = oparl.meeting_agenda(ort, server.url("meeting/1"))
    assert meeting["name"] == "Kreistag – 12. Sitzung"
    assert [(e.number, e.public) for e in entries] == [("1", True), ("2", True), ("3", True), ("4", False)]
    assert entries[3].title == "Personalangelegenheit: Besetzung der Amtsleitung Jugendamt"

    transcript = tmp_path / "kreistag-12.txt"
    transcript.write_text(MEETING_TRANSCRIPT, encoding="utf-8")
    clerk = Principal(name="protokoll", groups=frozenset({"alle", "kreistag"}), roles=frozenset({"redakteur"}))
    minutes_id = ort.minutes.create_draft(clerk, transcript, entries, meeting=meeting,
                                          nonpublic_groups=["kreistag"])
    record = ort.minutes.get(clerk, minutes_id)
    items = record["content"]["agenda_items"]
    # Titles and the public flag come from the council information system; the votes from the transcript.
    assert [(i["number"], i["title"], i["public"]) for i in items] == [(e.number, e.title, e.public)
                                                                          for e in entries]
    assert [len(i["votes"]) for i in items] == [0, 1, 1, 1]
    assert items[2]["votes"][0]["counts"] == {"ja": 30, "nein": 8, "enthaltung": 2}
    assert record["title"] == "Kreistag – 12. Sitzung" and record["meeting_date"] == "2025-03-03"
    assert record["events"][0]["details"]["agenda"] == "OParl"

    with pytest.raises(NotFound) as missing:
        oparl.meeting_agenda(ort, server.url("meeting/99"))
    assert "oparl sync" in missing.value.user_message


def test_papers_carry_their_metadata_into_the_knowledge_base(ort: Runtime, server: OParlServer) -> None:
    _sync(ort, server)
    with ort.db.transaction(Principal.local_operator()) as conn:
        rows = conn.execute("SELECT title, doc_type, doc_date, metadata FROM documents WHERE is_current "
                            "AND source LIKE %s ORDER BY source", ("%DS-2025-001%",)).fetchall()
    assert [(r[0], r[1], r[2].isoformat()) for r in rows] == [
        (f"DS-2025/001: {PAPERS[0][3]} – anlage-1.pdf", PAPERS[0][1].casefold(), PAPERS[0][2]),
        (f"DS-2025/001: {PAPERS[0][3]}", PAPERS[0][1].casefold(), PAPERS[0][2])]
    meta = rows[1][3]
    assert (meta["drucksache"], meta["gremium"], meta["oparl_url"]) == ("DS-2025/001", "Landkreis Musterkreis",
                                                                         server.url("paper/1"))
    # The paper type is a search filter, like the type of any other document.
    hits = ort.search("Radweg Baukosten", Principal.local_operator(),
                      filters=SearchFilters(doc_type="Beschlussvorlage")).hits
    assert hits and all(h.document.doc_type == PAPERS[0][1].casefold() for h in hits)
