"""The HTML pages clerks use: login, ask (with conversations and feedback), search, notes on use.

Routes stay thin: authenticate (``require(..., page=True)`` sends a visitor without session to the login),
call one Runtime entry point, render a template. Every form works without JavaScript; ``static/app.js``
adds streaming answers and smaller conveniences on top.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kreiswissen.answer.extractive import Answer
from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import SearchFilters, section_within_document
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import current_session, get_runtime, require, sessions
from kreiswissen.web.sessions import COOKIE, check_rate
from kreiswissen.web.templating import TEMPLATES, render

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "kw_login"  # double-submit token of the login form (there is no session yet to bind it to)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    settings = request.app.state.runtime.settings
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=settings.cookie_secure,
                        samesite="strict" if name == LOGIN_COOKIE else "lax", path="/")


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no //host, no scheme): an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/fragen"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


# -- login / logout ---------------------------------------------------------------------------------------
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/fragen", status_code=303)


@router.get("/anmelden")
def login_page(request: Request, next: str | None = None, rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    if current_session(request, rt) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)  # type: ignore[return-value]
    return _login_form(request, rt, next, None)


def _login_form(request: Request, rt: Runtime, next_url: str | None, error: str | None,
                status_code: int = 200, user: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": _safe_next(next_url), "login_token": token, "error": error,
                                              "oidc": bool(rt.settings.oidc_issuer), "username": user,
                                              "title": "Anmelden"}, status_code)
    _cookie(response, request, LOGIN_COOKIE, token, 900)
    return response


@router.post("/anmelden")
def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=1000)] = "", login_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/fragen", rt: Runtime = Depends(get_runtime)) -> Response:
    check_rate(rt.db, f"login:{_client(request)}", rt.settings.login_rate_limit_per_minute)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, login_token):
        return _login_form(request, rt, next, "Das Anmeldeformular ist abgelaufen. Bitte erneut versuchen.", 400,
                           username)
    try:
        user = rt.identity.authenticate(username, password, client=_client(request))
    except KreiswissenError as exc:
        return _login_form(request, rt, next, exc.user_message, 401, username)
    return _start_session(request, rt, user, next)


def _start_session(request: Request, rt: Runtime, user: Any, next_url: str | None) -> Response:
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    _cookie(response, request, COOKIE, sessions(rt).create(user), rt.settings.session_max_hours * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/anmelden/oidc")
def oidc_start(request: Request, rt: Runtime = Depends(get_runtime)) -> Response:
    check_rate(rt.db, f"login:{_client(request)}", rt.settings.login_rate_limit_per_minute)
    if not rt.settings.oidc_issuer:
        return _login_form(request, rt, None, "Die Anmeldung über den zentralen Anmeldedienst ist nicht "
                           "eingerichtet.", 404)
    target = rt.identity.oidc_begin(str(request.url_for("oidc_return")))
    return RedirectResponse(target, status_code=303)


@router.get("/anmelden/oidc/rueckkehr", name="oidc_return")
def oidc_return(request: Request, state: str = "", code: str = "", rt: Runtime = Depends(get_runtime)) -> Response:
    check_rate(rt.db, f"login:{_client(request)}", rt.settings.login_rate_limit_per_minute)
    try:
        user = rt.identity.oidc_complete(state, code, client=_client(request))
    except KreiswissenError as exc:
        return _login_form(request, rt, None, exc.user_message, 400)
    return _start_session(request, rt, user, "/fragen")


@router.post("/abmelden")
def logout(request: Request, principal: Principal = Depends(require("search", page=True)),
           rt: Runtime = Depends(get_runtime)) -> Response:
    sessions(rt).delete(request.cookies.get(COOKIE))
    rt.audit.record(principal.name, "logout", {"client": _client(request)})
    response = RedirectResponse("/anmelden?abgemeldet=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- ask ------------------------------------------------------------------------------------------------------
def turn_view(number: int, question: str, answer_text: str, mode: str, citations: list[dict[str, Any]],
              notices: list[str] | None = None, unsupported: list[str] | None = None,
              standalone: str | None = None) -> dict[str, Any]:
    sources = []
    for c in citations:
        doc, chunk = c["document"], c["chunk"]
        sources.append({"title": doc["title"], "document_id": doc["id"], "chunk_id": chunk["id"],
                        "section": section_within_document(chunk.get("section"), doc["title"]),
                        "page": chunk.get("page"), "text": chunk.get("text", "")})
    return {"number": number, "question": question, "answer": answer_text, "mode": mode, "sources": sources,
            "notices": notices or [], "unsupported": unsupported or [],
            "standalone": standalone if standalone and standalone != question else None,
            "documents": [s["document_id"] for s in sources]}


def _answer_view(answer: Answer, number: int) -> dict[str, Any]:
    mode = answer.mode if answer.answered else "refused"
    return turn_view(number, answer.question, answer.answer, mode, [c.to_json() for c in answer.citations],
                     answer.notices, [u["sentence"] for u in answer.unsupported], answer.standalone_question)


def _conversation_turns(rt: Runtime, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
    data = rt.conversations.get(principal, conversation_id)
    return [turn_view(t["turn"], t["question"], t["answer"], t["mode"], t["citations"],
                      standalone=t["standalone_question"]) for t in data["turns"]]


def _ask_page(request: Request, rt: Runtime, principal: Principal, conversation_id: str | None,
              turns: list[dict[str, Any]], error: str | None = None, question: str = "",
              status_code: int = 200, message: str | None = None) -> HTMLResponse:
    history = rt.conversations.list(principal)
    return render(request, "ask.html", {
        "title": "Fragen", "conversation_id": conversation_id, "turns": turns, "history": history,
        "error": error, "question": question, "message": message,
        "llm": rt.settings.llm_base_url is not None or rt.settings.llm_model_path is not None,
    }, status_code)


@router.get("/fragen")
def ask_page(request: Request, gespraech: str | None = None, bewertet: int | None = None,
             principal: Principal = Depends(require("ask", page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    turns = _conversation_turns(rt, principal, gespraech) if gespraech else []
    message = "Vielen Dank für Ihre Bewertung." if bewertet else None
    return _ask_page(request, rt, principal, gespraech, turns, message=message)


@router.post("/fragen")
def ask_submit(request: Request, question: Annotated[str, Form(max_length=20_000)] = "",
               gespraech: Annotated[str, Form()] = "", principal: Principal = Depends(require("ask", page=True)),
               rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    conversation_id = gespraech or None
    try:
        answer = rt.ask_in_conversation(question, principal, conversation_id)
    except KreiswissenError as exc:
        turns = _conversation_turns(rt, principal, conversation_id) if conversation_id else []
        return _ask_page(request, rt, principal, conversation_id, turns, exc.user_message, question,
                         exc.http_status if exc.http_status < 500 else 503)
    assert answer.conversation_id is not None
    turns = _conversation_turns(rt, principal, answer.conversation_id)
    if turns:  # the newest turn as just answered, with the notices the stored turn does not keep
        turns[-1] = _answer_view(answer, turns[-1]["number"])
        turns[-1]["question"] = question
    return _ask_page(request, rt, principal, answer.conversation_id, turns)


class StreamRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=20_000)
    conversation_id: str | None = None


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/fragen/stream")
def ask_stream(request: Request, body: StreamRequest, principal: Principal = Depends(require("ask", page=True)),
               rt: Runtime = Depends(get_runtime)) -> StreamingResponse:
    """Server-sent events for the ask page: ``draft`` pieces while a model writes (not yet checked), then
    ``answer`` with the checked turn as HTML (rendered by the same template as without JavaScript)."""
    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            answer = rt.ask_in_conversation(body.question, principal, body.conversation_id,
                                            on_token=lambda piece: pieces.put(("draft", piece)))
            pieces.put(("answer", answer))
        except KreiswissenError as exc:
            pieces.put(("error", exc.user_message))
        except Exception:  # noqa: BLE001 - reported to the page; the server log has the trace
            import logging

            logging.getLogger(__name__).exception("ask stream failed")
            pieces.put(("error", "Interner Fehler. Bitte wenden Sie sich an die Administration."))

    threading.Thread(target=work, name="kreiswissen-ask", daemon=True).start()

    def events() -> Iterator[str]:
        while True:
            try:
                kind, value = pieces.get(timeout=5.0)
            except queue.Empty:
                yield ": warte\n\n"
                continue
            if kind == "draft":
                yield _event("draft", {"text": value})
            elif kind == "error":
                yield _event("error", {"message": value})
                return
            else:
                answer: Answer = value
                number = len(rt.conversations.history(principal, answer.conversation_id or "", None))
                view = _answer_view(answer, number)
                view["question"] = body.question
                html = TEMPLATES.get_template("_turn.html").render(
                    turn=view, csrf_token=request.state.kw_session.csrf_token if request.state.kw_session else "",
                    conversation_id=answer.conversation_id)
                yield _event("answer", {"html": html, "conversation_id": answer.conversation_id})
                return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/fragen/bewertung")
def feedback(request: Request, rating: Annotated[int, Form()], question: Annotated[str, Form(max_length=20_000)],
             mode: Annotated[str, Form()], comment: Annotated[str, Form(max_length=4000)] = "",
             documents: Annotated[str, Form(max_length=4000)] = "", gespraech: Annotated[str, Form()] = "",
             principal: Principal = Depends(require("ask", page=True)),
             rt: Runtime = Depends(get_runtime)) -> Response:
    from kreiswissen.admin.usage import record_feedback

    record_feedback(rt.db, rt.audit, principal, question, mode, rating, comment,
                    [d for d in documents.split(",") if d])
    if request.headers.get("x-requested-with") == "fetch":
        return HTMLResponse('<p class="hinweis" role="status">Vielen Dank für Ihre Bewertung.</p>')
    target = f"/fragen?gespraech={gespraech}&bewertet=1" if gespraech else "/fragen?bewertet=1"
    return RedirectResponse(target, status_code=303)


@router.post("/fragen/{conversation_id}/loeschen")
def delete_conversation(conversation_id: str, principal: Principal = Depends(require("ask", page=True)),
                        rt: Runtime = Depends(get_runtime)) -> RedirectResponse:
    rt.delete_conversation(conversation_id, principal)
    return RedirectResponse("/fragen", status_code=303)


# -- search ---------------------------------------------------------------------------------------------------
def _date_param(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"bad date {value}", user_message=f"{label}: bitte ein Datum wie 2026-03-31 angeben.") from exc


@router.get("/suche")
def search_page(request: Request, q: Annotated[str, Query(max_length=2000)] = "",
                fachdienst: str = "", typ: str = "", gemeinde: str = "", von: str = "", bis: str = "",
                principal: Principal = Depends(require("search", page=True)),
                rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    from kreiswissen.ingest.service import document_facets

    facets = document_facets(rt.db, principal)
    context: dict[str, Any] = {"title": "Suche", "q": q, "facets": facets, "hits": None, "error": None,
                               "filters": {"fachdienst": fachdienst, "typ": typ, "gemeinde": gemeinde, "von": von,
                                           "bis": bis}}
    if q.strip():
        try:
            filters = SearchFilters(department=fachdienst or None, municipality=gemeinde or None,
                                    doc_type=typ or None, date_from=_date_param(von, "Von"),
                                    date_to=_date_param(bis, "Bis"))
            result = rt.search(q, principal, top_k=20, filters=filters)
            context["hits"] = result.hits
        except KreiswissenError as exc:
            context["error"] = exc.user_message
            return render(request, "search.html", context, exc.http_status if exc.http_status < 500 else 503)
    return render(request, "search.html", context)


@router.get("/hinweise")
def hints(request: Request, principal: Principal = Depends(require("search", page=True)),
          rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return render(request, "hints.html", {"title": "Hinweise zur Nutzung",
                                          "retention_days": rt.settings.conversation_retention_days})
