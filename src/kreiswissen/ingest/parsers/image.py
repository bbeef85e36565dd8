"""Scanned images (PNG, JPEG, multi-page TIFF): every frame is one page, read by OCR."""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image, ImageSequence, UnidentifiedImageError

from kreiswissen.ingest.model import ParsedDocument

from .cleanup import BlockCollector
from .ocr import ocr_into
from .source import Source

_IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def _frames(src: Source) -> Iterator[Image.Image]:
    """Frames one at a time (a 300-page TIFF must not sit in memory at once), each fully decoded."""
    try:
        image = Image.open(io.BytesIO(src.data))
        for frame in ImageSequence.Iterator(image):
            frame.load()
            yield frame
    except Image.DecompressionBombError as exc:
        raise src.error(
            f"image too large ({exc})", "Bild ist zu groß (zu viele Pixel, mögliche Dekompressionsbombe)"
        ) from exc
    except _IMAGE_ERRORS as exc:
        raise src.error(
            f"corrupt or truncated image ({exc})", "Bild ist beschädigt oder unvollständig"
        ) from exc


def parse(src: Source) -> ParsedDocument:
    out = BlockCollector()
    pages = 0
    for pages, frame in enumerate(_frames(src), start=1):
        ocr_into(frame, src, out, page=pages)
    metadata: dict[str, object] = {"pages": pages, "ocr_pages": list(range(1, pages + 1))}
    title = out.first_heading() or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="image")
