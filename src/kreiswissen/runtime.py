"""Wires the core (database, embedder) to the services. Interfaces (CLI, later web) build one Runtime."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from kreiswissen.answer.extractive import ExtractiveAnswerer
from kreiswissen.config import Settings, get_settings
from kreiswissen.db.database import Database
from kreiswissen.db.migrate import ensure_vector_index
from kreiswissen.ingest.pipeline import Ingestor
from kreiswissen.models.embedder import Embedder, get_embedder
from kreiswissen.search.hybrid import Searcher
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.dsgvo import DataSubjectRights
from kreiswissen.security.identity import Identity


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

    def close(self) -> None:
        self.db.close()
