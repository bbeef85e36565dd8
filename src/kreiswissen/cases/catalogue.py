"""The catalogue of services (Leistungen) and responsible units of an administration.

A catalogue is read from YAML (``version``, ``traeger``, ``einheiten``, ``leistungen``; see
``samples/leistungen/README.md``) or from the CSV of the same data (one row per service, the unit's fields
repeated), checked as a whole — unknown units, duplicate ids, missing names are refused with a German message
naming the entry — and stored in PostgreSQL (migration 0013), replacing the previous catalogue in one
transaction. Readers get it back as :class:`Catalogue`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kreiswissen.db.database import Database
from kreiswissen.errors import InputError
from kreiswissen.security.principal import Principal

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_CATALOGUE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    unit: str  # Unit.id
    level: str = "kreis"  # kreis | gemeinde (forwarded to the municipality)
    group: str = ""  # LeiKa-like group
    synonyms: tuple[str, ...] = ()
    description: str = ""
    legal_bases: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    fees: str = ""
    deadlines: str = ""
    online: bool = False


@dataclass
class Catalogue:
    owner: str = ""
    version: str = ""
    units: dict[str, Unit] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    def unit_of(self, service: Service) -> Unit:
        return self.units[service.unit]

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "version": self.version,
                "units": [asdict(u) for u in self.units.values()],
                "services": [{**asdict(s), "synonyms": list(s.synonyms), "legal_bases": list(s.legal_bases),
                              "documents": list(s.documents)} for s in self.services.values()]}


def _bad(where: str, problem: str) -> InputError:
    return InputError(f"catalogue: {where}: {problem}", user_message=f"Leistungskatalog, {where}: {problem}")


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _items(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split("|") if p.strip())
    if isinstance(value, list):
        return tuple(_text(v) for v in value if _text(v))
    raise _bad("Liste", f"erwartet eine Liste, nicht „{value}“")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("true", "ja", "1", "yes", "wahr")


def build_catalogue(data: dict[str, Any]) -> Catalogue:
    """Check the parsed YAML/CSV structure and return the catalogue, or raise an ``InputError``."""
    if not isinstance(data, dict):
        raise _bad("Datei", "kein Katalog (erwartet „einheiten“ und „leistungen“)")
    catalogue = Catalogue(owner=_text(data.get("traeger")), version=_text(data.get("stand") or data.get("version")))
    for n, raw in enumerate(data.get("einheiten") or [], start=1):
        if not isinstance(raw, dict):
            raise _bad(f"Einheit {n}", "kein Eintrag mit Feldern")
        unit_id, name = _text(raw.get("id")), _text(raw.get("name"))
        if not _ID.match(unit_id):
            raise _bad(f"Einheit {n}", f"ungültige ID „{unit_id}“ (Kleinbuchstaben, Ziffern, Bindestriche)")
        if not name:
            raise _bad(f"Einheit {unit_id}", "Name fehlt")
        if unit_id in catalogue.units:
            raise _bad(f"Einheit {unit_id}", "ID doppelt vergeben")
        catalogue.units[unit_id] = Unit(unit_id, name, _text(raw.get("anschrift")), _text(raw.get("telefon")),
                                        _text(raw.get("email")), _text(raw.get("oeffnungszeiten")))
    for n, raw in enumerate(data.get("leistungen") or [], start=1):
        if not isinstance(raw, dict):
            raise _bad(f"Leistung {n}", "kein Eintrag mit Feldern")
        service_id, name, unit = _text(raw.get("id")), _text(raw.get("name")), _text(raw.get("einheit"))
        if not _ID.match(service_id):
            raise _bad(f"Leistung {n}", f"ungültige ID „{service_id}“ (Kleinbuchstaben, Ziffern, Bindestriche)")
        if not name:
            raise _bad(f"Leistung {service_id}", "Name fehlt")
        if service_id in catalogue.services:
            raise _bad(f"Leistung {service_id}", "ID doppelt vergeben")
        if unit not in catalogue.units:
            raise _bad(f"Leistung {service_id}", f"zuständige Einheit „{unit}“ ist nicht im Katalog")
        level = _text(raw.get("ebene") or "kreis").lower()
        if level not in ("kreis", "gemeinde"):
            raise _bad(f"Leistung {service_id}", f"Ebene „{level}“ (möglich: kreis, gemeinde)")
        catalogue.services[service_id] = Service(
            service_id, name, unit, level, _text(raw.get("leika_gruppe")), _items(raw.get("synonyme")),
            _text(raw.get("beschreibung")), _items(raw.get("rechtsgrundlagen")), _items(raw.get("unterlagen")),
            _text(raw.get("gebuehren")), _text(raw.get("fristen")), _flag(raw.get("online")))
    if not catalogue.services:
        raise _bad("Datei", "enthält keine Leistungen")
    return catalogue


def _csv_data(text: str) -> dict[str, Any]:
    """The CSV (``;``, header row) as the YAML structure: one row per service with its unit's fields."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    required = {"id", "name", "einheit_id", "einheit_name"}
    if not reader.fieldnames or not required <= set(reader.fieldnames):
        raise _bad("CSV", f"Spalten fehlen: {', '.join(sorted(required - set(reader.fieldnames or [])))}")
    units: dict[str, dict[str, Any]] = {}
    services = []
    for row in reader:
        unit_id = (row.get("einheit_id") or "").strip()
        units.setdefault(unit_id, {"id": unit_id, "name": row.get("einheit_name"),
                                   "anschrift": row.get("einheit_anschrift"), "telefon": row.get("einheit_telefon"),
                                   "email": row.get("einheit_email"),
                                   "oeffnungszeiten": row.get("einheit_oeffnungszeiten")})
        services.append({**row, "einheit": unit_id})
    return {"einheiten": list(units.values()), "leistungen": services}


