"""The Leistungskatalog and the Textbausteine in the browser (administration): list, edit, add, delete, and
replace the whole catalogue or library by uploading a YAML/CSV file. Every change is audited
(``cases.catalogue``, ``cases.blocks``); an edited text block is approved by the administrator who saved it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kreiswissen.cases.blocks import KIND_LABELS, KINDS, TextBlock, check_block, delete_block, load_blocks, save_block
from kreiswissen.cases.catalogue import (
    MAX_CATALOGUE_BYTES,
    Service,
    Unit,
    delete_service,
    load_stored,
    save_service,
    save_unit,
)
from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)
SCOPE = "admin"
BASE = "/verwaltung/leistungen"


def _lines(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in value.splitlines() if line.strip()))


def _overview(request: Request, rt: Runtime, principal: Principal, *, error: str | None = None,
              message: str | None = None, status_code: int = 200) -> HTMLResponse:
    catalogue = load_stored(rt.db, principal)
    return render(request, "catalogue.html", {
        "title": "Leistungskatalog", "catalogue": catalogue, "blocks": load_blocks(rt.db, principal),
        "KIND_LABELS": KIND_LABELS, "error": error, "message": message or request.query_params.get("ok"),
    }, status_code)


@router.get(BASE)
def overview(request: Request, principal: Principal = Depends(require(SCOPE, page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _overview(request, rt, principal)


@router.post(f"{BASE}/datei")
async def upload(request: Request, file: UploadFile, art: Annotated[str, Form()] = "katalog",
                 principal: Principal = Depends(require(SCOPE, page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    """Replace the whole catalogue (YAML/CSV) or the whole text block library (YAML)."""
    from kreiswissen.cases.blocks import read_blocks, store_blocks
    from kreiswissen.cases.catalogue import read_catalogue, store_catalogue

    try:
        data = await file.read(MAX_CATALOGUE_BYTES + 1)
        if len(data) > MAX_CATALOGUE_BYTES:
            raise InputError("too large", user_message=f"Datei '{file.filename}': zu groß.")
        name = Path(file.filename or "katalog.yaml").name
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            if art == "bausteine":
                catalogue = load_stored(rt.db, principal)
                blocks = read_blocks(path, set(catalogue.services) if catalogue.services else None)
                store_blocks(rt.db, principal, blocks)
                rt.audit.record(principal.name, "cases.blocks", {"file": name, "blocks": len(blocks)})
                done = f"Textbausteine übernommen: {len(blocks)}."
            else:
                new = read_catalogue(path)
                store_catalogue(rt.db, principal, new)
                rt.audit.record(principal.name, "cases.catalogue", {"file": name, "services": len(new.services),
                                                                    "units": len(new.units)})
                done = f"Leistungskatalog übernommen: {len(new.services)} Leistungen, {len(new.units)} Stellen."
    except KreiswissenError as exc:
        return _overview(request, rt, principal, error=exc.user_message, status_code=exc.http_status)
    finally:
        await file.close()
    return _overview(request, rt, principal, message=done)


# -- services -------------------------------------------------------------------------------------------------
def _service_form(request: Request, rt: Runtime, principal: Principal, service: Service | None, *, new: bool,
                  error: str | None = None, status_code: int = 200) -> HTMLResponse:
    catalogue = load_stored(rt.db, principal)
    return render(request, "catalogue_edit.html", {
        "title": "Neue Leistung" if new else f"Leistung: {service.name if service else ''}", "kind": "service",
        "item": service, "new": new, "units": sorted(catalogue.units.values(), key=lambda u: u.name),
        "error": error}, status_code)


@router.get(f"{BASE}/leistung/neu")
def new_service(request: Request, principal: Principal = Depends(require(SCOPE, page=True)),
                rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _service_form(request, rt, principal, None, new=True)


@router.get(f"{BASE}/leistung/{{service_id}}")
def edit_service(request: Request, service_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    service = load_stored(rt.db, principal).services.get(service_id)
    if service is None:
        from kreiswissen.errors import NotFound

        raise NotFound(f"service {service_id}", user_message=f"Leistung „{service_id}“ gibt es nicht.")
    return _service_form(request, rt, principal, service, new=False)


@router.post(f"{BASE}/leistung")
def save_service_page(request: Request, id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                      unit: Annotated[str, Form()] = "", level: Annotated[str, Form()] = "kreis",
                      group: Annotated[str, Form()] = "", synonyms: Annotated[str, Form()] = "",
                      description: Annotated[str, Form()] = "", legal_bases: Annotated[str, Form()] = "",
                      documents: Annotated[str, Form()] = "", fees: Annotated[str, Form()] = "",
                      deadlines: Annotated[str, Form()] = "", online: Annotated[str, Form()] = "",
                      neu: Annotated[str, Form()] = "", loeschen: Annotated[str, Form()] = "",
                      principal: Principal = Depends(require(SCOPE, page=True)),
                      rt: Runtime = Depends(get_runtime)) -> Response:
    service = Service(id.strip(), name.strip(), unit, level, group.strip(), _lines(synonyms), description.strip(),
                      _lines(legal_bases), _lines(documents), fees.strip(), deadlines.strip(), bool(online))
    try:
        if loeschen:
            delete_service(rt.db, principal, service.id)
            action = "delete"
        else:
            save_service(rt.db, principal, service, new=bool(neu))
            action = "add" if neu else "edit"
        rt.audit.record(principal.name, "cases.catalogue", {"service": service.id, "action": action})
    except KreiswissenError as exc:
        return _service_form(request, rt, principal, service, new=bool(neu), error=exc.user_message,
                             status_code=exc.http_status)
    return RedirectResponse(f"{BASE}?ok=Gespeichert", status_code=303)


# -- units ----------------------------------------------------------------------------------------------------
@router.get(f"{BASE}/stelle/{{unit_id}}")
def edit_unit(request: Request, unit_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
              rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    unit = load_stored(rt.db, principal).units.get(unit_id)
    new = unit_id == "neu"
    if unit is None and not new:
        from kreiswissen.errors import NotFound

        raise NotFound(f"unit {unit_id}", user_message=f"Stelle „{unit_id}“ gibt es nicht.")
    return render(request, "catalogue_edit.html", {"title": f"Stelle: {unit.name}" if unit else "Neue Stelle",
                                                   "kind": "unit", "item": unit, "new": new})


@router.post(f"{BASE}/stelle")
def save_unit_page(request: Request, id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                   address: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                   email: Annotated[str, Form()] = "", hours: Annotated[str, Form()] = "",
                   neu: Annotated[str, Form()] = "", principal: Principal = Depends(require(SCOPE, page=True)),
                   rt: Runtime = Depends(get_runtime)) -> Response:
    unit = Unit(id.strip(), name.strip(), address.strip(), phone.strip(), email.strip(), hours.strip())
    try:
        save_unit(rt.db, principal, unit, new=bool(neu))
        rt.audit.record(principal.name, "cases.catalogue", {"unit": unit.id, "action": "add" if neu else "edit"})
    except KreiswissenError as exc:
        return render(request, "catalogue_edit.html", {"title": "Stelle", "kind": "unit", "item": unit,
                                                       "new": bool(neu), "error": exc.user_message},
                      exc.http_status)
    return RedirectResponse(f"{BASE}?ok=Gespeichert", status_code=303)


# -- text blocks ----------------------------------------------------------------------------------------------
@router.get(f"{BASE}/baustein/{{block_id}}")
def edit_block(request: Request, block_id: str, principal: Principal = Depends(require(SCOPE, page=True)),
               rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    block = next((b for b in load_blocks(rt.db, principal) if b.id == block_id), None)
    new = block_id == "neu"
    if block is None and not new:
        from kreiswissen.errors import NotFound

        raise NotFound(f"block {block_id}", user_message=f"Textbaustein „{block_id}“ gibt es nicht.")
    return render(request, "catalogue_edit.html", {"title": f"Textbaustein: {block.title}" if block else
                                                   "Neuer Textbaustein", "kind": "block", "item": block, "new": new,
                                                   "KINDS": KINDS, "KIND_LABELS": KIND_LABELS})


@router.post(f"{BASE}/baustein")
def save_block_page(request: Request, id: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "",
                    kind: Annotated[str, Form()] = "", services: Annotated[str, Form()] = "",
                    text: Annotated[str, Form()] = "", neu: Annotated[str, Form()] = "",
                    loeschen: Annotated[str, Form()] = "",
                    principal: Principal = Depends(require(SCOPE, page=True)),
                    rt: Runtime = Depends(get_runtime)) -> Response:
    block = TextBlock(id.strip(), title, kind, _lines(services), text.replace("\r\n", "\n"), ())
    try:
        if loeschen:
            delete_block(rt.db, principal, block.id)
            action = "delete"
        else:
            catalogue = load_stored(rt.db, principal)
            block = check_block(block, set(catalogue.services) if catalogue.services else None)
            save_block(rt.db, principal, block, new=bool(neu))
            action = "add" if neu else "edit"
        rt.audit.record(principal.name, "cases.blocks", {"block": block.id, "action": action})
    except KreiswissenError as exc:
        return render(request, "catalogue_edit.html", {"title": "Textbaustein", "kind": "block", "item": block,
                                                       "new": bool(neu), "error": exc.user_message, "KINDS": KINDS,
                                                       "KIND_LABELS": KIND_LABELS}, exc.http_status)
    return RedirectResponse(f"{BASE}?ok=Gespeichert", status_code=303)
