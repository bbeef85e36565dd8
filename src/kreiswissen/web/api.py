"""The JSON API under ``/api/v1``: the same operations and JSON shapes as the CLI's ``--json`` output.

Every route is thin: authenticate, call one audited Runtime entry point, return its JSON. The routes are plain
``def`` functions, so FastAPI runs the blocking database and model work in its threadpool.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from kreiswissen.ingest.service import list_documents
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require

router = APIRouter(prefix="/api/v1", tags=["API"])

# A coarse bound on the request; the input policy (check_question) gives the precise limit and message.
MAX_QUESTION = 20_000


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="Frage in natürlicher Sprache.")
    extractive: bool = Field(False, description="Ohne Sprachmodell antworten (wörtliche Zitate).")
    conversation_id: str | None = Field(None, description="Folgefrage in diesem Gespräch.")
    new_conversation: bool = Field(False, description="Ein neues Gespräch beginnen.")


class SummarizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=4000, description="Quelle des Dokuments (wie beim Einlesen).")
    extractive: bool = False


@router.get("/search", summary="Hybride Suche in den freigegebenen Dokumenten")
def search(q: str = Query(min_length=1, max_length=MAX_QUESTION, description="Suchanfrage."),
           top_k: int = Query(10, ge=1, le=100, description="Anzahl Treffer."),
           mode: Literal["hybrid", "lexical", "dense"] = Query("hybrid"),
           principal: Principal = Depends(require("search")),
           rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    result = rt.search(q, principal, top_k=top_k, mode=mode)
    return {"query": result.query, "results": [h.to_json() for h in result.hits]}


@router.post("/ask", summary="Frage beantworten, mit Quellenangaben")
def ask(body: AskRequest, principal: Principal = Depends(require("ask")),
        rt: Runtime = Depends(get_runtime)) -> dict[str, object]:
    if body.conversation_id or body.new_conversation:
        answer = rt.ask_in_conversation(body.question, principal, body.conversation_id,
                                        extractive=body.extractive)
    else:
        answer = rt.ask(body.question, principal, extractive=body.extractive)
    return answer.to_json()


@router.get("/documents", summary="Die Dokumente, die der Aufrufer lesen darf")
def documents(principal: Principal = Depends(require("documents:read")),
              rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"documents": list_documents(rt.db, principal)}


@router.post("/summarize", summary="Ein Dokument zusammenfassen")
def summarize(body: SummarizeRequest, principal: Principal = Depends(require("ask")),
              rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return rt.summarize(body.source, principal, extractive=body.extractive).to_json()
