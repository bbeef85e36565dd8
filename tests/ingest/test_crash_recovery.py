"""kill -9 during ingest, and a database restart during ingest: rerun completes, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from kreiswissen.config import Settings
from kreiswissen.db.database import Database
from kreiswissen.db.embedded import stop_embedded
from kreiswissen.ingest.pipeline import Ingestor
from kreiswissen.models.embedder import get_embedder
from kreiswissen.security.keys import principal_mac
from kreiswissen.security.principal import Principal

N_FILES = 24


def _make_corpus(directory: Path) -> None:
    directory.mkdir()
    for i in range(N_FILES):
        (directory / f"satzung_{i:02d}.md").write_text(
            f"---\ntitel: Satzung Nummer {i}\n---\n\n### § 1 Gegenstand\n\n"
            f"Die Gemeinde Beispielhausen {i} erhebt eine Gebühr von {100 + i} Euro für die Nutzung der Halle {i}. "
            "Die Gebühr ist vor der Nutzung zu entrichten.\n\n### § 2 Inkrafttreten\n\n"
            f"Diese Satzung tritt am {1 + i % 28}. Januar 2026 in Kraft.\n",
            encoding="utf-8",
        )


def _consistency(db: Database) -> dict[str, int]:
    """Counts as the operator, on a connection of its own (the signed principal, as Database sets it)."""
    with psycopg.connect(db.info.app_url, autocommit=True, connect_timeout=5,
                         options="-c statement_timeout=5000") as conn:
        conn.execute("SELECT set_config('kreiswissen.groups', '{\"alle\"}', false), "
                     "set_config('kreiswissen.operator', 'on', false), "
                     "set_config('kreiswissen.principal_mac', %s, false)",
                     (principal_mac(db.principal_key, '{"alle"}', True),))
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        return {
            "current": one("SELECT count(*) FROM documents WHERE is_current"),
            "sources": one("SELECT count(DISTINCT source_key) FROM documents"),
            "versions": one("SELECT count(*) FROM documents"),
            "chunks": one("SELECT count(*) FROM chunks"),
            "declared_chunks": one("SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE is_current"),
            "postings": one("SELECT count(*) FROM postings"),
            "df_sum": one("SELECT coalesce(sum(df), 0) FROM term_stats"),
            "n_chunks": one("SELECT n_chunks FROM corpus_stats"),
        }


def _assert_complete(stats: dict[str, int]) -> None:
    assert stats["current"] == stats["sources"] == stats["versions"] == N_FILES, stats
    assert stats["chunks"] == stats["declared_chunks"] == stats["n_chunks"], stats
    assert stats["postings"] == stats["df_sum"], stats


def test_kill_9_during_ingest_then_rerun(tmp_path: Path, home_dir: Path) -> None:
    home, docs = home_dir, tmp_path / "docs"
    _make_corpus(docs)
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "kreiswissen.cli", "ingest", str(docs)]
    settings = Settings(home=home, database_url=None)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        db = None
        deadline = time.monotonic() + 120
        last_error: Exception | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            if (home / "db" / "postmaster.pid").exists():
                try:
                    db = db or Database(settings)
                    if _consistency(db)["current"] >= 3:
                        break
                except Exception as exc:  # noqa: BLE001 - server still starting
                    last_error = exc
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert db is not None
        partial = _consistency(db)
        assert 3 <= partial["current"] < N_FILES, f"kill came too late or too early: {partial}, {last_error!r}"
        assert partial["chunks"] == partial["declared_chunks"]  # no half-written document
        assert partial["postings"] == partial["df_sum"]

        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        _assert_complete(_consistency(db))
        third = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=300)
        assert '"unchanged": 24' in third.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        stop_embedded(home / "db")


def test_database_restart_mid_ingest_loses_nothing(tmp_path: Path, home_dir: Path) -> None:
    home, docs = home_dir, tmp_path / "docs"
    _make_corpus(docs)
    settings = Settings(home=home, database_url=None)
    db = Database(settings)
    ingestor = Ingestor(db, get_embedder(settings), settings)
    seen: list[str] = []

    def restart_after_fifth(result: object) -> None:
        seen.append(getattr(result, "status", ""))
        if len(seen) == 5:
            stop_embedded(home / "db")  # the server goes away between two documents

    try:
        report = ingestor.ingest([docs], Principal.local_operator(), progress=restart_after_fifth)
        # The store reconnects (restarting the embedded server) and carries on.
        assert report.count("added") + report.count("failed") == N_FILES
        for failed in report.failed:
            assert "Datenbank" in (failed.error or "")
        again = ingestor.ingest([docs], Principal.local_operator())
        assert not again.failed
        _assert_complete(_consistency(db))
    finally:
        db.close()
        stop_embedded(home / "db")
