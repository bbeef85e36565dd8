"""Shared fixtures: real embedded PostgreSQL servers and the real packaged embedding model.

Two homes per test session: ``corpus_rt`` holds a read-only corpus (sample statutes, ingested once) for
search and answer tests; ``rt`` is emptied before each test for ingestion tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kreiswissen.config import Settings  # noqa: E402
from kreiswissen.db.embedded import stop_embedded  # noqa: E402
from kreiswissen.runtime import Runtime  # noqa: E402
from kreiswissen.security.principal import Principal  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "statutes"

# A subset of the sample statutes that still has the hard cases: five near-identical Hundesteuer
# statutes of different municipalities, two Streupflicht statutes, two Friedhof statutes.
CORPUS_FILES = [
    "ABG_Satzung_Hundesteuer.md",
    "BBO_Satzung_Erhebung_Hundesteuer.md",
    "EHB_Satzung_Hundesteuer.md",
    "GLS_Satzung_Hundesteuer.md",
    "HNO_Satzung_Hundesteuer.md",
    "ABG_Satzung_Streupflicht.md",
    "BBO_Satzung_Streupflicht.md",
    "BBO_Benutzungsordnung_Buecherei.md",
]


def _settings(home: Path) -> Settings:
    return Settings(home=home, database_url=None, embedder="e5", threads=2)


def _stop_all(base: Path) -> None:
    for sub in base.rglob("db"):
        if (sub / "PG_VERSION").exists():
            stop_embedded(sub)


@pytest.fixture(scope="session")
def homes() -> Iterator[Path]:
    """Database homes live outside pytest's tmp tree: pytest resets that tree's permissions to 0700 when another
    session starts, which would lock out the ``pgserver`` system user that runs PostgreSQL when we are root."""
    base = Path(tempfile.mkdtemp(prefix="kreiswissen-test-"))
    yield base
    _stop_all(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def home_dir(homes: Path) -> Iterator[Path]:
    """A fresh, empty directory for a test's own KREISWISSEN_HOME; its server is stopped afterwards."""
    path = Path(tempfile.mkdtemp(prefix="home-", dir=homes))
    yield path
    _stop_all(path)


@pytest.fixture(scope="session")
def corpus_home(homes: Path) -> Path:
    return homes / "corpus"


@pytest.fixture(scope="session")
def corpus_rt(corpus_home: Path) -> Iterator[Runtime]:
    corpus_home.mkdir(exist_ok=True)
    rt = Runtime.open(_settings(corpus_home))
    docs = corpus_home / "docs"
    docs.mkdir(exist_ok=True)
    for name in CORPUS_FILES:
        shutil.copy(SAMPLES / name, docs / name)
    report = rt.ingestor.ingest([docs], Principal.local_operator())
    assert not report.failed, report.failed
    # One confidential document, readable only by the group "personal".
    secret = corpus_home / "secret"
    secret.mkdir(exist_ok=True)
    (secret / "gehaltsliste.md").write_text(
        "---\ntitel: Vertrauliche Gehaltsliste Kämmerei\n---\n\n# Gehälter\n\n"
        "Die Kämmerin Erika Mustermann erhält ein Jahresgehalt von 98.765 Euro nach Entgeltgruppe 15.\n",
        encoding="utf-8",
    )
    report = rt.ingestor.ingest([secret], Principal.local_operator(), groups=["personal"])
    assert not report.failed, report.failed
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def _work_rt(homes: Path) -> Iterator[Runtime]:
    home = homes / "work"
    home.mkdir(exist_ok=True)
    rt = Runtime.open(_settings(home))
    yield rt
    rt.close()


@pytest.fixture
def rt(_work_rt: Runtime) -> Runtime:
    """An empty store (the embedding cache survives, which only saves time)."""
    with _work_rt.db.admin_connection() as admin:
        admin.execute("TRUNCATE documents, chunks, postings, term_stats CASCADE")
        admin.execute("UPDATE corpus_stats SET n_chunks = 0, total_terms = 0")
        admin.execute("TRUNCATE users, user_groups, api_tokens, audit_log, audit_checkpoints, conversations, "
                      "web_sessions, rate_limits, feedback, ingest_jobs, eval_runs, oparl_sync, oparl_objects, "
                      "minutes, minutes_events, services, service_units, catalogue_meta, cases, case_events, "
                      "case_import_failures, text_blocks "
                      "CASCADE")
        admin.execute("DELETE FROM groups WHERE name <> 'alle'")
        admin.execute("UPDATE audit_head SET last_id = 0, last_hash = repeat('0', 64)")
    return _work_rt


@pytest.fixture
def operator() -> Principal:
    return Principal.local_operator()
