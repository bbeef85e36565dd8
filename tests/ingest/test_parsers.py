"""The parse stage against real files made by the real libraries (fpdf2, python-docx, odfpy, openpyxl,
Pillow + Tesseract). Every fixture is generated here; nothing is mocked."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import shutil
import time
import unicodedata
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import docx
import openpyxl
import pytesseract
import pytest
from docx.enum.style import WD_STYLE_TYPE
from fpdf import FPDF
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from odf import dc, meta
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import H, List, ListItem, P, S
from PIL import Image, ImageDraw, ImageFont

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, FileTooLarge, InputError, UnsupportedFormat
from kreiswissen.ingest.model import ParsedDocument
from kreiswissen.ingest.parsers import SUPPORTED_SUFFIXES, parse_bytes, parse_file

ROOT = Path(__file__).resolve().parents[2]
STATUTES = sorted((ROOT / "samples" / "statutes").glob("*.md"))
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
HAS_TESSERACT = shutil.which("tesseract") is not None
# OCR is part of the product: `make test` installs Tesseract, so its absence is a failure, never a skip.
needs_ocr = pytest.mark.usefixtures("require_tesseract")


@pytest.fixture
def require_tesseract() -> None:
    assert HAS_TESSERACT, "tesseract-ocr is not installed (run scripts/install-system-deps.sh)"


def make_settings(**overrides: object) -> Settings:
    # 200 dpi keeps OCR of the test scans quick; the rendered letters are still ~40 px high.
    values: dict[str, object] = {"ocr_dpi": 200, "ocr_languages": "deu"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


SETTINGS = make_settings()


@pytest.fixture()
def settings() -> Settings:
    return SETTINGS


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def expect_input_error(
    path: Path, settings: Settings, *, german: str, cls: type[InputError] = InputError
) -> InputError:
    """The error names the file in both languages and gives the German reason."""
    with pytest.raises(cls) as info:
        parse_file(path, settings)
    error = info.value
    assert path.name in str(error)
    assert error.user_message.startswith(f"Datei '{path.name}': ")
    assert german in error.user_message, error.user_message
    return error


def kinds(doc: ParsedDocument) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in doc.blocks]


# --- builders -------------------------------------------------------------------------------------


def text_image(lines: list[str], *, size: int = 32) -> Image.Image:
    """A clean "scan" of German text, rendered with DejaVu so that umlauts come out right."""
    font = ImageFont.truetype(str(FONT), size)
    pitch = int(size * 1.8)
    image = Image.new("L", (1300, 60 + len(lines) * pitch), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 30 + index * pitch), line, font=font, fill=0)
    return image


def image_bytes(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _line(pdf: FPDF, text: str, *, height: float = 10, align: str = "L") -> None:
    pdf.cell(0, height, text, new_x="LMARGIN", new_y="NEXT", align=align)


def _para(pdf: FPDF, text: str, *, height: float = 6, align: str = "L") -> None:
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT", align=align)


def statute_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_title("Hundesteuersatzung der Gemeinde Musterdorf")
    pdf.set_author("Gemeinde Musterdorf")
    pdf.set_subject("Hundesteuer")
    pdf.set_keywords("Hund, Steuer")
    pdf.set_creation_date(dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    _line(pdf, "§ 1 Steuergegenstand")
    pdf.set_font("Helvetica", size=11)
    _para(
        pdf,
        "Die Gemeinde erhebt die Hundesteuer nach dieser Satzung. Der Steuer unterliegt das Halten von "
        "Hunden durch natürliche Personen im Gemeindegebiet, soweit es nicht ausschließlich der Erzielung "
        "von Einnahmen dient.",
    )
    pdf.ln(6)
    # Hyphenated line ends as a layout program would produce them.
    _para(pdf, "Wer einen Hund hält, zahlt die Hunde-")
    _para(pdf, "steuer jährlich; Straßen-")
    _para(pdf, "und Wegebau sind nicht betroffen.")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    _line(pdf, "§ 2 Steuersatz")
    pdf.set_font("Helvetica", size=11)
    _para(pdf, "Die Steuer beträgt für jeden Hund 120 Euro im Jahr.")
    return bytes(pdf.output())


def simple_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        _para(pdf, text)
    return bytes(pdf.output())


def scanned_pdf(image: Image.Image) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(image_bytes(image, "PNG")), x=10, y=10, w=190)
    return bytes(pdf.output())


def statute_docx() -> bytes:
    document = docx.Document()
    props = document.core_properties
    props.title = "Friedhofssatzung"
    props.author = "Gemeinde Musterdorf"
    props.subject = "Bestattungswesen"
    props.keywords = "Friedhof; Gebühren"
    props.created = dt.datetime(2023, 5, 4, 12, 0, tzinfo=dt.UTC)
    document.add_heading("Friedhofssatzung der Gemeinde Musterdorf", level=1)
    document.add_heading("§ 1 Widmung", level=2)
    document.add_paragraph("Der Friedhof ist eine öffentliche Einrichtung der Gemeinde.")
    document.add_paragraph("Grabstätten werden nur auf Antrag vergeben", style="List Bullet")
    document.add_paragraph("Die Ruhezeit beträgt 20 Jahre", style="List Bullet 2")
    german = document.styles.add_style("Überschrift 3", WD_STYLE_TYPE.PARAGRAPH)
    german.base_style = document.styles["Normal"]
    document.add_paragraph("§ 2 Gebühren", style=german)
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [("Leistung", "Betrag", "Hinweis"), ("Reihengrab", "800 €", "20 Jahre"), ("Urnengrab", "", "")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.cell(2, 1).merge(table.cell(2, 2))
    merged.text = "450 €"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def statute_odt() -> bytes:
    document = OpenDocumentText()
    document.meta.addElement(dc.Title(text="Marktordnung"))
    document.meta.addElement(meta.InitialCreator(text="Ordnungsamt"))
    document.meta.addElement(meta.Keyword(text="Markt"))
    document.meta.addElement(meta.Keyword(text="Wochenmarkt"))
    document.text.addElement(H(outlinelevel=1, text="Marktordnung der Gemeinde"))
    document.text.addElement(H(outlinelevel=2, text="§ 1 Marktzeiten"))
    paragraph = P(text="Der Wochenmarkt findet")
    paragraph.addElement(S(c=3))
    paragraph.addText("samstags statt.")
    document.text.addElement(paragraph)
    items = List()
    for text in ("Obst und Gemüse", "Blumen"):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="Gebühren")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in (("Stand", "Gebühr"), ("bis 3 m", "15 €")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def fee_ods() -> bytes:
    document = OpenDocumentSpreadsheet()
    document.meta.addElement(dc.Title(text="Gebührenverzeichnis"))
    sheet = Table(name="Hundesteuer")
    rows = [("Hund", "Steuer"), ("Ersthund", "120"), (None, None), ("Zweithund", "240")]
    for values in rows:
        row = TableRow()
        for value in values:
            cell = TableCell()
            if value is not None:
                cell.addElement(P(text=value))
            row.addElement(cell)
        # Spreadsheet programs pad each row with empty cells up to the sheet edge.
        row.addElement(TableCell(numbercolumnsrepeated=16000))
        sheet.addElement(row)
    sheet.addElement(TableRow(numberrowsrepeated=1048000))
    document.spreadsheet.addElement(sheet)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def fee_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.properties.title = "Gebühren 2025"
    workbook.properties.creator = "Kämmerei"
    first = workbook.active
    first.title = "Hundesteuer"
    first.append(["Hund", "Steuer (€)", "Fällig ab"])
    first.append(["Ersthund", 120, dt.date(2025, 1, 1)])
    first.append([])
    first.append(["Zweithund", 240.0, None])
    second = workbook.create_sheet("Leer")
    second["A1"] = None
    third = workbook.create_sheet("Grundsteuer")
    third.append(["Art", "Hebesatz"])
    third.append(["Grundsteuer B", "380 %"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def replace_member(container: bytes, name: str, data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(container)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members[name] = data
    return zip_bytes(members)


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_text_layer_metadata_headings_and_pages(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path, "hundesteuer.pdf", statute_pdf()), settings)

    assert doc.doc_type == "pdf"
    assert doc.title == "Hundesteuersatzung der Gemeinde Musterdorf"
    assert doc.metadata["author"] == "Gemeinde Musterdorf"
    assert doc.metadata["subject"] == "Hundesteuer"
    assert doc.metadata["keywords"] == "Hund, Steuer"
    assert doc.metadata["created"].startswith("2024-03-01T10:30")
    assert doc.metadata["pages"] == 2
    json.dumps(doc.metadata)

    headings = [(b.text, b.page) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("§ 1 Steuergegenstand", 1), ("§ 2 Steuersatz", 2)]
    assert all(b.page in (1, 2) for b in doc.blocks)
    first_paragraph = doc.blocks[1]
    assert first_paragraph.kind == "paragraph"
    assert first_paragraph.text.startswith("Die Gemeinde erhebt die Hundesteuer")
    assert first_paragraph.text.endswith("von Einnahmen dient.")
    assert "ausschließlich" in first_paragraph.text
    assert "zahlt die Hundesteuer jährlich" in doc.text
    assert "Straßen- und Wegebau" in doc.text
    assert [b.text for b in doc.blocks if b.page == 2][
        -1
    ] == "Die Steuer beträgt für jeden Hund 120 Euro im Jahr."


def test_pdf_page_numbers_and_title_fallback(tmp_path: Path, settings: Settings) -> None:
    pages = [f"Seite {n}: Inhalt der Anlage {n} zur Satzung." for n in (1, 2, 3)]
    doc = parse_file(write(tmp_path, "anlagen.pdf", simple_pdf(pages)), settings)
    assert [(b.page, b.text) for b in doc.blocks] == [(n, pages[n - 1]) for n in (1, 2, 3)]
    assert doc.title == "anlagen"


def test_pdf_statute_layout_with_centred_section_numbers(tmp_path: Path, settings: Settings) -> None:
    # The common layout of printed statutes: "§ 4" and its title centred on two bold lines, justified
    # Absätze, and a line that wraps right before a citation of another section.
    pdf = FPDF()
    pdf.add_page()
    for number in (4, 5):
        pdf.set_font("Helvetica", "B", 11)
        _line(pdf, f"§ {number}", height=6, align="C")
        _line(pdf, f"Erhebungszeitraum {number}", height=6, align="C")
        pdf.ln(3)
        pdf.set_font("Helvetica", size=11)
        _para(pdf, "(1) Die Steuer wird als Jahressteuer erhoben. " * 3, height=5, align="J")
        _para(pdf, "(2) Beginnt die Steuerpflicht im Laufe des Jahres, gelt nach", height=5)
        _para(pdf, "§ 12 Abs. 2 die Steuer anteilig.", height=5)
        pdf.ln(3)
    doc = parse_file(write(tmp_path, "zeitraum.pdf", bytes(pdf.output())), settings)
    assert [(b.kind, b.text[:30]) for b in doc.blocks] == [
        ("heading", "§ 4 Erhebungszeitraum 4"),
        ("paragraph", "(1) Die Steuer wird als Jahres"),
        ("paragraph", "(2) Beginnt die Steuerpflicht "),
        ("heading", "§ 5 Erhebungszeitraum 5"),
        ("paragraph", "(1) Die Steuer wird als Jahres"),
        ("paragraph", "(2) Beginnt die Steuerpflicht "),
    ]
    assert doc.blocks[2].text.endswith("gelt nach § 12 Abs. 2 die Steuer anteilig.")
    assert doc.title == "§ 4 Erhebungszeitraum 4"


class _PdfWithFurniture(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        _line(self, "Hundesteuersatzung Musterdorf", height=8, align="R")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 10, f"- {self.page_no()} -", align="C")


def test_pdf_running_heads_and_page_numbers_are_dropped(tmp_path: Path, settings: Settings) -> None:
    pdf = _PdfWithFurniture()
    for number in range(1, 5):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        _line(pdf, f"§ {number} Abschnitt")
        pdf.set_font("Helvetica", size=11)
        _para(pdf, f"({number}) Text des Abschnitts {number}.")
    doc = parse_file(write(tmp_path, "mit-kopfzeile.pdf", bytes(pdf.output())), settings)
    assert [(b.page, b.kind, b.text) for b in doc.blocks] == [
        item
        for n in range(1, 5)
        for item in ((n, "heading", f"§ {n} Abschnitt"), (n, "paragraph", f"({n}) Text des Abschnitts {n}."))
    ]


def test_pdf_encrypted(tmp_path: Path, settings: Settings) -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="geheim")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 10, "Vertraulich")
    expect_input_error(write(tmp_path, "geheim.pdf", bytes(pdf.output())), settings, german="verschlüsselt")


def test_pdf_truncated_and_corrupt(tmp_path: Path, settings: Settings) -> None:
    data = statute_pdf()
    expect_input_error(write(tmp_path, "halb.pdf", data[: len(data) // 2]), settings, german="unvollständig")
    garbage = b"%PDF-1.7\n" + random.Random(1).randbytes(3000) + b"\n%%EOF\n"
    error = expect_input_error(write(tmp_path, "kaputt.pdf", garbage), settings, german="beschädigt")
    assert error.__cause__ is not None


@needs_ocr
def test_scanned_pdf_is_ocred(tmp_path: Path, settings: Settings) -> None:
    scan = text_image(["Satzung über die Hundesteuer", "Die Gemeinde erhebt eine Steuer."])
    doc = parse_file(write(tmp_path, "scan.pdf", scanned_pdf(scan)), settings)
    assert "Hundesteuer" in doc.text
    assert "Gemeinde" in doc.text
    assert doc.metadata["ocr_pages"] == [1]
    assert {b.page for b in doc.blocks} == {1}


# --- images ---------------------------------------------------------------------------------------


@needs_ocr
def test_png_ocr(tmp_path: Path, settings: Settings) -> None:
    scan = text_image(["Gebührenbescheid Hundesteuer", "Bitte überweisen Sie den Betrag."])
    doc = parse_file(write(tmp_path, "bescheid.png", image_bytes(scan.convert("RGBA"), "PNG")), settings)
    assert doc.doc_type == "image"
    assert "Hundesteuer" in doc.text
    assert "überweisen" in doc.text
    assert all(b.page == 1 for b in doc.blocks)


@needs_ocr
def test_multipage_tiff_keeps_page_numbers(tmp_path: Path, settings: Settings) -> None:
    first = text_image(["Seite eins: Hundesteuer"])
    second = text_image(["Seite zwei: Friedhofsgebühren"])
    data = image_bytes(first, "TIFF", save_all=True, append_images=[second], compression="tiff_lzw")
    doc = parse_file(write(tmp_path, "akte.tif", data), settings)
    pages = {b.page: b.text for b in doc.blocks}
    assert "Hundesteuer" in pages[1]
    assert "Friedhof" in pages[2]
    assert doc.metadata["pages"] == 2


def test_missing_tesseract_is_a_backend_error(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "kein-tesseract"))
    path = write(tmp_path, "scan.png", image_bytes(text_image(["Hundesteuer"]), "PNG"))
    with pytest.raises(BackendUnavailable) as info:
        parse_file(path, settings)
    assert "Tesseract" in info.value.user_message
    assert "scan.png" in info.value.user_message


def test_corrupt_image(tmp_path: Path, settings: Settings) -> None:
    data = image_bytes(text_image(["Hundesteuer"]), "PNG")
    expect_input_error(write(tmp_path, "kaputt.png", data[:200]), settings, german="beschädigt")


# --- Office and OpenDocument ----------------------------------------------------------------------


def test_docx_structure_and_properties(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path, "friedhof.docx", statute_docx()), settings)
    assert doc.doc_type == "docx"
    assert doc.title == "Friedhofssatzung"
    assert doc.metadata["author"] == "Gemeinde Musterdorf"
    assert doc.metadata["subject"] == "Bestattungswesen"
    assert doc.metadata["keywords"] == "Friedhof; Gebühren"
    assert doc.metadata["created"].startswith("2023-05-04T12:00")
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Friedhofssatzung der Gemeinde Musterdorf", 1),
        ("heading", "§ 1 Widmung", 2),
        ("paragraph", "Der Friedhof ist eine öffentliche Einrichtung der Gemeinde.", 0),
        ("list_item", "Grabstätten werden nur auf Antrag vergeben", 1),
        ("list_item", "Die Ruhezeit beträgt 20 Jahre", 2),
        ("heading", "§ 2 Gebühren", 3),
        ("table_row", "Leistung | Betrag | Hinweis", 0),
        ("table_row", "Reihengrab | 800 € | 20 Jahre", 0),
        ("table_row", "Urnengrab | 450 €", 0),
    ]


def test_odt_structure_and_meta(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path, "markt.odt", statute_odt()), settings)
    assert doc.doc_type == "odt"
    assert doc.title == "Marktordnung"
    assert doc.metadata["author"] == "Ordnungsamt"
    assert doc.metadata["keywords"] == "Markt, Wochenmarkt"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Marktordnung der Gemeinde", 1),
        ("heading", "§ 1 Marktzeiten", 2),
        ("paragraph", "Der Wochenmarkt findet samstags statt.", 0),
        ("list_item", "Obst und Gemüse", 1),
        ("list_item", "Blumen", 1),
        ("table_row", "Stand | Gebühr", 0),
        ("table_row", "bis 3 m | 15 €", 0),
    ]


def test_ods_rows_with_headers(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path, "gebuehren.ods", fee_ods()), settings)
    assert doc.doc_type == "ods"
    assert doc.title == "Gebührenverzeichnis"
    assert kinds(doc) == [
        ("heading", "Hundesteuer"),
        ("table_row", "Hund: Ersthund | Steuer: 120"),
        ("table_row", "Hund: Zweithund | Steuer: 240"),
    ]
    assert doc.metadata["sheets"] == ["Hundesteuer"]


def test_xlsx_rows_with_headers(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path, "gebuehren.xlsx", fee_xlsx()), settings)
    assert doc.doc_type == "xlsx"
    assert doc.title == "Gebühren 2025"
    assert doc.metadata["author"] == "Kämmerei"
    assert doc.metadata["sheets"] == ["Hundesteuer", "Leer", "Grundsteuer"]
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Hundesteuer", 1),
        ("table_row", "Hund: Ersthund | Steuer (€): 120 | Fällig ab: 2025-01-01", 0),
        ("table_row", "Hund: Zweithund | Steuer (€): 240", 0),
        ("heading", "Leer", 1),
        ("heading", "Grundsteuer", 1),
        ("table_row", "Art: Grundsteuer B | Hebesatz: 380 %", 0),
    ]


def test_xlsx_stray_cell_at_the_sheet_edge_stays_cheap(tmp_path: Path, settings: Settings) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tabelle1"
    sheet.append(["Ort", "Einwohner"])
    sheet.append(["Musterdorf", 1200])
    sheet["XFD1048576"] = "Ende"
    buffer = io.BytesIO()
    workbook.save(buffer)
    started = time.perf_counter()
    doc = parse_file(write(tmp_path, "rand.xlsx", buffer.getvalue()), settings)
    assert time.perf_counter() - started < 10
    assert kinds(doc) == [
        ("heading", "Tabelle1"),
        ("table_row", "Ort: Musterdorf | Einwohner: 1200"),
        ("table_row", "Ende"),
    ]


def test_docx_with_invalid_package_is_translated(tmp_path: Path, settings: Settings) -> None:
    # Looks like a DOCX from the outside (has word/document.xml) but lacks the package structure.
    data = zip_bytes({"word/document.xml": b"<w:document xmlns:w='urn:x'/>"})
    error = expect_input_error(write(tmp_path, "leer.docx", data), settings, german="DOCX")
    assert error.__cause__ is not None


@pytest.mark.parametrize(
    ("name", "builder", "member"),
    [("xxe.docx", statute_docx, "word/document.xml"), ("xxe.odt", statute_odt, "content.xml")],
)
def test_xml_entities_are_refused(
    tmp_path: Path, settings: Settings, name: str, builder: object, member: str
) -> None:
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<root>&lol2;&xxe;</root>'
    )
    data = replace_member(builder(), member, laughs)  # type: ignore[operator]
    expect_input_error(write(tmp_path, name, data), settings, german="XML")


def test_odt_with_malformed_content_xml(tmp_path: Path, settings: Settings) -> None:
    data = replace_member(statute_odt(), "content.xml", b"<office:document-content><unclosed>")
    expect_input_error(write(tmp_path, "kaputt.odt", data), settings, german="kein gültiges XML")


# --- HTML -----------------------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="de"><head>
<meta charset="windows-1252">
<title>Abfallkalender 2025</title>
<meta name="description" content="Termine der Müllabfuhr">
<meta name="keywords" content="Abfall, Müll">
<style>.x { color: red } body::after { content: "STILTEXT" }</style>
<script>var geheim = "SKRIPTTEXT";</script>
</head><body>
<nav><a href="/">NAVIGATIONSTEXT</a></nav>
<h1>Abfallkalender</h1>
<p>Die Abfuhr der Biotonne erfolgt <b>wöchentlich</b>.<br>Bitte Tonnen bis 6 Uhr bereitstellen.</p>
<div hidden>VERSTECKT-ATTRIBUT</div>
<p style="display: none">VERSTECKT-STIL</p>
<span style="visibility:hidden">VERSTECKT-SICHTBARKEIT</span>
<noscript>NOSCRIPTTEXT</noscript><template><p>TEMPLATETEXT</p></template>
<h2>Termine</h2>
<ul><li>Restmüll<ul><li>gerade Wochen</li></ul></li><li>Papier&shy;tonne&#8203;</li></ul>
<table><tr><th>Tonne</th><th>Tag</th></tr><tr><td>Gelber Sack</td><td>Montag</td></tr></table>
<div>Lose Zeile im Container</div>
<footer>FUSSZEILENTEXT</footer>
</body></html>"""


