"""SQL conditions for metadata filters, over ``documents d`` (always parameterised)."""

from __future__ import annotations

from typing import Any

from kreiswissen.search.models import SearchFilters


def filter_sql(filters: SearchFilters | None) -> tuple[str, dict[str, Any]]:
    if filters is None or filters.is_empty():
        return "", {}
    parts: list[str] = []
    params: dict[str, Any] = {}
    if filters.department:
        parts.append("d.department = %(f_department)s")
        params["f_department"] = filters.department
    if filters.municipality:
        parts.append("lower(d.municipality) = lower(%(f_municipality)s)")
        params["f_municipality"] = filters.municipality
    if filters.doc_type:
        parts.append("(d.doc_type = lower(%(f_doc_type)s) OR d.format = lower(%(f_doc_type)s))")
        params["f_doc_type"] = filters.doc_type
    if filters.date_from:
        parts.append("d.doc_date >= %(f_date_from)s")
        params["f_date_from"] = filters.date_from
    if filters.date_to:
        parts.append("d.doc_date <= %(f_date_to)s")
        params["f_date_to"] = filters.date_to
    return " AND " + " AND ".join(parts), params
