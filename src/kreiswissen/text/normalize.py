"""Case folding shared by the lexical analyzer, the decompounder and query analysis.

(Text clean-up of parsed documents — NFC, invisible and control characters, ligatures — lives with the
parsers in ``ingest/parsers/cleanup.py``.)
"""

from __future__ import annotations


def fold(text: str) -> str:
    """Lower case with ß → ss (``str.casefold`` does both): the form compared by the lexical analyzer."""
    return text.casefold()