def test_html_visible_structure_only(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path, "abfall.html", HTML_PAGE.encode("cp1252"))
    doc = parse_file(path, settings)
    assert doc.doc_type == "html"
    assert doc.title == "Abfallkalender 2025"
    assert doc.metadata["description"] == "Termine der Müllabfuhr"
    assert doc.metadata["keywords"] == "Abfall, Müll"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Abfallkalender", 1),
        (
            "paragraph",
            "Die Abfuhr der Biotonne erfolgt wöchentlich. Bitte Tonnen bis 6 Uhr bereitstellen.",
            0,
        ),
        ("heading", "Termine", 2),
        ("list_item", "Restmüll", 1),
        ("list_item", "gerade Wochen", 2),
        ("list_item", "Papiertonne", 1),
        ("table_row", "Tonne | Tag", 0),
        ("table_row", "Gelber Sack | Montag", 0),
        ("paragraph", "Lose Zeile im Container", 0),
    ]
    for hidden in ("SKRIPT", "STILTEXT", "NAVIGATION", "VERSTECKT", "NOSCRIPT", "TEMPLATE", "FUSSZEILE"):
        assert hidden not in doc.text


def test_html_deeply_nested_and_inline_markup(tmp_path: Path, settings: Settings) -> None:
    page = "<div>" * 3000 + "<h2>Ge<b>bühr</b>en</h2><p>tief</p>" + "</div>" * 3000
    doc = parse_file(write(tmp_path, "tief.html", page.encode()), settings)
    assert kinds(doc) == [("heading", "Gebühren"), ("paragraph", "tief")]


