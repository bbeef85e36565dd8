"""The KI-Manager's dashboard: use, answer outcomes, feedback, knowledge gaps, documents, evaluation runs —
charts with the same figures as tables, and each report as CSV. Only aggregates and pseudonymised texts
(admin/usage.py); the role check is there as well as here."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from kreiswissen.admin import usage
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from kreiswissen.web.auth import get_runtime, require
from kreiswissen.web.charts import line_chart, stacked_bars
from kreiswissen.web.templating import render

router = APIRouter(include_in_schema=False)
REPORT_LABELS = {"nutzung": "Nutzung je Tag und Fachbereich", "ergebnisse": "Beantwortet und abgelehnt",
                 "feedback": "Bewertungen", "wissensluecken": "Wissenslücken", "dokumente": "Meistgenutzte Dokumente",
                 "aktive_nutzer": "Aktive Konten", "auswertungen": "Qualitätsauswertungen"}
TREND_METRICS = ("decision_accuracy", "citation_precision", "contains_expected", "unsupported_rate")


def _dates(von: str, bis: str) -> tuple[date | None, date | None]:
    try:
        return (date.fromisoformat(von) if von else None, date.fromisoformat(bis) if bis else None)
    except ValueError as exc:
        raise InputError("bad date", user_message="Zeitraum: bitte Daten wie 2026-03-31 angeben.") from exc


@router.get("/auswertung")
def dashboard(request: Request, von: str = "", bis: str = "",
              principal: Principal = Depends(require("usage", page=True)),
              rt: Runtime = Depends(get_runtime)) -> HTMLResponse:
    start, end = usage.period(*_dates(von, bis))
    db = rt.db
    outcomes = usage.answer_outcomes(db, principal, start, end)
    per_day = usage.usage_per_day(db, principal, start, end)
    departments: dict[str, dict[str, int]] = defaultdict(lambda: {"searches": 0, "questions": 0, "answered": 0,
                                                                  "refused": 0})
    searches_by_day: dict[date, int] = defaultdict(int)
    for row in per_day:
        totals = departments[row.department]
        for key in totals:
            totals[key] += getattr(row, key)
        searches_by_day[row.day] += row.searches
    labels = [d.day.isoformat() for d in outcomes.days]
    chart = stacked_bars(labels, {"beantwortet": [d.answered for d in outcomes.days],
                                  "abgelehnt": [d.refused for d in outcomes.days],
                                  "Suchen": [searches_by_day[d.day] for d in outcomes.days]},
                         "Fragen (beantwortet, abgelehnt) und Suchen je Tag")
    runs = usage.eval_runs(db, principal, limit=50)
    runs_chrono = list(reversed(runs)) if runs and runs[0].created_at > runs[-1].created_at else runs
    trend = line_chart([r.created_at.strftime("%d.%m.") for r in runs_chrono],
                       {usage.EVAL_METRICS[m]: [r.metrics.get(m) for r in runs_chrono] for m in TREND_METRICS},
                       "Antwortqualität je Auswertungslauf") if len(runs_chrono) > 1 else None
    context: dict[str, Any] = {
        "title": "Auswertung", "start": start, "end": end, "outcomes": outcomes, "chart": chart,
        "departments": sorted(departments.items(), key=lambda kv: -kv[1]["questions"]),
        "feedback": usage.feedback_summary(db, principal, start, end, limit=30),
        "gaps": usage.knowledge_gaps(db, principal, start, end, limit=20),
        "documents": usage.top_documents(db, principal, start, end, limit=15),
        "active": usage.active_users(db, principal, start, end),
        "runs": runs_chrono, "trend": trend, "metrics": usage.EVAL_METRICS, "trend_metrics": TREND_METRICS,
        "reports": REPORT_LABELS, "mode_labels": usage.MODE_LABELS,
    }
    return render(request, "usage.html", context)


@router.get("/auswertung/{report}.csv")
def export(report: str, von: str = "", bis: str = "", principal: Principal = Depends(require("usage", page=True)),
           rt: Runtime = Depends(get_runtime)) -> Response:
    start, end = _dates(von, bis)
    text = usage.export_csv(rt.db, principal, report, start, end)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="kreiswissen-{report}.csv"'})
