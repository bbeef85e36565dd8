"""Tesseract OCR for scanned pages and images."""

from __future__ import annotations

import pytesseract
from PIL import Image, ImageOps

from kreiswissen.errors import KreiswissenError

from .cleanup import BlockCollector, join_hyphenation
from .plaintext import blocks_from_text
from .source import Source

# A single page that takes longer than this is a pathological image, not a document worth waiting for.
OCR_TIMEOUT_S = 300


def prepare(image: Image.Image) -> Image.Image:
    """Upright, opaque, 8-bit: what Tesseract reads reliably."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Converting transparency straight to RGB turns transparent pixels black, hiding black text.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode not in ("1", "L", "RGB"):
        return image.convert("RGB")
    return image


def recognise(image: Image.Image, src: Source) -> str:
    languages = src.settings.ocr_languages
    try:
        return str(pytesseract.image_to_string(image, lang=languages, timeout=OCR_TIMEOUT_S))
    except pytesseract.TesseractNotFoundError as exc:
        raise src.backend_error(
            "OCR needed but Tesseract is not installed (apt install tesseract-ocr tesseract-ocr-deu)",
            "Texterkennung (OCR) nötig, aber nicht verfügbar: Tesseract ist nicht installiert "
            "(Paket tesseract-ocr und tesseract-ocr-deu)",
        ) from exc
    except pytesseract.TesseractError as exc:
        if "language" in str(exc.message).lower():
            raise src.backend_error(
                f"OCR language data '{languages}' missing ({exc.message})",
                f"Texterkennung (OCR) nicht möglich: Sprachdaten '{languages}' für Tesseract fehlen",
            ) from exc
        raise src.error(
            f"OCR failed ({exc.message})", "Texterkennung (OCR) ist fehlgeschlagen (Bild unlesbar)"
        ) from exc
    except RuntimeError as exc:
        if isinstance(exc, KreiswissenError):
            raise
        raise src.error(
            f"OCR did not finish within {OCR_TIMEOUT_S} s ({exc})",
            f"Texterkennung (OCR) hat länger als {OCR_TIMEOUT_S} Sekunden gedauert und wurde abgebrochen",
        ) from exc


def ocr_into(image: Image.Image, src: Source, out: BlockCollector, *, page: int) -> int:
    """OCR one page into ``out``; returns how many blocks it added."""
    before = len(out.blocks)
    text = recognise(prepare(image), src)
    blocks_from_text(join_hyphenation(text), page=page, collector=out)
    return len(out.blocks) - before
