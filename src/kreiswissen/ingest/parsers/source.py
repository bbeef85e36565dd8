"""What every format parser receives: the raw bytes plus the context needed for limits and messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, InputError

from .problems import backend_error, input_error

# E-mails may carry e-mails as attachments; nesting deeper than this is more likely an attack than a workflow.
MAX_DEPTH = 3


@dataclass(frozen=True)
class Source:
    data: bytes
    name: str
    label: str
    settings: Settings
    depth: int = 0

    @property
    def stem(self) -> str:
        return PurePath(self.name).stem or self.name

    @property
    def suffix(self) -> str:
        return PurePath(self.name).suffix.lower()

    def error(self, reason_en: str, reason_de: str, *, cls: type[InputError] = InputError) -> InputError:
        return input_error(self.label, self.name, reason_en, reason_de, cls=cls)

    def backend_error(self, reason_en: str, reason_de: str) -> BackendUnavailable:
        return backend_error(self.label, self.name, reason_en, reason_de)
