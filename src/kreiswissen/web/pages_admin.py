"""Administration (users, groups, roles, API tokens, backends, settings) and the data-protection officer's
page (audit log with stated reason, chain verification, export, DSGVO information and erasure).

Administrators do not see the audit log and the DSB does not manage users: separate duties, separate roles.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.runtime import Runtime
from kreiswissen.security.identity import ROLES, SCOPES
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require, sessions
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {"leser": "Leser/in", "redakteur": "Redakteur/in", "ki-manager": "KI-Manager/in",
               "administrator": "Administrator/in", "datenschutz": "Datenschutzbeauftragte/r"}
SCOPE_LABELS = {"search": "Suchen", "ask": "Fragen", "documents:read": "Dokumente lesen",
                "documents:write": "Dokumente einstellen", "admin": "Verwaltung"}
# Settings an administrator may see; secrets (passwords, keys, client secrets) never appear.
_SECRET_WORDS = ("password", "secret", "api_key", "key_file")


def _admin_page(request: Request, rt: Runtime, *, error: str | None = None, message: str | None = None,
                new_token: str | None = None, status_code: int = 200) -> HTMLResponse:
    identity = rt.identity
    return render(request, "admin.html", {
        "title": "Verwaltung", "users": identity.list_users(), "groups": identity.list_groups(),
        "tokens": identity.list_tokens(), "roles": ROLES, "role_labels": ROLE_LABELS, "scopes": SCOPES,
        "scope_labels": SCOPE_LABELS, "error": error, "message": message, "new_token": new_token,
        "now": datetime.now(UTC),
    }, status_code)


def _done(request: Request, rt: Runtime, action: Any, message: str) -> HTMLResponse:
    try:
        result = action()
    except KreiswissenError as exc:
        return _admin_page(request, rt, error=exc.user_message,
                           status_code=exc.http_status if exc.http_status < 500 else 503)
    if isinstance(result, str) and result.startswith("kw_"):
        return _admin_page(request, rt, message=message, new_token=result)
    return _admin_page(request, rt, message=message)


@router.get("/verwaltung")
def admin(request: Request, principal: Principal = Depends(require("admin", page=True)),
          rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _admin_page(request, rt)


@router.post("/verwaltung/benutzer")
def add_user(request: Request, name: Annotated[str, Form(max_length=100)],
             password: Annotated[str, Form(max_length=1000)],
             display_name: Annotated[str, Form(max_length=200)] = "",
             roles: Annotated[list[str] | None, Form()] = None, groups: Annotated[list[str] | None, Form()] = None,
             principal: Principal = Depends(require("admin", page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _done(request, rt, lambda: rt.identity.add_user(principal.name, name, groups or [], password=password,
                                                           roles=roles or ["leser"], display_name=display_name),
                 f"Benutzer '{name.strip().lower()}' angelegt.")


@router.post("/verwaltung/benutzer/{name}")
def change_user(request: Request, name: str, roles: Annotated[list[str] | None, Form()] = None,
                groups: Annotated[list[str] | None, Form()] = None,
                principal: Principal = Depends(require("admin", page=True)),
                rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    def change() -> None:
        if name == principal.name and "administrator" not in (roles or []):
            raise InputError("self demotion", user_message="Sie können sich die Rolle Administrator nicht selbst "
                             "entziehen.")
        rt.identity.set_roles(principal.name, name, roles or ["leser"])
        rt.identity.set_groups(principal.name, name, groups or [])

    return _done(request, rt, change, f"Rollen und Gruppen von '{name}' gespeichert.")


@router.post("/verwaltung/benutzer/{name}/sperren")
def disable_user(request: Request, name: str, sperren: Annotated[int, Form()] = 1,
                 principal: Principal = Depends(require("admin", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    def change() -> None:
        if name == principal.name:
            raise InputError("self lock", user_message="Sie können Ihr eigenes Konto nicht sperren.")
        rt.identity.set_disabled(principal.name, name, bool(sperren))
        if sperren:
            sessions(rt).delete_for_user(name)

    return _done(request, rt, change, f"Konto '{name}' {'gesperrt' if sperren else 'entsperrt'}.")


@router.post("/verwaltung/benutzer/{name}/passwort")
def set_password(request: Request, name: str, password: Annotated[str, Form(max_length=1000)],
                 principal: Principal = Depends(require("admin", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    def change() -> None:
        rt.identity.set_password(principal.name, name, password)
        sessions(rt).delete_for_user(name)

    return _done(request, rt, change, f"Passwort von '{name}' gesetzt; offene Sitzungen beendet.")


@router.post("/verwaltung/gruppen")
def add_group(request: Request, name: Annotated[str, Form(max_length=100)],
              description: Annotated[str, Form(max_length=500)] = "",
              principal: Principal = Depends(require("admin", page=True)),
              rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _done(request, rt, lambda: rt.identity.add_group(principal.name, name, description),
                 f"Gruppe '{name.strip()}' angelegt.")


@router.post("/verwaltung/gruppen/{name}/loeschen")
def remove_group(request: Request, name: str, principal: Principal = Depends(require("admin", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _done(request, rt, lambda: rt.identity.remove_group(principal.name, name), f"Gruppe '{name}' gelöscht.")


@router.post("/verwaltung/tokens")
def create_token(request: Request, user: Annotated[str, Form(max_length=100)],
                 scopes: Annotated[list[str] | None, Form()] = None, days: Annotated[int, Form()] = 90,
                 label: Annotated[str, Form(max_length=200)] = "",
                 principal: Principal = Depends(require("admin", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _done(request, rt, lambda: rt.identity.create_token(principal.name, user, scopes or [], days, label)[0],
                 f"API-Token für '{user}' erstellt. Es wird nur jetzt angezeigt.")


@router.post("/verwaltung/tokens/{token_id}/widerrufen")
def revoke_token(request: Request, token_id: str, principal: Principal = Depends(require("admin", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _done(request, rt, lambda: rt.identity.revoke_token(principal.name, token_id), "Token widerrufen.")


@router.get("/verwaltung/status")
def backends(request: Request, principal: Principal = Depends(require("admin", page=True)),
             rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    from kreiswissen.admin.doctor import run_checks

    settings = [(k, v) for k, v in sorted(rt.settings.model_dump(mode="json").items())
                if not any(word in k for word in _SECRET_WORDS)]
    rt.audit.record(principal.name, "settings.view", {})
    return render(request, "status.html", {"title": "Systemstatus", "checks": run_checks(rt), "settings": settings})


# -- Datenschutz ----------------------------------------------------------------------------------------------
def _privacy_page(request: Request, *, entries: list[dict[str, Any]] | None = None,
                  verify: Any = None, error: str | None = None, message: str | None = None,
                  form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "privacy.html", {"title": "Datenschutz", "entries": entries, "verify": verify,
                                            "error": error, "message": message, "form": form or {}}, status_code)


def _range(start: str, end: str) -> tuple[datetime | None, datetime | None]:
    def parse(value: str, label: str) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError as exc:
            raise InputError("bad date", user_message=f"{label}: bitte ein Datum wie 2026-03-31 angeben.") from exc

    first, last = parse(start, "Von"), parse(end, "Bis")
    return (datetime.combine(first, time.min).astimezone() if first else None,
            datetime.combine(last + timedelta(days=1), time.min).astimezone() if last else None)


def _reason(reason: str) -> str:
    if len(reason.strip()) < 5:
        raise InputError("reason required", user_message="Bitte den Anlass der Einsicht angeben (mindestens 5 "
                         "Zeichen, z. B. „Prüfung Beschwerde vom 12.03.2026“). Er wird protokolliert.")
    return reason.strip()


@router.get("/datenschutz")
def privacy(request: Request, principal: Principal = Depends(require("privacy", page=True))) -> HTMLResponse:
    return _privacy_page(request)


@router.post("/datenschutz/protokoll")
def audit_view(request: Request, reason: Annotated[str, Form(max_length=500)] = "",
               start: Annotated[str, Form()] = "", end: Annotated[str, Form()] = "",
               actor: Annotated[str, Form(max_length=200)] = "", event: Annotated[str, Form(max_length=100)] = "",
               principal: Principal = Depends(require("privacy", page=True)),
               rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    form = {"reason": reason, "start": start, "end": end, "actor": actor, "event": event}
    try:
        why = _reason(reason)
        first, last = _range(start, end)
        entries = [e for e in rt.audit.entries(first, last)
                   if (not actor or e["actor"] == actor.strip().lower()) and (not event or e["event"] == event)]
        rt.audit.record(principal.name, "audit.view", {"reason": why, "from": start, "to": end, "actor": actor,
                                                       "event": event, "entries": len(entries)})
    except KreiswissenError as exc:
        return _privacy_page(request, error=exc.user_message, form=form, status_code=exc.http_status)
    return _privacy_page(request, entries=entries[-500:][::-1], form=form,
                         message=f"{len(entries)} Einträge gefunden (die neuesten 500 angezeigt).")


@router.post("/datenschutz/pruefen")
def audit_verify(request: Request, principal: Principal = Depends(require("privacy", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    return _privacy_page(request, verify=rt.audit.verify())


@router.post("/datenschutz/export")
def audit_export(request: Request, reason: Annotated[str, Form(max_length=500)] = "",
                 start: Annotated[str, Form()] = "", end: Annotated[str, Form()] = "",
                 fmt: Annotated[str, Form()] = "csv", principal: Principal = Depends(require("privacy", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    try:
        why = _reason(reason)
        first, last = _range(start, end)
        text = rt.audit.export(first, last, fmt)
        rt.audit.record(principal.name, "audit.export", {"from": start, "to": end, "format": fmt, "reason": why})
    except KreiswissenError as exc:
        return _privacy_page(request, error=exc.user_message, status_code=exc.http_status)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(text, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="protokoll.{fmt}"'})


@router.post("/datenschutz/auskunft")
def dsgvo_export(request: Request, reason: Annotated[str, Form(max_length=500)] = "",
                 user: Annotated[str, Form(max_length=100)] = "", person: Annotated[str, Form(max_length=200)] = "",
                 principal: Principal = Depends(require("privacy", page=True)),
                 rt: Runtime = Depends(get_runtime)) -> Response:
    try:
        data = rt.dsgvo.export_user(principal.name, user or None, person or None, reason)
    except KreiswissenError as exc:
        return _privacy_page(request, error=exc.user_message, status_code=exc.http_status)
    return Response(json.dumps(data, ensure_ascii=False, indent=2, default=str), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="auskunft.json"'})


@router.post("/datenschutz/loeschung")
def dsgvo_erase(request: Request, reason: Annotated[str, Form(max_length=500)] = "",
                user: Annotated[str, Form(max_length=100)] = "", document: Annotated[str, Form(max_length=4000)] = "",
                confirm: Annotated[str, Form()] = "", principal: Principal = Depends(require("privacy", page=True)),
                rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    try:
        if bool(user) == bool(document):
            raise InputError("one of user/document", user_message="Bitte genau eines angeben: Benutzerkonto oder "
                             "Dokumentquelle.")
        if confirm != "ja":
            raise InputError("not confirmed", user_message="Bitte bestätigen Sie die Löschung (Kästchen "
                             "ankreuzen). Sie lässt sich nicht rückgängig machen.")
        if user:
            rt.dsgvo.erase_user(principal.name, user, reason)
            sessions(rt).delete_for_user(user.strip().lower())
            message = f"Benutzerkonto '{user}' mit Gruppen, Tokens, Sitzungen und Anmeldedaten gelöscht."
        else:
            counts = rt.dsgvo.erase_document(principal.name, document, reason)
            message = (f"Gelöscht: {document} – {counts['versions']} Version(en), {counts['chunks']} Abschnitte.")
    except KreiswissenError as exc:
        return _privacy_page(request, error=exc.user_message, status_code=exc.http_status)
    return _privacy_page(request, message=message)

