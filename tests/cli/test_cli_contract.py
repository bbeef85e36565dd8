"""The CLI contract our acceptance checks use: commands, options, JSON shapes, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kreiswissen.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
KW = [sys.executable, "-m", "kreiswissen.cli"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run([*KW, *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def _is_hit(item: dict) -> None:
    assert set(item) == {"rank", "score", "document", "chunk"}
    assert isinstance(item["rank"], int) and isinstance(item["score"], float)
    assert set(item["document"]) == {"id", "title", "source"}
    assert all(isinstance(item["document"][k], str) for k in ("id", "title", "source"))
    assert set(item["chunk"]) == {"id", "text", "section", "page"}
    assert isinstance(item["chunk"]["id"], str) and isinstance(item["chunk"]["text"], str)
    assert item["chunk"]["section"] is None or isinstance(item["chunk"]["section"], str)
    assert item["chunk"]["page"] is None or isinstance(item["chunk"]["page"], int)


def test_search_json_shape_and_source_as_given(corpus_rt: Runtime, corpus_home: Path) -> None:
    proc = run(corpus_home, "search", "Hundesteuer zweiter Hund Bad Boll", "--top-k", "3", "--json")
    data = json.loads(proc.stdout)
    assert data["query"] == "Hundesteuer zweiter Hund Bad Boll"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    for item in data["results"]:
        _is_hit(item)
    assert data["results"][0]["document"]["source"] == str(corpus_home / "docs" / "BBO_Satzung_Erhebung_Hundesteuer.md")


def test_ask_json_answer_and_refusal(corpus_rt: Runtime, corpus_home: Path) -> None:
    data = json.loads(run(corpus_home, "ask", "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?",
                          "--json").stdout)
    assert data["answered"] is True and "330" in data["answer"]
    assert data["citations"]
    for item in data["citations"]:
        _is_hit(item)
    refused = json.loads(run(corpus_home, "ask", "Was kostet ein neuer Reisepass?", "--json").stdout)
    assert refused["answered"] is False and refused["citations"] == []
    assert refused["answer"] == "Dazu habe ich in den freigegebenen Dokumenten nichts gefunden."


def test_as_group_restricts_and_operator_sees_all(corpus_rt: Runtime, corpus_home: Path) -> None:
    query = ["search", "Jahresgehalt Kämmerin Mustermann", "--json", "--top-k", "20"]
    titles = [r["document"]["title"] for r in json.loads(run(corpus_home, *query).stdout)["results"]]
    assert any("Gehaltsliste" in t for t in titles)
    limited = json.loads(run(corpus_home, *query, "--as-group", "bauamt").stdout)["results"]
    assert all("Gehaltsliste" not in r["document"]["title"] for r in limited)
    allowed = json.loads(run(corpus_home, *query, "--as-group", "bauamt", "--as-group", "personal").stdout)
    assert "Gehaltsliste" in allowed["results"][0]["document"]["title"]


def test_ingest_group_department_delete_and_exit_codes(tmp_path: Path, home_dir: Path) -> None:
    home = home_dir
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ROOT / "samples" / "statutes" / "BBO_Benutzungsordnung_Buecherei.md", docs / "buecherei.md")
    (docs / "kaputt.pdf").write_bytes(b"%PDF-1.5 truncated")
    try:
        proc = run(home, "ingest", str(docs), "--group", "kultur", "--department", "Kulturamt", check=False)
        assert proc.returncode == 1  # one file failed
        assert "kaputt.pdf" in proc.stderr
        again = run(home, "ingest", str(docs / "buecherei.md"), "--group", "kultur", "--department", "Kulturamt",
                    "--json")
        assert json.loads(again.stdout)["summary"]["unchanged"] == 1
        hidden = json.loads(run(home, "search", "Leihfrist Bücherei", "--json", "--as-group", "bauamt").stdout)
        assert hidden["results"] == []
        seen = json.loads(run(home, "search", "Leihfrist Bücherei", "--json", "--as-group", "kultur").stdout)
        assert seen["results"]
        run(home, "delete", str(docs / "buecherei.md"))
        assert json.loads(run(home, "search", "Leihfrist Bücherei", "--json").stdout)["results"] == []
        missing = run(home, "delete", str(docs / "buecherei.md"), check=False)
        assert missing.returncode == 4 and "Kein Dokument" in missing.stderr
    finally:
        run(home, "db", "stop", check=False)


def test_home_selects_state_and_db_url(home_dir: Path) -> None:
    home = home_dir / "anderswo"
    try:
        url = run(home, "db", "url").stdout.strip()
        assert str(home / "db") in url and "kreiswissen_app" in url
        assert (home / "db" / "PG_VERSION").exists()
    finally:
        run(home, "db", "stop", check=False)


@pytest.mark.parametrize("args", [["search", ""], ["search", "x", "--top-k", "0"], ["search", "x", "--mode", "foo"]])
def test_bad_arguments_fail_clearly(corpus_rt: Runtime, corpus_home: Path, args: list[str]) -> None:
    proc = run(corpus_home, *args, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip()
