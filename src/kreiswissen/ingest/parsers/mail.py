"""E-mail (EML): headers as metadata, the body, and supported attachments parsed recursively."""

from __future__ import annotations

import mimetypes
import re
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from typing import Any

from kreiswissen.errors import InputError
from kreiswissen.ingest.model import Block, ParsedDocument
from kreiswissen.text.encoding import UndecodableText, decode_text

from .cleanup import BlockCollector, clean_text
from .html import html_content
from .plaintext import blocks_from_text
from .source import Source

_ADDRESS_HEADERS = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To"))


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, LookupError):
        # Malformed headers make the policy's parser raise; the raw value is still better than nothing.
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), "")
    return clean_text(str(value)) if value is not None else ""


def _part_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return decode_text(payload)[0]
    except UndecodableText:
        return payload.decode("utf-8", errors="replace")


def _body(message: EmailMessage, out: BlockCollector) -> None:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        out.blocks.extend(html_content(text).collector.blocks)
    else:
        blocks_from_text(text, collector=out)


def _attachment_name(part: EmailMessage, index: int) -> str:
    name = part.get_filename()
    if name:
        # Only the last path component: names like "../../x.pdf" must not look like paths downstream.
        return clean_text(str(name).replace("\\", "/").rsplit("/", 1)[-1]) or f"anhang-{index}"
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
        # A forwarded mail is known by its subject; slashes would make it look like a path.
        subject = subject.replace("/", "-").replace("\\", "-")[:80]
        return f"{subject or f'nachricht-{index}'}.eml"
    return f"anhang-{index}{mimetypes.guess_extension(content_type) or ''}"


def _attachment_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        message = inner[0] if isinstance(inner, list) else inner
        return bytes(message.as_bytes(policy=policy.default)) if isinstance(message, Message) else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _is_inline_image(part: EmailMessage) -> bool:
    # Logos and signature images referenced from the HTML body: OCR would only add noise.
    return (
        part.get_content_maintype() == "image"
        and part.get("Content-ID") is not None
        and part.get_content_disposition() != "attachment"
    )


def _shift(block: Block) -> Block:
    if block.kind == "heading":
        return Block(kind="heading", text=block.text, level=min(block.level + 1, 6), page=block.page)
    return block


_DELIMITER = re.compile(rb"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.MULTILINE)


def _repair_boundary(data: bytes, message: EmailMessage) -> EmailMessage | None:
    """A multipart mail whose parts use another boundary than the header declares (a broken mailer).

    Python then finds no parts and the whole body is one opaque string. When the body has delimiter lines of
    one other boundary, the mail is parsed again with that boundary declared; ``None`` when that is not so.
    """
    if not any(isinstance(d, email_errors.StartBoundaryNotFoundDefect) for d in message.defects):
        return None
    declared = message.get_boundary()
    head_end = re.search(rb"\r?\n\r?\n", data)
    if declared is None or head_end is None:
        return None
    used = {m.group(1).rstrip(b"-") for m in _DELIMITER.finditer(data, head_end.end())}
    if len(used) != 1:
        return None
    actual = used.pop()
    head = data[: head_end.end()].replace(declared.encode("ascii", "replace"), actual, 1)
    repaired = BytesParser(policy=policy.default).parsebytes(head + data[head_end.end():])
    return repaired if isinstance(repaired, EmailMessage) and repaired.is_multipart() else None


def parse(src: Source) -> ParsedDocument:
    from .dispatch import parse_source  # the dispatcher imports this module, so import it late

    message = BytesParser(policy=policy.default).parsebytes(src.data)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise src.error("not an e-mail (no headers)", "ist keine E-Mail (keine Kopfzeilen gefunden)")

    metadata: dict[str, Any] = {}
    if (repaired := _repair_boundary(src.data, message)) is not None:
        message = repaired
        metadata["repairs"] = ["MIME-Grenze im Kopf passt nicht zu den Teilen; mit der verwendeten Grenze gelesen"]
    subject = _header(message, "Subject")
    if subject:
        metadata["subject"] = subject
    for key, name in _ADDRESS_HEADERS:
        if value := _header(message, name):
            metadata[key] = value
    date_header = message.get("Date")
    moment = getattr(date_header, "datetime", None)
    if moment is not None:
        metadata["date"] = moment.isoformat()
    elif date_header:
        metadata["date"] = clean_text(str(date_header))
    if message_id := _header(message, "Message-ID"):
        metadata["message_id"] = message_id

    out = BlockCollector()
    _body(message, out)

    names: list[str] = []
    errors: list[dict[str, str]] = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        if not isinstance(part, EmailMessage) or _is_inline_image(part):
            continue
        name = _attachment_name(part, index)
        names.append(name)
        out.heading(f"Anhang: {name}", 1)
        try:
            data = _attachment_bytes(part)
            nested = Source(
                data=data,
                name=name,
                label=f"{src.label} → {name}",
                settings=src.settings,
                depth=src.depth + 1,
            )
            attached = parse_source(nested)
        except InputError as exc:
            errors.append({"filename": name, "error": str(exc), "message": exc.user_message})
            out.add("paragraph", f"Anhang '{name}' wurde übersprungen: {exc.user_message}")
            continue
        out.blocks.extend(_shift(block) for block in attached.blocks)

    if names:
        metadata["attachments"] = names
    if errors:
        metadata["attachment_errors"] = errors
    title = subject or src.stem
    return ParsedDocument(title=title, blocks=out.blocks, metadata=metadata, doc_type="email")


def body_text(data: bytes) -> str:
    """The mail's own text (plain, else HTML as text) with its line breaks, without attachments.

    The block parser above joins a paragraph's lines; readers that need the lines (a signature under a
    closing formula, quoted "> " history) use this."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage):
        return ""
    message = _repair_boundary(data, message) or message
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        return "\n".join(b.text for b in html_content(text).collector.blocks)
    return text.replace("\r\n", "\n")
