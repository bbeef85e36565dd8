"""The Niederschrift as a document: one template, three formats (DOCX, ODT, PDF) with the same content.

The administration edits the wording and order in a Jinja2 template (``templates/niederschrift.md.j2``; a file
of the same name in ``<home>/vorlagen/`` takes precedence). The template renders a small line format
(headings, bullets, tables, notes, paragraphs, signature lines; see the template's comment), which is parsed
into ``Block``s; each writer lays out those blocks. So a change to the template changes all three files alike,
and no writer can drop or add content the others do not have.

PDF: fpdf2 (pure Python, small, embeds TrueType subsets with a ToUnicode map, so the text is searchable and
copyable with umlauts, „…“, – and €) with DejaVu Sans from Debian's fonts-dejavu-core. An office suite
(LibreOffice headless) would convert the DOCX with higher fidelity but is a ~400 MB dependency and a slow,
stateful subprocess; HTML-to-PDF engines (WeasyPrint) pull in Pango/Cairo. The minutes need headings,
paragraphs and simple tables, which fpdf2 lays out well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, TemplateError

from kreiswissen.config import Settings, get_settings
from kreiswissen.errors import ConfigurationError
from kreiswissen.minutes.draft import Minutes

TEMPLATE = "niederschrift.md.j2"
TEMPLATE_DIR = "vorlagen"  # under settings.home
DRAFT_MARK = "ENTWURF"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)

BlockKind = Literal["title", "heading", "subheading", "bullet", "table", "note", "paragraph", "signature"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()  # tables: first row is the header


# --- template -----------------------------------------------------------------------------------------------


def _line(value: Any) -> str:
    return re.sub(r"\s+", " ", "" if value is None else str(value)).strip()


def _cell(value: Any) -> str:
    return _line(value).replace("|", "¦")


def _paragraph(value: Any) -> str:
    """A value that starts a line: escaped so that text beginning like a marker stays a paragraph."""
    text = _line(value)
    return "\\" + text if re.match(r"^(?:#{1,3}|-|>|~|\||\\)(?:\s|$)", text) else text


def environment(settings: Settings | None = None) -> Environment:
    settings = settings or get_settings()
    loader = ChoiceLoader([FileSystemLoader(str(settings.home / TEMPLATE_DIR)),
                           PackageLoader("kreiswissen.minutes", "templates")])
    env = Environment(loader=loader, autoescape=False, trim_blocks=True, lstrip_blocks=True,  # plain text, not HTML
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(line=_line, cell=_cell, para=_paragraph)
    return env


def render_text(minutes: Minutes, *, settings: Settings | None = None, template: str = TEMPLATE) -> str:
    """The Niederschrift in the template's line format."""
    try:
        return environment(settings).get_template(template).render(m=minutes)
    except TemplateError as error:
        raise ConfigurationError(f"minutes template {template}: {error}",
                                 user_message=f"Die Vorlage „{template}“ der Niederschrift ist fehlerhaft: "
                                              f"{error}") from error


_SEPARATOR = re.compile(r"^\|(?:\s*:?-{2,}:?\s*\|)+\s*$")


def parse_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []
    table: list[tuple[str, ...]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(paragraph)))
            paragraph.clear()
        if table:
            blocks.append(Block("table", rows=tuple(table)))
            table.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if paragraph:
                flush()
            if not _SEPARATOR.match(line):
                table.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
            continue
        if table:
            flush()
        if not line:
            flush()
            continue
        marker = re.match(r"^(#{1,3}|-|>|~)\s+(.*)$", line)
        if marker is None:
            paragraph.append(line[1:] if line.startswith("\\") else line)
            continue
        flush()
        kind: BlockKind = {"#": "title", "##": "heading", "###": "subheading", "-": "bullet", ">": "note",
                           "~": "signature"}[marker.group(1)]  # type: ignore[assignment]
        blocks.append(Block(kind, marker.group(2).strip()))
    flush()
    return blocks


def render_blocks(minutes: Minutes, *, settings: Settings | None = None) -> list[Block]:
    return parse_blocks(render_text(minutes, settings=settings))


