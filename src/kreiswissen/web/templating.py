"""Jinja2 templates and the context every page gets (user, navigation, CSRF token, transparency notice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kreiswissen.answer.extractive import AI_LABEL
from kreiswissen.search.models import section_within_document
from kreiswissen.security.input_policy import INPUT_NOTICE
from kreiswissen.security.policy import CLASSIFICATION_LABELS
from kreiswissen.web.render import answer_html, highlight, query_words

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(answer_html=answer_html, highlight=highlight, query_words=query_words,
                             AI_LABEL=AI_LABEL, INPUT_NOTICE=INPUT_NOTICE,
                             CLASSIFICATION_LABELS=CLASSIFICATION_LABELS, section_within=section_within_document,
                             JOB_STATUS={"queued": "wartet", "running": "wird eingelesen", "done": "fertig",
                                         "failed": "fehlgeschlagen"})

# (path, label, scope a session needs to see the entry)
NAVIGATION = [
    ("/fragen", "Fragen", "ask"),
    ("/suche", "Suche", "search"),
    ("/dokumente", "Dokumente", "documents:read"),
    ("/vorgaenge", "Vorgänge", "cases"),
    ("/niederschriften", "Niederschriften", "minutes"),
    ("/auswertung", "Auswertung", "usage"),
    ("/datenschutz", "Datenschutz", "privacy"),
    ("/verwaltung", "Verwaltung", "admin"),
]


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    from kreiswissen.web.auth import session_scopes

    session = getattr(request.state, "kw_session", None)
    scopes = session_scopes(session) if session else set()
    path = request.url.path
    nav = [{"href": href, "label": label, "current": path == href or path.startswith(href + "/")}
           for href, label, scope in NAVIGATION if scope in scopes]
    base = {"request": request, "session": session, "user": session.user if session else None,
            "csrf_token": session.csrf_token if session else "", "nav": nav, "scopes": scopes}
    return TEMPLATES.TemplateResponse(request, template, {**base, **(context or {})}, status_code=status_code)
