"""Generated answers: the administration's language model writes the answer from numbered sources; every
sentence is then checked against the passages it cites, and anything that fails falls back to the
extractive answer with a German notice.

The model only ever sees passages the principal may read (they come from a search under row-level
security), so it cannot cite or leak anything else; instructions hidden in documents are removed before
the prompt is built, and links and images are removed from what it writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from kreiswissen.answer.extractive import Answer, ExtractiveAnswerer
from kreiswissen.answer.grounding import (
    REFUSAL,
    SYSTEM_PROMPT,
    Source,
    check_claims,
    is_refusal,
    pack_context,
    render,
    sanitise,
    user_prompt,
)
from kreiswissen.config import Settings
from kreiswissen.models.generator import ChatMessage, GenerationFailed, Generator
from kreiswissen.search.dense import chunk_vectors
from kreiswissen.search.hybrid import SearchResult
from kreiswissen.search.models import SearchFilters, SearchHit
from kreiswissen.security.principal import Principal

log = logging.getLogger(__name__)
SEARCH_TOP_K = 8
FALLBACK = "Angezeigt wird stattdessen die Antwort aus den Fundstellen (ohne Sprachmodell)."


class GroundedAnswerer:
    def __init__(self, extractive: ExtractiveAnswerer, generator: Generator, settings: Settings) -> None:
        self.extractive = extractive
        self.searcher = extractive.searcher
        self.generator = generator
        self.settings = settings
        # The quoted answer is composed while the model writes, so falling back costs no extra time.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="extractive-fallback")

    def ask(self, question: str, principal: Principal, filters: SearchFilters | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        result = self.searcher.search(question, principal, top_k=SEARCH_TOP_K, filters=filters)
        return self.from_result(question, result, principal, on_token)

    def from_result(self, question: str, result: SearchResult, principal: Principal,
                    on_token: Callable[[str], None] | None = None) -> Answer:
        t0 = time.perf_counter()
        conf = self.extractive.confidence(result)
        if not result.hits or conf < self.extractive.threshold:
            # Weak evidence: the same refusal as the extractive path, without asking the model at all.
            return self.extractive.from_result(question, result)
        cfg = self.settings
        sources, neutralised = pack_context(result.hits, question, self.generator.count_tokens,
                                            self.generator.context_tokens, cfg.llm_max_answer_tokens)
        if not sources:
            return self._fallback(self._pool.submit(self.extractive.from_result, question, result),
                                  "Die Quellen passen nicht in das Kontextfenster des Sprachmodells.", {})
        messages = [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user_prompt(question, sources))]
        timings: dict[str, float] = {"search": result.timings_ms.get("total", 0.0),
                                     "prepare": (time.perf_counter() - t0) * 1000}
        quoted = self._pool.submit(self.extractive.from_result, question, result)
        try:
            text = self._generate(messages, timings, on_token)
        except GenerationFailed as exc:
            log.warning("generation failed: %s", exc)
            return self._fallback(quoted, exc.user_message, timings)
        t1 = time.perf_counter()
        answer = self._verify(question, result, principal, sources, text, conf, timings, quoted)
        if neutralised:
            answer.notices.append(f"{neutralised} mögliche Anweisung(en) an KI-Systeme in den Dokumenten wurde(n) "
                                  "nicht an das Sprachmodell weitergegeben.")
        timings["verify"] = (time.perf_counter() - t1) * 1000
        answer.timings_ms = timings
        return answer

    def _generate(self, messages: list[ChatMessage], timings: dict[str, float],
                  on_token: Callable[[str], None] | None) -> str:
        t = time.perf_counter()
        parts: list[str] = []
        for piece in self.generator.stream(messages, max_tokens=self.settings.llm_max_answer_tokens,
                                           temperature=self.settings.llm_temperature):
            if not parts:
                timings["first_token"] = (time.perf_counter() - t) * 1000
            parts.append(piece)
            if on_token is not None:
                on_token(piece)
        timings["generation"] = (time.perf_counter() - t) * 1000
        return "".join(parts)

    def _verify(self, question: str, result: SearchResult, principal: Principal, sources: list[Source], text: str,
                conf: float, timings: dict[str, float], quoted: Future[Answer]) -> Answer:
        urls = {s.hit.document.source for s in sources if "://" in s.hit.document.source}
        clean, removed = sanitise(text, urls)
        if not clean:
            return self._fallback(quoted, "Das Sprachmodell hat eine leere Antwort geliefert.", timings)
        if is_refusal(clean):
            return Answer(question, False, REFUSAL, [], conf, result, mode="generated", timings_ms=timings)
        with self.searcher.db.transaction(principal) as conn:
            vectors = chunk_vectors(conn, [int(s.hit.chunk.id) for s in sources], self.searcher.embedder.model_id)
        source_vectors = {s.number: vectors[int(s.hit.chunk.id)] for s in sources if int(s.hit.chunk.id) in vectors}
        embedder = self.searcher.embedder

        def sentence_vectors(sentences: list[str]) -> np.ndarray:
            return np.stack([embedder.embed_query(s) for s in sentences])  # the role the thresholds were set for

        checked = check_claims(clean, sources, sentence_vectors, source_vectors)
        if not any(c.supported and c.cited for c in checked.claims):
            return self._fallback(quoted, "Die Antwort des Sprachmodells ließ sich nicht mit den Quellen belegen.",
                                  timings)
        keep = self.settings.llm_unsupported == "mark"
        rendered, order = render(checked.claims, keep_unsupported=keep)
        by_number = {s.number: s for s in sources}
        citations = [SearchHit(rank=i + 1, score=by_number[n].hit.score, document=by_number[n].hit.document,
                               chunk=by_number[n].hit.chunk) for i, n in enumerate(order)]
        unsupported = [{"sentence": c.text, "reason": c.reason} for c in checked.unsupported]
        notices: list[str] = []
        if unsupported:
            verb = "markiert" if keep else "entfernt"
            notices.append(f"{len(unsupported)} Aussage(n) ohne Beleg in den Quellen wurde(n) {verb}.")
        if checked.invalid_citations:
            notices.append("Verweise auf nicht vorhandene Quellen wurden entfernt: "
                           + ", ".join(f"[{n}]" for n in checked.invalid_citations) + ".")
        if removed:
            notices.append(f"{removed} Link(s), Bild(er) oder Steuerzeichen wurden aus der Antwort entfernt.")
        return Answer(question, True, rendered, citations, conf, result, mode="generated", unsupported=unsupported,
                      notices=notices, timings_ms=timings)

    @staticmethod
    def _fallback(quoted: Future[Answer], reason: str, timings: dict[str, float]) -> Answer:
        answer = quoted.result()
        return replace(answer, notices=[f"{reason} {FALLBACK}", *answer.notices], timings_ms=timings)
