"""Language-model backends behind one protocol: an OpenAI-compatible chat server, or an embedded GGUF model.

Administrations run their model on their own hardware (Ollama, vLLM, llama.cpp server, LocalAI: all speak the
OpenAI chat-completions API), or point Kreiswissen at a GGUF file that ``llama-cpp-python`` runs in-process.
Every failure (refused connection, timeout, HTTP error, malformed or cut-off stream) becomes a
``GenerationFailed`` with a German message, so callers can fall back to the extractive answer.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError

Role = Literal["system", "user", "assistant"]
# German text with the usual BPE vocabularies: ~3.2 characters per token; estimating low keeps prompts
# inside the window when the server cannot count for us.
CHARS_PER_TOKEN = 3.0


class GenerationFailed(BackendUnavailable):
    """The language model could not produce an answer (down, slow, error, garbage, cut stream)."""


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class Generation:
    text: str
    finish_reason: str | None
    ttft_ms: float | None  # time to the first content token
    total_ms: float
    model: str


@runtime_checkable
class Generator(Protocol):
    model_id: str
    context_tokens: int

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the model's vocabulary (an upper estimate where it cannot be counted)."""
        ...

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float = 0.1) -> Iterator[str]:
        """Content pieces as the model produces them; raises ``GenerationFailed``."""
        ...

    def health(self) -> dict[str, Any]:
        """{"ok": bool, "detail": str} without generating (for ``kreiswissen doctor``)."""
        ...


def complete(generator: Generator, messages: list[ChatMessage], *, max_tokens: int,
             temperature: float = 0.1) -> Generation:
    """Run a whole generation, measuring time to first token and total time."""
    t0 = time.perf_counter()
    ttft: float | None = None
    parts: list[str] = []
    for piece in generator.stream(messages, max_tokens=max_tokens, temperature=temperature):
        if ttft is None and piece:
            ttft = (time.perf_counter() - t0) * 1000
        parts.append(piece)
    finish = getattr(generator, "last_finish_reason", None)
    return Generation("".join(parts), finish, ttft, (time.perf_counter() - t0) * 1000, generator.model_id)


def _failed(detail: str, message: str) -> GenerationFailed:
    return GenerationFailed(detail, user_message=message)