def test_html_without_declared_charset(tmp_path: Path, settings: Settings) -> None:
    page = "<html><body><h1>Gebühren</h1><p>Größe der Grabstätte: 2,5 m²</p></body></html>"
    doc = parse_file(write(tmp_path, "alt.htm", page.encode("cp1252")), settings)
    assert kinds(doc) == [("heading", "Gebühren"), ("paragraph", "Größe der Grabstätte: 2,5 m²")]
    assert doc.title == "Gebühren"


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown_statute_with_front_matter(tmp_path: Path, settings: Settings) -> None:
    source = ROOT / "samples" / "statutes" / "ABG_Satzung_Hundesteuer.md"
    doc = parse_file(write(tmp_path, source.name, source.read_bytes()), settings)
    assert doc.doc_type == "markdown"
    assert doc.title == "Satzung über die Erhebung der Hundesteuer in der Gemeinde Aichelberg"
    assert doc.metadata["gemeinde"] == "Aichelberg"
    assert doc.metadata["erlassen_am"] == "1996-12-05"
    assert doc.metadata["endpoints"] == ["amtsschimmel", "brandmeister"]
    json.dumps(doc.metadata)

    # The table of contents lists "§ 5 Steuersatz" as an item; the section itself is a level-3 heading.
    toc, index = (i for i, b in enumerate(doc.blocks) if b.text == "§ 5 Steuersatz")
    assert doc.blocks[toc].kind == "list_item"
    assert doc.blocks[index].kind == "heading"
    assert doc.blocks[index].level == 3
    after = next(b for b in doc.blocks[index + 1 :] if b.kind == "list_item")
    assert after.text.startswith("(1) Die Steuer beträgt")
    # The editorial note is a blockquote: kept as a paragraph, without the markup.
    assert doc.blocks[0].kind == "paragraph"
    assert doc.blocks[0].text.startswith("Redaktionelle Lesefassung")


