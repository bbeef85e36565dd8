"""Ingestion: file → parse → chunk → German lexemes + embedding → one transaction per document version.

Idempotent by content hash: an unchanged file is skipped, a changed file replaces its current version
atomically, and a crash (even ``kill -9``) leaves either the old or the new version, never a mixture.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from kreiswissen.config import Settings
from kreiswissen.db import documents as store
from kreiswissen.db.database import Database
from kreiswissen.errors import FileTooLarge, InputError, KreiswissenError
from kreiswissen.ingest.model import ParsedDocument
from kreiswissen.models.embedder import Embedder, text_hash
from kreiswissen.security.policy import normalise_classification, require_delete, require_upload
from kreiswissen.security.principal import EVERYONE, Principal, validate_group
from kreiswissen.text.analyzer import index_terms
from kreiswissen.text.chunker import Chunk, chunk_document

Status = Literal["added", "updated", "unchanged", "access_updated", "failed"]


@dataclass
class FileResult:
    source: str
    status: Status
    chunks: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def chunks(self) -> int:
        return sum(r.chunks for r in self.results if r.status in ("added", "updated"))


def expand_paths(paths: Iterable[Path | str]) -> Iterator[tuple[str, Path]]:
    """(source as given, path) for every file below the given paths, recursively, in a stable order.

    Hidden files and directories (".git", "~$lock" files of office suites) are skipped.
    """
    for given in paths:
        root = Path(given)
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith((".", "~$")):
                        continue
                    path = Path(dirpath) / name
                    yield str(path), path
        else:
            yield str(given), root


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_key(path: Path) -> str:
    return str(path.resolve())


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        text = value.strip()
        for candidate in (text[:10], text[2:12] if text.startswith("D:") else ""):
            try:
                return date.fromisoformat(candidate)
            except ValueError:
                continue
        if text.startswith("D:") and len(text) >= 10 and text[2:10].isdigit():
            try:
                return date(int(text[2:6]), int(text[6:8]), int(text[8:10]))
            except ValueError:
                return None
    return None


def describe(parsed: ParsedDocument) -> tuple[str, str | None, date | None]:
    """(document type, municipality, date) from the metadata the parser found."""
    meta = {str(k).casefold(): v for k, v in parsed.metadata.items()}
    doc_type = str(meta.get("rechtsnatur") or meta.get("doc_type") or meta.get("dokumenttyp") or parsed.doc_type)
    municipality = meta.get("gemeinde") or meta.get("stadt") or meta.get("municipality")
    doc_date = None
    for key in ("stand", "gueltig_ab", "erlassen_am", "datum", "date", "modified", "created", "moddate",
                "creationdate"):
        doc_date = _parse_date(meta.get(key))
        if doc_date:
            break
    return doc_type.casefold(), (str(municipality) if municipality else None), doc_date


def embedding_text(title: str, section: str | None, text: str) -> str:
    """What the embedder and the lexical index see: the section path (with title) gives context."""
    head = section or title
    return f"{head}\n{text}" if head else text


def chunk_texts(parsed: ParsedDocument, settings: Settings) -> tuple[list[Chunk], list[str]]:
    """The document's chunks and, for each, the text that is embedded and indexed."""
    chunks = chunk_document(parsed, settings.chunk_max_chars, settings.chunk_min_chars)
    return chunks, [embedding_text(parsed.title, c.section, c.text) for c in chunks]


