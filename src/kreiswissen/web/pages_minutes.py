"""Niederschriften in the browser: upload a recording or transcript (a job), review the draft beside the
transcript (every item, vote and summary sentence links to its place), edit, generated summaries, approve,
export (DOCX, ODT, PDF) and delete.

Drafts are the Protokollführung's own (row-level security, migration 0011): another user gets 404, the same
as for a draft that does not exist. The pages need the scope ``minutes`` (Redakteur, Administrator), because
approving ingests the minutes into the knowledge base.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from kreiswissen.errors import FileTooLarge, InputError, KreiswissenError
from kreiswissen.minutes.draft import ATTENDANCE_FIELDS, HEADER_FIELDS
from kreiswissen.minutes.store import EXPORT_FORMATS, STATUS_LABELS, parse_agenda
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import EVERYONE, Principal
from kreiswissen.web.auth import get_runtime, require
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)
SCOPE = "minutes"
HEADER_LABELS = {"title": "Titel", "body": "Gremium", "session": "Sitzung (Nummer)", "date": "Datum",
                 "place": "Ort", "start_time": "Beginn", "end_time": "Ende", "chair": "Vorsitz",
                 "minute_taker": "Protokollführung"}
ATTENDANCE_LABELS = {"present": "Anwesend", "absent_excused": "Entschuldigt", "absent_unexcused": "Unentschuldigt"}
OUTCOME_LABELS = {"angenommen": "angenommen", "abgelehnt": "abgelehnt", "überwiesen": "überwiesen",
                  "zurückgezogen": "zurückgezogen", "vertagt": "vertagt", "abgesetzt": "abgesetzt",
                  "unentschieden": "Stimmengleichheit", "offen": "offen"}
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "odt": "application/vnd.oasis.opendocument.text", "pdf": "application/pdf"}


def _overview(request: Request, rt: Runtime, principal: Principal, *, error: str | None = None,
              message: str | None = None, status_code: int = 200) -> HTMLResponse:
    from kreiswissen.minutes.oparl import list_meetings

    jobs = [j for j in rt.jobs.status(principal, limit=50) if j.get("kind") == "minutes"
            and j["owner"] == principal.name]
    return render(request, "minutes.html", {
        "title": "Niederschriften", "drafts": rt.minutes.list(principal), "jobs": jobs,
        "meetings": [m for m in list_meetings(rt) if not m["cancelled"]][:100],
        "groups": sorted(principal.groups - {EVERYONE}), "STATUS_LABELS": STATUS_LABELS, "error": error,
        "message": message, "max_mb": rt.settings.upload_max_bytes // (1024 * 1024),
    }, status_code)


@router.get("/niederschriften")
def overview(request: Request, principal: Principal = Depends(require(SCOPE, page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _overview(request, rt, principal)


async def _read_upload(rt: Runtime, upload: UploadFile) -> bytes:
    content = await upload.read(rt.settings.upload_max_bytes + 1)
    if len(content) > rt.settings.upload_max_bytes:
        raise FileTooLarge(f"{upload.filename} too large", user_message=f"Datei '{upload.filename}': zu groß "
                           f"(erlaubt sind {rt.settings.upload_max_bytes // (1024 * 1024)} MB; größere Aufnahmen "
                           "bitte mit 'kreiswissen minutes draft' auf dem Server verarbeiten).")
    return content


def _agenda_entries(rt: Runtime, text: str, agenda_file: tuple[str, bytes] | None,
                    meeting_id: str) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    """The agenda of the form: a synced OParl meeting, an uploaded file, or pasted lines (one of them)."""
    given = [bool(meeting_id), agenda_file is not None, bool(text.strip())]
    if sum(given) > 1:
        raise InputError("several agendas", user_message="Bitte nur eine Tagesordnung angeben: Sitzung aus dem "
                         "Ratsinformationssystem, Datei oder eingefügter Text.")
    if meeting_id:
        from kreiswissen.minutes.oparl import meeting_agenda

        meeting, entries = meeting_agenda(rt, meeting_id)
        return [e.__dict__ for e in entries], {"id": meeting_id, "name": meeting.get("name"),
                                                "start": meeting.get("start")}
    if agenda_file is not None:
        name, data = agenda_file
        suffix = Path(name).suffix.lower() or ".txt"
        if suffix not in (".txt", ".docx", ".md"):
            raise InputError(f"agenda suffix {suffix}", user_message="Tagesordnung: bitte als Text- oder "
                             "Word-Datei (TXT, DOCX) hochladen.")
        from kreiswissen.minutes.store import read_agenda

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"tagesordnung{suffix}"
            path.write_bytes(data)
            try:
                entries = read_agenda(path)
            except InputError as exc:
                raise InputError(str(exc), user_message=exc.user_message.replace(str(path), name)) from None
        return [e.__dict__ for e in entries], None
    if text.strip():
        entries = parse_agenda(text.splitlines())
        if not entries:
            raise InputError("agenda text without items", user_message="Tagesordnung: keine Punkte gefunden "
                             "(erwartet Zeilen wie „TOP 1: Titel“ oder „1. Titel“).")
        return [e.__dict__ for e in entries], None
    return None, None


@router.post("/niederschriften/neu")
async def create(request: Request, file: UploadFile, agenda_file: UploadFile | None = None,
                 agenda_text: Annotated[str, Form()] = "", oparl_meeting: Annotated[str, Form()] = "",
                 nonpublic_groups: Annotated[list[str] | None, Form()] = None,
                 principal: Principal = Depends(require(SCOPE, page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    try:
        if not file.filename:
            raise InputError("no file", user_message="Bitte eine Aufnahme oder ein Wortprotokoll auswählen.")
        content = await _read_upload(rt, file)
        agenda_upload = None
        if agenda_file is not None and agenda_file.filename:
            agenda_upload = (agenda_file.filename, await _read_upload(rt, agenda_file))
        agenda, meeting = await run_in_threadpool(_agenda_entries, rt, agenda_text, agenda_upload, oparl_meeting)
        await run_in_threadpool(rt.jobs.submit_minutes, principal, file.filename, content, agenda=agenda,
                                meeting=meeting, nonpublic_groups=[g for g in nonpublic_groups or [] if g])
    except KreiswissenError as exc:
        return await run_in_threadpool(_overview, request, rt, principal, error=exc.user_message,
                                       status_code=exc.http_status if exc.http_status < 500 else 503)
    finally:
        await file.close()
    return await run_in_threadpool(
        _overview, request, rt, principal, status_code=202,
        message=f"„{file.filename}“ angenommen. Der Entwurf wird erstellt (eine Aufnahme wird zuerst "
                "transkribiert); der Status steht unten.")


# -- review ---------------------------------------------------------------------------------------------------
def _review(request: Request, rt: Runtime, principal: Principal, minutes_id: str, *, error: str | None = None,
            message: str | None = None, status_code: int = 200) -> HTMLResponse:
    record = rt.minutes.get(principal, minutes_id)
    segments = rt.minutes.transcript_segments(principal, minutes_id)
    content = record["content"]
    cited = {int(v["source"].get("segment", -1)) for item in content["agenda_items"] for v in item["votes"]}
    calls = {int(item["source"].get("segment", -1)) for item in content["agenda_items"]}
    return render(request, "minutes_review.html", {
        "title": record["title"] or f"Niederschrift – {record['source_file']}", "record": record,
        "content": content, "segments": segments,
        "cited": cited, "calls": calls, "HEADER_LABELS": HEADER_LABELS, "ATTENDANCE_LABELS": ATTENDANCE_LABELS,
        "OUTCOME_LABELS": OUTCOME_LABELS, "STATUS_LABELS": STATUS_LABELS, "formats": EXPORT_FORMATS,
        "approved": record["status"] == "genehmigt",
        "may_generate": bool(rt.settings.llm_model_path or rt.settings.llm_base_url),
        "error": error, "message": message,
    }, status_code)


@router.get("/niederschriften/{minutes_id}")
def review(request: Request, minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _review(request, rt, principal, minutes_id)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(";", "\n").splitlines() if line.strip()]


def form_changes(content: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The edits of the review form against the stored content: only fields whose value changed."""
    changes: dict[str, Any] = {}
    header = content.get("header") or {}
    for name in HEADER_FIELDS:
        if name in form and (str(form[name]).strip() or None) != (header.get(name) or None):
            changes[name] = str(form[name]).strip()
    attendance = content.get("attendance") or {}
    for name in ATTENDANCE_FIELDS:
        if name in form and _lines(str(form[name])) != list(attendance.get(name) or []):
            changes[name] = _lines(str(form[name]))
    for position, item in enumerate(content.get("agenda_items") or []):
        prefix = f"top.@{position}"
        title = str(form.get(f"{prefix}.title", item["title"])).strip()
        if title and title != item["title"]:
            changes[f"{prefix}.title"] = title
        public = form.get(f"{prefix}.public") == "ja"
        if public != bool(item["public"]):
            changes[f"{prefix}.public"] = public
        if f"{prefix}.summary" in form:
            summary = " ".join(str(form[f"{prefix}.summary"]).split())
            if summary != " ".join(" ".join(s["text"] for s in item.get("summary") or []).split()):
                changes[f"{prefix}.summary"] = summary
    return changes