def test_markdown_constructs(tmp_path: Path, settings: Settings) -> None:
    text = """Satzungstitel
=============

Einleitung mit *Betonung* und `Code`.

Abschnitt
---------

1. erster Punkt
   mit Fortsetzung
2. zweiter Punkt
   - Unterpunkt

| Tonne | Tag |
|---|---|
| Bio | Montag |

> Zitat eines Urteils

    eingerückter Code
"""
    doc = parse_file(write(tmp_path, "ohne-kopf.md", text.encode()), settings)
    assert doc.title == "Satzungstitel"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Satzungstitel", 1),
        ("paragraph", "Einleitung mit Betonung und Code.", 0),
        ("heading", "Abschnitt", 2),
        ("list_item", "1. erster Punkt mit Fortsetzung", 1),
        ("list_item", "2. zweiter Punkt", 1),
        ("list_item", "Unterpunkt", 2),
        ("table_row", "Tonne | Tag", 0),
        ("table_row", "Bio | Montag", 0),
        ("paragraph", "Zitat eines Urteils", 0),
        ("paragraph", "eingerückter Code", 0),
    ]


def test_markdown_broken_front_matter(tmp_path: Path, settings: Settings) -> None:
    data = b"---\ntitel: [nicht geschlossen\n---\n# Text\n"
    expect_input_error(write(tmp_path, "kaputt.md", data), settings, german="YAML")


