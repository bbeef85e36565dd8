"""Standard cases as the interfaces use them: import a mailbox, route, draft a reply, work the queue.

``CaseService`` ties the catalogue, the router, the text blocks, the reply drafter and the stored queue
(``CaseStore``) to a ``Runtime``; the CLI (``kreiswissen cases …``) and the web pages (``/vorgaenge``) call it.

**Import** (``import_folder``): every file of a Maildir or an EML folder is read, pseudonymised for routing,
routed and stored as one request in its own transaction, so an interrupted import resumes where it stopped
(files already imported, or already reported unreadable, are recognised by their SHA-256 and skipped). A file
that cannot be read is reported with its reason and recorded in ``case_import_failures``; it stays where it
is, nothing is moved or deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kreiswissen.cases.blocks import TextBlock, load_blocks
from kreiswissen.cases.catalogue import Catalogue, load_stored
from kreiswissen.cases.intake import IncomingRequest, UnreadableRequest, iter_folder, read_request
from kreiswissen.cases.reply import ReplyDraft, ReplyDrafter
from kreiswissen.cases.store import CaseStore
from kreiswissen.security.pii import pseudonymise
from kreiswissen.security.principal import Principal

if TYPE_CHECKING:
    from kreiswissen.cases.router import Router
    from kreiswissen.models.generator import Generator
    from kreiswissen.runtime import Runtime

Progress = Callable[[int, int, str, str], None]  # done, total, file name, outcome (German)
REPLY_MAX_TOKENS = 400  # at most six sentences are asked for


@dataclass
class ImportReport:
    total: int = 0
    imported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already imported or already reported
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "imported": self.imported, "skipped": self.skipped, "failed": self.failed}


class CaseService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.store = CaseStore(rt.db, rt.settings, rt.audit)
        self._router: tuple[str, Router] | None = None

    # -- catalogue and router -------------------------------------------------------------------------------
    def catalogue(self, principal: Principal) -> Catalogue:
        return load_stored(self.rt.db, principal)

    def router(self, principal: Principal, catalogue: Catalogue | None = None) -> Router:
        """The router for the stored catalogue (rebuilt when the catalogue changed)."""
        from kreiswissen.cases.router import Router, cached_vectors

        catalogue = catalogue or self.catalogue(principal)
        key = repr(sorted((s.id, hash(s)) for s in catalogue.services.values()))
        if self._router is None or self._router[0] != key:
            self._router = (key, Router(catalogue, self.rt.embedder, cached_vectors(self.rt, principal)))
        return self._router[1]

    def route_text(self, principal: Principal, text: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
        """The routing of a request (pseudonymised first: the embedding model never sees personal data)."""
        catalogue = catalogue or self.catalogue(principal)
        routing = self.router(principal, catalogue).route(pseudonymise(text).text)
        return routing.to_json(catalogue)

    # -- import ---------------------------------------------------------------------------------------------
    def import_folder(self, principal: Principal, folder: Path, progress: Progress | None = None) -> ImportReport:
        files = list(iter_folder(folder))
        catalogue = self.catalogue(principal)
        report = ImportReport(total=len(files))
        for done, (path, maildir) in enumerate(files, start=1):
            outcome = self._import_one(principal, path, maildir, catalogue, report)
            if progress is not None:
                progress(done, len(files), path.name, outcome)
        return report

    def _import_one(self, principal: Principal, path: Path, maildir: bool, catalogue: Catalogue,
                    report: ImportReport) -> str:
        import hashlib

        try:
            data = path.read_bytes()
        except OSError as exc:
            report.failed.append({"source": path.name, "reason": f"nicht lesbar ({exc.strerror or exc})"})
            return f"nicht lesbar ({exc.strerror or exc})"
        sha = hashlib.sha256(data).hexdigest()
        if self.store.known(principal, sha):
            report.skipped.append(path.name)
            return "bereits übernommen"
        try:
            request = read_request(data, path.name, self.rt.settings, maildir=maildir)
        except UnreadableRequest as exc:
            self.store.record_failure(principal, path.name, sha, exc.user_message)
            report.failed.append({"source": path.name, "reason": exc.user_message})
            return f"übersprungen: {exc.user_message}"
        cid, _ = self.add(principal, request, catalogue)
        case = {"id": cid, "source": path.name, "subject": request.subject, "problems": request.problems}
        stored = self.store.get(principal, cid)
        case.update({"service": stored["service_id"], "unit": stored["unit_id"],
                     "confidence": stored["confidence"], "out_of_scope": stored["out_of_scope"]})
        report.imported.append(case)
        if stored["out_of_scope"]:
            return "übernommen, keine passende Leistung (bitte zuordnen)"
        name = catalogue.services[stored["service_id"]].name if stored["service_id"] in catalogue.services else "?"
        return f"übernommen → {name}"

    def add(self, principal: Principal, request: IncomingRequest,
            catalogue: Catalogue | None = None) -> tuple[str, bool]:
        catalogue = catalogue or self.catalogue(principal)
        routing = self.route_text(principal, request.request_text, catalogue)
        return self.store.add(principal, request, routing)

    # -- drafts ---------------------------------------------------------------------------------------------
    def drafter(self, principal: Principal, *, generate: bool | None = None,
                generator: Generator | None = None, catalogue: Catalogue | None = None) -> ReplyDrafter:
        """The drafter for ``principal`` (their search only). ``generate``: None = when a model is configured."""
        rt = self.rt
        if generator is None and generate is not False:
            generator = rt.generator
        if generate is False:
            generator = None
        blocks: list[TextBlock] = load_blocks(rt.db, principal)
        return ReplyDrafter(
            catalogue=catalogue or self.catalogue(principal),
            search=lambda q: rt.search(q, principal, top_k=6),
            extractive=rt.answerer.from_result,
            blocks=blocks, generator=generator,
            embed=lambda texts: rt.embedder.embed_passages(texts),
            max_answer_tokens=min(rt.settings.llm_max_answer_tokens, REPLY_MAX_TOKENS),
            temperature=rt.settings.llm_temperature)

    def draft(self, principal: Principal, cid: str, *, generate: bool | None = None,
              generator: Generator | None = None) -> ReplyDraft:
        """Write a reply draft for a stored request and store it (status "Entwurf")."""
        case = self.store.get(principal, cid)
        draft = self.drafter(principal, generate=generate, generator=generator).draft(case)
        self.store.set_draft(principal, cid, draft.text, draft.meta())
        return draft
