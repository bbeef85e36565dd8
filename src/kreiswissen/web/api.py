"""The JSON API under ``/api/v1``: the same operations and JSON shapes as the CLI's ``--json`` output.

Every route is thin: authenticate, call one audited Runtime entry point, return its JSON. The routes are plain
``def`` functions, so FastAPI runs the blocking database and model work in its threadpool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kreiswissen.errors import NotFound
from kreiswissen.ingest.service import get_document, list_documents
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


@router.get("/documents/{document_id}", summary="Ein Dokument mit seinen Abschnitten und Versionen")
def document(document_id: str, principal: Principal = Depends(require("documents:read")),
             rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    doc = get_document(rt.db, principal, document_id)
    rt.audit.record(principal.name, "document.access", {"document": doc["id"], "source": doc["source"]})
    return doc


@router.delete("/documents/{document_id}", summary="Ein Dokument mit allen Versionen löschen")
def delete_document(document_id: str, principal: Principal = Depends(require("documents:write")),
                    rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    doc = get_document(rt.db, principal, document_id)
    return {"deleted": doc["source"], "versions": rt.delete(doc["source"], principal)}


class AccessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: list[str] = Field(default_factory=list, max_length=50, description="Gruppen, die lesen dürfen.")
    department: str | None = Field(None, max_length=100)
    classification: Literal["oeffentlich", "intern", "vertraulich", "personenbezogen"] = "intern"


@router.patch("/documents/{document_id}", summary="Freigabe, Fachdienst und Einstufung eines Dokuments ändern")
def change_document(document_id: str, body: AccessRequest, principal: Principal = Depends(require("documents:write")),
                    rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return rt.change_access(document_id, principal, body.groups, body.department, body.classification)


@router.post("/documents", status_code=202, summary="Dateien hochladen (je Datei ein Einleseauftrag)")
async def upload_documents(files: list[UploadFile], groups: Annotated[list[str] | None, Form()] = None,
                           department: Annotated[str | None, Form()] = None,
                           classification: Annotated[str | None, Form()] = None,
                           principal: Principal = Depends(require("documents:write")),
                           rt: Runtime = Depends(get_runtime)) -> JSONResponse:
    from kreiswissen.web.pages_documents import submit_uploads

    results = await submit_uploads(rt, principal, files, [g for g in groups or [] if g], department or None,
                                   classification)
    rejected = [r for r in results if r["status"] == "rejected"]
    status = rejected[0]["http_status"] if rejected and len(rejected) == len(results) else 202
    return JSONResponse({"jobs": results}, status_code=status)


@router.get("/jobs", summary="Die eigenen Einleseaufträge (Administratoren: alle)")
def jobs(principal: Principal = Depends(require("documents:read")),
         rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"jobs": rt.jobs.status(principal)}


@router.get("/jobs/{job_id}", summary="Ein Einleseauftrag")
def job(job_id: str, principal: Principal = Depends(require("documents:read")),
        rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    found = rt.jobs.status(principal, [job_id])
    if not found:
        raise NotFound(f"job {job_id}", user_message="Diesen Einleseauftrag gibt es nicht (oder er gehört einem "
                       "anderen Benutzer).")
    return found[0]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    mode: Literal["generated", "extractive", "refused"]
    rating: Literal[-1, 1] = Field(description="1: hilfreich, -1: nicht hilfreich.")
    comment: str = Field("", max_length=4000)
    documents: list[str] = Field(default_factory=list, max_length=50)


@router.post("/feedback", status_code=201, summary="Eine Antwort bewerten (ohne Namen gespeichert)")
def feedback(body: FeedbackRequest, principal: Principal = Depends(require("ask")),
             rt: Runtime = Depends(get_runtime)) -> dict[str, str]:
    from kreiswissen.admin.usage import record_feedback

    record_feedback(rt.db, rt.audit, principal, body.question, body.mode, body.rating, body.comment,
                    body.documents)
    return {"status": "gespeichert"}


class UserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    display_name: str = Field("", max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["leser"])
    groups: list[str] = Field(default_factory=list)


def _user_json(user: Any) -> dict[str, Any]:
    return {"name": user.name, "display_name": user.display_name, "auth_source": user.auth_source,
            "roles": list(user.roles), "groups": list(user.groups), "disabled": user.disabled}


@router.get("/users", summary="Benutzer (Administration)")
def users(principal: Principal = Depends(require("admin")), rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {"users": [_user_json(u) for u in rt.identity.list_users()]}


@router.post("/users", status_code=201, summary="Lokalen Benutzer anlegen (Administration)")
def add_user(body: UserRequest, principal: Principal = Depends(require("admin")),
             rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    user = rt.identity.add_user(principal.name, body.name, body.groups, password=body.password, roles=body.roles,
                                display_name=body.display_name)
    return _user_json(user)
