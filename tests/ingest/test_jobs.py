"""The upload job queue: checks before storing, workers, crash safety, visibility, the worker thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF

from kreiswissen.db.database import _unavailable
from kreiswissen.db.embedded import embedded_pid, stop_embedded
from kreiswissen.errors import BackendUnavailable, FileTooLarge, InputError, PermissionDenied, UnsupportedFormat
from kreiswissen.ingest.jobs import DATABASE_DOWN_PREFIX, JobQueue, Worker, check_upload, clean_file_name
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

PASSWORD = "Sonnenblume-Rathaus-42"
ROOT = Path(__file__).resolve().parents[2]


def satzung(topic: str, fee: int) -> bytes:
    return (f"---\ntitel: Satzung über {topic}\n---\n\n# § 1 Gebühr\n\nFür {topic} erhebt die Gemeinde "
            f"Beispielhausen eine Gebühr von {fee} Euro. Die Gebühr ist vor der Nutzung zu entrichten.\n\n"
            "# § 2 Inkrafttreten\n\nDiese Satzung tritt am 1. Januar 2026 in Kraft.\n").encode()


def small_pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


@pytest.fixture
def people(rt: Runtime) -> dict[str, Principal]:
    rt.identity.add_group("test", "bauamt")
    rt.identity.add_group("test", "ordnungsamt")
    users = {"rudi": (["bauamt"], ["leser", "redakteur"]), "lena": (["bauamt"], ["leser"]),
             "olga": (["ordnungsamt"], ["leser", "redakteur"]), "adam": ([], ["administrator"])}
    for name, (groups, roles) in users.items():
        rt.identity.add_user("test", name, groups, password=PASSWORD)
        rt.identity.set_roles("test", name, roles)
    rt.ingestor  # noqa: B018  # load the model once, before any worker thread needs it
    return {name: rt.identity.principal_for(name) for name in users}


def queue(rt: Runtime, **options: Any) -> JobQueue:
    return JobQueue(rt.db, rt.settings, rt.ingest, rt.identity.principal_for, rt.audit, **options)


def row(rt: Runtime, job_id: str) -> dict[str, Any]:
    """The job as stored, read as the table owner (past row-level security)."""
    with rt.db.admin_connection() as admin:
        r = admin.execute("SELECT status, message, content IS NULL, attempts, document_id, worker, file_name "
                          "FROM ingest_jobs WHERE id = %s", (job_id,)).fetchone()
    assert r is not None, job_id
    return {"status": r[0], "message": r[1], "content_cleared": r[2], "attempts": r[3], "document_id": r[4],
            "worker": r[5], "file_name": r[6]}


def job_count(rt: Runtime) -> int:
    with rt.db.admin_connection() as admin:
        return int(admin.execute("SELECT count(*) FROM ingest_jobs").fetchone()[0])  # type: ignore[index]


def document_count(rt: Runtime) -> int:
    with rt.db.admin_connection() as admin:
        return int(admin.execute("SELECT count(*) FROM documents").fetchone()[0])  # type: ignore[index]


def age_heartbeat(rt: Runtime, job_id: str, *, attempts: int) -> None:
    """As if the job's worker died an hour ago while running it."""
    with rt.db.admin_connection() as admin:
        admin.execute("UPDATE ingest_jobs SET status = 'running', attempts = %s, worker = 'tot', "
                      "started_at = now() - interval '1 hour', heartbeat_at = now() - interval '1 hour' "
                      "WHERE id = %s", (attempts, job_id))


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def titles(rt: Runtime, query: str, principal: Principal) -> list[str]:
    return [h.document.title for h in rt.search(query, principal).hits]


# -- checks before anything is stored ------------------------------------------------------------------------
def test_file_names_are_cleaned() -> None:
    assert clean_file_name("C:\\Users\\rudi\\Desktop\\Bericht 2026.pdf") == "Bericht 2026.pdf"
    assert clean_file_name("../../etc/passwd.md") == "passwd.md"
    assert clean_file_name("rechnung\u202egnp.md") == "rechnunggnp.md"  # no right-to-left override
    assert clean_file_name("a\x00b\tc\n.md") == "ab c.md"
    assert clean_file_name(".versteckt.md") == "versteckt.md"
    assert clean_file_name("~$Entwurf.docx") == "Entwurf.docx"
    assert clean_file_name("Satzung.pdf. ") == "Satzung.pdf"
    long = clean_file_name("x" * 500 + ".md")
    assert len(long) == 200 and long.endswith("x.md")
    umlauts = clean_file_name("ä" * 300 + ".md")
    assert umlauts.endswith(".md") and len(umlauts.encode()) <= 240
    for bad in ("", "...", "/", "C:\\", "\x00\x01", " . "):
        with pytest.raises(InputError) as err:
            clean_file_name(bad)
        assert "Dateiname" in err.value.user_message


