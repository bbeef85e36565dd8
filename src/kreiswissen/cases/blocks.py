"""Approved text blocks (Textbausteine) with ``{{variables}}``, and the suggestion of matching blocks.

The library is a YAML file the administration maintains (``samples/leistungen/textbausteine.yaml`` is the
sample); ``kreiswissen cases blocks import FILE`` checks it as a whole and replaces the stored library, recording
who approved it. A block fits a reply when it names the reply's service, or when it names none (general
blocks: introduction, data protection notice, closing …). Variables the drafter knows (the citizen's name, the
responsible unit and its contact, the service, the dates) are filled in; the others stay visible as
``{{name}}`` for the clerk to fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kreiswissen.db.database import Database
from kreiswissen.errors import InputError
from kreiswissen.security.principal import Principal

KINDS = ("einleitung", "sachinformation", "unterlagen", "termin", "nachforderung", "zustaendigkeit", "datenschutz",
         "schluss")
KIND_LABELS = {"einleitung": "Einleitung", "sachinformation": "Sachinformation", "unterlagen": "Unterlagen",
               "termin": "Termin", "nachforderung": "Nachforderung", "zustaendigkeit": "Zuständigkeit",
               "datenschutz": "Datenschutz", "schluss": "Schluss"}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
VARIABLE = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,40})\s*\}\}")
MAX_BLOCKS = 2000


@dataclass(frozen=True)
class TextBlock:
    id: str
    title: str
    kind: str
    services: tuple[str, ...]
    body: str
    variables: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind, "services": list(self.services),
                "text": self.body, "variables": list(self.variables)}


def variables_of(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(VARIABLE.findall(text)))


def read_blocks(path: Path, known_services: set[str] | None = None) -> list[TextBlock]:
    """The blocks of a YAML library, checked as a whole (German errors name the block)."""
    import yaml

    if not path.is_file():
        raise InputError(f"{path} not found", user_message=f"Datei '{path}': nicht gefunden.")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError("not yaml", user_message=f"'{path.name}': Textbausteine werden als YAML-Datei erwartet.")
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError("not utf-8", user_message=f"'{path.name}' ist nicht in UTF-8 kodiert.") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"bad yaml: {exc}", user_message=f"'{path.name}' ist kein gültiges YAML.") from exc
    entries = data.get("bausteine") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputError("no blocks", user_message=f"'{path.name}' enthält keine Textbausteine (Liste „bausteine“).")
    if len(entries) > MAX_BLOCKS:
        raise InputError("too many", user_message=f"Zu viele Textbausteine (höchstens {MAX_BLOCKS}).")
    blocks: list[TextBlock] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        where = f"Textbaustein {n}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: not a mapping", user_message=f"{where}: kein Eintrag mit Feldern.")
        bid = str(entry.get("id") or "").strip()
        where = f"Textbaustein {n} („{bid}“)" if bid else where
        if bid in seen:
            raise InputError(f"{where}: duplicate", user_message=f"{where}: die ID kommt doppelt vor.")
        seen.add(bid)
        block = TextBlock(bid, str(entry.get("titel") or ""), str(entry.get("art") or "").strip(),
                          tuple(str(s) for s in entry.get("leistungen") or ()), str(entry.get("text") or ""), ())
        blocks.append(check_block(block, known_services, where))
    return blocks


def store_blocks(db: Database, principal: Principal, blocks: list[TextBlock]) -> None:
    """Replace the stored library; ``principal`` is recorded as the approver."""
    with db.transaction(principal) as conn:
        conn.execute("DELETE FROM text_blocks")
        for b in blocks:
            conn.execute("INSERT INTO text_blocks (id, title, kind, services, body, variables, approved_by) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (b.id, b.title, b.kind, list(b.services), b.body, list(b.variables), principal.name))


def load_blocks(db: Database, principal: Principal) -> list[TextBlock]:
    with db.transaction(principal) as conn:
        rows = conn.execute("SELECT id, title, kind, services, body, variables FROM text_blocks ORDER BY id").fetchall()
    return [TextBlock(r[0], r[1], r[2], tuple(r[3]), r[4], tuple(r[5])) for r in rows]


def fill(block: TextBlock, values: dict[str, str]) -> tuple[str, list[str]]:
    """The block's text with known variables filled in; (text, names still open)."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value:
            return value
        missing.append(match.group(1))
        return match.group(0)

    text = VARIABLE.sub(replace, block.body)
    return text, list(dict.fromkeys(missing))