@pytest.mark.parametrize("path", STATUTES, ids=[p.stem for p in STATUTES])
def test_every_sample_statute_parses(path: Path, settings: Settings) -> None:
    doc = parse_file(path, settings)
    source = path.read_text(encoding="utf-8")
    atx_headings = [line for line in source.splitlines() if line.startswith("#")]
    headings = [b for b in doc.blocks if b.kind == "heading"]
    assert len(headings) == len(atx_headings)
    assert any(b.level == 3 for b in headings)
    assert doc.title and doc.title != path.stem
    json.dumps(doc.metadata)
    for block in doc.blocks:
        assert block.text == block.text.strip() and "  " not in block.text
        # No Markdown syntax may leak into the text.
        assert not block.text.startswith(("#", "- ", "* ", "> ", "|"))
        assert "|---" not in block.text
    table_lines = sum(1 for line in source.splitlines() if line.startswith("|") and "---" not in line)
    assert sum(1 for b in doc.blocks if b.kind == "table_row") <= table_lines


# --- plain text -----------------------------------------------------------------------------------

TXT = """SATZUNG ÜBER DIE HUNDESTEUER

§ 3 Gebühren
Die Gebühr beträgt für größere Hunde 120 €.
Sie wird jährlich erhoben.

1. Allgemeines

- erster Punkt
- zweiter Punkt
"""