@router.post("/niederschriften/{minutes_id}")
async def save(request: Request, minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
               rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def apply() -> HTMLResponse:
        record = rt.minutes.get(principal, minutes_id)
        if record["status"] == "genehmigt":
            return _review(request, rt, principal, minutes_id, status_code=409, error="Die Niederschrift ist "
                           "genehmigt und kann nicht mehr bearbeitet werden.")
        changes = form_changes(record["content"], form)
        if not changes:
            return _review(request, rt, principal, minutes_id, message="Keine Änderungen.")
        try:
            rt.minutes.edit(principal, minutes_id, changes)
        except KreiswissenError as exc:
            if exc.http_status == 404:
                raise
            return _review(request, rt, principal, minutes_id, error=exc.user_message, status_code=exc.http_status)
        return _review(request, rt, principal, minutes_id, message=f"{len(changes)} Änderung(en) gespeichert.")

    return await run_in_threadpool(apply)


@router.post("/niederschriften/{minutes_id}/zusammenfassung")
def summarize(request: Request, minutes_id: str, top: Annotated[str, Form()] = "",
              principal: Principal = Depends(require(SCOPE, page=True)),
              rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    generator = rt.generator
    if generator is None:
        return _review(request, rt, principal, minutes_id, status_code=503, error="Kein Sprachmodell eingerichtet; "
                       "die Zusammenfassungen bleiben Auszüge aus dem Wortprotokoll.")
    embedder = rt.embedder
    try:
        result = rt.minutes.summarize(principal, minutes_id, generator,
                                      lambda xs: embedder.embed_passages(list(xs)), item=top or None)
    except KreiswissenError as exc:
        if exc.http_status == 404 and not top:
            raise
        return _review(request, rt, principal, minutes_id, error=exc.user_message,
                       status_code=exc.http_status if exc.http_status < 500 else 503)
    parts = []
    if result["generated"]:
        parts.append("KI-Zusammenfassung erzeugt für: " + ", ".join(result["generated"]) + ". Bitte prüfen.")
    parts += [f"{key} unverändert: {reason}." for key, reason in result["kept"].items()]
    return _review(request, rt, principal, minutes_id, message=" ".join(parts) or "Keine Änderung.")


@router.get("/niederschriften/{minutes_id}/genehmigen")
def confirm_approve(request: Request, minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
                    rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    record = rt.minutes.get(principal, minutes_id)
    items = record["content"]["agenda_items"]
    return render(request, "minutes_confirm.html", {
        "title": "Niederschrift genehmigen", "record": record, "action": "genehmigen",
        "nonpublic": [i for i in items if not i["public"]], "public": [i for i in items if i["public"]]})


@router.post("/niederschriften/{minutes_id}/genehmigen")
def approve(request: Request, minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
            rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    try:
        result = rt.minutes.approve(principal, minutes_id)
    except KreiswissenError as exc:
        if exc.http_status == 404:
            raise
        return _review(request, rt, principal, minutes_id, error=exc.user_message,
                       status_code=exc.http_status if exc.http_status < 500 else 503)
    groups = ", ".join(result["nonpublic_groups"])
    return _review(request, rt, principal, minutes_id, message="Genehmigt und in den Wissensbestand übernommen: "
                   "die öffentlichen TOPs für alle" + (f", die nichtöffentlichen nur für {groups}." if groups else "."))


@router.get("/niederschriften/{minutes_id}/export/{fmt}")
def export(minutes_id: str, fmt: str, oeffentlich: int = 0,
           principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> FileResponse:
    fmt = fmt.lower()
    record = rt.minutes.get(principal, minutes_id)
    include = not oeffentlich and rt.minutes.entitled(principal, record)
    folder = Path(tempfile.mkdtemp(prefix="kw-export-"))
    name = f"niederschrift-{record['meeting_date'] or minutes_id[:8]}{'' if include else '-oeffentlich'}.{fmt}"
    try:
        path = rt.minutes.export(principal, minutes_id, fmt, folder / name, include_nonpublic=include)
    except BaseException:
        _remove(folder)
        raise
    return FileResponse(path, filename=name, media_type=MEDIA_TYPES.get(fmt),
                        background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@router.get("/niederschriften/{minutes_id}/loeschen")
def confirm_delete(request: Request, minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
                   rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    record = rt.minutes.get(principal, minutes_id)
    return render(request, "minutes_confirm.html", {"title": "Entwurf löschen", "record": record,
                                                    "action": "loeschen"})


@router.post("/niederschriften/{minutes_id}/loeschen")
def delete(minutes_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
           rt: Runtime = Depends(get_runtime)) -> RedirectResponse:
    rt.minutes.delete(principal, minutes_id)
    return RedirectResponse("/niederschriften?geloescht=1", status_code=303)