def test_check_upload_accepts_what_the_parsers_read(rt: Runtime) -> None:
    s = rt.settings
    assert check_upload("Satzung.md", satzung("den Bauhof", 45), 300, s) == "Satzung.md"
    assert check_upload("a.PDF", small_pdf("Hallo"), 900, s) == "a.PDF"
    assert check_upload("notiz.txt", "Notiz über %PDF-1.7 Dateien".encode(), 30, s) == "notiz.txt"
    assert check_upload("utf16.txt", "Grüße aus dem Bauamt".encode("utf-16"), 42, s) == "utf16.txt"
    assert check_upload("utf16le.txt", "Grüße aus dem Bauamt".encode("utf-16-le"), 40, s) == "utf16le.txt"
    assert check_upload("foto.jpg", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, 58, s) == "foto.jpg"  # PNG named .jpg
    odt_head = b"PK\x03\x04" + b"\0" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.text"
    assert check_upload("brief.odt", odt_head, 5000, s) == "brief.odt"


@pytest.mark.parametrize(("name", "head", "detected"), [
    ("programm.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 60, "ELF"),
    ("archiv.pdf", b"PK\x03\x04" + b"\0" * 60, "ZIP"),
    ("bericht.docx", b"Nur Text, kein Word", "Text"),
    ("bericht.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 60, "verschlüsselt"),
    ("tabelle.odt", b"PK\x03\x04" + b"\0" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
     "OpenDocument-Tabelle"),
    ("satzung.md", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    ("notiz.txt", b"Text\x00mit\x01\x02\x03\x00\x00\x00\xff\xfeBinaerem\x00Inhalt und noch viel mehr", "Binärdaten"),
    ("foto.png", b"kein Bild", "Text"),
])
def test_content_that_does_not_fit_the_suffix_is_refused(rt: Runtime, name: str, head: bytes, detected: str) -> None:
    with pytest.raises(InputError) as err:
        check_upload(name, head, 5000, rt.settings)
    message = err.value.user_message
    assert "Der Inhalt passt nicht zur Dateiendung" in message and detected in message, message


def test_unsupported_empty_and_too_large_files_are_refused(rt: Runtime) -> None:
    with pytest.raises(UnsupportedFormat) as err:
        check_upload("setup.exe", b"MZ\x90\x00", 4, rt.settings)
    assert "'.exe' wird nicht unterstützt" in err.value.user_message
    assert ".pdf" in err.value.user_message and ".docx" in err.value.user_message
    for no_suffix in ("Makefile", ".md"):  # ".md" loses its leading dot (no hidden files) and is "md"
        with pytest.raises(UnsupportedFormat) as missing:
            check_upload(no_suffix, b"all:\n", 5, rt.settings)
        assert "Dateien ohne Endung werden nicht unterstützt" in missing.value.user_message
    with pytest.raises(InputError, match="empty"):
        check_upload("leer.txt", b"", 0, rt.settings)
    small = rt.settings.model_copy(update={"max_file_bytes": 3 * 1024 * 1024})
    with pytest.raises(FileTooLarge) as big:
        # The size is what the client declares (a 2 GB upload is refused before it is read).
        check_upload("film.pdf", b"%PDF-1.7\n", 2 * 1024**3, small)
    assert "zu groß (2048,0 MB, erlaubt sind 3,0 MB)" in big.value.user_message
    assert check_upload("ok.pdf", b"%PDF-1.7\n", 3 * 1024 * 1024, small) == "ok.pdf"


def test_refused_uploads_store_nothing(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    rudi = people["rudi"]
    with pytest.raises(InputError, match="content does not match"):
        q.submit(rudi, "satzung.pdf", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    with pytest.raises(UnsupportedFormat):
        q.submit(rudi, "virus.exe", b"MZ" + b"\0" * 100, ["bauamt"])
    tiny = JobQueue(rt.db, rt.settings.model_copy(update={"max_file_bytes": 100}), rt.ingest,
                    rt.identity.principal_for, rt.audit)
    with pytest.raises(FileTooLarge):
        tiny.submit(rudi, "satzung.md", satzung("den Bauhof", 45), ["bauamt"])
    assert job_count(rt) == 0


def test_without_rights_submit_is_refused_at_once(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    with pytest.raises(PermissionDenied) as reader:
        q.submit(people["lena"], "satzung.md", satzung("den Bauhof", 45), ["bauamt"])
    assert "Nur Redakteurinnen und Redakteure" in reader.value.user_message
    with pytest.raises(PermissionDenied):
        q.submit(people["rudi"], "satzung.md", satzung("den Bauhof", 45), ["ordnungsamt"])  # not their group
    with pytest.raises(PermissionDenied):
        q.submit(people["rudi"], "satzung.md", satzung("den Bauhof", 45), ["bauamt"], "ordnungsamt")
    with pytest.raises(InputError, match="operator cannot queue"):
        q.submit(Principal.local_operator(), "satzung.md", satzung("den Bauhof", 45))
    assert job_count(rt) == 0


# -- processing ----------------------------------------------------------------------------------------------
def test_markdown_and_pdf_are_ingested_for_the_owners_group_only(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    rudi, lena, olga = people["rudi"], people["lena"], people["olga"]
    md = q.submit(rudi, "Bauhof.md", satzung("die Benutzung des Bauhofs", 45), ["bauamt"], "bauamt")
    pdf = q.submit(rudi, "Streupflicht.pdf", small_pdf(
        "Satzung über die Streupflicht\n\nDie Anlieger müssen Gehwege bei Glätte bis 7 Uhr mit Sand bestreuen. "
        "Streusalz ist auf Gehwegen verboten."), ["bauamt"], "bauamt")
    assert [j["status"] for j in q.status(rudi)] == ["queued", "queued"]
    assert row(rt, md)["content_cleared"] is False

    assert q.run_next("w1") == md  # oldest first
    assert q.run_next("w1") == pdf
    assert q.run_next("w1") is None

    for job_id in (md, pdf):
        stored = row(rt, job_id)
        assert stored["status"] == "done", stored
        assert stored["message"].startswith("Eingelesen: ") and "Abschnitt" in stored["message"]
        assert stored["content_cleared"] is True and stored["attempts"] == 1 and stored["worker"] == "w1"
        assert stored["document_id"]
    assert "Satzung über die Benutzung des Bauhofs" in titles(rt, "Gebühr Bauhof Benutzung", lena)
    assert any("Streu" in h.chunk.text for h in rt.search("Streusalz Gehweg Glätte", lena).hits)
    assert titles(rt, "Gebühr Bauhof Benutzung", olga) == []
    assert titles(rt, "Streusalz Gehweg Glätte", olga) == []
    # The ingested files stay as the originals offered for download, in a private folder.
    uploads = rt.settings.home / "uploads"
    kept = sorted(p.name for p in uploads.rglob("*") if p.is_file() and ".locks" not in p.parts)
    assert len(kept) == 2, kept
    assert oct(uploads.stat().st_mode & 0o777) == "0o700"
    # Auditing happened where it always does: the submit, and the upload by the owner.
    with rt.db.admin_connection() as admin:
        events = admin.execute("SELECT actor, event, details FROM audit_log WHERE event IN ('job.create', "
                               "'document.upload') ORDER BY id").fetchall()
    assert [(a, e) for a, e, _ in events] == [("rudi", "job.create"), ("rudi", "job.create"),
                                              ("rudi", "document.upload"), ("rudi", "document.upload")]
    details = json.loads(events[0][2])
    assert details["file_name"] == "Bauhof.md" and details["groups"] == ["bauamt"] and details["job"] == md


def test_same_name_again_is_unchanged_or_a_new_version(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    rudi = people["rudi"]
    first = q.submit(rudi, "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    same = q.submit(rudi, "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    changed = q.submit(rudi, "Bauhof.md", satzung("den Bauhof", 50), ["bauamt"], "bauamt")
    while q.run_next():
        pass
    assert row(rt, first)["message"].startswith("Eingelesen")
    assert row(rt, same)["message"] == "Unverändert (bereits vorhanden)"
    assert row(rt, changed)["message"].startswith("Neue Version eingelesen")
    assert row(rt, same)["document_id"] == row(rt, first)["document_id"] != row(rt, changed)["document_id"]
    with rt.db.admin_connection() as admin:
        current = admin.execute("SELECT count(*) FROM documents WHERE is_current").fetchone()[0]  # type: ignore[index]
    assert current == 1 and document_count(rt) == 2


def test_corrupt_pdf_fails_with_a_german_message(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    job = q.submit(people["rudi"], "kaputt.pdf", b"%PDF-1.7\n" + b"\x00\x13\x37 kein PDF " * 200, ["bauamt"])
    assert q.run_next() == job
    stored = row(rt, job)
    assert stored["status"] == "failed" and stored["content_cleared"] is True
    assert stored["message"].startswith("Datei 'kaputt.pdf': beschädigt"), stored["message"]
    assert str(rt.settings.home) not in stored["message"]  # no server paths for the clerk
    assert stored["document_id"] is None and document_count(rt) == 0
    assert not [p for p in (rt.settings.home / "uploads").rglob("kaputt.pdf") if ".locks" not in p.parts]


def test_two_workers_take_each_job_exactly_once(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    jobs = [q.submit(people["rudi"], f"Satzung_{i}.md", satzung(f"die Halle {i}", 40 + i), ["bauamt"], "bauamt")
            for i in range(6)]
    taken: dict[str, list[str]] = {"a": [], "b": []}
    failures: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while (job := q.run_next(name)) is not None:
                taken[name].append(job)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures
    assert sorted(taken["a"] + taken["b"]) == sorted(jobs)  # every job, none twice
    for job in jobs:
        stored = row(rt, job)
        assert stored["status"] == "done" and stored["attempts"] == 1, stored
        assert stored["worker"] in ("a", "b") and job in taken[stored["worker"]]
    assert document_count(rt) == 6


# -- crash safety --------------------------------------------------------------------------------------------
def test_abandoned_running_job_is_taken_again(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt, lease_seconds=600)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    with rt.db.admin_connection() as admin:  # a live worker's job (fresh heartbeat) is left alone
        admin.execute("UPDATE ingest_jobs SET status = 'running', attempts = 1, heartbeat_at = now() WHERE id = %s",
                      (job,))
    assert q.run_next("w2") is None
    age_heartbeat(rt, job, attempts=1)
    assert q.run_next("w2") == job
    stored = row(rt, job)
    assert stored["status"] == "done" and stored["attempts"] == 2 and stored["worker"] == "w2"


def test_a_crash_after_storing_duplicates_nothing(rt: Runtime, people: dict[str, Principal]) -> None:
    class CrashBeforeRecording(JobQueue):
        def _finish(self, claim: Any, outcome: Any) -> None:  # the worker dies right after ingesting
            pass

    job = CrashBeforeRecording(rt.db, rt.settings, rt.ingest, rt.identity.principal_for, rt.audit).submit(
        people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    assert CrashBeforeRecording(rt.db, rt.settings, rt.ingest, rt.identity.principal_for,
                                rt.audit).run_next() == job
    assert row(rt, job)["status"] == "running" and document_count(rt) == 1
    age_heartbeat(rt, job, attempts=1)
    assert queue(rt).run_next() == job
    stored = row(rt, job)
    assert stored["status"] == "done" and stored["message"] == "Unverändert (bereits vorhanden)"
    assert stored["document_id"] and document_count(rt) == 1


def test_after_three_attempts_the_job_fails(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    age_heartbeat(rt, job, attempts=3)
    assert q.run_next() == job
    stored = row(rt, job)
    assert stored["status"] == "failed" and stored["content_cleared"] is True and stored["attempts"] == 3
    assert stored["message"].startswith("Nach 3 Versuchen abgebrochen (die Verarbeitung wurde wiederholt "
                                        "unterbrochen)")
    assert document_count(rt) == 0


def test_database_failures_while_ingesting_are_retried_then_fail(rt: Runtime, people: dict[str, Principal]) -> None:
    calls: list[str] = []

    def unreachable(paths: list[Path], principal: Principal, *args: Any) -> Any:
        calls.append(principal.name)
        raise _unavailable(OSError("connection refused"), "Abfrage")

    q = JobQueue(rt.db, rt.settings, unreachable, rt.identity.principal_for, rt.audit, retry_delay_seconds=0)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    for attempt in (1, 2):
        assert q.run_next() == job
        stored = row(rt, job)
        assert stored["status"] == "queued" and stored["attempts"] == attempt and not stored["content_cleared"]
        assert stored["message"].startswith(DATABASE_DOWN_PREFIX) and "Neuer Versuch folgt" in stored["message"]
    assert q.run_next() == job
    stored = row(rt, job)
    assert stored["status"] == "failed" and stored["content_cleared"] and calls == ["rudi"] * 3
    assert stored["message"].startswith("Nach 3 Versuchen abgebrochen: Die Datenbank ist nicht erreichbar")


def test_a_job_put_back_waits_for_its_retry_delay(rt: Runtime, people: dict[str, Principal]) -> None:
    def unreachable(*args: Any) -> Any:
        raise _unavailable(OSError("down"), "Abfrage")

    q = JobQueue(rt.db, rt.settings, unreachable, rt.identity.principal_for, rt.audit, retry_delay_seconds=3600)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    assert q.run_next() == job
    assert q.run_next() is None and row(rt, job)["status"] == "queued"


def test_an_upload_that_cannot_be_staged_stays_queued(rt: Runtime, people: dict[str, Principal],
                                                      tmp_path: Path) -> None:
    (tmp_path / "uploads").write_text("kein Ordner")
    q = JobQueue(rt.db, rt.settings.model_copy(update={"home": tmp_path}), rt.ingest, rt.identity.principal_for,
                 rt.audit, retry_delay_seconds=0)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    assert q.run_next() == job
    stored = row(rt, job)
    assert stored["status"] == "queued" and not stored["content_cleared"]
    assert "nicht zwischengespeichert" in stored["message"]
    assert queue(rt).run_next() == job and row(rt, job)["status"] == "done"  # a worker with a usable disk


def test_database_message_prefix_matches_the_database_layer() -> None:
    assert _unavailable(OSError("x"), "Abfrage").user_message.startswith(DATABASE_DOWN_PREFIX)


def test_owner_disabled_removed_or_demoted_meanwhile(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    rt.identity.add_user("test", "paul", ["bauamt"], password=PASSWORD)
    rt.identity.set_roles("test", "paul", ["leser", "redakteur"])
    disabled = q.submit(people["rudi"], "a.md", satzung("die Halle A", 41), ["bauamt"], "bauamt")
    demoted = q.submit(people["olga"], "b.md", satzung("die Halle B", 42), ["ordnungsamt"])
    removed = q.submit(rt.identity.principal_for("paul"), "c.md", satzung("die Halle C", 43), ["bauamt"])
    rt.identity.set_disabled("test", "rudi", True)
    rt.identity.set_roles("test", "olga", ["leser"])
    with rt.db.admin_connection() as admin:
        admin.execute("DELETE FROM users WHERE name = 'paul'")
    while q.run_next():
        pass
    messages = {job: row(rt, job) for job in (disabled, demoted, removed)}
    assert all(m["status"] == "failed" and m["content_cleared"] for m in messages.values()), messages
    assert messages[disabled]["message"] == "Nicht eingelesen: Das Konto 'rudi' ist gesperrt."
    assert "Nur Redakteurinnen und Redakteure" in messages[demoted]["message"]
    assert messages[removed]["message"].startswith("Nicht eingelesen: ") and "paul" in messages[removed]["message"]
    assert document_count(rt) == 0


# -- status --------------------------------------------------------------------------------------------------
def test_status_shows_owners_their_jobs_and_administrators_all(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    rudi, olga, lena, adam = people["rudi"], people["olga"], people["lena"], people["adam"]
    r1 = q.submit(rudi, "eins.md", satzung("die Halle 1", 41), ["bauamt"], "bauamt")
    time.sleep(0.01)
    r2 = q.submit(rudi, "zwei.md", satzung("die Halle 2", 42), ["bauamt"], "bauamt")
    o1 = q.submit(olga, "ordnung.md", satzung("den Markt", 43), ["ordnungsamt"], "ordnungsamt")

    mine = q.status(rudi)
    assert [j["id"] for j in mine] == [r2, r1]  # newest first
    job = mine[1]
    assert set(job) >= {"id", "file_name", "size_bytes", "status", "message", "document_id", "created_at",
                        "finished_at"}
    assert job["file_name"] == "eins.md" and job["size_bytes"] == len(satzung("die Halle 1", 41))
    assert job["status"] == "queued" and job["message"] == "" and job["document_id"] is None
    assert job["finished_at"] is None and job["created_at"].startswith("20") and "T" in job["created_at"]
    json.dumps(mine)  # ready for the page's polling

    assert [j["id"] for j in q.status(olga)] == [o1]
    assert q.status(olga, [r1, r2]) == []  # another user's job ids show nothing
    assert q.status(lena) == []
    assert {j["id"] for j in q.status(adam)} == {r1, r2, o1}
    assert [j["id"] for j in q.status(rudi, [r1, "kein-uuid", o1])] == [r1]

    q.run_next()
    done = q.status(rudi, [r1])[0]
    assert done["status"] == "done" and done["finished_at"] and done["document_id"]
    # The database itself keeps jobs to their owner (row-level security), whatever the Python code asks.
    with rt.db.transaction(olga) as conn:
        visible = conn.execute("SELECT owner FROM ingest_jobs").fetchall()
        assert visible == [("olga",)]
        assert conn.execute("UPDATE ingest_jobs SET status = 'failed' WHERE owner = 'rudi'").rowcount == 0


# -- the worker ----------------------------------------------------------------------------------------------
def test_worker_thread_processes_jobs_and_stops(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    worker = Worker(q, "thread-1", poll_interval=0.2)
    worker.start()
    try:
        assert worker.running
        job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
        wait_for(lambda: row(rt, job)["status"] == "done")
        assert row(rt, job)["worker"] == "thread-1"
    finally:
        assert worker.stop(timeout=60)
    assert not worker.running and worker.processed == 1
    later = q.submit(people["rudi"], "Halle.md", satzung("die Halle", 45), ["bauamt"], "bauamt")
    time.sleep(0.5)
    assert row(rt, later)["status"] == "queued"  # a stopped worker takes nothing


def test_worker_survives_an_unreachable_queue(rt: Runtime, people: dict[str, Principal],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    q = queue(rt)
    real = q.run_next
    outages = [_unavailable(OSError("down"), "Abfrage"), BackendUnavailable("down again")]

    def flaky(name: str = "worker") -> str | None:
        if outages:
            raise outages.pop(0)
        return real(name)

    monkeypatch.setattr(q, "run_next", flaky)
    job = q.submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    worker = Worker(q, "flaky", poll_interval=0.1, max_backoff=0.5)
    worker.start()
    try:
        wait_for(lambda: row(rt, job)["status"] == "done")
    finally:
        assert worker.stop(timeout=60)
    assert worker.errors == 2 and worker.processed == 1


def test_worker_survives_a_database_restart_between_jobs(rt: Runtime, people: dict[str, Principal]) -> None:
    q = queue(rt)
    worker = Worker(q, "restart", poll_interval=0.2)
    db_dir = rt.settings.db_dir
    worker.start()
    try:
        first = q.submit(people["rudi"], "eins.md", satzung("die Halle 1", 41), ["bauamt"], "bauamt")
        wait_for(lambda: row(rt, first)["status"] == "done")
        assert stop_embedded(db_dir)
        # The worker's next poll finds the server gone and starts it again (an external server would come
        # back by itself); this thread keeps off the database until then.
        wait_for(lambda: embedded_pid(db_dir) is not None, timeout=60)
        time.sleep(1.0)
        assert worker.running
        second = q.submit(people["rudi"], "zwei.md", satzung("die Halle 2", 42), ["bauamt"], "bauamt")
        wait_for(lambda: row(rt, second)["status"] == "done")
    finally:
        assert worker.stop(timeout=60)
    assert worker.processed == 2


def test_cli_worker_once_processes_the_queue(rt: Runtime, people: dict[str, Principal]) -> None:
    job = queue(rt).submit(people["rudi"], "Bauhof.md", satzung("den Bauhof", 45), ["bauamt"], "bauamt")
    env = {**os.environ, "KREISWISSEN_HOME": str(rt.settings.home), "KREISWISSEN_EMBEDDER": rt.settings.embedder,
           "KREISWISSEN_THREADS": "2", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "kreiswissen.cli", "worker", "--once", "--name", "cli"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "Aufträge bearbeitet: 1" in proc.stdout
    stored = row(rt, job)
    assert stored["status"] == "done" and stored["worker"] == "cli"
    help_text = subprocess.run([sys.executable, "-m", "kreiswissen.cli", "worker", "--help"], capture_output=True,
                               text=True, env={**env, "COLUMNS": "200"}, timeout=60, cwd=ROOT).stdout
    assert "Warteschlange" in help_text and "--once" in help_text