class Ingestor:
    def __init__(self, db: Database, embedder: Embedder, settings: Settings) -> None:
        self.db = db
        self.embedder = embedder
        self.settings = settings

    def ingest(
        self,
        paths: Iterable[Path | str],
        principal: Principal,
        groups: list[str] | None = None,
        department: str | None = None,
        progress: Callable[[FileResult], None] | None = None,
        classification: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> IngestReport:
        """``metadata`` (for every file of the call) is merged over what the parser found: a council
        information system's reference, paper type, date and body ("dokumenttyp" and "datum" set the document's
        type and date, "titel" its title)."""
        access = sorted({validate_group(g) for g in groups}) if groups else [EVERYONE]
        level = normalise_classification(classification)
        require_upload(principal, access, department)
        report = IngestReport()
        for source, path in expand_paths(paths):
            started = time.perf_counter()
            try:
                result = self._ingest_file(source, path, principal, access, department, level, metadata)
            except KreiswissenError as exc:
                result = FileResult(source, "failed", error=exc.user_message)
            except OSError as exc:
                result = FileResult(source, "failed", error=f"Datei '{source}': nicht lesbar ({exc.strerror}).")
            result.seconds = time.perf_counter() - started
            report.results.append(result)
            if progress:
                progress(result)
        return report

    def _ingest_file(
        self, source: str, path: Path, principal: Principal, access: list[str], department: str | None,
        classification: str = "intern", metadata: dict[str, Any] | None = None,
    ) -> FileResult:
        if not path.exists():
            raise InputError(f"{source}: not found", user_message=f"Datei '{source}': nicht gefunden.")
        if not path.is_file():
            raise InputError(f"{source}: not a regular file", user_message=f"'{source}': keine reguläre Datei.")
        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            raise FileTooLarge(
                f"{source}: {size} bytes over the limit of {self.settings.max_file_bytes}",
                user_message=f"Datei '{source}': zu groß ({size / 1e6:.1f} MB, erlaubt sind "
                f"{self.settings.max_file_bytes / 1e6:.1f} MB).",
            )
        key = source_key(path)
        digest = file_hash(path)
        with self.db.transaction(principal) as conn:
            current = store.current_version(conn, key)
            if current is not None:
                require_delete(principal, current.access_groups, current.department)  # changing is managing
            if current is not None and current.content_hash == digest:
                if (sorted(current.access_groups) == access and current.department == department
                        and current.classification == classification):
                    return FileResult(source, "unchanged")
                if current.classification != classification and "personenbezogen" in (current.classification,
                                                                                       classification):
                    pass  # the indexed text itself changes (pseudonymised or not): store a new version below
                else:
                    store.set_access(conn, current.id, access, department, classification)
                    return FileResult(source, "access_updated")

        from kreiswissen.ingest.parsers import parse_file

        parsed = parse_file(path, self.settings)
        if metadata:
            extra = {k: v for k, v in metadata.items() if v not in (None, "", [])}
            parsed = replace(parsed, metadata={**parsed.metadata, **extra},
                             title=str(extra.get("titel") or parsed.title))
        return self.store_parsed(parsed, source, key, digest, size, principal, access, department, classification,
                                 force=True)

    def store_parsed(
        self,
        parsed: ParsedDocument,
        source: str,
        key: str,
        digest: str,
        size: int,
        principal: Principal,
        access: list[str],
        department: str | None = None,
        classification: str = "intern",
        force: bool = False,
    ) -> FileResult:
        """Chunk, analyse and embed a parsed document, then store it as the new current version of ``key``.

        ``personenbezogen`` documents are indexed pseudonymised: names, addresses, IBANs, … become consistent
        placeholders in the stored and embedded text (the original file stays where it was)."""
        if classification == "personenbezogen":
            from kreiswissen.security.pii import pseudonymise_document

            parsed = pseudonymise_document(parsed)
        rows, fresh = self._prepare_chunks(parsed, principal)
        doc_type, municipality, doc_date = describe(parsed)
        row = store.DocumentRow(
            source=source, source_key=key, content_hash=digest, title=parsed.title, doc_type=doc_type,
            format=parsed.doc_type, metadata=parsed.metadata, department=department, municipality=municipality,
            doc_date=doc_date, access_groups=access, size_bytes=size, classification=classification,
        )
        with self.db.transaction(principal) as conn:
            store.lock_source(conn, key)
            current = store.current_version(conn, key)
            if current is not None and current.content_hash == digest and not (
                    force and current.classification != classification):
                return FileResult(source, "unchanged")  # another process got there first
            if current is not None:
                store.retire_current(conn, current.id)
            version = store.latest_version_number(conn, key) + 1
            store.insert_version(conn, row, version, rows, self.embedder.model_id)
            store.store_embeddings(conn, self.embedder.model_id, fresh)
        return FileResult(source, "updated" if current else "added", chunks=len(rows))

    def _prepare_chunks(
        self, parsed: ParsedDocument, principal: Principal
    ) -> tuple[list[store.ChunkRow], dict[str, Any]]:
        """Chunk rows ready to store, and the embeddings that were computed now (to be cached)."""
        chunks, texts = chunk_texts(parsed, self.settings)
        vectors, fresh = self.embed_cached(texts, principal)
        rows = [
            store.ChunkRow(
                ord=c.ord, text=c.text, section=c.section, page=c.page, char_start=c.char_start,
                char_end=c.char_end, content_hash=c.content_hash, terms=index_terms(t), embedding=v,
            )
            for c, t, v in zip(chunks, texts, vectors, strict=True)
        ]
        return rows, fresh

    def embed_cached(self, texts: list[str], principal: Principal) -> tuple[list[Any], dict[str, Any]]:
        """Embeddings for passages, reusing the cache by text hash. Returns (vectors, newly computed by hash).

        The cache holds vectors keyed by hash, never text, so it needs no row-level security. New entries
        are written in the document's own transaction: a crash loses nothing but the work of that document.
        """
        hashes = [text_hash(t) for t in texts]
        with self.db.transaction(principal) as conn:
            known = store.cached_embeddings(conn, self.embedder.model_id, sorted(set(hashes)))
        missing = [i for i, h in enumerate(hashes) if h not in known]
        fresh: dict[str, Any] = {}
        batch = max(1, self.settings.embedding_batch_size)
        for start in range(0, len(missing), batch):
            idx = missing[start : start + batch]
            vectors = self.embedder.embed_passages([texts[i] for i in idx])
            fresh.update({hashes[i]: vectors[j] for j, i in enumerate(idx)})
        known.update(fresh)
        return [known[h] for h in hashes], fresh