@pytest.mark.parametrize(
    ("encoding", "expected"), [("cp1252", "cp1252"), ("utf-16", "utf-16-le"), ("utf-8-sig", "utf-8")]
)
def test_txt_encodings_and_headings(tmp_path: Path, settings: Settings, encoding: str, expected: str) -> None:
    doc = parse_file(write(tmp_path, "satzung.txt", TXT.encode(encoding)), settings)
    assert doc.metadata["encoding"] == expected
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "SATZUNG ÜBER DIE HUNDESTEUER", 1),
        ("heading", "§ 3 Gebühren", 2),
        ("paragraph", "Die Gebühr beträgt für größere Hunde 120 €. Sie wird jährlich erhoben.", 0),
        ("heading", "1. Allgemeines", 1),
        ("list_item", "- erster Punkt", 1),
        ("list_item", "- zweiter Punkt", 1),
    ]
    assert doc.title == "SATZUNG ÜBER DIE HUNDESTEUER"


def test_txt_section_number_on_its_own_line(tmp_path: Path, settings: Settings) -> None:
    text = (
        "§ 10\nAnzeigepflicht\n(1) Wer einen Hund hält, muss ihn anmelden.\n\n§ 12 Abs. 2 gilt entsprechend\n"
    )
    doc = parse_file(write(tmp_path, "anzeige.txt", text.encode()), settings)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "§ 10 Anzeigepflicht"),
        ("paragraph", "(1) Wer einen Hund hält, muss ihn anmelden."),
        ("paragraph", "§ 12 Abs. 2 gilt entsprechend"),
    ]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Größe und Maß der Hundesteuer über Äcker", "cp850"),
        ("Привет, это тестовый документ о налогах на собак в городе.", "cp1251"),
    ],
)
def test_txt_other_legacy_codepages(tmp_path: Path, settings: Settings, text: str, encoding: str) -> None:
    doc = parse_file(write(tmp_path, "alt.txt", text.encode(encoding)), settings)
    assert doc.text == text
    assert doc.metadata["encoding"] == encoding


def test_binary_garbage_named_txt(tmp_path: Path, settings: Settings) -> None:
    data = random.Random(7).randbytes(4096)
    expect_input_error(write(tmp_path, "notiz.txt", data), settings, german="keine lesbare Textdatei")


def test_normalisation_of_invisible_characters(tmp_path: Path, settings: Settings) -> None:
    text = "Hunde\u00adsteuer\u200b für Mu\u0308nchen\u00a0 und\tKöln"
    doc = parse_file(write(tmp_path, "n.txt", text.encode("utf-8")), settings)
    assert doc.text == "Hundesteuer für München und Köln"


_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ"
_WORD = st.one_of(
    st.text(alphabet=_LETTERS + "0123456789", min_size=1, max_size=14),
    st.sampled_from(["§", "€", "„Zitat“", "–", "Straße", "Größe", "Gebühr", "(1)", "z.B.", "°C", "½"]),
)
_SEPARATOR = st.sampled_from([" ", " ", " ", ", ", ". ", "\n", "\n\n", "\r\n", "\t"])


@st.composite
def german_text(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=60))
    separators = draw(st.lists(_SEPARATOR, min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, separators, strict=True))


def _squash(text: str) -> str:
    return " ".join(text.split())


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=german_text(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_plaintext_round_trips_through_encodings(text: str, encoding: str) -> None:
    doc = parse_bytes(text.encode(encoding), "notiz.txt", SETTINGS)
    assert _squash(doc.text) == _squash(text)


_ANY_TEXT = st.text(
    # U+FFFD in quantity is how the parser recognises undecodable data, so it is left out here.
    st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"), blacklist_characters="\ufffd"),
    min_size=1,
    max_size=200,
)
_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}


