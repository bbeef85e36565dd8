"""Vorgänge in the browser: the work queue of citizens' requests per unit, a request beside its reply draft,
drafting (template or model), editing, text blocks, accept / discard, copy, DOCX export, re-routing and the
checklist of the service.

Which requests a user sees is decided by the database (migration 0014): those of the units whose group they
belong to, and all of them for the intake group (``cases_intake_group``). Another unit's request answers 404,
the same as one that does not exist. Every step lands in the request's history and the audit log. Nothing is
sent from here: "Annehmen" means the clerk takes the text over into the administration's own mail system.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from kreiswissen.cases.store import STATUS_LABELS
from kreiswissen.errors import FileTooLarge, InputError, KreiswissenError
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)
SCOPE = "cases"
MAX_REQUEST_BYTES = 20 * 1024 * 1024
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _has_model(rt: Runtime) -> bool:
    return bool(rt.settings.llm_base_url or rt.settings.llm_model_path)


def _status(exc: KreiswissenError) -> int:
    return exc.http_status if exc.http_status < 500 else 503


# -- the queue ------------------------------------------------------------------------------------------------
def _queue(request: Request, rt: Runtime, principal: Principal, *, unit: str = "", status: str = "offen",
           error: str | None = None, message: str | None = None, status_code: int = 200) -> HTMLResponse:
    catalogue = rt.cases.catalogue(principal)
    everything = rt.cases.store.list(principal, open_only=status == "offen",
                                     status=status if status in STATUS_LABELS else None)
    units = sorted({c["unit_id"] for c in everything if c["unit_id"]})
    rows = [c for c in everything if not unit or c["unit_id"] == unit or (unit == "-" and not c["unit_id"])]
    return render(request, "cases.html", {
        "title": "Vorgänge", "cases": rows, "units": [(u, catalogue.units[u].name if u in catalogue.units else u)
                                                       for u in units],
        "unit": unit, "status": status, "STATUS_LABELS": STATUS_LABELS, "catalogue": catalogue,
        "has_catalogue": bool(catalogue.services), "error": error, "message": message,
    }, status_code)


@router.get("/vorgaenge")
def queue(request: Request, stelle: str = "", status: str = "offen",
          principal: Principal = Depends(require(SCOPE, page=True)),
          rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _queue(request, rt, principal, unit=stelle, status=status)


@router.post("/vorgaenge/neu")
async def create(request: Request, text: Annotated[str, Form()] = "", subject: Annotated[str, Form()] = "",
                 sender: Annotated[str, Form()] = "", file: UploadFile | None = None,
                 principal: Principal = Depends(require(SCOPE, page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    """Record a request that came by letter, phone note or a mail the import did not see."""
    from kreiswissen.cases.intake import read_request

    try:
        if file is not None and file.filename:
            data = await file.read(MAX_REQUEST_BYTES + 1)
            if len(data) > MAX_REQUEST_BYTES:
                raise FileTooLarge("request too large", user_message=f"Datei '{file.filename}': zu groß (erlaubt "
                                   f"sind {MAX_REQUEST_BYTES // (1024 * 1024)} MB).")
            name = Path(file.filename).name
        elif text.strip():
            data, name = text.encode("utf-8"), "anfrage.txt"
        else:
            raise InputError("no request", user_message="Bitte den Text der Anfrage einfügen oder eine Datei "
                             "(EML, PDF, TXT) auswählen.")
        incoming = await run_in_threadpool(read_request, data, name, rt.settings)
        incoming.source_kind = "web" if name == "anfrage.txt" else incoming.source_kind
        incoming.subject = subject.strip()[:300] or incoming.subject
        incoming.sender = sender.strip()[:300] or incoming.sender
        # The request goes to the responsible unit's queue, which need not be the clerk's own: it is written
        # with the application's rights in the clerk's name (like the import), and shown if the clerk may see it.
        writer = Principal(name=principal.name, groups=principal.groups, operator=True, roles=principal.roles)
        cid, created = await run_in_threadpool(rt.cases.add, writer, incoming)
    except KreiswissenError as exc:
        return await run_in_threadpool(_queue, request, rt, principal, error=exc.user_message,
                                       status_code=_status(exc))
    finally:
        if file is not None:
            await file.close()
    try:
        await run_in_threadpool(rt.cases.store.get, principal, cid)
    except KreiswissenError:
        return await run_in_threadpool(_queue, request, rt, principal, status_code=201, message=(
            "Die Anfrage wurde erfasst und der zuständigen Stelle zugeordnet; sie liegt in deren Arbeitsliste."
            if created else "Diese Anfrage ist bereits erfasst."))
    return RedirectResponse(f"/vorgaenge/{cid}", status_code=303)


# -- one request --------------------------------------------------------------------------------------------
def _case_page(request: Request, rt: Runtime, principal: Principal, cid: str, *, error: str | None = None,
               message: str | None = None, status_code: int = 200, draft_text: str | None = None) -> HTMLResponse:
    case = rt.cases.store.get(principal, cid)
    catalogue = rt.cases.catalogue(principal)
    service = catalogue.services.get(case["service_id"] or "")
    unit = catalogue.units.get(case["unit_id"] or "")
    return render(request, "case.html", {
        "title": case["subject"] or "Vorgang", "case": case, "service": service, "unit": unit,
        "services": sorted(catalogue.services.values(), key=lambda s: s.name), "STATUS_LABELS": STATUS_LABELS,
        "open": case["status"] in ("neu", "entwurf", "bearbeitet"), "has_model": _has_model(rt),
        "meta": case["draft_meta"] or {}, "routing": case["routing"] or {}, "error": error, "message": message,
        "draft_text": case["draft"] if draft_text is None else draft_text,
    }, status_code)


@router.get("/vorgaenge/{cid}")
def show(request: Request, cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
         rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _case_page(request, rt, principal, cid)


def _act(request: Request, rt: Runtime, principal: Principal, cid: str, action: Any, done: str,
         draft_text: str | None = None) -> Response:
    try:
        action()
    except KreiswissenError as exc:
        return _case_page(request, rt, principal, cid, error=exc.user_message, status_code=_status(exc),
                          draft_text=draft_text)
    return _case_page(request, rt, principal, cid, message=done)


@router.post("/vorgaenge/{cid}/entwurf")
def draft(request: Request, cid: str, ki: Annotated[str, Form()] = "",
          principal: Principal = Depends(require(SCOPE, page=True)),
          rt: Runtime = Depends(get_runtime)) -> Response:
    generate = bool(ki) and _has_model(rt)
    return _act(request, rt, principal, cid, lambda: rt.cases.draft(principal, cid, generate=generate),
                "Der Antwortentwurf wurde erstellt. Bitte prüfen, ergänzen und dann annehmen.")


@router.post("/vorgaenge/{cid}")
def save(request: Request, cid: str, draft: Annotated[str, Form()] = "",
         principal: Principal = Depends(require(SCOPE, page=True)),
         rt: Runtime = Depends(get_runtime)) -> Response:
    changed: list[bool] = []
    response = _act(request, rt, principal, cid, lambda: changed.append(rt.cases.store.edit(principal, cid, draft)),
                    "Gespeichert.", draft_text=draft)
    if changed == [False]:
        return _case_page(request, rt, principal, cid, message="Keine Änderung.")
    return response


@router.post("/vorgaenge/{cid}/annehmen")
def accept(request: Request, cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> Response:
    return _act(request, rt, principal, cid, lambda: rt.cases.store.decide(principal, cid, "angenommen"),
                "Angenommen. Kreiswissen versendet nichts: bitte den Text in Ihr Postfach oder Ihre Briefvorlage "
                "übernehmen (Kopieren oder DOCX).")


@router.post("/vorgaenge/{cid}/verwerfen")
def discard(request: Request, cid: str, grund: Annotated[str, Form()] = "",
            principal: Principal = Depends(require(SCOPE, page=True)),
            rt: Runtime = Depends(get_runtime)) -> Response:
    return _act(request, rt, principal, cid, lambda: rt.cases.store.decide(principal, cid, "verworfen", grund),
                "Verworfen.")


@router.post("/vorgaenge/{cid}/oeffnen")
def reopen(request: Request, cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> Response:
    return _act(request, rt, principal, cid, lambda: rt.cases.store.decide(principal, cid, "reopen"),
                "Wieder geöffnet.")


@router.post("/vorgaenge/{cid}/umleiten")
def reroute(request: Request, cid: str, leistung: Annotated[str, Form()] = "",
            principal: Principal = Depends(require(SCOPE, page=True)),
            rt: Runtime = Depends(get_runtime)) -> Response:
    try:
        rt.cases.store.reroute(principal, cid, rt.cases.catalogue(principal), leistung)
    except KreiswissenError as exc:
        return _case_page(request, rt, principal, cid, error=exc.user_message, status_code=_status(exc))
    try:
        return _case_page(request, rt, principal, cid, message="Neu zugeordnet.")
    except KreiswissenError:  # handed over to a unit whose queue the clerk does not see
        return _queue(request, rt, principal, message="Der Vorgang wurde der neuen Stelle übergeben und liegt "
                      "jetzt in deren Arbeitsliste.")


@router.post("/vorgaenge/{cid}/kopiert", status_code=204)
def copied(cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> Response:
    """The page's copy button reports here, so copying the draft is in the history like every other step."""
    rt.cases.store.record(principal, cid, "copy")
    return Response(status_code=204)


