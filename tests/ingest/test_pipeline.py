"""Ingestion against the real embedded PostgreSQL and the real embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kreiswissen.errors import NotFound, PermissionDenied
from kreiswissen.ingest.service import delete_source, list_documents
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

STATUTE = """---
titel: Satzung über die Erhebung der Hundesteuer in der Gemeinde Musterdorf
gemeinde: Musterdorf
rechtsnatur: satzung
stand: 2025-03-20
---

### § 1 Steuergegenstand

- (1) Die Gemeinde erhebt die Hundesteuer nach dieser Satzung.

### § 5 Steuersatz

- (1) Die Steuer beträgt im Kalenderjahr für jeden Hund 120 Euro.
- (2) Für den zweiten und jeden weiteren Hund beträgt sie 240 Euro.
"""


def _counts(rt: Runtime) -> tuple[int, int, int, int]:
    with rt.db.transaction(Principal.local_operator()) as conn:
        docs = conn.execute("SELECT count(*) FROM documents WHERE is_current").fetchone()[0]
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        postings = conn.execute("SELECT count(*) FROM postings").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    return docs, chunks, postings, versions


def test_markdown_statute_is_stored_with_metadata_sections_and_vectors(rt: Runtime, tmp_path: Path,
                                                                       operator: Principal) -> None:
    path = tmp_path / "hundesteuer.md"
    path.write_text(STATUTE, encoding="utf-8")
    report = rt.ingestor.ingest([path], operator)
    assert [r.status for r in report.results] == ["added"]
    with rt.db.transaction(operator) as conn:
        doc = conn.execute("SELECT title, municipality, doc_type, format, doc_date, access_groups, "
                           "metadata->>'gemeinde', source FROM documents").fetchone()
        chunks = conn.execute("SELECT section, embedding IS NOT NULL, embedding_model, lexemes::text "
                              "FROM chunks ORDER BY ord").fetchall()
    assert doc[0] == "Satzung über die Erhebung der Hundesteuer in der Gemeinde Musterdorf"
    assert doc[1:5] == ("Musterdorf", "satzung", "markdown", __import__("datetime").date(2025, 3, 20))
    assert doc[5] == ["alle"] and doc[6] == "Musterdorf" and doc[7] == str(path)
    assert [c[0].split(" › ")[-1] for c in chunks] == ["§ 1 Steuergegenstand", "§ 5 Steuersatz"]
    assert all(c[1] and c[2] == rt.embedder.model_id for c in chunks)
    assert "'hund'" in chunks[0][3] and "'steu'" in chunks[0][3]  # compound parts are indexed


def test_reingest_is_idempotent_and_a_change_replaces_the_version(rt: Runtime, tmp_path: Path,
                                                                  operator: Principal) -> None:
    path = tmp_path / "hundesteuer.md"
    path.write_text(STATUTE, encoding="utf-8")
    rt.ingestor.ingest([tmp_path], operator)
    before = _counts(rt)
    again = rt.ingestor.ingest([tmp_path], operator)
    assert [r.status for r in again.results] == ["unchanged"]
    assert _counts(rt) == before

    path.write_text(STATUTE.replace("240 Euro", "300 Euro"), encoding="utf-8")
    changed = rt.ingestor.ingest([tmp_path], operator)
    assert [r.status for r in changed.results] == ["updated"]
    docs, chunks, _, versions = _counts(rt)
    assert (docs, chunks, versions) == (1, before[1], 2)
    hits = rt.searcher.search("Steuersatz zweiter Hund", operator, top_k=3).hits
    assert "300 Euro" in hits[0].chunk.text and all("240 Euro" not in h.chunk.text for h in hits)
    with rt.db.transaction(operator) as conn:
        # term statistics follow the replacement: no term counted twice
        df = conn.execute("SELECT df FROM term_stats WHERE term = 'steuersatz'").fetchone()[0]
        assert df == 1
        assert conn.execute("SELECT count(*) FROM term_stats WHERE term = '240'").fetchone()[0] in (0, 1)
        assert conn.execute("SELECT coalesce(max(df), 0) FROM term_stats WHERE term = '240'").fetchone()[0] == 0


def test_delete_removes_document_chunks_postings_and_statistics(rt: Runtime, tmp_path: Path,
                                                               operator: Principal) -> None:
    path = tmp_path / "hundesteuer.md"
    path.write_text(STATUTE, encoding="utf-8")
    rt.ingestor.ingest([path], operator)
    assert delete_source(rt.db, str(path), operator) == 1
    assert _counts(rt) == (0, 0, 0, 0)
    with rt.db.transaction(operator) as conn:
        assert conn.execute("SELECT coalesce(sum(df), 0) FROM term_stats").fetchone()[0] == 0
        assert conn.execute("SELECT n_chunks FROM corpus_stats").fetchone()[0] == 0


def test_bad_files_fail_with_reasons_and_the_batch_goes_on(rt: Runtime, tmp_path: Path,
                                                          operator: Principal) -> None:
    (tmp_path / "a_leer.txt").write_bytes(b"")
    (tmp_path / "b_kaputt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    (tmp_path / "c_gut.md").write_text(STATUTE, encoding="utf-8")
    (tmp_path / "d_falsch.docx").write_bytes(b"%PDF-1.4 not a word file")
    report = rt.ingestor.ingest([tmp_path], operator)
    status = {Path(r.source).name: r for r in report.results}
    assert status["c_gut.md"].status == "added"
    for name in ("a_leer.txt", "b_kaputt.pdf", "d_falsch.docx"):
        assert status[name].status == "failed"
        assert name in (status[name].error or "")
    assert _counts(rt)[0] == 1


def test_file_over_the_size_limit_is_refused_before_reading(rt: Runtime, tmp_path: Path,
                                                           operator: Principal) -> None:
    big = tmp_path / "gross.txt"
    with big.open("wb") as fh:
        fh.truncate(rt.settings.max_file_bytes + 1)  # sparse: no disk, no reading
    report = rt.ingestor.ingest([big], operator)
    assert report.results[0].status == "failed"
    assert "zu groß" in (report.results[0].error or "")


def test_groups_are_stored_and_changing_them_updates_access(rt: Runtime, tmp_path: Path,
                                                           operator: Principal) -> None:
    path = tmp_path / "intern.md"
    path.write_text(STATUTE, encoding="utf-8")
    rt.ingestor.ingest([path], operator, groups=["ordnungsamt"], department="Ordnungsamt")
    outsider = Principal.with_groups(["jugendamt"])
    insider = Principal.with_groups(["ordnungsamt"])
    assert list_documents(rt.db, outsider) == []
    assert [d["department"] for d in list_documents(rt.db, insider)] == ["Ordnungsamt"]
    report = rt.ingestor.ingest([path], operator, groups=["jugendamt"])
    assert report.results[0].status == "access_updated"
    assert list_documents(rt.db, insider) == []
    assert rt.searcher.search("Hundesteuer", outsider).hits


def test_deleting_needs_a_shared_group_not_just_read_access(rt: Runtime, tmp_path: Path, operator: Principal) -> None:
    public, internal = tmp_path / "oeffentlich.md", tmp_path / "intern.md"
    public.write_text(STATUTE, encoding="utf-8")
    internal.write_text(STATUTE.replace("Musterdorf", "Beispielstadt"), encoding="utf-8")
    rt.ingestor.ingest([public], operator)
    rt.ingestor.ingest([internal], operator, groups=["ordnungsamt"])
    clerk = Principal.with_groups(["ordnungsamt"])
    with pytest.raises(PermissionDenied):
        delete_source(rt.db, str(public), clerk)
    with pytest.raises(NotFound):
        delete_source(rt.db, str(internal), Principal.with_groups(["jugendamt"]))  # cannot even see it
    assert delete_source(rt.db, str(internal), clerk) == 1
    assert [d["source"] for d in list_documents(rt.db, operator)] == [str(public)]


def test_a_user_cannot_grant_groups_they_are_not_in(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(STATUTE, encoding="utf-8")
    with pytest.raises(PermissionDenied):
        rt.ingestor.ingest([path], Principal.with_groups(["ordnungsamt"]), groups=["personal"])