def read_catalogue(path: Path) -> Catalogue:
    """A catalogue file (``.yaml``/``.yml`` or ``.csv``), checked."""
    if not path.is_file():
        raise InputError(f"{path} not found", user_message=f"Datei '{path}': nicht gefunden.")
    if path.stat().st_size > MAX_CATALOGUE_BYTES:
        raise InputError(f"{path} too large", user_message=f"Datei '{path}': zu groß für einen Leistungskatalog.")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(path.name, "keine UTF-8-Datei") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return build_catalogue(_csv_data(text))
    if suffix not in (".yaml", ".yml"):
        raise _bad(path.name, "erwartet YAML (.yaml) oder CSV (.csv)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (Zeile {mark.line + 1})" if mark is not None else ""
        raise _bad(path.name, f"kein gültiges YAML{where}") from None
    return build_catalogue(data)


# -- storage ------------------------------------------------------------------------------------------------
def store_catalogue(db: Database, principal: Principal, catalogue: Catalogue) -> None:
    """Replace the stored catalogue with ``catalogue`` in one transaction."""
    with db.transaction(principal) as conn:
        conn.execute("DELETE FROM services")
        conn.execute("DELETE FROM service_units")
        for u in catalogue.units.values():
            conn.execute("INSERT INTO service_units (id, name, address, phone, email, hours) "
                         "VALUES (%s, %s, %s, %s, %s, %s)", (u.id, u.name, u.address, u.phone, u.email, u.hours))
        for s in catalogue.services.values():
            conn.execute(
                "INSERT INTO services (id, name, unit_id, level, grp, synonyms, description, legal_bases, documents, "
                "fees, deadlines, online) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (s.id, s.name, s.unit, s.level, s.group, list(s.synonyms), s.description, list(s.legal_bases),
                 list(s.documents), s.fees, s.deadlines, s.online))
        conn.execute("INSERT INTO catalogue_meta (key, value) VALUES ('owner', %s), ('version', %s) "
                     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (catalogue.owner, catalogue.version))


