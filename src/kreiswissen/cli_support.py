"""Helpers shared by the command groups that live in their own modules (``cli_conversations``,
``cli_minutes``): error handling and the acting principal, looked up from ``kreiswissen.cli`` when a command
runs, because cli.py imports those modules; and the common option types."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer

from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Ausgabe als JSON.")]


def handled(func: F) -> F:
    """``cli.handle_errors``, looked up when the command runs."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kreiswissen.cli import handle_errors

        return handle_errors(func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def acting_principal(rt: Runtime, as_user: str | None) -> Principal:
    """The user named by ``--as-user``, else the local operator."""
    from kreiswissen.cli import principal_for

    return principal_for(None, as_user, rt)