def _signature_groups(blocks: list[Block]) -> list[list[str]]:
    """For each signature block in order: the texts of its run for the first block of a run, [] for the rest."""
    groups: list[list[str]] = []
    previous: BlockKind | None = None
    for block in blocks:
        if block.kind == "signature":
            if previous == "signature":
                run = next(g for g in reversed(groups) if g)
                run.append(block.text)
                groups.append([])
            else:
                groups.append([block.text])
        previous = block.kind
    return groups


def _draft_label(minutes: Minutes) -> str | None:
    return f"{DRAFT_MARK} – nicht genehmigt" if minutes.status == "entwurf" else None


def _col_weights(rows: Iterable[tuple[str, ...]], columns: int) -> list[float]:
    """Relative column widths: wide enough for the longest word (no word broken in two), more for long text."""
    widths = [4.0] * columns
    for row in rows:
        for i, cell in enumerate(row[:columns]):
            longest_word = max((len(word) for word in cell.split()), default=0)
            widths[i] = max(widths[i], longest_word + 2.0, min(float(len(cell)), 60.0) * 0.6)
    return widths


# --- DOCX ---------------------------------------------------------------------------------------------------


def to_docx(minutes: Minutes, path: Path, *, settings: Settings | None = None) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    blocks = render_blocks(minutes, settings=settings)
    document = Document()
    document.core_properties.title = blocks[0].text if blocks else "Niederschrift"
    document.core_properties.language = "de-DE"
    label = _draft_label(minutes)
    if label:
        header = document.sections[0].header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = header.add_run(label)
        run.bold = True
        run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    for block in blocks:
        if block.kind == "title":
            document.add_heading(block.text, level=0)
            if label:
                mark = document.add_paragraph().add_run(label)
                mark.bold = True
                mark.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
        elif block.kind == "heading":
            document.add_heading(block.text, level=1)
        elif block.kind == "subheading":
            document.add_heading(block.text, level=2)
        elif block.kind == "bullet":
            document.add_paragraph(block.text, style="List Bullet")
        elif block.kind == "note":
            document.add_paragraph().add_run(block.text).italic = True
        elif block.kind == "signature":
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.space_before = Pt(28)
            paragraph.add_run("_" * 40 + "\n")
            paragraph.add_run(block.text).font.size = Pt(9)
        elif block.kind == "table":
            columns = max(len(row) for row in block.rows)
            table = document.add_table(rows=0, cols=columns)
            table.style = "Table Grid"
            for number, row in enumerate(block.rows):
                cells = table.add_row().cells
                for i in range(columns):
                    run = cells[i].paragraphs[0].add_run(row[i] if i < len(row) else "")
                    run.bold = number == 0
                    run.font.size = Pt(9)
            document.add_paragraph()
        else:
            document.add_paragraph(block.text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# --- ODT ----------------------------------------------------------------------------------------------------


def to_odt(minutes: Minutes, path: Path, *, settings: Settings | None = None) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.style import (
        FontFace,
        Header,
        MasterPage,
        PageLayout,
        PageLayoutProperties,
        ParagraphProperties,
        Style,
        TableCellProperties,
        TableColumnProperties,
        TableProperties,
        TextProperties,
    )
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    blocks = render_blocks(minutes, settings=settings)
    doc = OpenDocumentText()
    doc.fontfacedecls.addElement(FontFace(name="DejaVu Sans", fontfamily="'DejaVu Sans'",
                                          fontfamilygeneric="swiss", fontpitch="variable"))

    def style(name: str, *, size: str = "11pt", bold: bool = False, italic: bool = False, color: str | None = None,
              before: str = "0cm", after: str = "0.2cm", indent: str | None = None) -> Style:
        element = Style(name=name, family="paragraph")
        text = {"fontsize": size, "fontname": "DejaVu Sans"}
        if bold:
            text["fontweight"] = "bold"
        if italic:
            text["fontstyle"] = "italic"
        if color:
            text["color"] = color
        element.addElement(TextProperties(**text))
        paragraph = {"margintop": before, "marginbottom": after}
        if indent:
            paragraph["marginleft"] = indent
        element.addElement(ParagraphProperties(**paragraph))
        doc.styles.addElement(element)
        return element

    styles = {
        "title": style("Niederschrift_Titel", size="18pt", bold=True, after="0.4cm"),
        "heading": style("Niederschrift_Abschnitt", size="14pt", bold=True, before="0.5cm"),
        "subheading": style("Niederschrift_Unterabschnitt", size="12pt", bold=True, before="0.3cm"),
        "paragraph": style("Niederschrift_Text"),
        "bullet": style("Niederschrift_Aufzaehlung", indent="0.6cm"),
        "note": style("Niederschrift_Hinweis", italic=True, color="#444444"),
        "signature": style("Niederschrift_Unterschrift", size="9pt", before="1.2cm"),
        "cell": style("Niederschrift_Zelle", size="9pt", after="0cm"),
        "cell_head": style("Niederschrift_Zellkopf", size="9pt", bold=True, after="0cm"),
        "draft": style("Niederschrift_Entwurf", bold=True, color="#b00000"),
    }
    label = _draft_label(minutes)
    layout = PageLayout(name="Niederschrift_Seite")
    layout.addElement(PageLayoutProperties(pagewidth="21cm", pageheight="29.7cm", margintop="2cm",
                                           marginbottom="2cm", marginleft="2.5cm", marginright="2cm"))
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    if label:
        header = Header()
        header.addElement(P(stylename=styles["draft"], text=label))
        master.addElement(header)
    doc.masterstyles.addElement(master)
    cell_style = Style(name="Niederschrift_Tabellenzelle", family="table-cell")
    cell_style.addElement(TableCellProperties(border="0.5pt solid #000000", padding="0.1cm"))
    doc.automaticstyles.addElement(cell_style)
    table_style = Style(name="Niederschrift_Tabelle", family="table")
    table_style.addElement(TableProperties(width="16.5cm", align="left"))
    doc.automaticstyles.addElement(table_style)

    for number, block in enumerate(blocks):
        if block.kind == "title":
            doc.text.addElement(H(outlinelevel=1, stylename=styles["title"], text=block.text))
            if label:
                doc.text.addElement(P(stylename=styles["draft"], text=label))
        elif block.kind in ("heading", "subheading"):
            level = 2 if block.kind == "heading" else 3
            doc.text.addElement(H(outlinelevel=level, stylename=styles[block.kind], text=block.text))
        elif block.kind == "bullet":
            items = List()
            item = ListItem()
            item.addElement(P(stylename=styles["bullet"], text=f"• {block.text}"))
            items.addElement(item)
            doc.text.addElement(items)
        elif block.kind == "signature":
            doc.text.addElement(P(stylename=styles["signature"], text="_" * 40))
            doc.text.addElement(P(stylename=styles["paragraph"], text=block.text))
        elif block.kind == "table":
            columns = max(len(row) for row in block.rows)
            weights = _col_weights(block.rows, columns)
            table = Table(name=f"Tabelle{number}", stylename=table_style)
            for i, weight in enumerate(weights):
                column_style = Style(name=f"Tabelle{number}_Spalte{i}", family="table-column")
                column_style.addElement(TableColumnProperties(columnwidth=f"{16.5 * weight / sum(weights):.2f}cm"))
                doc.automaticstyles.addElement(column_style)
                table.addElement(TableColumn(stylename=column_style))
            for row_number, row in enumerate(block.rows):
                table_row = TableRow()
                for i in range(columns):
                    cell = TableCell(stylename=cell_style, valuetype="string")
                    cell.addElement(P(stylename=styles["cell_head" if row_number == 0 else "cell"],
                                      text=row[i] if i < len(row) else ""))
                    table_row.addElement(cell)
                table.addElement(table_row)
            doc.text.addElement(table)
            doc.text.addElement(P(stylename=styles["paragraph"], text=""))
        else:
            doc.text.addElement(P(stylename=styles[block.kind], text=block.text))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


# --- PDF ----------------------------------------------------------------------------------------------------


def _font(name: str) -> Path:
    for directory in FONT_DIRS:
        if (directory / name).is_file():
            return directory / name
    raise ConfigurationError(f"font {name} not found in {', '.join(map(str, FONT_DIRS))}",
                             user_message="Für den PDF-Export fehlt die Schrift DejaVu Sans "
                                          "(Debian-Paket fonts-dejavu-core).")


def to_pdf(minutes: Minutes, path: Path, *, settings: Settings | None = None) -> Path:
    from fpdf import FPDF
    from fpdf.fonts import FontFace as PdfFontFace

    blocks = render_blocks(minutes, settings=settings)
    label = _draft_label(minutes)

    class _Pdf(FPDF):
        def header(self) -> None:
            if not label:
                return
            # A light diagonal watermark on every page (drawn first, so text lies above it) and a line on top.
            self.set_font("DejaVu", "B", 80)
            self.set_text_color(235, 235, 235)
            with self.rotation(45, x=self.w / 2, y=self.h / 2):
                self.text(self.w / 2 - self.get_string_width(DRAFT_MARK) / 2, self.h / 2 + 10, DRAFT_MARK)
            self.set_font("DejaVu", "B", 9)
            self.set_text_color(176, 0, 0)
            self.set_y(8)
            self.cell(0, 5, label, align="C", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)
            self.set_y(self.t_margin)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"Seite {self.page_no()} von {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = _Pdf(format="A4")
    pdf.set_margins(25, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font("DejaVu", "", str(_font("DejaVuSans.ttf")))
    pdf.add_font("DejaVu", "B", str(_font("DejaVuSans-Bold.ttf")))
    pdf.add_font("DejaVu", "I", str(_font("DejaVuSans-Oblique.ttf")))
    pdf.set_title(blocks[0].text if blocks else "Niederschrift")
    pdf.set_lang("de-DE")
    pdf.set_creator("Kreiswissen")
    pdf.add_page()
    width = pdf.epw
    signatures = _signature_groups(blocks)  # one list per run of signature blocks, then [] for the others

    for block in blocks:
        if block.kind == "title":
            pdf.set_font("DejaVu", "B", 16)
            pdf.multi_cell(width, 8, block.text, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(3)
        elif block.kind in ("heading", "subheading"):
            big = block.kind == "heading"
            if pdf.get_y() > pdf.h - 55:  # keep a heading with what follows it
                pdf.add_page()
            pdf.ln(5 if big else 2)
            pdf.set_font("DejaVu", "B", 13 if big else 11)
            pdf.multi_cell(width, 7 if big else 6, block.text, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(1)
        elif block.kind == "bullet":
            pdf.set_font("DejaVu", "", 10)
            pdf.set_x(pdf.l_margin + 2)
            pdf.cell(4, 5, "•")
            pdf.multi_cell(width - 6, 5, block.text, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(0.5)
        elif block.kind == "note":
            pdf.set_font("DejaVu", "I", 9)
            pdf.set_text_color(70, 70, 70)
            pdf.multi_cell(width, 5, block.text, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_text_color(0, 0, 0)
            pdf.ln(1)
        elif block.kind == "signature":
            # Consecutive signature lines side by side, on one page.
            group = signatures.pop(0) if signatures else [block.text]
            if not group:
                continue
            if pdf.get_y() > pdf.h - 45:
                pdf.add_page()
            pdf.ln(14)
            y = pdf.get_y()
            column = width / len(group)
            pdf.set_font("DejaVu", "", 8)
            for i, text in enumerate(group):
                x = pdf.l_margin + i * column
                pdf.line(x, y, x + column - 8, y)
                pdf.set_xy(x, y + 1)
                pdf.multi_cell(column - 8, 4, text, align="L")
            pdf.set_xy(pdf.l_margin, y + 10)
        elif block.kind == "table":
            columns = max(len(row) for row in block.rows)
            pdf.set_font("DejaVu", "", 8.5)
            with pdf.table(col_widths=tuple(_col_weights(block.rows, columns)), text_align="LEFT",
                           line_height=4.5, padding=1, headings_style=PdfFontFace(emphasis="BOLD"),
                           first_row_as_headings=len(block.rows) > 1) as table:
                for row in block.rows:
                    cells = table.row()
                    for i in range(columns):
                        cells.cell(row[i] if i < len(row) else "")
            pdf.ln(3)
        else:
            pdf.set_font("DejaVu", "", 10)
            pdf.multi_cell(width, 5, block.text, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


WRITERS = {"docx": to_docx, "odt": to_odt, "pdf": to_pdf}


def export(minutes: Minutes, path: Path, fmt: str, *, settings: Settings | None = None) -> Path:
    """Write the Niederschrift as ``fmt`` (docx, odt, pdf)."""
    writer = WRITERS.get(fmt.lower())
    if writer is None:
        from kreiswissen.errors import UnsupportedFormat

        raise UnsupportedFormat(f"unknown export format {fmt}",
                                user_message=f"Unbekanntes Format „{fmt}“: möglich sind DOCX, ODT und PDF.")
    return writer(minutes, path, settings=settings)
