"""PDF: the text layer through PDFium, with layout-based paragraphs and headings; OCR for scanned pages.

Only text a reader sees is kept. Characters are dropped when PDFium reports them painted invisibly (text
render mode 3 "invisible" or 7 "clip only"), fully transparent, smaller than one point after the text and
page transformations, entirely outside the page's crop box, or white where nothing non-white lies behind
them (a filled non-white path, an image or a form XObject that paints either). A page whose text layer is
mostly invisible (a scan with an OCR layer, or text drawn as outlines with a search layer) is read by OCR.

What is not detected, because PDFium exposes no per-object state for it: text in optional-content groups
(layers) switched off, text clipped away by a clipping path, and text covered by an opaque shape drawn on
top of it. Light grey on white, or dark on dark, is judged visible.
"""

from __future__ import annotations

import ctypes
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from kreiswissen.ingest.model import Block, BlockKind, ParsedDocument

from .cleanup import BlockCollector, clean_text, join_hyphenation
from .headings import heading_level, is_bare_paragraph_number, is_title_line
from .ocr import ocr_into
from .plaintext import blocks_from_text
from .source import Source

# Scanned pages of big plans would otherwise render to gigabytes; 60 MP is A2 at 300 dpi.
MAX_RENDER_PIXELS = 60_000_000
# Fewer visible characters than this on a page with images: a scan with a stamp or page number on top.
_SCANNED_MAX_CHARS = 10
# More invisible than this many times the visible characters: the page's real text layer is the invisible one.
_INVISIBLE_SHARE = 2
_INVISIBLE_MODES = frozenset({pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE, pdfium_c.FPDF_TEXTRENDERMODE_CLIP})
_STROKE_MODES = frozenset({pdfium_c.FPDF_TEXTRENDERMODE_STROKE, pdfium_c.FPDF_TEXTRENDERMODE_STROKE_CLIP})
_FILL_STROKE_MODES = frozenset(
    {pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE, pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE_CLIP}
)
# Every channel at least this high reads as white on paper.
_WHITE_LEVEL = 250
# Points: text below one point on the page cannot be read.
_MIN_TEXT_SIZE = 1.0
_SAMPLE_CHARS = 40
_BULLET = re.compile(r"^\s*(?:[-•–▪◦*]|\d{1,3}[.)]|[a-z][.)])\s+")
_ABSATZ = re.compile(r"^\s*\(\d{1,3}[a-z]?\)\s")
_PDF_DATE = re.compile(
    r"^D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{2}'?|[+-]\d{2})?"
)
# Share of the page height at the top and bottom where running heads, footers and page numbers live.
_MARGIN_SHARE = 0.08
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(?:Seite\s*)?\d{1,3}(?:\s*(?:von|/)\s*\d{1,3})?[-–—\s]*$", re.I)
_JUNK_TITLE = re.compile(
    r"^(untitled|unbenannt|ohne titel|titel|title|dokument\d*|document\d*|microsoft word - .*"
    r"|.*\.(docx?|pdf|odt|rtf|xlsx?|tiff?|jpe?g|png))$",
    re.I,
)


@dataclass
class _Line:
    text: str
    baseline: float
    left: float
    right: float
    size: float
    bold: bool


@dataclass
class _Group:
    lines: list[_Line]
    page: int
    kind: BlockKind = "paragraph"
    level: int = 0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class _PageContent:
    """Layout groups from the text layer, or finished blocks from OCR / the geometry-free fallback."""

    number: int
    height: float = 0.0
    groups: list[_Group] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    ocr: bool = False


def _pdf_date(value: str) -> str | None:
    match = _PDF_DATE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    iso = f"{year}-{month or '01'}-{day or '01'}"
    if hour:
        iso += f"T{hour}:{minute or '00'}:{second or '00'}"
        if zone == "Z":
            iso += "+00:00"
        elif zone:
            digits = re.sub(r"\D", "", zone)
            iso += f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"
    return iso


