"""Wires the core (database, embedder) to the services. Interfaces (CLI, later web) build one Runtime.

The audited entry points (``search``, ``ask``, ``ingest``, ``delete``) are what interfaces call: each does
the work for a principal and records it in the audit log, so every interface audits the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kreiswissen.answer.extractive import Answer, ExtractiveAnswerer
from kreiswissen.config import Settings, get_settings
from kreiswissen.db.database import Database
from kreiswissen.db.migrate import ensure_vector_index
from kreiswissen.ingest.pipeline import FileResult, Ingestor, IngestReport
from kreiswissen.models.embedder import Embedder, get_embedder
from kreiswissen.search.hybrid import Searcher, SearchResult
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.dsgvo import DataSubjectRights
from kreiswissen.security.identity import Identity
from kreiswissen.security.principal import Principal


@dataclass
class Runtime:
    settings: Settings
    db: Database

    @classmethod
    def open(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, db=Database(settings))

    @cached_property
    def embedder(self) -> Embedder:
        embedder = get_embedder(self.settings)
        with self.db.admin_connection() as admin:
            ensure_vector_index(admin, embedder.model_id, embedder.dim)
        return embedder

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.db, self.embedder, self.settings)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.db, self.embedder, self.settings)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.searcher, self.settings.answer_threshold)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, self.settings)

    @cached_property
    def identity(self) -> Identity:
        return Identity(self.db, self.settings, self.audit)

    @cached_property
    def dsgvo(self) -> DataSubjectRights:
        return DataSubjectRights(self.db, self.audit)

    # -- audited entry points for interfaces --------------------------------------------------------------
    def search(self, query: str, principal: Principal, **options: Any) -> SearchResult:
        result = self.searcher.search(query, principal, **options)
        self.audit.record_query(principal.name, "search", result.query, [h.document.id for h in result.hits])
        return result

    def ask(self, question: str, principal: Principal) -> Answer:
        answer = self.answerer.ask(question, principal)
        self.audit.record_query(principal.name, "ask", question, [c.document.id for c in answer.citations],
                                {"answered": answer.answered})
        return answer

    def ingest(self, paths: list[Path], principal: Principal, groups: list[str] | None = None,
               department: str | None = None, classification: str | None = None,
               progress: Callable[[FileResult], None] | None = None) -> IngestReport:
        report = self.ingestor.ingest(paths, principal, groups, department, progress=progress,
                                      classification=classification)
        for r in report.results:
            if r.status in ("added", "updated", "access_updated"):
                event = "document.upload" if r.status == "added" else "document.change"
                self.audit.record(principal.name, event, {
                    "source": r.source, "status": r.status, "groups": sorted(groups or []),
                    "department": department, "classification": classification or "intern"})
        return report

    def delete(self, source: str, principal: Principal) -> int:
        from kreiswissen.ingest.service import delete_source

        removed = delete_source(self.db, source, principal)
        self.audit.record(principal.name, "document.delete", {"source": source, "versions": removed})
        return removed

    def close(self) -> None:
        self.db.close()