class OpenAIGenerator:
    """``POST {base_url}/chat/completions`` with server-sent events.

    Timeouts: ``connect_timeout_s`` to reach the server, ``timeout_s`` for any single wait on it (the first
    token, or the next piece of a stream), ``total_timeout_s`` for the whole answer.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, timeout_s: float = 60.0,
                 connect_timeout_s: float = 5.0, total_timeout_s: float = 180.0, context_tokens: int = 8192,
                 stream: bool = True, extra_body: dict[str, Any] | None = None) -> None:
        import httpx

        self.model_id = f"openai:{model}"
        self.model = model
        self.context_tokens = context_tokens
        self.total_timeout_s = total_timeout_s
        self.use_stream = stream
        self.extra_body = dict(extra_body or {})
        self.last_finish_reason: str | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )

    def count_tokens(self, text: str) -> int:
        return int(len(text) / CHARS_PER_TOKEN) + 1

    def health(self) -> dict[str, Any]:
        import httpx

        try:
            response = self._client.get("models")
            response.raise_for_status()
            ids = [m.get("id") for m in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return {"ok": False, "detail": f"{self._client.base_url}: {exc.__class__.__name__}: {exc}"}
        if ids and self.model not in ids:
            return {"ok": False, "detail": f"Modell {self.model!r} nicht angeboten (verfügbar: {', '.join(ids)})"}
        return {"ok": True, "detail": f"{self._client.base_url} · Modell {self.model}"}

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float = 0.1) -> Iterator[str]:
        import httpx

        self.last_finish_reason = None
        body = {**self.extra_body, "model": self.model, "messages": [m.to_json() for m in messages],
                "max_tokens": max_tokens, "temperature": temperature, "stream": self.use_stream}
        deadline = time.monotonic() + self.total_timeout_s
        where = str(self._client.base_url)
        try:
            with self._client.stream("POST", "chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _failed(f"{where}: HTTP {response.status_code}: {response.text[:300]}",
                                  f"Das Sprachmodell hat mit einem Fehler geantwortet (HTTP {response.status_code}).")
                if not self.use_stream:
                    response.read()
                    yield self._whole(response.text)
                    return
                yield from self._events(response.iter_lines(), deadline)
        except httpx.TimeoutException as exc:
            raise _failed(f"{where}: timeout ({exc.__class__.__name__})",
                          "Das Sprachmodell hat nicht rechtzeitig geantwortet.") from exc
        except httpx.HTTPError as exc:
            raise _failed(f"{where}: {exc.__class__.__name__}: {exc}",
                          "Das Sprachmodell ist nicht erreichbar.") from exc

    def _whole(self, text: str) -> str:
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            content = choice["message"]["content"]
            self.last_finish_reason = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _failed(f"malformed completion: {text[:200]!r}",
                          "Das Sprachmodell hat eine unlesbare Antwort geliefert.") from exc
        if not isinstance(content, str):
            raise _failed("completion without text", "Das Sprachmodell hat eine unlesbare Antwort geliefert.")
        return content

    def _events(self, lines: Iterator[str], deadline: float) -> Iterator[str]:
        done = False
        for line in lines:
            if time.monotonic() > deadline:
                raise _failed(f"answer exceeded {self.total_timeout_s} s",
                              "Das Sprachmodell hat nicht rechtzeitig geantwortet.")
            line = line.strip()
            if not line or line.startswith(":"):
                continue  # keep-alive comments
            if not line.startswith("data:"):
                continue  # "event:", "id:", "retry:" fields carry nothing we use
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            try:
                event = json.loads(payload)
            except ValueError as exc:
                raise _failed(f"malformed stream event: {payload[:200]!r}",
                              "Das Sprachmodell hat eine unlesbare Antwort geliefert.") from exc
            if not isinstance(event, dict):
                raise _failed(f"malformed stream event: {payload[:200]!r}",
                              "Das Sprachmodell hat eine unlesbare Antwort geliefert.")
            if "error" in event:
                raise _failed(f"server error in stream: {str(event['error'])[:200]}",
                              "Das Sprachmodell hat mit einem Fehler geantwortet.")
            choices = event.get("choices") or []
            if not choices:
                continue  # usage-only events
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                yield str(content)
            if choice.get("finish_reason"):
                self.last_finish_reason = choice["finish_reason"]
        if not done and self.last_finish_reason is None:
            raise _failed("stream ended before the answer was complete",
                          "Die Antwort des Sprachmodells brach mitten ab.")


class LlamaCppGenerator:
    """A GGUF model run in-process by ``llama-cpp-python`` (CPU), for installations without a model server."""

    def __init__(self, model_path: Path, *, context_tokens: int = 8192, threads: int | None = None,
                 total_timeout_s: float = 180.0) -> None:
        if not model_path.is_file():
            raise ConfigurationError(f"GGUF file not found: {model_path}",
                                     user_message=f"Die Modelldatei {model_path} wurde nicht gefunden.")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigurationError("llama-cpp-python is not installed",
                                     user_message="Für eine GGUF-Modelldatei wird das Paket llama-cpp-python "
                                     "benötigt.") from exc
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=context_tokens, n_threads=threads or os.cpu_count(),
                              verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(f"cannot load {model_path}: {exc}",
                                     user_message=f"Die Modelldatei {model_path.name} ließ sich nicht laden.") from exc
        self.model_id = f"gguf:{model_path.stem}"
        self.context_tokens = context_tokens
        self.total_timeout_s = total_timeout_s
        self.last_finish_reason: str | None = None
        self._lock = threading.Lock()  # one generation at a time per loaded model

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def health(self) -> dict[str, Any]:
        return {"ok": True, "detail": f"{self.model_id} geladen (Kontext {self.context_tokens} Tokens)"}

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float = 0.1) -> Iterator[str]:
        self.last_finish_reason = None
        deadline = time.monotonic() + self.total_timeout_s
        with self._lock:
            try:
                events: Any = self._llm.create_chat_completion(
                    messages=[m.to_json() for m in messages],  # type: ignore[misc]
                    max_tokens=max_tokens, temperature=temperature, stream=True)
                for event in events:
                    if time.monotonic() > deadline:
                        raise _failed(f"answer exceeded {self.total_timeout_s} s",
                                      "Das Sprachmodell hat nicht rechtzeitig geantwortet.")
                    choice = event["choices"][0]
                    content = choice.get("delta", {}).get("content")
                    if content:
                        yield content
                    if choice.get("finish_reason"):
                        self.last_finish_reason = choice["finish_reason"]
            except (ValueError, RuntimeError) as exc:
                raise _failed(f"llama.cpp: {exc}", "Das Sprachmodell konnte keine Antwort erzeugen.") from exc


_lock = threading.Lock()


@lru_cache(maxsize=2)
def _cached_gguf(path: str, context_tokens: int, threads: int | None, total_timeout_s: float) -> LlamaCppGenerator:
    return LlamaCppGenerator(Path(path), context_tokens=context_tokens, threads=threads,
                             total_timeout_s=total_timeout_s)


def get_generator(settings: Settings) -> Generator | None:
    """The configured generator, or None when no language model is configured (extractive answers only)."""
    if settings.llm_model_path:
        with _lock:
            return _cached_gguf(str(settings.llm_model_path), settings.llm_context_tokens, settings.threads,
                                settings.llm_total_timeout_s)
    if settings.llm_base_url:
        if not settings.llm_model:
            raise ConfigurationError("KREISWISSEN_LLM_MODEL is not set",
                                     user_message="Für das Sprachmodell fehlt KREISWISSEN_LLM_MODEL.")
        return OpenAIGenerator(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                               timeout_s=settings.llm_timeout_s, connect_timeout_s=settings.llm_connect_timeout_s,
                               total_timeout_s=settings.llm_total_timeout_s, context_tokens=settings.llm_context_tokens,
                               stream=settings.llm_stream, extra_body=settings.llm_extra_body)
    return None
