"""Stored Niederschriften: draft (Bundestag XML, Kreistag transcript with an agenda), edit (votes stay
verbatim), owner-only visibility, approval into the knowledge base with non-public TOPs only for the entitled
group, exports without non-public TOPs for the public, and the ``kreiswissen minutes`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from odf import teletype
from odf.opendocument import load as load_odt
from odf.text import P

from kreiswissen.errors import InputError, NotFound, PermissionDenied
from kreiswissen.minutes.store import parse_agenda
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "tests" / "fixtures" / "transcripts" / "bt_01-143_1951-05-23_excerpt.xml"
PUBLIC_DECISION = ("Der Beschlussvorschlag zum Ausbau der Kreisstraße ist mit 32 Ja-Stimmen, 5 Nein-Stimmen und "
                   "2 Enthaltungen angenommen.")
SECRET_DECISION = "Der Verkauf des Flurstücks 47/3 an die Gemeinde Großenkneten ist einstimmig angenommen."
SECRET_SPEECH = ("Der Verkaufspreis für das Flurstück 47/3 liegt mit 85 Euro je Quadratmeter deutlich über dem "
                 "Bodenrichtwert der Gemeinde Ahlhorn.")
MUELLER = ("Der Ausbau der K 12 kostet nach der Vorlage 2,4 Mio. € und entlastet die Ortsdurchfahrt von "
           "Großenkneten erheblich. Wir stimmen zu.")
TRANSCRIPT = f"""Kreistag Musterkreis – 12. Sitzung

Beginn: 17.00 Uhr
Anwesend: Anna Schulz, Bernd Müller, Carla Öztürk und Dieter Weiß
Entschuldigt: Egon Krüger

Kreistagsvorsitzende Meyer: Guten Abend, ich eröffne die Sitzung und begrüße Sie alle herzlich.

TOP 1: Neubau der Kreisstraße K 12

Kreistagsvorsitzende Meyer: Das Wort hat Herr Müller.
Bernd Müller (SPD): {MUELLER}
Kreistagsvorsitzende Meyer: Wer dem Beschlussvorschlag zustimmt, den bitte ich um das Handzeichen. – {PUBLIC_DECISION}

TOP 2: Grundstücksangelegenheit Gemarkung Ahlhorn

Anna Schulz (CDU): {SECRET_SPEECH}
Kreistagsvorsitzende Meyer: {SECRET_DECISION}

