"""A reply draft as a DOCX letter (python-docx): the letter text, then the request it answers for the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DRAFT_LABEL = "Entwurf – von Kreiswissen erstellt, vor dem Versand prüfen"
GENERATED_LABEL = "KI-generiert – bitte prüfen"


def to_docx(case: dict[str, Any], path: Path, *, owner: str = "") -> Path:
    from docx import Document
    from docx.shared import Pt, RGBColor

    if not (case.get("draft") or "").strip():
        from kreiswissen.errors import InputError

        raise InputError("no draft", user_message="Es gibt noch keinen Antwortentwurf zum Exportieren.")
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(11)
    meta = case.get("draft_meta") or {}
    if case.get("status") != "angenommen":
        label = doc.add_paragraph()
        run = label.add_run(DRAFT_LABEL + (f" · {GENERATED_LABEL}" if meta.get("generated") else ""))
        run.italic = True
        run.font.color.rgb = RGBColor(0x80, 0x1E, 0x1E)
    if owner:
        doc.add_paragraph(owner).runs[0].bold = True
    if case.get("subject"):
        doc.add_paragraph().add_run(f"Ihre Nachricht: {case['subject']}").bold = True
    for paragraph in str(case["draft"]).split("\n\n"):
        lines = paragraph.split("\n")
        if all(line.startswith("- ") for line in lines[1:]) and len(lines) > 1 and lines[0].endswith(":"):
            doc.add_paragraph(lines[0])
            for line in lines[1:]:
                doc.add_paragraph(line[2:], style="List Bullet")
            continue
        p = doc.add_paragraph()
        for i, line in enumerate(lines):
            if i:
                p.add_run().add_break()
            p.add_run(line)
    doc.add_page_break()
    doc.add_heading("Anfrage (für die Akte)", level=2)
    head = [("Von", case.get("sender")), ("Betreff", case.get("subject")), ("Eingang", case.get("received_at")),
            ("Datei", case.get("source_name")), ("Vorgang", case.get("id"))]
    for key, value in head:
        if value:
            doc.add_paragraph(f"{key}: {value}")
    for line in str(case.get("body") or "").split("\n"):
        doc.add_paragraph(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
