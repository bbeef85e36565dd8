"""DSGVO rights: Art. 15 export, Art. 17 erasure of a document (every derived row, proven by scanning every
table) and of a user account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreiswissen.errors import InputError, NotFound
from kreiswissen.ingest.pipeline import embedding_text
from kreiswissen.models.embedder import text_hash
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

PASSWORD = "Sonnenblume-Rathaus-42"
MARKER = "Quirinius Zabelmayer"  # a name that occurs nowhere else


def _scan_all_tables(rt: Runtime, needles: list[str]) -> dict[str, int]:
    """Rows of every table in the schema whose text form contains any needle (case-insensitive)."""
    hits: dict[str, int] = {}
    with rt.db.admin_connection() as su:
        tables = [r[0] for r in su.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for needle in needles:
                n = su.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE %s',  # noqa: S608
                               (f"%{needle}%",)).fetchone()[0]  # type: ignore[index]
                if n:
                    hits[f"{table}:{needle}"] = n
    return hits


def _write_case(tmp_path: Path) -> Path:
    path = tmp_path / "bescheid.md"
    path.write_text(
        "---\ntitel: Bescheid Hundesteuer\n---\n\n# Bescheid\n\n"
        f"Herr {MARKER}, Lindenweg 7, 73087 Bad Boll, hält seit dem 01.04.2025 zwei Hunde. "
        "Die Hundesteuer für den zweiten Hund beträgt 216 Euro im Jahr.\n\n"
        f"## Zahlung\n\n{MARKER} zahlt per Lastschrift von DE89 3704 0044 0532 0130 00.\n",
        encoding="utf-8")
    return path


def test_erase_document_leaves_no_trace_in_any_table(rt: Runtime, tmp_path: Path) -> None:
    op = Principal.local_operator()
    path = _write_case(tmp_path)
    assert rt.ingestor.ingest([path], op).count("added") == 1
    # A second version, so history is erased too.
    path.write_text(path.read_text(encoding="utf-8") + f"\nNachtrag: {MARKER} hat gezahlt.\n", encoding="utf-8")
    assert rt.ingestor.ingest([path], op).count("updated") == 1
    with rt.db.transaction(op) as conn:
        doc_ids = [str(r[0]) for r in conn.execute("SELECT id FROM documents")]
        embedded = [text_hash(embedding_text(r[0], r[1], r[2])) for r in conn.execute(
            "SELECT d.title, c.section, c.text FROM chunks c JOIN documents d ON d.id = c.document_id")]
    needles = ["Zabelmayer", "zabelmay", "DE89 3704", str(path)]
    assert _scan_all_tables(rt, needles)  # the scan does find the data before erasure

    counts = rt.dsgvo.erase_document("dsb", str(path), "Löschersuchen vom 24.11.2026")
    assert counts["versions"] == 2 and counts["chunks"] >= 2 and counts["cached_embeddings"] >= 1

    leftovers = _scan_all_tables(rt, needles)
    # Only the audit log may mention the erasure, by document id and reason, never by content.
    assert leftovers == {}, leftovers
    with rt.db.admin_connection() as su:
        assert su.execute("SELECT count(*) FROM embedding_cache WHERE text_hash = ANY(%s)",
                          (embedded,)).fetchone()[0] == 0  # type: ignore[index]
        assert su.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0  # type: ignore[index]
        assert su.execute("SELECT count(*) FROM postings").fetchone()[0] == 0  # type: ignore[index]
        audit = su.execute("SELECT details FROM audit_log WHERE event = 'dsgvo.erase'").fetchone()[0]  # type: ignore[index]
    assert set(json.loads(audit)["document_ids"]) == set(doc_ids)
    assert rt.audit.verify().ok


def test_erase_requires_a_reason_and_an_existing_target(rt: Runtime) -> None:
    with pytest.raises(InputError):
        rt.dsgvo.erase_document("dsb", "irgendwas.md", "")
    with pytest.raises(NotFound):
        rt.dsgvo.erase_document("dsb", "gibt-es-nicht.md", "Löschersuchen 1")
    with pytest.raises(NotFound):
        rt.dsgvo.erase_user("dsb", "niemand", "Löschersuchen 2")


def test_export_user_has_account_groups_tokens_audit_and_mentions(rt: Runtime, tmp_path: Path) -> None:
    rt.identity.add_group("admin", "bauamt")
    rt.identity.add_user("admin", "anna", ["bauamt"], PASSWORD, ["redakteur"], display_name="Anna Weber")
    secret, token = rt.identity.create_token("admin", "anna", ["search"])
    rt.identity.authenticate("anna", PASSWORD)
    rt.ingestor.ingest([_write_case(tmp_path)], Principal.local_operator(), groups=["bauamt"])

    data = rt.dsgvo.export_user("dsb", "anna", MARKER, "Auskunftsersuchen vom 24.11.2026")
    assert data["account"]["name"] == "anna" and data["account"]["has_local_password"] is True
    assert data["groups"] == ["bauamt"] and data["api_tokens"][0]["id"] == token.id
    events = {e["event"] for e in data["audit_entries"]}
    assert {"user.add", "token.create", "login.success"} <= events
    assert [d["title"] for d in data["documents_mentioning"]] == ["Bescheid Hundesteuer"]
    dump = json.dumps(data, ensure_ascii=False)
    assert secret not in dump and "argon2" not in dump  # never secrets or hashes
    assert any(e["event"] == "dsgvo.export" for e in rt.audit.entries(None, None))


def test_erase_user_removes_account_memberships_and_tokens(rt: Runtime) -> None:
    rt.identity.add_group("admin", "bauamt")
    rt.identity.add_user("admin", "bernd", ["bauamt"], PASSWORD)
    rt.identity.create_token("admin", "bernd", ["search"])
    rt.dsgvo.erase_user("dsb", "bernd", "Ausscheiden aus dem Dienst")
    with rt.db.admin_connection() as su:
        for table in ("users", "user_groups", "api_tokens"):
            rows = su.execute(f"SELECT count(*) FROM {table} t WHERE t::text ILIKE '%%bernd%%'").fetchone()[0]  # type: ignore[index]  # noqa: S608
            assert rows == 0, table
    assert rt.audit.verify().ok


def test_web_traces_of_a_user_are_exported_and_erased(rt: Runtime) -> None:
    """Sessions, upload jobs and feedback (stored under the account's pseudonym) belong to the account."""
    from kreiswissen.admin.usage import record_feedback
    from kreiswissen.web.sessions import SessionStore

    rt.identity.add_group("admin", "bauamt")
    user = rt.identity.add_user("admin", "carla", ["bauamt"], PASSWORD, roles=["leser", "redakteur"])
    principal = user.principal()
    SessionStore(rt.db, rt.settings).create(user)
    rt.jobs.submit(principal, "Satzung_Carla.md", b"# Satzung\n\nText der Satzung.\n", ["bauamt"])
    record_feedback(rt.db, rt.audit, principal, "Wie hoch ist die Hundesteuer?", "extractive", -1,
                    "Fehlt der Betrag")
    data = rt.dsgvo.export_user("dsb", "carla", None, "Auskunftsersuchen 3")
    assert len(data["web_sessions"]) == 1
    assert [j["file_name"] for j in data["upload_jobs"]] == ["Satzung_Carla.md"]
    assert [(f["rating"], f["comment"]) for f in data["feedback"]] == [(-1, "Fehlt der Betrag")]
    rt.dsgvo.erase_user("dsb", "carla", "Ausscheiden aus dem Dienst")
    hits = _scan_all_tables(rt, ["carla", "Fehlt der Betrag"])
    assert set(hits) == {"audit_log:carla"}, hits  # the audit trail keeps who did what (its own retention)
    with rt.db.admin_connection() as su:
        assert su.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0  # type: ignore[index]
        assert su.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0  # type: ignore[index]
