"""Who is asking. Every service entry point takes a Principal; the database enforces it again (RLS)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EVERYONE = "alle"
_GROUP_RE = re.compile(r"^[\w.\- äöüÄÖÜß]{1,100}$")


def validate_group(name: str) -> str:
    name = name.strip()
    if not name or not _GROUP_RE.match(name) or "," in name or "{" in name or "}" in name:
        from kreiswissen.errors import InputError

        raise InputError(f"invalid group name: {name!r}", user_message=f"Ungültiger Gruppenname: {name!r}")
    return name


@dataclass(frozen=True)
class Principal:
    """An acting identity. ``operator`` sees every document (local administration only)."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    operator: bool = False
    # leser, redakteur, ki-manager, administrator, datenschutz (security/policy.py says what each may do)
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def local_operator(cls) -> Principal:
        return cls(name="operator", groups=frozenset({EVERYONE}), operator=True)

    @classmethod
    def with_groups(cls, groups: list[str] | tuple[str, ...], name: str = "cli") -> Principal:
        """A member of exactly these groups who edits their documents (``--as-group``: reader and editor)."""
        clean = {validate_group(g) for g in groups}
        return cls(name=name, groups=frozenset(clean | {EVERYONE}), operator=False,
                   roles=frozenset({"leser", "redakteur"}))

    def has_role(self, *roles: str) -> bool:
        return self.operator or bool(self.roles & set(roles))

    def group_list(self) -> list[str]:
        return sorted(self.groups | {EVERYONE})
