"""Incoming requests end to end with the real parsers, embedder, search and PostgreSQL: mailbox import with
progress, resume and bad mails; routing; reply drafts from template and from a model (pseudonymised); the
queue's steps with their history and audit; access by unit; text blocks; checklists; DOCX export."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from docx import Document

from kreiswissen.cases.blocks import read_blocks, store_blocks
from kreiswissen.cases.catalogue import read_catalogue, store_catalogue
from kreiswissen.cases.checklist import checklist
from kreiswissen.cases.export import to_docx
from kreiswissen.cases.intake import UnreadableRequest, read_request, strip_quoted
from kreiswissen.db.embedded import stop_embedded
from kreiswissen.errors import InputError, NotFound
from kreiswissen.models.generator import ChatMessage, OpenAIGenerator
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from llm_server import LlamaServer
from scripted_generator import ScriptedGenerator

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cases"
SAMPLE = ROOT / "samples" / "leistungen"
STATUTES = ROOT / "samples" / "statutes"
GOLD = {  # tests/fixtures/cases/README.md
    "01-klartext-sperrmuell.eml": {"sperrmuell"}, "02-nur-html-wohngeld.eml": {"wohngeld"},
    "03-multipart-alternative-kfz-abmeldung.eml": {"kfz-abmeldung"},
    "04-quoted-printable-fuehrerschein-umtausch.eml": {"fuehrerschein-umtausch"},
    "05-iso-8859-1-hundesteuer.eml": {"hundesteuer"}, "06-pdf-anhang-bussgeld.eml": {"bussgeld"},
    "07-weitergeleitet-baugenehmigung.eml": {"baugenehmigung"},
    "08-antwort-mit-zitat-aufenthaltstitel.eml": {"aufenthaltstitel"},
    "09-rfc2047-betreff-zwei-anliegen.eml": {"meldebescheinigung", "kfz-halterwechsel"},
    "10-abgeschnittene-header.eml": {"wohngeld"}, "11-8bit-ohne-charset.eml": {"abfall-tonnen"},
    "12-kaputte-multipart-grenze.eml": {"kita-beitrag"},
}
PII_REQUEST = (
    "Sehr geehrte Damen und Herren,\n\nwir haben seit dem 3. November einen Hund (Rüde, 2 Jahre). Wie melde ich ihn "
    "zur Hundesteuer an und innerhalb welcher Frist?\nDie Steuer kann von meinem Konto DE89 3704 0044 0532 0130 00 "
    "abgebucht werden.\n\nMit freundlichen Grüßen\nSabine Krause\nLindenstraße 12, 12345 Musterstadt\n"
    "Tel. 0171 2345678\nsabine.krause@example.org")
PII_VALUES = ("Sabine Krause", "Krause", "DE89 3704 0044 0532 0130 00", "Lindenstraße 12", "0171 2345678",
              "sabine.krause@example.org")


@contextmanager
def refused(text: str, cls: type[InputError] = InputError) -> Iterator[None]:
    """The block raises ``cls`` whose German message (what the clerk reads) contains ``text``."""
    with pytest.raises(cls) as info:
        yield
    assert text in info.value.user_message, info.value.user_message


@pytest.fixture
def cases_rt(rt: Runtime) -> Runtime:
    catalogue = read_catalogue(SAMPLE / "leistungskatalog.yaml")
    store_catalogue(rt.db, Principal.local_operator(), catalogue)
    return rt


def _with_statutes(rt: Runtime) -> None:
    report = rt.ingestor.ingest([STATUTES / "ABG_Satzung_Hundesteuer.md", STATUTES / "ABG_Satzung_Streupflicht.md"],
                                Principal.local_operator())
    assert not report.failed


def _text_case(rt: Runtime, text: str, name: str = "anfrage.txt", sender: str = "") -> str:
    request = read_request(text.encode("utf-8"), name, rt.settings)
    request.sender = sender
    cid, created = rt.cases.add(Principal.local_operator(), request)
    assert created
    return cid


# -- reading and importing -------------------------------------------------------------------------------------
def test_every_fixture_mail_is_read_routed_and_stored_with_progress(cases_rt: Runtime) -> None:
    op = Principal.local_operator()
    seen: list[tuple[int, int, str, str]] = []
    report = cases_rt.cases.import_folder(op, FIXTURES, lambda *a: seen.append(a))
    assert report.total == 12 and not report.failed and not report.skipped
    assert [s[0] for s in seen] == list(range(1, 13)) and all(s[1] == 12 for s in seen)
    assert all(s[3].startswith("übernommen") for s in seen)
    by_name = {c["source"]: c for c in report.imported}
    for name, gold in GOLD.items():
        assert by_name[name]["service"] in gold, (name, by_name[name]["service"])
    rows = {r["source_name"]: r for r in cases_rt.cases.store.list(op)}
    assert len(rows) == 12
    repaired = cases_rt.cases.store.get(op, rows["12-kaputte-multipart-grenze.eml"]["id"])
    assert "Elternbeitrags" in repaired["request_text"]
    problems = repaired["problems"]
    assert any("MIME-Grenze" in p for p in problems) and any("bescheid.jpg" in p for p in problems)
    reply = cases_rt.cases.store.get(op, rows["08-antwort-mit-zitat-aufenthaltstitel.eml"]["id"])
    assert "Einbürgerung" in reply["body"] and "Einbürgerung" not in reply["request_text"]
    forwarded = cases_rt.cases.store.get(op, rows["07-weitergeleitet-baugenehmigung.eml"]["id"])
    assert "Sonnenhang" in forwarded["request_text"]
    pdf = cases_rt.cases.store.get(op, rows["06-pdf-anhang-bussgeld.eml"]["id"])
    assert "Einspruch_Kuehn.pdf" in pdf["attachments"] and "Horst Kuehn" in pdf["request_text"]
    latin1 = cases_rt.cases.store.get(op, rows["05-iso-8859-1-hundesteuer.eml"]["id"])
    assert "Ermäßigung" in latin1["body"] and latin1["sender"].startswith("Daniel Kurz")
    # Visible only to the unit and the intake group.
    assert latin1["access_groups"] == [latin1["unit_id"], "poststelle"]
    assert [e["action"] for e in latin1["events"]] == ["import"]


def test_an_interrupted_import_resumes_and_a_second_run_adds_nothing(cases_rt: Runtime) -> None:
    op = Principal.local_operator()

    def stop_after_two(done: int, total: int, name: str, outcome: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cases_rt.cases.import_folder(op, FIXTURES / "maildir", stop_after_two)
    assert len(cases_rt.cases.store.list(op)) == 2
    report = cases_rt.cases.import_folder(op, FIXTURES / "maildir")
    assert len(report.skipped) == 2 and len(report.imported) == 2
    again = cases_rt.cases.import_folder(op, FIXTURES / "maildir")
    assert len(again.skipped) == 4 and not again.imported
    assert sorted(r["service_id"] for r in cases_rt.cases.store.list(op)) == [
        "aufenthaltstitel", "bussgeld", "fuehrerschein-umtausch", "sperrmuell"]


def test_bad_files_are_reported_and_skipped_and_stay_untouched(cases_rt: Runtime, tmp_path: Path) -> None:
    op = Principal.local_operator()
    inbox = tmp_path / "eingang"
    inbox.mkdir()
    shutil.copy(FIXTURES / "01-klartext-sperrmuell.eml", inbox)
    bad = {"leer.eml": b"", "bild.eml": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
           "nur-kopf.eml": b"From: a@example.org\r\nSubject: x\r\n\r\n"}
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    (inbox / "notiz.xyz").write_bytes(b"ignored: not a request suffix")
    report = cases_rt.cases.import_folder(op, inbox)
    assert report.total == 4 and len(report.imported) == 1
    reasons = {f["source"]: f["reason"] for f in report.failed}
    assert set(reasons) == set(bad)
    assert "leer" in reasons["leer.eml"]
    for name, data in bad.items():  # never lost: the files stay as they were
        assert (inbox / name).read_bytes() == data
    assert {f["source"] for f in cases_rt.cases.store.failures(op)} == set(bad)
    again = cases_rt.cases.import_folder(op, inbox)
    assert len(again.skipped) == 4 and not again.failed
    with pytest.raises(InputError) as not_a_folder:
        cases_rt.cases.import_folder(op, inbox / "leer.eml")
    assert "kein Ordner" in not_a_folder.value.user_message


def test_a_database_restart_during_the_import_loses_nothing(cases_rt: Runtime) -> None:
    op = Principal.local_operator()

    def restart_after_three(done: int, total: int, name: str, outcome: str) -> None:
        if done == 3:
            assert stop_embedded(cases_rt.settings.db_dir)

    report = cases_rt.cases.import_folder(op, FIXTURES, restart_after_three)
    assert len(report.imported) == 12 and not report.failed
    assert len({r["source_sha256"] for r in cases_rt.cases.store.list(op)}) == 12


def test_quoted_history_is_not_part_of_the_request() -> None:
    text = ("Danke, der Termin passt.\n\nAm 12.11.2026 um 09:14 schrieb Ausländerbehörde:\n> Bitte bringen Sie "
            "den Pass mit.\n> Einbürgerung: siehe Webseite")
    assert strip_quoted(text) == "Danke, der Termin passt."
    assert strip_quoted("Frage?\n> zitiert\nNoch eine Zeile") == "Frage?\nNoch eine Zeile"


def test_unsupported_and_empty_requests_are_refused_in_german(cases_rt: Runtime) -> None:
    with refused("kein unterstütztes Format", UnreadableRequest):
        read_request(b"data", "x.exe", cases_rt.settings)
    with pytest.raises(UnreadableRequest) as empty:
        read_request(b"   \n", "x.txt", cases_rt.settings)
    assert "leer" in empty.value.user_message


# -- reply drafts ------------------------------------------------------------------------------------------------
def test_template_draft_cites_catalogue_and_statute_and_is_audited(cases_rt: Runtime) -> None:
    _with_statutes(cases_rt)
    op = Principal.local_operator()
    cid = _text_case(cases_rt, PII_REQUEST)
    draft = cases_rt.cases.draft(op, cid, generate=False)
    text = draft.text
    assert text.startswith("Guten Tag Sabine Krause,")
    assert "Gemeindekasse / Steueramt der Gemeinde" in text and "steueramt@beispielheim.example" in text
    assert "Anmeldeformular mit Angaben zum Hund" in text and "Bitte legen Sie folgende Unterlagen vor [1]:" in text
    assert "Mit freundlichen Grüßen" in text and "{{sachbearbeitung}}" in text
    kinds = [s.kind for s in draft.sources]
    assert kinds[0] == "leistungskatalog" and "dokument" in kinds
    statute = next(s for s in draft.sources if s.kind == "dokument")
    assert "Hundesteuer" in statute.title and f"[{statute.number}]" in text
    assert f"[{statute.number}] {statute.title}" in text.split("Quellen:")[1]
    assert not draft.generated and draft.placeholders >= 4
    case = cases_rt.cases.store.get(op, cid)
    assert case["status"] == "entwurf" and case["draft"] == text and case["draft_meta"]["sources"]
    assert [e["action"] for e in case["events"]] == ["import", "draft"]
    with cases_rt.db.admin_connection() as admin:
        events = [r[0] for r in admin.execute("SELECT event FROM audit_log ORDER BY id").fetchall()]
        queries = [r[0] for r in admin.execute(
            "SELECT details::jsonb->>'question' FROM audit_log WHERE event = 'search'")]
    assert "cases.import" in events and "cases.draft" in events
    assert queries and not any(v in q for q in queries for v in PII_VALUES)  # the search saw placeholders only


def test_generated_draft_never_shows_personal_data_to_the_model_and_restores_it(cases_rt: Runtime) -> None:
    _with_statutes(cases_rt)
    op = Principal.local_operator()
    cid = _text_case(cases_rt, PII_REQUEST, sender="Sabine Krause <sabine.krause@example.org>")

    def reply(messages: list[ChatMessage]) -> str:
        prompt = "\n".join(m.content for m in messages)
        assert not any(v in prompt for v in PII_VALUES), prompt
        assert "[PERSON_1]" in prompt and "[IBAN_1]" in prompt
        return ("Die Hundesteuer ist eine Gemeindesteuer; zuständig ist die Gemeinde, in der der Hund gehalten "
                "wird [1]. Die Anmeldung erfolgt in der Regel innerhalb von zwei Wochen nach Anschaffung oder Zuzug "
                "[1]. Die Steuer wird vom Konto [IBAN_1] abgebucht, sobald das Steueramt die Anmeldung erfasst hat "
                "[1]. Die Gebühr für die Anmeldung beträgt 999 Euro [1].")

    scripted = ScriptedGenerator(reply)
    draft = cases_rt.cases.draft(op, cid, generator=scripted)
    assert len(scripted.calls) == 1 and draft.generated and draft.model == "scripted"
    assert draft.text.startswith("Guten Tag Sabine Krause,")
    assert "innerhalb von zwei Wochen nach Anschaffung oder Zuzug [1]" in draft.text
    assert "999" not in draft.text and draft.dropped_sentences >= 1  # the invented fee is dropped
    assert "[PERSON_" not in draft.text and "[IBAN_" not in draft.text
    stored = cases_rt.cases.store.get(op, cid)
    assert stored["draft_meta"]["generated"] is True


class _Recording:
    """The real generator, with the messages it was sent kept for the assertions."""

    def __init__(self, inner: OpenAIGenerator) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.context_tokens = inner.context_tokens
        self.sent: list[list[ChatMessage]] = []

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list[ChatMessage], **options: object) -> Iterator[str]:
        self.sent.append(messages)
        return self.inner.stream(messages, **options)  # type: ignore[arg-type]

    def health(self) -> dict[str, object]:
        return self.inner.health()


def test_the_real_model_server_gets_no_personal_data_and_its_text_is_checked(cases_rt: Runtime) -> None:
    """The packaged Gemma 270M cannot write a reply; the test is that it is asked the right way (pseudonymised)
    and that whatever it writes goes through the check, with the template answer when nothing holds."""
    _with_statutes(cases_rt)
    op = Principal.local_operator()
    cid = _text_case(cases_rt, PII_REQUEST, sender="Sabine Krause <sabine.krause@example.org>")
    server = LlamaServer(n_ctx=4096).start()
    try:
        real = _Recording(OpenAIGenerator(server.base_url, LlamaServer.MODEL, None, timeout_s=120,
                                          connect_timeout_s=5, total_timeout_s=300, context_tokens=4096))
        draft = cases_rt.cases.draft(op, cid, generator=real)  # type: ignore[arg-type]
    finally:
        server.stop()
    assert len(real.sent) == 1
    prompt = "\n".join(m.content for m in real.sent[0])
    assert not any(v in prompt for v in PII_VALUES) and "[IBAN_1]" in prompt
    assert draft.text.startswith("Guten Tag Sabine Krause,") and "Anmeldeformular mit Angaben zum Hund" in draft.text
    if draft.generated:
        assert draft.model == real.model_id and draft.sources
    else:
        assert any("ließ sich nicht mit den Quellen belegen" in n for n in draft.notices)


def test_a_dead_model_server_gives_the_template_draft_with_a_notice(cases_rt: Runtime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "modell", timeout_s=2)
    op = Principal.local_operator()
    cid = _text_case(cases_rt, "Wie melde ich meinen Hund zur Hundesteuer an?")
    draft = cases_rt.cases.draft(op, cid, generator=dead)
    assert not draft.generated and "ohne Sprachmodell" in " ".join(draft.notices)
    assert "Anmeldeformular mit Angaben zum Hund" in draft.text
    assert cases_rt.cases.store.get(op, cid)["status"] == "entwurf"


def test_a_request_outside_the_catalogue_gets_a_holding_reply_and_a_notice(cases_rt: Runtime) -> None:
    op = Principal.local_operator()
    cid = _text_case(cases_rt, "Können Sie mir ein gutes Rezept für Zwetschgenkuchen empfehlen?")
    case = cases_rt.cases.store.get(op, cid)
    assert case["out_of_scope"] and case["service_id"] is None and case["access_groups"] == ["poststelle"]
    draft = cases_rt.cases.draft(op, cid, generate=False)
    assert "keine zuständige Stelle gefunden" in draft.text and not draft.sources
    assert "Zuständigkeit prüfen" in draft.notices[0]


# -- the queue: steps, history, access -------------------------------------------------------------------------
def test_queue_steps_are_recorded_and_closed_cases_are_not_edited(cases_rt: Runtime) -> None:
    op = Principal.local_operator()
    cid = _text_case(cases_rt, "Wie melde ich meinen Hund zur Hundesteuer an?")
    store = cases_rt.cases.store
    with refused("noch keinen Antwortentwurf", InputError):
        store.decide(op, cid, "angenommen")
    cases_rt.cases.draft(op, cid, generate=False)
    assert store.edit(op, cid, "Guten Tag,\n\nbitte nutzen Sie das Formular.\n") is True
    assert store.edit(op, cid, "Guten Tag,\n\nbitte nutzen Sie das Formular.") is False
    assert store.get(op, cid)["status"] == "bearbeitet"
    store.record(op, cid, "copy")
    store.decide(op, cid, "angenommen")
    with refused("bereits angenommen", InputError):
        store.edit(op, cid, "anders")
    store.decide(op, cid, "reopen")
    store.decide(op, cid, "verworfen", reason="telefonisch erledigt")
    case = store.get(op, cid)
    assert case["status"] == "verworfen" and case["decided_by"] == op.name
    assert [e["action"] for e in case["events"]] == ["import", "draft", "edit", "copy", "accept", "reopen",
                                                      "discard"]
    with refused("leer", InputError):
        store.edit(op, cid, "  ")
    with refused("Ungültige Vorgangsnummer", InputError):
        store.get(op, "123")


def test_each_unit_sees_its_own_queue_and_a_handover_moves_the_case(cases_rt: Runtime) -> None:
    op = Principal.local_operator()
    cid = _text_case(cases_rt, "Wie melde ich meinen Hund zur Hundesteuer an?")
    unit = cases_rt.cases.store.get(op, cid)["unit_id"]
    clerk = Principal(name="steuer", groups=frozenset({"alle", unit}))
    other = Principal(name="zulassung", groups=frozenset({"alle", "strassenverkehrsamt-zulassung"}))
    intake = Principal(name="post", groups=frozenset({"alle", "poststelle"}))
    assert [c["id"] for c in cases_rt.cases.store.list(clerk)] == [cid]
    assert cases_rt.cases.store.list(other) == [] and len(cases_rt.cases.store.list(intake)) == 1
    with pytest.raises(NotFound):
        cases_rt.cases.store.get(other, cid)
    with pytest.raises(NotFound):
        cases_rt.cases.store.edit(other, cid, "Übernahme")
    catalogue = cases_rt.cases.catalogue(clerk)
    cases_rt.cases.store.reroute(clerk, cid, catalogue, "kfz-zulassung")
    assert cases_rt.cases.store.list(clerk) == []  # handed over: gone from the tax office's queue
    moved = cases_rt.cases.store.get(other, cid)
    assert moved["service_id"] == "kfz-zulassung" and moved["routing"]["manual"]["by"] == "steuer"
    assert moved["events"][-1]["action"] == "route"
    with refused("gibt es im", InputError):
        cases_rt.cases.store.reroute(other, cid, catalogue, "gibt-es-nicht")


# -- text blocks, checklist, export -----------------------------------------------------------------------------
def test_sample_text_blocks_import_and_are_suggested_filled(cases_rt: Runtime) -> None:
    op = Principal.local_operator()
    catalogue = cases_rt.cases.catalogue(op)
    blocks = read_blocks(SAMPLE / "textbausteine.yaml", set(catalogue.services))
    assert len(blocks) >= 40
    store_blocks(cases_rt.db, op, blocks)
    cid = _text_case(cases_rt, "Wie melde ich meinen Hund zur Hundesteuer an?", sender="Sabine Krause <s@example.org>")
    draft = cases_rt.cases.draft(op, cid, generate=False)
    assert draft.blocks and draft.blocks[0]["specific"] and "hundesteuer" in draft.blocks[0]["id"]
    assert not any("{{stelle_email}}" in b["text"] for b in draft.blocks)
    general = [b for b in draft.blocks if not b["specific"]]
    assert general and all(b["id"] for b in general)


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("bausteine:\n  - {id: a, titel: A, art: einleitung, text: x}\n  - {id: a, titel: B, art: schluss, text: y}\n",
     "doppelt"),
    ("bausteine:\n  - {id: a, titel: A, art: roman, text: x}\n", "unbekannte Art"),
    ("bausteine:\n  - {id: a, titel: A, art: einleitung, text: x, leistungen: [mondlandung]}\n", "mondlandung"),
    ("bausteine:\n  - {id: a, titel: A, art: einleitung, text: 'Hallo {{Name X}}'}\n", "ungültige Variable"),
    ("bausteine: []\n", "keine Textbausteine"),
])
def test_bad_text_block_libraries_are_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        read_blocks(path, {"hundesteuer"})
    assert message in refused.value.user_message


def test_checklist_takes_documents_fees_and_deadlines_from_catalogue_and_statutes(cases_rt: Runtime) -> None:
    _with_statutes(cases_rt)
    op = Principal.local_operator()
    result = checklist(cases_rt.cases.catalogue(op), "hundesteuer", lambda q: cases_rt.search(q, op, top_k=6))
    from_statute = [i for i in result["items"] if i["source"]["kind"] == "dokument"]
    assert {i["kind"] for i in result["items"]} == {"unterlage", "gebuehr", "frist"}
    assert any(i["kind"] == "frist" and "innerhalb eines Monats" in i["text"] for i in from_statute)
    assert any(i["kind"] == "gebuehr" and "€" in i["text"] for i in from_statute)
    assert all("Hundesteuer" in i["source"]["title"] and i["source"]["chunk_id"] for i in from_statute)
    # A service the knowledge base has no rules for: only the catalogue, nothing unrelated.
    kfz = checklist(cases_rt.cases.catalogue(op), "kfz-zulassung", lambda q: cases_rt.search(q, op, top_k=6))
    assert kfz["items"] and all(i["source"]["kind"] == "leistungskatalog" for i in kfz["items"])
    with refused("gibt es im Leistungskatalog nicht", InputError):
        checklist(cases_rt.cases.catalogue(op), "mondlandung")


def test_docx_export_holds_the_letter_and_the_request(cases_rt: Runtime, tmp_path: Path) -> None:
    op = Principal.local_operator()
    cid = _text_case(cases_rt, "Wie melde ich meinen Hund zur Hundesteuer an?")
    with refused("noch keinen Antwortentwurf", InputError):
        to_docx(cases_rt.cases.store.get(op, cid), tmp_path / "x.docx")
    cases_rt.cases.draft(op, cid, generate=False)
    path = to_docx(cases_rt.cases.store.get(op, cid), tmp_path / "antwort.docx", owner="Landkreis Musterkreis")
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0].startswith("Entwurf") and "Landkreis Musterkreis" in texts
    assert any(p.style.name == "List Bullet" and "Anmeldeformular" in p.text for p in doc.paragraphs)
    assert "Anfrage (für die Akte)" in texts and any("Wie melde ich meinen Hund" in t for t in texts)


# -- the commands ------------------------------------------------------------------------------------------------
def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "kreiswissen.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_cases_commands_import_draft_export_and_report_bad_mails(rt: Runtime, tmp_path: Path) -> None:
    home_dir = rt.settings.home  # the session's store (emptied by the fixture): its embedding cache is warm
    assert _cli(home_dir, "cases", "catalogue", "import", str(SAMPLE / "leistungskatalog.yaml")).returncode == 0
    blocks = _cli(home_dir, "cases", "blocks", "import", str(SAMPLE / "textbausteine.yaml"), "--json")
    assert blocks.returncode == 0 and json.loads(blocks.stdout)["blocks"] >= 40
    inbox = tmp_path / "eingang"
    inbox.mkdir()
    shutil.copy(FIXTURES / "05-iso-8859-1-hundesteuer.eml", inbox)
    (inbox / "kaputt.eml").write_bytes(b"")
    run = _cli(home_dir, "cases", "import", str(inbox))
    assert run.returncode == 3, run.stderr
    assert "[1/2] 05-iso-8859-1-hundesteuer.eml: übernommen → Hundesteuer" in run.stdout
    assert "nicht übernommen: kaputt.eml" in run.stdout
    listed = json.loads(_cli(home_dir, "cases", "list", "--json").stdout)
    assert [c["service_id"] for c in listed] == ["hundesteuer"]
    cid = listed[0]["id"]
    drafted = _cli(home_dir, "cases", "draft", cid, "--template", "--json")
    assert drafted.returncode == 0, drafted.stderr
    data = json.loads(drafted.stdout)
    assert data["draft"].startswith("Guten Tag Daniel Kurz,") and data["generated"] is False
    assert data["blocks"] and data["sources"][0]["kind"] == "leistungskatalog"
    out = tmp_path / "antwort.docx"
    assert _cli(home_dir, "cases", "export", cid, "-o", str(out)).returncode == 0 and out.stat().st_size > 0
    assert _cli(home_dir, "cases", "accept", cid).returncode == 0
    shown = json.loads(_cli(home_dir, "cases", "show", cid, "--json").stdout)
    assert shown["status"] == "angenommen"
    assert [e["action"] for e in shown["events"]] == ["import", "draft", "export", "accept"]
    failures = json.loads(_cli(home_dir, "cases", "failures", "--json").stdout)
    assert [f["source"] for f in failures] == ["kaputt.eml"]
    missing = _cli(home_dir, "cases", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode != 0 and "nicht gefunden" in missing.stderr + missing.stdout
