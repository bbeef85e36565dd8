"""An OpenAI-compatible API under ``/v1`` so existing chat clients and scripts can use Kreiswissen.

One model, ``kreiswissen``: the last user message is the question, earlier user/assistant messages are the
history a follow-up is resolved against. The answer comes from the audited ``Runtime.ask`` for the token's
principal; the content carries a German source list, and the structured citations travel in an extra
top-level field ``kreiswissen``. System messages are ignored: the answer's instructions are fixed.

Streaming sends the role first, then the checked answer in pieces. The raw tokens of a language model are not
streamed: the citation check may still remove sentences after generation, and streamed text cannot be taken
back. While the answer is computed, SSE comments keep the connection alive.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kreiswissen.answer.conversations import Turn
from kreiswissen.answer.extractive import AI_LABEL, Answer
from kreiswissen.answer.followup import standalone_question
from kreiswissen.errors import InputError, KreiswissenError, NotFound
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import section_within_document
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["OpenAI-kompatibel"])

MODEL_ID = "kreiswissen"
SOURCES_HEADING = "Quellen:"
STREAM_PIECE_CHARS = 24
HEARTBEAT_SECONDS = 5.0
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kreiswissen-chat")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only text parts count
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Sampling options (temperature, max_tokens …) are accepted and ignored: the answer is grounded, not sampled.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


def _model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "kreiswissen"}


@router.get("/models", summary="Verfügbare Modelle")
def models(principal: Principal = Depends(require("ask"))) -> dict[str, Any]:
    return {"object": "list", "data": [_model_card()]}


@router.get("/models/{model}", summary="Ein Modell")
def model(model: str, principal: Principal = Depends(require("ask"))) -> dict[str, Any]:
    _check_model(model)
    return _model_card()


def _check_model(name: str) -> None:
    if name != MODEL_ID:
        raise NotFound(f"model {name}", user_message=f"Das Modell '{name}' gibt es nicht (verfügbar: {MODEL_ID}).")


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, from the user) and the earlier (question, answer) pairs, oldest first."""
    if messages[-1].role != "user" or not messages[-1].text().strip():
        raise InputError("last message not a user question", user_message="Die letzte Nachricht muss eine Frage "
                         "(role 'user') mit Text sein.")
    pairs: list[tuple[str, str]] = []
    for message in messages[:-1]:
        if message.role == "user" and message.text().strip():
            pairs.append((message.text(), ""))
        elif message.role == "assistant" and pairs and not pairs[-1][1]:
            # Our own earlier answers end with the source list; the history needs only the answer.
            pairs[-1] = (pairs[-1][0], message.text().split("\n\n" + SOURCES_HEADING)[0].strip())
    return messages[-1].text(), pairs


def resolve_followup(rt: Runtime, principal: Principal, question: str, pairs: list[tuple[str, str]]) -> str:
    """The question made standalone against the history. A client sends the plain earlier questions, so each is
    resolved in turn (by rule); only the last one may use the language model."""
    if not pairs:
        return question
    places = rt.searcher.municipalities(principal)
    turns: list[Turn] = []
    for i, (q, a) in enumerate(pairs):
        standalone = standalone_question(q, turns, None, places=places) if turns else q
        turns.append(Turn(conversation_id="openai", turn=i + 1, question=q, standalone_question=standalone,
                          answer=a, mode="extractive"))
    return standalone_question(question, turns, rt.generator, places=places)


def content_of(answer: Answer) -> str:
    """The answer text, the German source list and, for generated answers, the AI label."""
    parts = [answer.answer]
    if answer.citations:
        lines = [SOURCES_HEADING]
        for c in answer.citations:
            where = section_within_document(c.chunk.section, c.document.title)
            page = f", S. {c.chunk.page}" if c.chunk.page else ""
            lines.append(f"[{c.rank}] {c.document.title}{' – ' + where if where else ''}{page} ({c.document.source})")
        parts.append("\n".join(lines))
    if answer.ai_generated:
        parts.append(AI_LABEL)
    return "\n\n".join(parts)


def extension_of(answer: Answer, standalone: str) -> dict[str, Any]:
    data = answer.to_json()
    return {"answered": answer.answered, "mode": answer.mode, "citations": data["citations"],
            "unsupported": data["unsupported"], "notices": answer.notices, "ai_generated": answer.ai_generated,
            "standalone_question": standalone, "confidence": data["confidence"]}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # an estimate: about four characters per token in German


def _usage(messages: list[ChatMessage], content: str) -> dict[str, int]:
    prompt = sum(_tokens(m.text()) for m in messages)
    completion = _tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.post("/chat/completions", summary="Chat-Antwort (OpenAI-kompatibel)", response_model=None)
def chat_completions(body: ChatRequest, principal: Principal = Depends(require("ask")),
                     rt: Runtime = Depends(get_runtime)) -> dict[str, Any] | StreamingResponse:
    _check_model(body.model)
    question, pairs = conversation(body.messages)
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())

    def answer() -> tuple[Answer, str]:
        standalone = resolve_followup(rt, principal, question, pairs)
        return rt.ask(standalone, principal), standalone

    if not body.stream:
        result, standalone = answer()
        content = content_of(result)
        return {
            "id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None,
                         "finish_reason": "stop"}],
            "usage": _usage(body.messages, content),
            "kreiswissen": extension_of(result, standalone),
        }
    include_usage = bool((body.stream_options or {}).get("include_usage"))
    return StreamingResponse(_stream(_executor.submit(answer), completion_id, created, body.messages, include_usage),
                             media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _stream(pending: Future[tuple[Answer, str]], completion_id: str, created: int, messages: list[ChatMessage],
            include_usage: bool) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _event({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                       "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    while True:
        try:
            result, standalone = pending.result(timeout=HEARTBEAT_SECONDS)
            break
        except FutureTimeout:
            yield ": kreiswissen arbeitet\n\n"
        except KreiswissenError as exc:  # the status line is sent already: report the error as an event
            yield _event({"error": {"message": exc.user_message, "type": type(exc).__name__, "param": None,
                                    "code": None}})
            return
        except Exception:
            log.exception("chat completion failed")
            yield _event({"error": {"message": "Interner Fehler. Bitte wenden Sie sich an die Administration.",
                                    "type": "InternalError", "param": None, "code": None}})
            return
    content = content_of(result)
    for start in range(0, len(content), STREAM_PIECE_CHARS):
        yield chunk({"content": content[start:start + STREAM_PIECE_CHARS]})
    yield chunk({}, "stop", kreiswissen=extension_of(result, standalone))
    if include_usage:
        yield _event({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                      "choices": [], "usage": _usage(messages, content)})
    yield "data: [DONE]\n\n"
