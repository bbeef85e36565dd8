"""The document library: list, upload (jobs with status per file), a document at a passage, versions,
download and delete with confirmation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.ingest.service import get_document, list_documents, original_file
from kreiswissen.runtime import Runtime
from kreiswissen.security.policy import CLASSIFICATION_LABELS, normalise_classification
from kreiswissen.security.principal import EVERYONE, Principal
from kreiswissen.web.auth import get_runtime, require
from kreiswissen.web.render import query_words
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)
MAX_FILES = 20


def _library(request: Request, rt: Runtime, principal: Principal, *, error: str | None = None,
             message: str | None = None, status_code: int = 200) -> HTMLResponse:
    docs = list_documents(rt.db, principal)
    may_upload = principal.has_role("redakteur", "administrator")
    jobs = [j for j in rt.jobs.status(principal, limit=50) if j["kind"] == "ingest"] if may_upload else []
    return render(request, "documents.html", {
        "title": "Dokumente", "documents": docs, "jobs": jobs,
        "may_upload": may_upload, "groups": sorted(principal.groups - {EVERYONE}), "error": error,
        "message": message, "classifications": CLASSIFICATION_LABELS,
        "max_mb": rt.settings.upload_max_bytes // (1024 * 1024),
    }, status_code)


@router.get("/dokumente")
def library(request: Request, principal: Principal = Depends(require("documents:read", page=True)),
            rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _library(request, rt, principal)


async def submit_uploads(rt: Runtime, principal: Principal, files: list[UploadFile], groups: list[str],
                         department: str | None, classification: str | None) -> list[dict[str, Any]]:
    """One job per file; a file refused up front (type, size, rights) is reported, the others still go in."""
    from starlette.concurrency import run_in_threadpool

    if not files or all(not f.filename for f in files):
        raise InputError("no files", user_message="Bitte mindestens eine Datei auswählen.")
    if len(files) > MAX_FILES:
        raise InputError("too many files", user_message=f"Höchstens {MAX_FILES} Dateien auf einmal.")
    level = normalise_classification(classification or None)
    results: list[dict[str, Any]] = []
    for upload in files:
        name = upload.filename or "ohne-namen"
        content = await upload.read(rt.settings.upload_max_bytes + 1)
        try:
            if len(content) > rt.settings.upload_max_bytes:
                from kreiswissen.errors import FileTooLarge

                raise FileTooLarge(f"{name} too large", user_message=f"Datei '{name}': zu groß (erlaubt sind "
                                   f"{rt.settings.upload_max_bytes // (1024 * 1024)} MB).")
            job_id = await run_in_threadpool(rt.jobs.submit, principal, name, content, groups or [EVERYONE],
                                             department, level)
            results.append({"file_name": name, "job_id": str(job_id), "status": "queued", "message": ""})
        except KreiswissenError as exc:
            results.append({"file_name": name, "job_id": None, "status": "rejected", "message": exc.user_message,
                            "http_status": exc.http_status})
        finally:
            await upload.close()
    return results


@router.post("/dokumente/hochladen")
async def upload(request: Request, files: list[UploadFile], groups: Annotated[list[str] | None, Form()] = None,
                 department: Annotated[str, Form()] = "", classification: Annotated[str, Form()] = "intern",
                 principal: Principal = Depends(require("documents:write", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    from starlette.concurrency import run_in_threadpool

    results = await submit_uploads(rt, principal, files, [g for g in groups or [] if g], department or None,
                                   classification)
    if request.headers.get("x-requested-with") == "fetch":
        rejected = [r for r in results if r["status"] == "rejected"]
        status = rejected[0]["http_status"] if rejected and len(rejected) == len(results) else 202
        return JSONResponse({"jobs": results}, status_code=status)
    accepted = sum(1 for r in results if r["status"] != "rejected")
    problems = [f"{r['file_name']}: {r['message']}" for r in results if r["status"] == "rejected"]
    message = f"{accepted} Datei(en) zum Einlesen angenommen." if accepted else None
    return await run_in_threadpool(_library, request, rt, principal, error=" ".join(problems) or None,
                                   message=message, status_code=202 if accepted else 400)


@router.get("/dokumente/{document_id}")
def document(request: Request, document_id: str, abschnitt: str | None = None, q: str = "",
             principal: Principal = Depends(require("documents:read", page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _document_page(request, rt, principal, document_id, abschnitt, q)


def _document_page(request: Request, rt: Runtime, principal: Principal, document_id: str,
                   selected: str | None = None, q: str = "", *, message: str | None = None,
                   error: str | None = None, status_code: int = 200) -> HTMLResponse:
    doc = get_document(rt.db, principal, document_id)
    rt.audit.record(principal.name, "document.access", {"document": doc["id"], "source": doc["source"]})
    may_delete = principal.has_role("redakteur", "administrator")
    groups = sorted((principal.groups | set(doc["access_groups"])) - {EVERYONE})
    return render(request, "document.html", {
        "title": doc["title"], "doc": doc, "selected": selected, "words": query_words(q), "may_delete": may_delete,
        "groups": groups, "classifications": CLASSIFICATION_LABELS, "message": message, "error": error,
    }, status_code)


@router.post("/dokumente/{document_id}/freigabe")
def change_access(request: Request, document_id: str, groups: Annotated[list[str] | None, Form()] = None,
                  department: Annotated[str, Form()] = "", classification: Annotated[str, Form()] = "intern",
                  principal: Principal = Depends(require("documents:write", page=True)),
                  rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    try:
        rt.change_access(document_id, principal, [g for g in groups or [] if g], department or None, classification)
    except KreiswissenError as exc:
        if exc.http_status == 404:
            raise
        return _document_page(request, rt, principal, document_id, error=exc.user_message,
                              status_code=exc.http_status if exc.http_status < 500 else 503)
    return _document_page(request, rt, principal, document_id, message="Freigabe und Einstufung gespeichert.")


@router.get("/dokumente/{document_id}/original")
def download(document_id: str, ansicht: int = 0,
             principal: Principal = Depends(require("documents:read", page=True)),
             rt: Runtime = Depends(get_runtime)) -> FileResponse:
    """The original file; a PDF with ``ansicht=1`` opens in the browser's viewer (a citation links to its
    page with ``#page=N``), everything else is downloaded."""
    path = original_file(rt.db, principal, document_id)
    rt.audit.record(principal.name, "document.download", {"document": document_id})
    inline = bool(ansicht) and path.suffix.lower() == ".pdf"
    return FileResponse(path, filename=path.name, media_type="application/pdf" if inline else None,
                        content_disposition_type="inline" if inline else "attachment")


@router.get("/dokumente/{document_id}/loeschen")
def confirm_delete(request: Request, document_id: str,
                   principal: Principal = Depends(require("documents:write", page=True)),
                   rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    doc = get_document(rt.db, principal, document_id)
    return render(request, "confirm_delete.html", {"title": "Dokument löschen", "doc": doc})


@router.post("/dokumente/{document_id}/loeschen")
def delete(document_id: str, principal: Principal = Depends(require("documents:write", page=True)),
           rt: Runtime = Depends(get_runtime)) -> RedirectResponse:
    doc = get_document(rt.db, principal, document_id)
    rt.delete(doc["source"], principal)
    return RedirectResponse("/dokumente?geloescht=1", status_code=303)
