"""Cross-encoder reranking through a ``/rerank`` endpoint (TEI, Infinity, vLLM, llama.cpp server, Jina/Cohere style).

No reranker ships as a package that runs offline, so reranking is optional: configured, it reorders the best
fused candidates; failing, search keeps the fused order (a reranker outage never fails a search).
Two wire formats exist:

- ``cohere`` (vLLM, Infinity, llama.cpp server, Jina): ``{"model", "query", "documents", "top_n"}`` →
  ``{"results": [{"index", "relevance_score"}]}``
- ``tei`` (Hugging Face text-embeddings-inference): ``{"query", "texts"}`` → ``[{"index", "score"}]``
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable

MAX_TEXT_CHARS = 2000  # cross-encoders see ~512 tokens; longer passages only cost transfer time


@runtime_checkable
class Reranker(Protocol):
    model_id: str

    def rerank(self, query: str, texts: list[str]) -> list[float]:
        """One relevance score per text, in the order given (higher is more relevant)."""
        ...

    def health(self) -> dict[str, Any]:
        ...


class HTTPReranker:
    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 protocol: Literal["cohere", "tei"] = "cohere", timeout_s: float = 10.0) -> None:
        import httpx

        self.model = model
        self.model_id = f"rerank:{model or base_url}"
        self.protocol = protocol
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s)

    def _body(self, query: str, texts: list[str]) -> dict[str, Any]:
        texts = [t[:MAX_TEXT_CHARS] for t in texts]
        if self.protocol == "tei":
            return {"query": query, "texts": texts, "truncate": True}
        body: dict[str, Any] = {"query": query, "documents": texts, "top_n": len(texts)}
        if self.model:
            body["model"] = self.model
        return body

    def rerank(self, query: str, texts: list[str]) -> list[float]:
        import httpx

        if not texts:
            return []
        try:
            response = self._client.post("rerank", json=self._body(query, texts))
            response.raise_for_status()
            data = response.json()
            items = data if isinstance(data, list) else data["results"]
            scores: list[float | None] = [None] * len(texts)
            for item in items:
                score = item.get("relevance_score", item.get("score"))
                scores[int(item["index"])] = float(score)
        except (httpx.HTTPError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            raise BackendUnavailable(f"reranker {self._client.base_url} failed: {exc}",
                                     user_message="Der Reranking-Server ist nicht erreichbar oder antwortet "
                                     "fehlerhaft.") from exc
        if any(s is None for s in scores):
            raise BackendUnavailable(f"reranker {self._client.base_url} scored only part of the texts",
                                     user_message="Der Reranking-Server hat unvollständig geantwortet.")
        return [float(s) for s in scores if s is not None]

    def health(self) -> dict[str, Any]:
        try:
            scores = self.rerank("Hundesteuer", ["Die Hundesteuer beträgt 108 Euro.", "Öffnungszeiten der Bücherei"])
        except BackendUnavailable as exc:
            return {"ok": False, "detail": str(exc)}
        # Reachable is what counts; an implausible order on the probe hints at a wrong model, so it is shown.
        verdict = "plausibel" if scores[0] > scores[1] else "unplausibel"
        return {"ok": True, "detail": f"{self._client.base_url} · {self.protocol} · Probe {verdict} "
                f"({scores[0]:.2f} / {scores[1]:.2f})"}


def get_reranker(settings: Settings) -> Reranker | None:
    if not settings.rerank_base_url:
        return None
    return HTTPReranker(settings.rerank_base_url, settings.rerank_model, settings.rerank_api_key,
                        settings.rerank_protocol, settings.rerank_timeout_s)