def load_stored(db: Database, principal: Principal) -> Catalogue:
    """The stored catalogue (empty when none was imported)."""
    with db.transaction(principal) as conn:
        meta = dict(conn.execute("SELECT key, value FROM catalogue_meta").fetchall())
        units = conn.execute("SELECT id, name, address, phone, email, hours FROM service_units ORDER BY id").fetchall()
        services = conn.execute(
            "SELECT id, name, unit_id, level, grp, synonyms, description, legal_bases, documents, fees, deadlines, "
            "online FROM services ORDER BY id").fetchall()
    catalogue = Catalogue(owner=meta.get("owner", ""), version=meta.get("version", ""))
    for row in units:
        catalogue.units[row[0]] = Unit(*row)
    for row in services:
        catalogue.services[row[0]] = Service(row[0], row[1], row[2], row[3], row[4], tuple(row[5]), row[6],
                                             tuple(row[7]), tuple(row[8]), row[9], row[10], row[11])
    return catalogue


# -- editing single entries (the catalogue page of the administration) -----------------------------------
def check_service(catalogue: Catalogue, service: Service) -> Service:
    """``service`` checked against the stored catalogue (id, name, unit, level), or an ``InputError``."""
    where = f"Leistung {service.id or '(neu)'}"
    if not _ID.match(service.id):
        raise _bad(where, f"ungültige ID „{service.id}“ (Kleinbuchstaben, Ziffern, Bindestriche)")
    if not service.name.strip():
        raise _bad(where, "Name fehlt")
    if service.unit not in catalogue.units:
        raise _bad(where, f"zuständige Einheit „{service.unit}“ ist nicht im Katalog")
    if service.level not in ("kreis", "gemeinde"):
        raise _bad(where, f"Ebene „{service.level}“ (möglich: kreis, gemeinde)")
    return service


def save_service(db: Database, principal: Principal, service: Service, *, new: bool) -> None:
    """Add (``new``) or change one service of the stored catalogue."""
    catalogue = load_stored(db, principal)
    check_service(catalogue, service)
    if new and service.id in catalogue.services:
        raise _bad(f"Leistung {service.id}", "ID doppelt vergeben")
    if not new and service.id not in catalogue.services:
        raise _bad(f"Leistung {service.id}", "gibt es nicht (mehr)")
    row = (service.name, service.unit, service.level, service.group, list(service.synonyms), service.description,
           list(service.legal_bases), list(service.documents), service.fees, service.deadlines, service.online)
    with db.transaction(principal) as conn:
        if new:
            conn.execute("INSERT INTO services (name, unit_id, level, grp, synonyms, description, legal_bases, "
                         "documents, fees, deadlines, online, id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                         "%s, %s)", (*row, service.id))
        else:
            conn.execute("UPDATE services SET name = %s, unit_id = %s, level = %s, grp = %s, synonyms = %s, "
                         "description = %s, legal_bases = %s, documents = %s, fees = %s, deadlines = %s, online = %s, "
                         "updated_at = now() WHERE id = %s", (*row, service.id))


def delete_service(db: Database, principal: Principal, service_id: str) -> None:
    with db.transaction(principal) as conn:
        if conn.execute("DELETE FROM services WHERE id = %s", (service_id,)).rowcount == 0:
            raise _bad(f"Leistung {service_id}", "gibt es nicht (mehr)")


def save_unit(db: Database, principal: Principal, unit: Unit, *, new: bool) -> None:
    """Add (``new``) or change one responsible unit (name and contact)."""
    where = f"Einheit {unit.id or '(neu)'}"
    if not _ID.match(unit.id):
        raise _bad(where, f"ungültige ID „{unit.id}“ (Kleinbuchstaben, Ziffern, Bindestriche)")
    if not unit.name.strip():
        raise _bad(where, "Name fehlt")
    with db.transaction(principal) as conn:
        exists = conn.execute("SELECT 1 FROM service_units WHERE id = %s", (unit.id,)).fetchone() is not None
        if new and exists:
            raise _bad(where, "ID doppelt vergeben")
        if not new and not exists:
            raise _bad(where, "gibt es nicht (mehr)")
        conn.execute("INSERT INTO service_units (id, name, address, phone, email, hours) VALUES (%s, %s, %s, %s, %s, "
                     "%s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, "
                     "phone = EXCLUDED.phone, email = EXCLUDED.email, hours = EXCLUDED.hours",
                     (unit.id, unit.name, unit.address, unit.phone, unit.email, unit.hours))