(Schluss der Sitzung: 19.42 Uhr)
"""
AGENDA = "Tagesordnung\n\nTOP 1: Neubau der Kreisstraße K 12\nTOP 2: Verkauf eines Grundstücks (nichtöffentlich)\n"
SECRET_MARKERS = ("47/3", "Quadratmeter", "Verkauf eines Grundstücks")

CLERK = Principal(name="protokoll", groups=frozenset({"alle", "kreistag"}), roles=frozenset({"leser", "redakteur"}))
PUBLIC = Principal(name="buerger", groups=frozenset({"alle"}), roles=frozenset({"leser"}))
MEMBER = Principal(name="mitglied", groups=frozenset({"alle", "kreistag"}), roles=frozenset({"leser"}))


@pytest.fixture
def session_files(tmp_path: Path) -> tuple[Path, Path]:
    transcript, agenda = tmp_path / "kreistag.txt", tmp_path / "tagesordnung.txt"
    transcript.write_text(TRANSCRIPT, encoding="utf-8")
    agenda.write_text(AGENDA, encoding="utf-8")
    return transcript, agenda


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def found(rt: Runtime, principal: Principal, query: str) -> str:
    return "\n".join(hit.chunk.text for hit in rt.search(query, principal).hits)


def test_agenda_lines() -> None:
    entries = parse_agenda(["Tagesordnung", "TOP 1: Eröffnung", "2. Haushalt 2027", "TOP 3 a – Bauvorhaben",
                            "4) Personalangelegenheit – nicht öffentlich", "Sonstiges ohne Nummer"])
    assert [(e.number, e.title, e.public) for e in entries] == [
        ("1", "Eröffnung", True), ("2", "Haushalt 2027", True), ("3a", "Bauvorhaben", True),
        ("4", "Personalangelegenheit", False)]


def test_draft_from_bundestag_xml_has_the_json_contract(rt: Runtime) -> None:
    minutes_id = rt.minutes.create_draft(CLERK, XML)
    record = rt.minutes.get(CLERK, minutes_id)
    assert record["status"] == "entwurf" and record["source_file"] == XML.name and len(record["source_sha256"]) == 64
    items = record["content"]["agenda_items"]
    assert items and all({"number", "title", "public", "votes", "decisions"} <= set(i) for i in items)
    votes = [v for i in items for v in i["votes"]]
    assert votes and all(v["outcome"] in ("angenommen", "abgelehnt", "überwiesen", "zurückgezogen", "vertagt",
                                          "abgesetzt", "unentschieden", "offen") for v in votes)
    assert all(v["text"] and "segment" in v["source"] for v in votes)
    assert record["events"][0]["action"] == "create"


def test_review_approve_ingest_and_export(rt: Runtime, session_files: tuple[Path, Path], tmp_path: Path) -> None:
    transcript, agenda = session_files
    minutes_id = rt.minutes.create_draft(CLERK, transcript, agenda)
    items = rt.minutes.get(CLERK, minutes_id)["content"]["agenda_items"]
    assert [(i["number"], i["title"], i["public"]) for i in items] == [
        ("1", "Neubau der Kreisstraße K 12", True), ("2", "Verkauf eines Grundstücks", False)]
    assert items[0]["votes"][0]["counts"] == {"ja": 32, "nein": 5, "enthaltung": 2}
    assert items[1]["decisions"] == [SECRET_DECISION]

    # Verbatim vote results and decisions cannot be edited; other fields can, and the history shows it.
    for key in ("top.1.votes", "top.2.decisions", "decisions"):
        with pytest.raises(PermissionDenied) as refused:
            rt.minutes.edit(CLERK, minutes_id, {key: "Der Antrag ist abgelehnt."})
        assert "wörtlich" in refused.value.user_message
    rt.minutes.edit(CLERK, minutes_id, {"place": "Kreishaus, Sitzungssaal", "minute_taker": "Frau Protokoll",
                                        "top.1.title": "Ausbau der Kreisstraße K 12"})
    record = rt.minutes.get(CLERK, minutes_id)
    assert record["status"] == "bearbeitet" and record["content"]["header"]["place"] == "Kreishaus, Sitzungssaal"
    assert record["content"]["agenda_items"][0]["votes"][0]["text"] == PUBLIC_DECISION
    assert [e["action"] for e in record["events"]] == ["create", "edit"]
    assert record["events"][1]["details"]["changes"]["place"] == [None, "Kreishaus, Sitzungssaal"]

    # Drafts are their owner's: another user neither lists nor reads nor approves them.
    assert rt.minutes.list(MEMBER) == []
    for attempt in (lambda: rt.minutes.get(MEMBER, minutes_id), lambda: rt.minutes.approve(MEMBER, minutes_id)):
        with pytest.raises(NotFound):
            attempt()

    result = rt.minutes.approve(CLERK, minutes_id)
    assert result["nonpublic_groups"] == ["kreistag"] and set(result["documents"]) == {"public", "nonpublic"}
    assert rt.minutes.get(CLERK, minutes_id)["status"] == "genehmigt"

    public_view = found(rt, PUBLIC, "Ausbau der Kreisstraße K 12 Beschlussvorschlag Ja-Stimmen")
    assert "32 Ja-Stimmen" in public_view
    for query in ("Verkauf Flurstück 47/3 Gemeinde Großenkneten", "Verkaufspreis Quadratmeter Bodenrichtwert"):
        hidden = found(rt, PUBLIC, query)
        assert not any(marker in hidden for marker in SECRET_MARKERS), hidden
    assert "47/3" in found(rt, MEMBER, "Verkauf Flurstück 47/3 Gemeinde Großenkneten")
    assert "32 Ja-Stimmen" in found(rt, MEMBER, "Ausbau der Kreisstraße K 12 Beschlussvorschlag Ja-Stimmen")

    public_pdf = rt.minutes.export(CLERK, minutes_id, "pdf", tmp_path / "oeffentlich.pdf", include_nonpublic=False)
    text = pdf_text(public_pdf)
    assert "Ausbau der Kreisstraße K 12" in text and "32 Ja-Stimmen" in text
    assert not any(marker in " ".join(text.split()) for marker in SECRET_MARKERS)
    full = " ".join(pdf_text(rt.minutes.export(CLERK, minutes_id, "pdf", tmp_path / "voll.pdf",
                                               include_nonpublic=True)).split())
    assert "47/3" in full and "nichtöffentlich" in full

    # Approved stays approved until edited; a re-approval makes a new version of the same documents.
    with pytest.raises(InputError) as again:
        rt.minutes.approve(CLERK, minutes_id)
    assert "bereits genehmigt" in again.value.user_message
    rt.minutes.edit(CLERK, minutes_id, {"chair": "Kreistagsvorsitzende Dr. Meyer"})
    rt.minutes.approve(CLERK, minutes_id)
    with rt.db.admin_connection() as admin:
        versions = admin.execute("SELECT source, count(*), count(*) FILTER (WHERE access_groups = '{alle}') "
                                 "FROM documents WHERE source LIKE %s GROUP BY source ORDER BY source",
                                 (f"%{minutes_id}%",)).fetchall()
        events = [r[0] for r in admin.execute("SELECT event FROM audit_log WHERE event LIKE 'minutes.%' "
                                              "ORDER BY id").fetchall()]
    assert [(Path(s).name, n, public) for s, n, public in versions] == [
        ("niederschrift-nichtoeffentlich.md", 2, 0), ("niederschrift-oeffentlich.md", 2, 2)]
    assert events == ["minutes.create", "minutes.edit", "minutes.approve", "minutes.export", "minutes.export",
                      "minutes.edit", "minutes.approve"]


def test_nonpublic_items_need_an_entitled_group(rt: Runtime, session_files: tuple[Path, Path]) -> None:
    transcript, agenda = session_files
    clerk = Principal(name="ohnegruppe", groups=frozenset({"alle"}), roles=frozenset({"redakteur"}))
    minutes_id = rt.minutes.create_draft(clerk, transcript, agenda)
    with pytest.raises(PermissionDenied) as refused:
        rt.minutes.approve(clerk, minutes_id)
    assert "keine Gruppe" in refused.value.user_message
    assert rt.minutes.get(clerk, minutes_id)["status"] == "entwurf"


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "kreiswissen.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def test_cli_draft_approve_export(rt: Runtime, session_files: tuple[Path, Path], tmp_path: Path) -> None:
    transcript, agenda = session_files
    home = rt.settings.home
    data = json.loads(run(home, "minutes", "draft", str(transcript), "--agenda", str(agenda), "--json",
                          "--nonpublic-group", "kreistag").stdout)
    minutes_id = data["id"]
    assert [(i["number"], i["public"]) for i in data["agenda_items"]] == [("1", True), ("2", False)]
    vote = data["agenda_items"][0]["votes"][0]
    assert vote["outcome"] == "angenommen" and vote["text"] == PUBLIC_DECISION and vote["source"]["line"] == 13
    assert data["agenda_items"][1]["decisions"] == [SECRET_DECISION]

    refused = run(home, "minutes", "edit", minutes_id, "--set", "top.1.votes=abgelehnt", check=False)
    assert refused.returncode != 0 and "wörtlich" in refused.stderr
    assert minutes_id in run(home, "minutes", "list").stdout
    run(home, "minutes", "approve", minutes_id)

    files = {fmt: tmp_path / f"n.{fmt}" for fmt in ("docx", "odt", "pdf")}
    for fmt, path in files.items():
        run(home, "minutes", "export", minutes_id, "--format", fmt, "--output", str(path))
    docx_text = "\n".join(p.text for p in docx.Document(str(files["docx"])).paragraphs)
    odt_text = "\n".join(teletype.extractText(p) for p in load_odt(str(files["odt"])).getElementsByType(P))
    for text in (docx_text, odt_text, " ".join(pdf_text(files["pdf"]).split())):
        assert "TOP 1" in text and "TOP 2" in text and "47/3" in text
    public = tmp_path / "public.pdf"
    run(home, "minutes", "export", minutes_id, "--format", "pdf", "--output", str(public), "--public-only")
    assert "TOP 1" in pdf_text(public) and "47/3" not in pdf_text(public)