def _metadata(doc: pdfium.PdfDocument) -> dict[str, Any]:
    raw = doc.get_metadata_dict(skip_empty=True)
    metadata: dict[str, Any] = {}
    for source_key, key in (
        ("Title", "title"),
        ("Author", "author"),
        ("Subject", "subject"),
        ("Keywords", "keywords"),
    ):
        value = clean_text(raw.get(source_key, ""))
        if value:
            metadata[key] = value
    for source_key, key in (("CreationDate", "created"), ("ModDate", "modified")):
        date = _pdf_date(raw.get(source_key, ""))
        if date:
            metadata[key] = date
    return metadata


def _is_bold(raw: Any, index: int, buffer: Any) -> bool:
    weight = pdfium_c.FPDFText_GetFontWeight(raw, index)
    if weight > 0:
        return bool(weight >= 600)
    # Many producers leave the weight out of the font descriptor; the font name still says "Bold".
    flags = ctypes.c_int()
    length = pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, len(buffer), flags)
    name = buffer.value.decode("latin-1").lower() if 0 < length <= len(buffer) else ""
    return "bold" in name or "black" in name or "heavy" in name


def _is_white(rgba: tuple[int, int, int, int]) -> bool:
    return min(rgba[:3]) >= _WHITE_LEVEL


def _object_colour(getter: Any, obj: Any) -> tuple[int, int, int, int] | None:
    channels = [ctypes.c_uint() for _ in range(4)]
    if not getter(obj, *channels):
        return None
    red, green, blue, alpha = (c.value for c in channels)
    return red, green, blue, alpha


_Box = tuple[float, float, float, float]


class _Visibility:
    """Which characters of a page a reader can see; the verdict is cached per text object where it can be."""

    _VISIBLE, _HIDDEN, _INVISIBLE, _WHITE = 0, 1, 2, 3

    def __init__(self, page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> None:
        self.page = page
        self.raw = textpage.raw
        # PDFium's effective box: crop box within media box, inherited from the page tree where needed.
        self.crop: _Box = page.get_bbox()
        self.verdicts: dict[int, int] = {}
        self.seen: dict[int, bool] = {}
        self._backdrops: list[_Box] | None = None
        self._box = [ctypes.c_double() for _ in range(4)]
        self._matrix = pdfium_c.FS_MATRIX()
        # Characters painted in an invisible render mode: the OCR layer of a scan, or hidden text.
        self.invisible = 0

    def hidden(self, index: int) -> bool:
        if (known := self.seen.get(index)) is not None:
            return known
        obj = pdfium_c.FPDFText_GetTextObject(self.raw, index)
        if not obj:
            return False
        key = ctypes.cast(obj, ctypes.c_void_p).value or 0
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self.verdicts[key] = self._judge(obj, index)
        self.invisible += verdict == self._INVISIBLE
        hidden = verdict in (self._HIDDEN, self._INVISIBLE)
        if not hidden:
            left, bottom, right, top = self._char_box(index)
            hidden = right < self.crop[0] or left > self.crop[2] or top < self.crop[1] or bottom > self.crop[3]
            if not hidden and verdict == self._WHITE:
                hidden = not self._on_backdrop((left + right) / 2, (bottom + top) / 2)
        self.seen[index] = hidden
        return hidden

    def _judge(self, obj: Any, index: int) -> int:
        mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj)
        if mode in _INVISIBLE_MODES:
            return self._INVISIBLE
        colours = []
        if mode not in _STROKE_MODES:
            colours.append(_object_colour(pdfium_c.FPDFPageObj_GetFillColor, obj))
        if mode in _STROKE_MODES or mode in _FILL_STROKE_MODES:
            colours.append(_object_colour(pdfium_c.FPDFPageObj_GetStrokeColor, obj))
        known = [c for c in colours if c is not None]
        if known and all(c[3] == 0 for c in known):
            return self._HIDDEN
        if self._tiny(index):
            return self._HIDDEN
        if known and all(_is_white(c) for c in known):
            return self._WHITE
        return self._VISIBLE

    def _tiny(self, index: int) -> bool:
        """Size after the text and page matrices (a 12-point font scaled by 0.01 is 0.12 points)."""
        if not pdfium_c.FPDFText_GetMatrix(self.raw, index, self._matrix):
            return False
        m = self._matrix
        scale = math.sqrt(abs(m.a * m.d - m.b * m.c))
        if pdfium_c.FPDFText_GetFontSize(self.raw, index) * scale >= _MIN_TEXT_SIZE:
            return False
        # Type 3 fonts carry their own glyph scale: the glyph's box has the last word.
        box = pdfium_c.FS_RECTF()
        if not pdfium_c.FPDFText_GetLooseCharBox(self.raw, index, box):
            return True
        return max(box.top - box.bottom, box.right - box.left) < _MIN_TEXT_SIZE

    def _char_box(self, index: int) -> _Box:
        left, right, bottom, top = self._box
        pdfium_c.FPDFText_GetCharBox(self.raw, index, left, right, bottom, top)
        return left.value, bottom.value, right.value, top.value

    def _on_backdrop(self, x: float, y: float) -> bool:
        if self._backdrops is None:
            self._backdrops = _backdrops(self.page)
        return any(left <= x <= right and bottom <= y <= top for left, bottom, right, top in self._backdrops)