_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}


def suggest(blocks: list[TextBlock], services: list[str], values: dict[str, str],
            limit: int = 8) -> list[dict[str, Any]]:
    """Blocks for a reply about ``services`` (the first is the main one): the services' own blocks first,
    then general ones, each group in the order of a letter (introduction … closing), filled with ``values``."""
    ranked: list[tuple[int, int, TextBlock]] = []
    for b in blocks:
        if b.services:
            hits = [services.index(s) for s in b.services if s in services]
            if not hits:
                continue
            ranked.append((min(hits), _KIND_ORDER.get(b.kind, 99), b))
        else:
            ranked.append((len(services) + 1, _KIND_ORDER.get(b.kind, 99), b))
    ranked.sort(key=lambda t: (t[0], t[1], t[2].id))
    out: list[dict[str, Any]] = []
    for _, _, b in ranked[:limit]:
        text, missing = fill(b, values)
        out.append({"id": b.id, "title": b.title, "kind": b.kind, "kind_label": KIND_LABELS.get(b.kind, b.kind),
                    "text": text, "missing": missing, "specific": bool(b.services)})
    return out


def check_block(block: TextBlock, known_services: set[str] | None = None, where: str | None = None) -> TextBlock:
    """One block checked (German errors name it as ``where``); text trimmed, ``variables`` from its text."""
    where = where or (f"Textbaustein „{block.id}“" if block.id else "Textbaustein")
    if not _ID.match(block.id):
        raise InputError(f"{where}: bad id", user_message=f"{where}: ungültige ID (Kleinbuchstaben, Ziffern, "
                         "Bindestriche).")
    if not block.title.strip() or not block.body.strip():
        raise InputError(f"{where}: title/text missing", user_message=f"{where}: Titel oder Text fehlt.")
    if block.kind not in KINDS:
        raise InputError(f"{where}: bad kind", user_message=f"{where}: unbekannte Art „{block.kind}“ (möglich: "
                         f"{', '.join(KINDS)}).")
    unknown = [s for s in block.services if known_services is not None and s not in known_services]
    if unknown:
        raise InputError(f"{where}: unknown {unknown}", user_message=f"{where}: Leistung „{unknown[0]}“ gibt es im "
                         "Leistungskatalog nicht.")
    if "{{" in VARIABLE.sub("", block.body):
        raise InputError(f"{where}: bad variable", user_message=f"{where}: ungültige Variable (erlaubt: {{{{name}}}} "
                         "mit Kleinbuchstaben, Ziffern und _).")
    return TextBlock(block.id, block.title.strip(), block.kind, block.services, block.body.strip(),
                     variables_of(block.body))


def save_block(db: Database, principal: Principal, block: TextBlock, *, new: bool) -> None:
    """Add or change one block; the editor is recorded as its approver (only administrators edit blocks)."""
    with db.transaction(principal) as conn:
        exists = conn.execute("SELECT 1 FROM text_blocks WHERE id = %s", (block.id,)).fetchone() is not None
        if new and exists:
            raise InputError("duplicate block", user_message=f"Textbaustein „{block.id}“: die ID gibt es schon.")
        if not new and not exists:
            raise InputError("no such block", user_message=f"Textbaustein „{block.id}“ gibt es nicht (mehr).")
        conn.execute("INSERT INTO text_blocks (id, title, kind, services, body, variables, approved_by) VALUES "
                     "(%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, "
                     "kind = EXCLUDED.kind, services = EXCLUDED.services, body = EXCLUDED.body, "
                     "variables = EXCLUDED.variables, approved_by = EXCLUDED.approved_by, approved_at = now()",
                     (block.id, block.title, block.kind, list(block.services), block.body, list(block.variables),
                      principal.name))


def delete_block(db: Database, principal: Principal, block_id: str) -> None:
    with db.transaction(principal) as conn:
        if conn.execute("DELETE FROM text_blocks WHERE id = %s", (block_id,)).rowcount == 0:
            raise InputError("no such block", user_message=f"Textbaustein „{block_id}“ gibt es nicht (mehr).")