@router.get("/vorgaenge/{cid}/antwort.docx")
def export(cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> FileResponse:
    from kreiswissen.cases.export import to_docx

    case = rt.cases.store.get(principal, cid)
    folder = Path(tempfile.mkdtemp(prefix="kw-antwort-"))
    name = f"antwort-{cid[:8]}.docx"
    try:
        path = to_docx(case, folder / name, owner=rt.cases.catalogue(principal).owner)
        rt.cases.store.record(principal, cid, "export", {"format": "docx"})
    except BaseException:
        _remove(folder)
        raise
    return FileResponse(path, filename=name, media_type=DOCX_TYPE, background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@router.get("/vorgaenge/{cid}/checkliste")
def case_checklist(request: Request, cid: str, principal: Principal = Depends(require(SCOPE, page=True)),
                   rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    from kreiswissen.cases.checklist import KIND_LABELS, checklist

    case = rt.cases.store.get(principal, cid)
    if not case["service_id"]:
        return _case_page(request, rt, principal, cid, status_code=409, error="Der Vorgang ist keiner Leistung "
                          "zugeordnet; bitte zuerst zuordnen.")
    result = checklist(rt.cases.catalogue(principal), case["service_id"],
                       lambda q: rt.search(q, principal, top_k=6))
    return render(request, "case_checklist.html", {"title": f"Checkliste: {result['service_name']}", "case": case,
                                                   "result": result, "KIND_LABELS": KIND_LABELS})
