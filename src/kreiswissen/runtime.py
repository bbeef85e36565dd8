"""Wires the core (database, embedder) to the services. Interfaces (CLI, later web) build one Runtime.

The audited entry points (``search``, ``ask``, ``ingest``, ``delete``) are what interfaces call: each does
the work for a principal and records it in the audit log, so every interface audits the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from kreiswissen.answer.conversations import ConversationStore
from kreiswissen.answer.extractive import Answer, ExtractiveAnswerer
from kreiswissen.answer.followup import standalone_question
from kreiswissen.answer.generated import GroundedAnswerer
from kreiswissen.answer.summarize import Summarizer, Summary
from kreiswissen.cases.service import CaseService
from kreiswissen.config import Settings, get_settings
from kreiswissen.db.database import Database
from kreiswissen.db.migrate import ensure_vector_index
from kreiswissen.ingest.jobs import JobQueue
from kreiswissen.ingest.pipeline import FileResult, Ingestor, IngestReport
from kreiswissen.minutes.store import MinutesStore
from kreiswissen.models.embedder import Embedder, get_embedder
from kreiswissen.models.generator import Generator, get_generator
from kreiswissen.models.reranker import Reranker, get_reranker
from kreiswissen.search.hybrid import Searcher, SearchResult
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.dsgvo import DataSubjectRights
from kreiswissen.security.identity import Identity
from kreiswissen.security.input_policy import check_question
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
        return Searcher(self.db, self.embedder, self.settings, self.reranker)

    @cached_property
    def reranker(self) -> Reranker | None:
        return get_reranker(self.settings)

    @cached_property
    def generator(self) -> Generator | None:
        return get_generator(self.settings)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.searcher, self.settings.answer_threshold)

    @cached_property
    def grounded(self) -> GroundedAnswerer | None:
        generator = self.generator
        return GroundedAnswerer(self.answerer, generator, self.settings) if generator is not None else None

    @cached_property
    def summarizer(self) -> Summarizer:
        return Summarizer(self.db, self.embedder, self.generator, self.settings)

    @cached_property
    def conversations(self) -> ConversationStore:
        return ConversationStore(self.db)

    @cached_property
    def minutes(self) -> MinutesStore:
        """Stored Niederschriften; approval ingests through ``ingest`` below, as the approving principal."""
        return MinutesStore(self.db, self.settings, self.ingest, self.audit)

    @cached_property
    def cases(self) -> CaseService:
        """Citizens' requests: import, routing, reply drafts and the work queue (issue 7)."""
        return CaseService(self)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, self.settings)

    @cached_property
    def identity(self) -> Identity:
        return Identity(self.db, self.settings, self.audit)

    @cached_property
    def dsgvo(self) -> DataSubjectRights:
        return DataSubjectRights(self.db, self.audit)

    @cached_property
    def jobs(self) -> JobQueue:
        """The upload queue; its workers ingest through ``ingest`` below, as each job's owner."""
        return JobQueue(self.db, self.settings, self.ingest, self.identity.principal_for, self.audit,
                        create_minutes=lambda *a, **kw: self.minutes.create_draft(*a, **kw))

    # -- audited entry points for interfaces --------------------------------------------------------------
    def search(self, query: str, principal: Principal, **options: Any) -> SearchResult:
        result = self.searcher.search(check_question(query), principal, **options)
        self.audit.record_query(principal.name, "search", result.query, [h.document.id for h in result.hits])
        return result

    def ask(self, question: str, principal: Principal, *, extractive: bool = False,
            on_token: Callable[[str], None] | None = None) -> Answer:
        """Generated when a language model is configured (unless ``extractive``), else extractive."""
        question = check_question(question)
        grounded = None if extractive else self.grounded
        if grounded is not None:
            answer = grounded.ask(question, principal, on_token=on_token)
        else:
            answer = self.answerer.ask(question, principal)
        self.audit.record_query(principal.name, "ask", question, [c.document.id for c in answer.citations],
                                {"answered": answer.answered, "mode": answer.mode})
        return answer

    def ask_in_conversation(self, question: str, principal: Principal, conversation_id: str | None, *,
                            extractive: bool = False, on_token: Callable[[str], None] | None = None) -> Answer:
        """A question within a conversation (a new one when ``conversation_id`` is None): a follow-up is resolved
        with the history into a standalone question first; the turn is stored for its owner only."""
        question = check_question(question)
        if conversation_id is None:
            conversation_id = self.conversations.start(principal, question)
            history = []
        else:
            history = self.conversations.history(principal, conversation_id)
        generator = None if extractive else self.generator
        places = self.searcher.municipalities(principal) if history else []
        standalone = standalone_question(question, history, generator, places=places) if history else question
        answer = self.ask(standalone, principal, extractive=extractive, on_token=on_token)
        mode = answer.mode if answer.answered else "refused"
        self.conversations.append(principal, conversation_id, question, standalone, answer.answer, mode,
                                  [c.to_json() for c in answer.citations])
        return replace(answer, question=question, standalone_question=standalone, conversation_id=conversation_id)

    def delete_conversation(self, conversation_id: str, principal: Principal) -> None:
        self.conversations.delete(principal, conversation_id)
        self.audit.record(principal.name, "conversation.delete", {"conversation": conversation_id})

    def expire_conversations(self, retention_days: int) -> int:
        removed = self.conversations.expire(retention_days)
        self.audit.record("system", "conversation.expire", {"retention_days": retention_days, "removed": removed})
        return removed

    def summarize(self, source: str, principal: Principal, *, extractive: bool = False) -> Summary:
        summary = self.summarizer.summarize(source, principal, extractive=extractive)
        self.audit.record_query(principal.name, "summarize", source, [summary.citations[0].document.id]
                                if summary.citations else [], {"mode": summary.mode})
        return summary

    def ingest(self, paths: list[Path], principal: Principal, groups: list[str] | None = None,
               department: str | None = None, classification: str | None = None,
               progress: Callable[[FileResult], None] | None = None,
               metadata: dict[str, Any] | None = None) -> IngestReport:
        report = self.ingestor.ingest(paths, principal, groups, department, progress=progress,
                                      classification=classification, metadata=metadata)
        for r in report.results:
            if r.status in ("added", "updated", "access_updated"):
                event = "document.upload" if r.status == "added" else "document.change"
                self.audit.record(principal.name, event, {
                    "source": r.source, "status": r.status, "groups": sorted(groups or []),
                    "department": department, "classification": classification or "intern"})
        return report

    def change_access(self, document_id: str, principal: Principal, groups: list[str], department: str | None,
                      classification: str | None) -> dict[str, Any]:
        from kreiswissen.ingest.service import change_access

        result = change_access(self.db, principal, document_id, groups, department, classification)
        self.audit.record(principal.name, "document.change", {"document": document_id, **{
            k: result[k] for k in ("access_groups", "department", "classification", "previous")}})
        return result

    def delete(self, source: str, principal: Principal) -> int:
        from kreiswissen.ingest.service import delete_source

        removed = delete_source(self.db, source, principal)
        self.audit.record(principal.name, "document.delete", {"source": source, "versions": removed})
        return removed

    def close(self) -> None:
        self.db.close()
