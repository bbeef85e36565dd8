"""``kreiswissen conversations …``: list, show and delete stored conversations; delete expired ones.

Registered in cli.py with ``app.add_typer(conversations_app, name="conversations")``. The shared CLI helpers
(error handling, runtime, principal, JSON output) are imported from ``kreiswissen.cli`` when a command runs,
because cli.py imports this module.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from kreiswissen.cli_support import JsonFlag, acting_principal, handled
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

conversations_app = typer.Typer(
    help="Gespräche mit Rückfragen: je Benutzer gespeichert, nur für ihn lesbar, nach Ablauf der Frist gelöscht.",
    no_args_is_help=True)

AsUser = Annotated[str | None, typer.Option("--as-user", help="Als dieser Benutzer handeln (ohne Angabe: als "
                                            "Betreiber, der alle Gespräche sieht).")]
ConversationId = Annotated[str, typer.Argument(help="ID des Gesprächs (siehe 'conversations list').")]

MODE_LABELS = {"generated": "KI-generiert", "extractive": "Zitate", "refused": "keine Antwort"}


# -- what the commands do, for a Runtime ---------------------------------------------------------------------
def list_conversations(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    return rt.conversations.list(principal)


def show_conversation(rt: Runtime, principal: Principal, conversation_id: str) -> dict[str, Any]:
    return rt.conversations.get(principal, conversation_id)


def delete_conversation(rt: Runtime, principal: Principal, conversation_id: str) -> None:
    rt.delete_conversation(conversation_id, principal)


def expire_conversations(rt: Runtime, retention_days: int | None = None) -> tuple[int, int]:
    """(deleted, days): conversations not continued for ``retention_days`` (default: the setting)."""
    days = retention_days or rt.settings.conversation_retention_days
    return rt.expire_conversations(days), days


# -- commands ----------------------------------------------------------------------------------------------
@conversations_app.command("list")
@handled
def list_command(as_user: AsUser = None, as_json: JsonFlag = False) -> None:
    """Gespräche auflisten, zuletzt fortgesetzte zuerst."""
    from kreiswissen.cli import out, print_json, runtime

    with runtime() as rt:
        conversations = list_conversations(rt, acting_principal(rt, as_user))
    if as_json:
        print_json({"conversations": conversations})
        return
    if not conversations:
        out.print("Keine Gespräche gespeichert.")
        return
    table = Table()
    for column in ("ID", "Benutzer", "Titel", "Fragen", "zuletzt"):
        table.add_column(column)
    for c in conversations:
        table.add_row(c["id"], escape(c["owner"]), escape(c["title"] or "–"), str(c["turns"]),
                      c["updated_at"][:16].replace("T", " "))
    out.print(table)


@conversations_app.command("show")
@handled
def show_command(conversation_id: ConversationId, as_user: AsUser = None, as_json: JsonFlag = False) -> None:
    """Ein Gespräch mit allen Fragen, Antworten und Quellen anzeigen."""
    from kreiswissen.cli import out, print_json, runtime

    with runtime() as rt:
        conversation = show_conversation(rt, acting_principal(rt, as_user), conversation_id)
    if as_json:
        print_json(conversation)
        return
    out.print(f"[bold]{escape(conversation['title'] or 'Gespräch')}[/]  [dim]{conversation['id']} · "
              f"{escape(conversation['owner'])}[/]")
    for turn in conversation["turns"]:
        out.print(f"\n[bold]{turn['turn']}. Frage:[/] {escape(turn['question'])}")
        if turn["standalone_question"] != turn["question"]:
            out.print(f"   [dim]verstanden als: {escape(turn['standalone_question'])}[/]")
        label = MODE_LABELS.get(turn["mode"], turn["mode"])
        out.print(f"   [bold]Antwort[/] [dim]({label})[/]: {escape(turn['answer'])}")
        for i, citation in enumerate(turn["citations"], 1):
            out.print(f"   [dim][{citation.get('rank', i)}] {escape(_citation_label(citation))}[/]")


def _citation_label(citation: dict[str, Any]) -> str:
    """Title and source of a stored citation (``Citation.to_json`` nests them under "document")."""
    nested = citation.get("document")
    document: dict[str, Any] = nested if isinstance(nested, dict) else citation
    title = str(document.get("title") or "")
    source = str(document.get("source") or "")
    return " – ".join(part for part in (title, source) if part) or "Quelle"


@conversations_app.command("delete")
@handled
def delete_command(conversation_id: ConversationId, as_user: AsUser = None) -> None:
    """Ein Gespräch mit allen Fragen und Antworten löschen."""
    from kreiswissen.cli import out, runtime

    with runtime() as rt:
        delete_conversation(rt, acting_principal(rt, as_user), conversation_id)
    out.print(f"Gespräch {escape(conversation_id)} gelöscht.")


@conversations_app.command("expire")
@handled
def expire_command(
    days: Annotated[int | None, typer.Option("--days", min=1, help="Aufbewahrungsfrist in Tagen (Standard: "
                                             "KREISWISSEN_CONVERSATION_RETENTION_DAYS).")] = None,
) -> None:
    """Gespräche löschen, die länger als die Aufbewahrungsfrist nicht fortgesetzt wurden."""
    from kreiswissen.cli import out, runtime

    with runtime() as rt:
        deleted, used = expire_conversations(rt, days)
    out.print(f"{deleted} Gespräch(e) gelöscht, die seit mehr als {used} Tagen ruhten.")
