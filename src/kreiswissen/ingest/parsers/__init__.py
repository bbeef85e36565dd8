"""Stage "parse" of ingestion: any supported file → :class:`~kreiswissen.ingest.model.ParsedDocument`.

``parse_file`` and ``parse_bytes`` check size limits and container bombs, detect the real format from
magic bytes (the suffix only has to agree), run the format's parser and translate every failure into an
:class:`~kreiswissen.errors.InputError` (or ``BackendUnavailable`` when OCR is needed but missing).
"""

from __future__ import annotations

from .detect import SUPPORTED_SUFFIXES
from .dispatch import parse_bytes, parse_file

__all__ = ["SUPPORTED_SUFFIXES", "parse_bytes", "parse_file"]
