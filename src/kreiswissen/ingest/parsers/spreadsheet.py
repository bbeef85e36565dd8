"""Spreadsheets: XLSX via openpyxl, plus the row layout shared with ODS."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

import openpyxl

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector, clean_text
from .source import Source


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


def sheet_blocks(name: str, rows: Iterable[list[str]], out: BlockCollector) -> None:
    """A heading with the sheet name, then "Header: value | Header: value" for each non-empty row.

    The first non-empty row is taken as the header, so that every row block stands on its own in
    retrieval ("Gebühr: 45 €" instead of a bare "45 €").
    """
    out.heading(name, 1)
    header: list[str] | None = None
    data_rows = 0
    for raw in rows:
        row = [clean_text(cell) for cell in raw]
        if not any(row):
            continue
        if header is None:
            header = row
            continue
        parts = []
        for index, value in enumerate(row):
            if not value:
                continue
            label = header[index] if index < len(header) else ""
            parts.append(f"{label}: {value}" if label else value)
        out.add("table_row", " | ".join(parts))
        data_rows += 1
    if header is not None and not data_rows:
        # A sheet with a single row has no data under its header; keep the row itself.
        out.add("table_row", " | ".join(cell for cell in header if cell))


def parse(src: Source) -> ParsedDocument:
    workbook = openpyxl.load_workbook(io.BytesIO(src.data), read_only=True, data_only=True)
    out = BlockCollector()
    try:
        for sheet in workbook.worksheets:
            # The declared dimension pads every row to the widest one: a stray cell in XFD1048576 would
            # mean 16384 × 1048576 cells. Without it, rows come back as stored (ragged, gaps empty).
            sheet.reset_dimensions()
            rows = ([cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
            sheet_blocks(sheet.title, rows, out)
        props = workbook.properties
        metadata: dict[str, Any] = {"sheets": list(workbook.sheetnames)}
        for key, value in (
            ("title", props.title),
            ("author", props.creator),
            ("subject", props.subject),
            ("keywords", props.keywords),
        ):
            if value and clean_text(str(value)):
                metadata[key] = clean_text(str(value))
        for key, date in (("created", props.created), ("modified", props.modified)):
            if isinstance(date, dt.datetime):
                metadata[key] = date.isoformat()
    finally:
        workbook.close()
    title = metadata.get("title") or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="xlsx")