@hsettings(max_examples=60, deadline=None)
@given(text=_ANY_TEXT)
def test_plaintext_any_unicode_survives_utf8_and_utf16(text: str) -> None:
    expected = unicodedata.normalize("NFC", text)
    for ch in "\u00ad\u200b\u200c\u200d\u2060\ufeff":
        expected = expected.replace(ch, "")
    for ligature, letters in _LIGATURES.items():
        expected = expected.replace(ligature, letters)
    expected = _squash(expected)
    assume(expected)
    for encoding in ("utf-8", "utf-16"):
        doc = parse_bytes(text.encode(encoding), "x.txt", SETTINGS)
        assert _squash(doc.text) == expected


# --- e-mail ---------------------------------------------------------------------------------------


def test_eml_with_attachments(tmp_path: Path, settings: Settings) -> None:
    message = EmailMessage()
    message["Subject"] = "Neue Hundesteuersatzung"
    message["From"] = "Bürgermeisteramt <rathaus@musterdorf.de>"
    message["To"] = "gemeinderat@musterdorf.de"
    message["Date"] = format_datetime(dt.datetime(2025, 2, 3, 9, 15, tzinfo=dt.UTC))
    message["Message-ID"] = make_msgid(domain="musterdorf.de")
    message.set_content("Sehr geehrte Damen und Herren,\n\nanbei die geänderte Satzung.\n")
    message.add_attachment(statute_pdf(), maintype="application", subtype="pdf", filename="satzung.pdf")
    message.add_attachment(
        statute_docx(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="friedhof.docx",
    )
    broken = statute_pdf()[:400]
    message.add_attachment(broken, maintype="application", subtype="pdf", filename="kaputt.pdf")

    doc = parse_file(write(tmp_path, "post.eml", message.as_bytes()), settings)
    assert doc.doc_type == "email"
    assert doc.title == "Neue Hundesteuersatzung"
    assert doc.metadata["from"] == "Bürgermeisteramt <rathaus@musterdorf.de>"
    assert doc.metadata["to"] == "gemeinderat@musterdorf.de"
    assert doc.metadata["date"] == "2025-02-03T09:15:00+00:00"
    assert doc.metadata["message_id"].endswith("@musterdorf.de>")
    assert doc.metadata["attachments"] == ["satzung.pdf", "friedhof.docx", "kaputt.pdf"]
    errors = doc.metadata["attachment_errors"]
    assert [e["filename"] for e in errors] == ["kaputt.pdf"]
    json.dumps(doc.metadata)

    texts = [b.text for b in doc.blocks]
    assert texts[:2] == ["Sehr geehrte Damen und Herren,", "anbei die geänderte Satzung."]
    pdf_start = texts.index("Anhang: satzung.pdf")
    assert doc.blocks[pdf_start].kind == "heading" and doc.blocks[pdf_start].level == 1
    pdf_heading = doc.blocks[pdf_start + 1]
    assert (pdf_heading.text, pdf_heading.level, pdf_heading.page) == ("§ 1 Steuergegenstand", 2, 1)
    assert "Anhang: friedhof.docx" in texts
    assert "Friedhofssatzung der Gemeinde Musterdorf" in texts
    skipped = texts[texts.index("Anhang: kaputt.pdf") + 1]
    assert skipped.startswith("Anhang 'kaputt.pdf' wurde übersprungen")


def test_eml_html_only_body(tmp_path: Path, settings: Settings) -> None:
    message = EmailMessage()
    message["Subject"] = "Einladung"
    message["From"] = "a@example.org"
    message.set_content(
        "<html><body><script>SKRIPT</script><h1>Sitzung</h1><p>Am Montag um 18 Uhr.</p></body></html>",
        subtype="html",
    )
    doc = parse_file(write(tmp_path, "einladung.eml", message.as_bytes()), settings)
    assert kinds(doc) == [("heading", "Sitzung"), ("paragraph", "Am Montag um 18 Uhr.")]


def test_eml_forwarded_mail_and_unsupported_attachment(tmp_path: Path, settings: Settings) -> None:
    inner = EmailMessage()
    inner["Subject"] = "Antrag auf Steuerbefreiung"
    inner["From"] = "buerger@example.org"
    inner.set_content("Ich beantrage die Befreiung von der Hundesteuer.")
    outer = EmailMessage()
    outer["Subject"] = "WG: Antrag"
    outer["From"] = "poststelle@musterdorf.de"
    outer.set_content("Zur Kenntnis.")
    outer.add_attachment(inner)
    outer.add_attachment(
        b"MZ" + bytes(200), maintype="application", subtype="octet-stream", filename="../setup.exe"
    )
    doc = parse_file(write(tmp_path, "wg.eml", outer.as_bytes()), settings)
    assert kinds(doc)[:3] == [
        ("paragraph", "Zur Kenntnis."),
        ("heading", "Anhang: Antrag auf Steuerbefreiung.eml"),
        ("paragraph", "Ich beantrage die Befreiung von der Hundesteuer."),
    ]
    assert doc.metadata["attachments"] == ["Antrag auf Steuerbefreiung.eml", "setup.exe"]
    assert doc.metadata["attachment_errors"][0]["filename"] == "setup.exe"
    assert "nicht unterstützt" in doc.metadata["attachment_errors"][0]["message"]


# --- limits and format detection ------------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path, settings: Settings) -> None:
    expect_input_error(write(tmp_path, "leer.pdf", b""), settings, german="leer")


def test_oversize_file(tmp_path: Path) -> None:
    small = make_settings(max_file_bytes=1000)
    path = write(tmp_path, "gross.txt", b"Hundesteuer " * 200)
    expect_input_error(path, small, german="zu groß", cls=FileTooLarge)
    with pytest.raises(FileTooLarge):
        parse_bytes(path.read_bytes(), "gross.txt", small)


def _bomb() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b"<?xml version='1.0'?><Types/>",
            "word/document.xml": b"<?xml version='1.0'?><w:document xmlns:w='urn:x'/>",
            "word/media/padding.bin": b"\x00" * (5 * 1024 * 1024),
        }
    )


