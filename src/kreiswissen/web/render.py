"""Turning document text and model output into safe HTML.

Everything from a document or a model is untrusted: it is escaped, or rendered by markdown-it with raw HTML,
links and images switched off (the "zero" preset plus emphasis and lists), so neither a crafted document nor a
manipulated model answer can put markup, scripts or links into a page.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from kreiswissen.text.normalize import fold

_md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(
    ["emphasis", "list", "newline"])
_CITATION = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"[\wäöüÄÖÜß]{3,}")
_STOP = frozenset({"der", "die", "das", "und", "oder", "für", "fuer", "mit", "ein", "eine", "einen", "wie", "was",
                   "wer", "wann", "ist", "sind", "den", "dem", "des", "von", "auf", "bei", "muss", "ich", "wir",
                   "hoch", "viel", "welche", "welcher", "gibt", "kann", "nach", "über", "zum", "zur"})


def answer_html(text: str, citations: int, anchor: str = "quelle") -> Markup:
    """An answer as HTML: paragraphs, emphasis and lists; ``[n]`` links to the n-th listed source."""
    html = _md.render(text)

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if 1 <= number <= citations:
            return (f'<a class="zitat" href="#{anchor}-{number}" aria-label="Quelle {number}">'
                    f"[{number}]</a>")
        return match.group(0)

    return Markup(_CITATION.sub(link, html))  # noqa: S704 - markdown-it escaped the text; we add only our links


def query_words(query: str) -> list[str]:
    """The words worth highlighting (at least three letters, no function words), folded."""
    return sorted({fold(w) for w in _WORD.findall(query) if fold(w) not in _STOP}, key=len, reverse=True)


def highlight(text: str, words: list[str], limit: int | None = None) -> Markup:
    """``text`` escaped, with words starting like one of ``words`` in <mark> (German endings vary)."""
    if limit is not None and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    if not words:
        return escape(text)
    stems = [w[: max(4, len(w) - 3)] if len(w) > 5 else w for w in words]
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        folded = fold(match.group(0))
        if any(folded.startswith(s) or (len(s) >= 5 and s in folded) for s in stems):
            out.append(str(escape(text[last:match.start()])))
            out.append(f"<mark>{escape(match.group(0))}</mark>")
            last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece escaped above
