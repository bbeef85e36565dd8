"""Who may write what. Reading is decided by row-level security alone (groups); writing by these checks.

- Leser: reads what their groups may read.
- Redakteur: additionally uploads, changes and deletes documents of their own department(s) (a group they
  belong to) and may grant access only to groups they belong to themselves.
- Administrator: manages documents of every department, users, groups and tokens.
- KI-Manager: usage statistics and quality figures; reads documents like a Leser, writes none.
- Datenschutzbeauftragter: audit log and DSGVO requests, each look with a stated reason.
- The local operator (command line on the server) may do everything.
"""

from __future__ import annotations

from kreiswissen.errors import PermissionDenied
from kreiswissen.security.principal import EVERYONE, Principal

CLASSIFICATIONS = ("oeffentlich", "intern", "vertraulich", "personenbezogen")
CLASSIFICATION_LABELS = {"oeffentlich": "öffentlich", "intern": "intern", "vertraulich": "vertraulich",
                         "personenbezogen": "personenbezogen"}


def normalise_classification(value: str | None) -> str:
    from kreiswissen.errors import InputError
    from kreiswissen.text.normalize import fold

    if value is None:
        return "intern"
    key = fold(value.strip()).replace("ö", "oe")
    if key not in CLASSIFICATIONS:
        raise InputError(f"bad classification {value}", user_message="Einstufung muss öffentlich, intern, "
                         "vertraulich oder personenbezogen sein.")
    return key


def require_upload(principal: Principal, access: list[str], department: str | None) -> None:
    """Upload or change: Redakteur of the department (or Administrator), granting only own groups."""
    if principal.operator or principal.has_role("administrator"):
        return
    if not principal.has_role("redakteur"):
        raise PermissionDenied(f"{principal.name} lacks role redakteur",
                               user_message="Nur Redakteurinnen und Redakteure dürfen Dokumente einstellen.")
    if not set(access) <= principal.groups:
        raise PermissionDenied(f"{principal.name} may not grant groups {access}",
                               user_message="Sie können Dokumente nur für Gruppen freigeben, denen Sie selbst "
                               "angehören.")
    if department is not None and department not in principal.groups:
        raise PermissionDenied(f"{principal.name} not in department {department}",
                               user_message=f"Sie gehören nicht zum Fachdienst '{department}'.")


def require_delete(principal: Principal, access_groups: list[str], department: str | None) -> None:
    """Delete: Administrator, or a Redakteur of the document's department (or of one of its own groups)."""
    if principal.operator or principal.has_role("administrator"):
        return
    own = ({department} if department else set(access_groups)) - {EVERYONE}
    if not principal.has_role("redakteur") or not own & principal.groups:
        raise PermissionDenied(f"{principal.name} may not delete", user_message="Sie dürfen dieses Dokument "
                               "nicht löschen (nur Redakteure des zuständigen Fachdiensts).")


def require_role(principal: Principal, *roles: str, action: str) -> None:
    if not principal.has_role(*roles):
        raise PermissionDenied(f"{principal.name} lacks {roles} for {action}",
                               user_message=f"Dafür fehlt Ihnen die Berechtigung ({action}).")
