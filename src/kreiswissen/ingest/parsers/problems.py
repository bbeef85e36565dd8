"""Building the errors the parsers raise: English for logs, German for the clerk, both naming the file."""

from __future__ import annotations

from kreiswissen.errors import BackendUnavailable, InputError


def input_error(
    label: str, name: str, reason_en: str, reason_de: str, *, cls: type[InputError] = InputError
) -> InputError:
    """``label`` is what logs show (a path), ``name`` what a clerk sees (the bare file name)."""
    return cls(f"{label}: {reason_en}", user_message=f"Datei '{name}': {reason_de}.")


def backend_error(label: str, name: str, reason_en: str, reason_de: str) -> BackendUnavailable:
    return BackendUnavailable(f"{label}: {reason_en}", user_message=f"Datei '{name}': {reason_de}.")
