"""Reading incoming requests: e-mails (EML, Maildir), letters (PDF, DOCX, …) and plain text.

Every file goes through the product's parsers (``ingest.parsers``: MIME structure, transfer encodings,
charsets, forwarded mails, attachments, a broken multipart boundary). What routing and drafting read is the
request without the quoted history of a reply ("> …", "Am … schrieb …:"), so an office's earlier answer does
not become a concern of its own; the whole text is kept as ``body``.

A file that cannot be read at all raises ``UnreadableRequest`` with a German reason; ``iter_folder`` yields
the files of a Maildir (``cur/`` and ``new/``) or of a folder of EML/text/PDF files in a stable order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from kreiswissen.config import Settings
from kreiswissen.errors import InputError

REQUEST_SUFFIXES = (".eml", ".txt", ".pdf", ".docx", ".odt", ".html", ".htm")
MAX_REQUEST_CHARS = 20_000  # routing and drafting read this much; the body is kept whole

# The start of a quoted earlier message in a reply: "Am 12.11.2026 um 09:14 schrieb X:", "-----Ursprüngliche
# Nachricht-----", "-------- Original Message --------", Outlook's "Von: … Gesendet: …" block.
_QUOTE_HEADER = re.compile(
    r"^(?:Am\s.{4,120}\s(?:schrieb|wrote)\b.*:\s*$|On\s.{4,120}\swrote:\s*$|-{2,}\s*(?:Ursprüngliche Nachricht|"
    r"Original(?:-| )?Nachricht|Original Message)\s*-{2,}\s*$|Von:\s.+\s(?:Gesendet|Datum):\s)",
    re.IGNORECASE)


# The parsers join a paragraph's lines, so a quoted history can also sit inside one line: "… passt. Am 12.11.
# schrieb X: > Sehr geehrter … > …" (two quote marks at least, so "Einkommen > 500 Euro" is left alone).
_INLINE_QUOTE = re.compile(r"(?:\s|^)(?:Am\s[^>\n]{4,160}?\s(?:schrieb|wrote)\b[^>\n]{0,100}?:\s*)?>\s.*\s>\s")


class UnreadableRequest(InputError):
    """A file that holds no readable request (not a mail, no text, unsupported)."""


@dataclass
class IncomingRequest:
    source_kind: str  # eml | maildir | text | pdf
    source_name: str
    sha256: str
    body: str
    request_text: str
    subject: str = ""
    sender: str = ""
    message_id: str | None = None
    received_at: datetime | None = None
    attachments: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines ("> …") and everything after a quote header are dropped."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        inline = _INLINE_QUOTE.search(line)
        if inline:
            kept.append(line[: inline.start()])
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _sender(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def read_request(data: bytes, name: str, settings: Settings, *, maildir: bool = False) -> IncomingRequest:
    """One request from the bytes of a file (a Maildir entry has no suffix: ``maildir=True`` reads it as EML)."""
    from kreiswissen.ingest.parsers import parse_bytes

    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise UnreadableRequest(f"{name}: empty", user_message=f"'{name}': die Datei ist leer.")
    suffix = Path(name).suffix.lower()
    kind = "maildir" if maildir else {".eml": "eml", ".pdf": "pdf"}.get(suffix, "text")
    parse_name = f"{name}.eml" if maildir else name
    if not maildir and suffix not in REQUEST_SUFFIXES:
        raise UnreadableRequest(f"{name}: unsupported suffix", user_message=f"'{name}': kein unterstütztes Format "
                                f"für Anfragen (möglich: {', '.join(REQUEST_SUFFIXES)}, Maildir).")
    if kind == "text" and suffix == ".txt":
        from kreiswissen.text.encoding import UndecodableText, decode_text

        try:
            text = decode_text(data)[0]
        except UndecodableText as exc:
            raise UnreadableRequest(f"{name}: undecodable", user_message=f"'{name}': der Text ist in keiner "
                                    "bekannten Zeichenkodierung lesbar.") from exc
        body = request_text = text.replace("\r\n", "\n").strip()
        return _request(kind, name, sha, body, request_text, {}, [])
    try:
        parsed = parse_bytes(data, parse_name, settings)
    except InputError as exc:
        raise UnreadableRequest(str(exc), user_message=exc.user_message) from exc
    meta = parsed.metadata
    problems = list(meta.get("repairs") or [])
    problems += [f"Anhang '{e['filename']}' nicht gelesen: {e['message']}" for e in meta.get("attachment_errors") or []]
    body = "\n".join(b.text for b in parsed.blocks if b.text.strip())
    if kind in ("eml", "maildir"):
        from kreiswissen.ingest.parsers.mail import body_text

        # The mail's own text with its lines (signature, quotes), then the attachments under "Anhang: name".
        names = {f"Anhang: {a}" for a in meta.get("attachments") or []}
        first = next((i for i, b in enumerate(parsed.blocks) if b.kind == "heading" and b.text in names), None)
        attached = "" if first is None else "\n".join(
            b.text for b in parsed.blocks[first:] if b.text.strip()).removeprefix("Anhang: ")
        own = body_text(data).strip() or body.partition("\nAnhang: ")[0]
        body = own + (f"\n\nAnhang: {attached}" if attached else "")
        request_text = strip_quoted(own) + (f"\n\nAnhang: {attached}" if attached else "")
        subject = str(meta.get("subject") or "")
    else:
        request_text = body
        subject = parsed.title if kind == "pdf" else ""
    if subject and not request_text.startswith(subject):
        request_text = f"{subject}\n{request_text}"
    return _request(kind, name, sha, body, request_text, meta, problems, subject)


def _request(kind: str, name: str, sha: str, body: str, request_text: str, meta: dict[str, object],
             problems: list[str], subject: str = "") -> IncomingRequest:
    if not request_text.strip():
        raise UnreadableRequest(f"{name}: no text", user_message=f"'{name}': kein lesbarer Text gefunden.")
    message_id = meta.get("message_id")
    return IncomingRequest(
        source_kind=kind, source_name=name, sha256=sha, body=body, request_text=request_text[:MAX_REQUEST_CHARS],
        subject=subject, sender=_sender(str(meta.get("from") or "")),
        message_id=str(message_id) if message_id else None, received_at=_date(meta.get("date")),
        attachments=[str(a) for a in meta.get("attachments") or []], problems=problems)  # type: ignore[attr-defined]


def iter_folder(folder: Path) -> Iterator[tuple[Path, bool]]:
    """(file, is_maildir_entry) for every request file of a Maildir or a plain folder, in a stable order.

    A Maildir (a folder with ``cur/`` and ``new/``) yields the entries of both, never ``tmp/`` (mails being
    delivered) or dot files. A plain folder yields its files with a request suffix, without recursion."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", user_message=f"'{folder}' ist kein Ordner (erwartet: ein "
                         "Maildir-Postfach oder ein Ordner mit EML-Dateien).")
    if (folder / "cur").is_dir() and (folder / "new").is_dir():
        for sub in ("new", "cur"):
            for path in sorted((folder / sub).iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    yield path, True
        return
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in REQUEST_SUFFIXES:
            yield path, False
