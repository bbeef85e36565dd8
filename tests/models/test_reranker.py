"""Reranking through a /rerank endpoint, in both wire formats (Cohere/vLLM/Infinity and TEI).

No cross-encoder ships offline, so the endpoint here scores with the packaged e5 model (a bi-encoder): a real
model behind a real HTTP server speaking each format; the tests check the protocol, the blending into search,
and that a failing reranker never fails a search.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kreiswissen.errors import BackendUnavailable
from kreiswissen.models.embedder import E5Embedder
from kreiswissen.models.reranker import HTTPReranker
from kreiswissen.runtime import Runtime
from kreiswissen.search.hybrid import Searcher
from kreiswissen.security.principal import Principal
from llm_server import free_port

MODEL = E5Embedder(threads=2)


class _RerankHandler(BaseHTTPRequestHandler):
    requests: list[dict] = []
    broken = False

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if self.path != "/rerank" or type(self).broken:
            self.send_response(500)
            self.end_headers()
            return
        texts = body.get("documents") or body.get("texts")
        scores = MODEL.embed_passages(texts) @ MODEL.embed_query(body["query"])
        ranked = sorted(range(len(texts)), key=lambda i: -float(scores[i]))
        if "texts" in body:  # TEI
            payload: object = [{"index": i, "score": float(scores[i])} for i in ranked]
        else:
            payload = {"results": [{"index": i, "relevance_score": float(scores[i])} for i in ranked]}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rerank_server() -> Iterator[tuple[str, type[_RerankHandler]]]:
    handler = type("H", (_RerankHandler,), {"requests": [], "broken": False})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()


PASSAGES = ["Die Bücherei ist dienstags von 15 bis 18 Uhr geöffnet.",
            "Für den zweiten Hund beträgt die Hundesteuer 330 Euro.",
            "Gehwege sind bis 7 Uhr von Schnee zu räumen."]


@pytest.mark.parametrize("protocol", ["cohere", "tei"])
def test_both_wire_formats_score_in_the_given_order(rerank_server: tuple[str, type], protocol: str) -> None:
    url, handler = rerank_server
    reranker = HTTPReranker(url, "bge-reranker-v2-m3", protocol=protocol)  # type: ignore[arg-type]
    scores = reranker.rerank("Wie hoch ist die Hundesteuer für den zweiten Hund?", PASSAGES)
    assert len(scores) == 3 and max(range(3), key=lambda i: scores[i]) == 1
    sent = handler.requests[-1]
    assert ("texts" in sent) == (protocol == "tei") and ("documents" in sent) == (protocol == "cohere")
    assert reranker.health()["ok"]


def test_failures_are_backend_unavailable(rerank_server: tuple[str, type]) -> None:
    url, handler = rerank_server
    handler.broken = True
    with pytest.raises(BackendUnavailable):
        HTTPReranker(url).rerank("Hundesteuer", PASSAGES)
    with pytest.raises(BackendUnavailable):
        HTTPReranker(f"http://127.0.0.1:{free_port()}", timeout_s=2).rerank("Hundesteuer", PASSAGES)
    assert HTTPReranker(url).health()["ok"] is False


def test_search_blends_the_reranker_and_survives_its_failure(corpus_rt: Runtime,
                                                             rerank_server: tuple[str, type]) -> None:
    url, handler = rerank_server
    operator = Principal.local_operator()
    query = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"
    plain = corpus_rt.searcher.search(query, operator, top_k=5)
    searcher = Searcher(corpus_rt.db, corpus_rt.embedder, corpus_rt.settings, HTTPReranker(url))
    reranked = searcher.search(query, operator, top_k=5)
    assert "rerank" in reranked.timings_ms and len(reranked.hits) == 5
    assert len(handler.requests[-1]["documents"]) == corpus_rt.settings.rerank_candidates
    assert [h.rank for h in reranked.hits] == [1, 2, 3, 4, 5]
    assert "BBO_Satzung_Erhebung_Hundesteuer" in reranked.hits[0].document.source
    handler.broken = True
    degraded = searcher.search(query, operator, top_k=5)
    assert degraded.timings_ms.get("rerank_failed") == 1.0
    assert [h.chunk.id for h in degraded.hits] == [h.chunk.id for h in plain.hits]