def test_zip_bomb_by_ratio(tmp_path: Path, settings: Settings) -> None:
    expect_input_error(write(tmp_path, "bombe.docx", _bomb()), settings, german="ZIP-Bombe")


def test_zip_bomb_in_odt(tmp_path: Path, settings: Settings) -> None:
    bomb = zip_bytes(
        {
            "mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": b"<?xml version='1.0'?><office:document-content xmlns:office='urn:x'/>",
            "Pictures/padding.bin": b"\x00" * (5 * 1024 * 1024),
        }
    )
    expect_input_error(write(tmp_path, "bombe.odt", bomb), settings, german="ZIP-Bombe")


def test_zip_bomb_by_unpacked_size(tmp_path: Path) -> None:
    lenient_ratio = make_settings(max_compression_ratio=1e9, max_unpacked_bytes=1024 * 1024)
    expect_input_error(write(tmp_path, "gross.docx", _bomb()), lenient_ratio, german="entpackt zu groß")


def test_zip_with_too_many_members(tmp_path: Path, settings: Settings) -> None:
    members = {f"word/m{i}.xml": b"" for i in range(10_001)}
    members["word/document.xml"] = b"<x/>"
    expect_input_error(write(tmp_path, "viele.docx", zip_bytes(members)), settings, german="ZIP-Bombe")


def test_broken_zip_named_docx(tmp_path: Path, settings: Settings) -> None:
    data = statute_docx()
    expect_input_error(
        write(tmp_path, "abgebrochen.docx", data[: len(data) // 2]), settings, german="beschädigt"
    )


def test_pdf_renamed_to_docx(tmp_path: Path, settings: Settings) -> None:
    error = expect_input_error(write(tmp_path, "satzung.docx", statute_pdf()), settings, german="passt nicht")
    assert "PDF" in error.user_message and "DOCX" in error.user_message
    assert "PDF" in str(error) and "DOCX" in str(error)


@pytest.mark.parametrize(
    ("data", "actual"), [(statute_docx(), "Word (DOCX)"), (b"Nur ein bisschen Text.\n", "Text")]
)
def test_mislabelled_pdf(tmp_path: Path, settings: Settings, data: bytes, actual: str) -> None:
    error = expect_input_error(write(tmp_path, "satzung.pdf", data), settings, german="passt nicht")
    assert actual in error.user_message and "PDF" in error.user_message


def test_png_named_txt_is_mislabelled(tmp_path: Path, settings: Settings) -> None:
    data = image_bytes(text_image(["x"]), "PNG")
    expect_input_error(write(tmp_path, "notiz.txt", data), settings, german="PNG")


def test_jpeg_named_png_is_accepted_as_image(tmp_path: Path, settings: Settings) -> None:
    assert HAS_TESSERACT, "tesseract-ocr is not installed (run scripts/install-system-deps.sh)"
    data = image_bytes(text_image(["Hundesteuer"]).convert("RGB"), "JPEG", quality=95)
    assert "Hundesteuer" in parse_file(write(tmp_path, "foto.png", data), settings).text


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("daten.xyz", b"irgendwelche Daten"),
        ("alt.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        ("archiv.zip", zip_bytes({"a.txt": b"Hundesteuer"})),
        ("programm", b"\x7fELF" + bytes(100)),
    ],
)
def test_unknown_formats(tmp_path: Path, settings: Settings, name: str, data: bytes) -> None:
    expect_input_error(
        write(tmp_path, name, data), settings, german="nicht unterstützt", cls=UnsupportedFormat
    )


def test_parse_bytes_sniffs_without_suffix(settings: Settings) -> None:
    doc = parse_bytes(simple_pdf(["Anlage ohne Dateiendung."]), "anhang", settings)
    assert doc.doc_type == "pdf"
    assert doc.text == "Anlage ohne Dateiendung."


def test_missing_file(tmp_path: Path, settings: Settings) -> None:
    expect_input_error(tmp_path / "fehlt.pdf", settings, german="nicht gefunden")


def test_supported_suffixes() -> None:
    assert {".pdf", ".docx", ".xlsx", ".odt", ".ods", ".html", ".md", ".txt", ".eml", ".png", ".tiff"} <= (
        SUPPORTED_SUFFIXES
    )
    assert all(s == s.lower() and s.startswith(".") for s in SUPPORTED_SUFFIXES)