def _paints(obj: pdfium.PdfObject) -> bool:
    """An image, or a path filled with a colour other than white: something white text can stand on."""
    if obj.type in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_SHADING):
        return True
    if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
        return False
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, fill_mode, stroke) or fill_mode.value == pdfium_c.FPDF_FILLMODE_NONE:
        return False
    colour = _object_colour(pdfium_c.FPDFPageObj_GetFillColor, obj)
    return colour is None or (colour[3] > 0 and not _is_white(colour))


def _backdrops(page: pdfium.PdfPage) -> list[_Box]:
    """Page areas with something painted under text; a form XObject counts whole if anything in it paints."""
    boxes: list[_Box] = []
    form_box: _Box | None = None
    for obj in page.get_objects(max_depth=4):
        if obj.level == 0:
            form_box = None
            if obj.type == pdfium_c.FPDF_PAGEOBJ_FORM:
                form_box = obj.get_bounds()
            elif _paints(obj):
                boxes.append(obj.get_bounds())
        elif form_box is not None and _paints(obj):
            boxes.append(form_box)
            form_box = None
    return boxes


def _visible_plain(textpage: pdfium.PdfTextPage, visibility: _Visibility) -> str:
    """The page's text without hidden characters, for pages whose text and indices do not line up."""
    units: list[int] = []
    for index in range(textpage.count_chars()):
        if visibility.hidden(index):
            continue
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        if code > 0xFFFF:
            code -= 0x10000
            units.extend((0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        elif code:
            units.append(code)
    data = b"".join(unit.to_bytes(2, "little") for unit in units)
    return data.decode("utf-16-le", errors="replace")


def _page_lines(textpage: pdfium.PdfTextPage, visibility: _Visibility) -> list[_Line] | None:
    """Visible lines with geometry, or ``None`` when PDFium's text and character indices do not line up."""
    count = textpage.count_chars()
    if count <= 0:
        return []
    text = textpage.get_text_range(0, count)
    if len(text) != count:
        return None
    raw = textpage.raw
    x, y = ctypes.c_double(), ctypes.c_double()
    font_name = ctypes.create_string_buffer(256)
    lines: list[_Line] = []
    start = 0
    for match in re.finditer(r"\r\n|\n|\r|$", text):
        end = match.start()
        content = [i for i in range(start, end) if not text[i].isspace() and not visibility.hidden(i)]
        start = match.end()
        if not content:
            continue
        shown = set(content)
        step = max(1, len(content) // _SAMPLE_CHARS)
        sample = content[::step]
        sizes = [pdfium_c.FPDFText_GetFontSize(raw, i) for i in sample]
        bold_flags = [_is_bold(raw, i, font_name) for i in sample]
        pdfium_c.FPDFText_GetCharOrigin(raw, content[0], x, y)
        left = textpage.get_charbox(content[0])[0]
        right = textpage.get_charbox(content[-1])[2]
        lines.append(
            _Line(
                text="".join(
                    text[i] for i in range(content[0], content[-1] + 1) if i in shown or text[i].isspace()
                ),
                baseline=y.value,
                left=left,
                right=right,
                size=round(statistics.median(sizes) * 2) / 2,
                bold=sum(bold_flags) > len(bold_flags) / 2,
            )
        )
    return lines


def _group_lines(lines: list[_Line], page: int) -> list[_Group]:
    """Paragraphs from line geometry: a wider gap, a size change, a column jump or a new marker."""
    pitches = [
        a.baseline - b.baseline
        for a, b in zip(lines, lines[1:], strict=False)
        if a.size == b.size and 0 < a.baseline - b.baseline < 3 * a.size
    ]
    typical = statistics.median(pitches) if pitches else None
    text_right = max((line.right for line in lines), default=0.0)
    text_left = min((line.left for line in lines), default=0.0)
    width = max(text_right - text_left, 1.0)
    groups: list[_Group] = []
    for index, line in enumerate(lines):
        prev = lines[index - 1] if index else None
        if prev is None or _breaks(prev, line, typical, text_right, width):
            groups.append(_Group(lines=[line], page=page))
        else:
            groups[-1].lines.append(line)
    return groups


def _breaks(prev: _Line, line: _Line, typical: float | None, text_right: float, width: float) -> bool:
    pitch = prev.baseline - line.baseline
    if abs(pitch) < 0.3 * line.size:
        # Same visual line split by PDFium (tab stops, table cells): it continues the group.
        return False
    if abs(prev.size - line.size) > 0.15 * max(prev.size, line.size) or prev.bold != line.bold:
        return True
    if pitch < 0:
        return True
    if pitch > (1.35 * typical if typical else 2.0 * line.size):
        return True
    if _BULLET.match(line.text) or _ABSATZ.match(line.text):
        return True
    if heading_level(line.text, strong_only=True) is not None:
        return True
    if is_bare_paragraph_number(prev.text):
        return not is_title_line(line.text)
    if heading_level(prev.text, strong_only=True) is not None:
        return True
    # A sentence that ends well before the right margin is the last line of its paragraph.
    return prev.text[-1] in ".:!?" and prev.right < text_right - 0.15 * width


def _furniture_key(group: _Group) -> str:
    return re.sub(r"\d+", "#", clean_text(group.text)).casefold()


def _in_margin(group: _Group, height: float) -> bool:
    margin = _MARGIN_SHARE * height
    return len(group.lines) <= 2 and all(
        line.baseline > height - margin or line.baseline < margin for line in group.lines
    )


def _drop_page_furniture(pages: list[_PageContent]) -> None:
    """Remove page numbers and running heads/footers: they would split and pollute every paragraph.

    Only groups in the top or bottom margin band qualify: a page number there always, other text when
    it recurs (digits ignored) on at least half of the pages and at least three of them.
    """
    layout = [page for page in pages if page.groups]
    counts: Counter[str] = Counter()
    for page in layout:
        # A sentence is content even when every page starts with a similar one; running heads are labels.
        counts.update(
            {
                _furniture_key(g)
                for g in page.groups
                if _in_margin(g, page.height) and g.lines[-1].text[-1] not in ".!?:" and len(page.groups) > 1
            }
        )
    repeated = {key for key, n in counts.items() if n >= 3 and n >= len(layout) / 2}
    for page in layout:
        page.groups = [
            group
            for group in page.groups
            if not (
                _in_margin(group, page.height)
                and (
                    _PAGE_NUMBER.match(clean_text(group.text))
                    or (_furniture_key(group) in repeated and heading_level(group.text) is None)
                )
            )
        ]


def _classify(groups: list[_Group], size_weights: Counter[float]) -> None:
    body = size_weights.most_common(1)[0][0] if size_weights else 0.0
    candidates: list[tuple[_Group, float]] = []
    for group in groups:
        text = clean_text(group.text)
        first = group.lines[0]
        if _BULLET.match(first.text):
            group.kind, group.level = "list_item", 1
            continue
        if len(group.lines) > 2 or len(text) > 160 or not text or text[-1] in ".,;:":
            continue
        larger = body and first.size >= 1.15 * body
        bold = all(line.bold for line in group.lines)
        if larger or bold or heading_level(text, strong_only=True) is not None:
            candidates.append((group, first.size if larger else body))
    larger_sizes = sorted({size for _, size in candidates if size > body}, reverse=True)
    for group, size in candidates:
        group.kind = "heading"
        group.level = larger_sizes.index(size) + 1 if size in larger_sizes else len(larger_sizes) + 1


def _render_for_ocr(page: pdfium.PdfPage, dpi: int) -> Any:
    width, height = page.get_size()
    scale = dpi / 72
    if width * height * scale * scale > MAX_RENDER_PIXELS:
        scale = math.sqrt(MAX_RENDER_PIXELS / max(width * height, 1.0))
    return page.render(scale=scale, grayscale=True).to_pil()


def _has_images(page: pdfium.PdfPage) -> bool:
    return next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3), None) is not None


def _open(src: Source) -> pdfium.PdfDocument:
    # A download cut short often still opens (PDFium rebuilds the xref) and silently loses the end.
    if b"%%EOF" not in src.data[-4096:]:
        raise src.error(
            "corrupt or truncated PDF (no %%EOF marker at the end)",
            "beschädigt oder unvollständig (PDF-Dateiende fehlt, Datei wurde abgeschnitten)",
        )
    try:
        return pdfium.PdfDocument(src.data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise src.error(
                "PDF is encrypted (password required)", "PDF ist verschlüsselt (passwortgeschützt)"
            ) from exc
        raise src.error(
            f"corrupt or truncated PDF ({exc})",
            "beschädigt oder unvollständig (PDF kann nicht gelesen werden)",
        ) from exc


def _read_page(doc: pdfium.PdfDocument, index: int, src: Source, sizes: Counter[float]) -> _PageContent:
    page = doc[index]
    content = _PageContent(number=index + 1, height=page.get_height())
    textpage = page.get_textpage()
    try:
        visibility = _Visibility(page, textpage)
        lines = _page_lines(textpage, visibility)
        plain = ""
        if lines is None:
            plain = textpage.get_text_range()
            if any(visibility.hidden(i) for i in range(textpage.count_chars())):
                plain = _visible_plain(textpage, visibility)
        visible = sum(len(line.text) for line in lines) if lines is not None else len(plain.strip())
        # A scan: no text, or a text layer painted invisibly over the image (OCRmyPDF and scanners make
        # those, and so can an attacker), or over text drawn as outlines: our own OCR reads what the page
        # shows.
        scan_like = visible < _SCANNED_MAX_CHARS or visibility.invisible > _INVISIBLE_SHARE * visible
        if scan_like and (visibility.invisible > 0 or _has_images(page)):
            out = BlockCollector()
            ocr_into(_render_for_ocr(page, src.settings.ocr_dpi), src, out, page=content.number)
            if out.blocks:
                content.blocks, content.ocr = out.blocks, True
                return content
        if lines is None:
            out = blocks_from_text(join_hyphenation(plain.replace("\r\n", "\n")), page=content.number)
            content.blocks = out.blocks
            return content
        for line in lines:
            sizes[line.size] += len(line.text)
        content.groups = _group_lines(lines, content.number)
        return content
    finally:
        textpage.close()
        page.close()


def parse(src: Source) -> ParsedDocument:
    doc = _open(src)
    sizes: Counter[float] = Counter()
    try:
        metadata = _metadata(doc)
        pages = [_read_page(doc, index, src, sizes) for index in range(len(doc))]
    finally:
        doc.close()

    _drop_page_furniture(pages)
    _classify([group for page in pages for group in page.groups], sizes)
    out = BlockCollector()
    ocr_pages: list[int] = []
    for page in pages:
        out.blocks.extend(page.blocks)
        if page.ocr:
            ocr_pages.append(page.number)
        for group in page.groups:
            text = join_hyphenation(group.text)
            if group.kind == "heading":
                out.heading(text, group.level, page=group.page)
            else:
                out.add(group.kind, text, level=group.level, page=group.page)

    metadata["pages"] = len(pages)
    if ocr_pages:
        metadata["ocr_pages"] = ocr_pages
    return ParsedDocument(
        title=_title(metadata, out, src), blocks=out.blocks, metadata=metadata, doc_type="pdf"
    )


def _title(metadata: dict[str, Any], out: BlockCollector, src: Source) -> str:
    declared = str(metadata.get("title", ""))
    declared = re.sub(r"^Microsoft (Word|Excel|PowerPoint) - ", "", declared)
    if declared and not _JUNK_TITLE.match(declared):
        return declared
    heading = out.first_heading()
    if heading:
        return heading
    first = out.blocks[0].text if out.blocks else ""
    if first and len(first) <= 100 and first[-1] not in ".,;:!?":
        return first
    return src.stem
