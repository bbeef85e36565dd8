"""The single exception hierarchy. ``user_message`` is what a clerk reads (German)."""

from __future__ import annotations


class KreiswissenError(Exception):
    """Base of every error the application raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or message


class InputError(KreiswissenError):
    """The input (a file, a query, an option) cannot be processed."""

    exit_code = 2
    http_status = 400


class UnsupportedFormat(InputError):
    http_status = 415


class FileTooLarge(InputError):
    http_status = 413


class PermissionDenied(KreiswissenError):
    exit_code = 3
    http_status = 403


class NotFound(KreiswissenError):
    exit_code = 4
    http_status = 404


class BackendUnavailable(KreiswissenError):
    """A database, model server or external tool could not be reached or failed."""

    exit_code = 5
    http_status = 503


class ConfigurationError(KreiswissenError):
    exit_code = 6
    http_status = 500
