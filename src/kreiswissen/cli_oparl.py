"""``kreiswissen oparl sync URL``: import papers, files, meetings and agenda items from an OParl 1.1 endpoint.

Registered in cli.py with ``app.add_typer(oparl_app, name="oparl")``; the shared helpers come from
``kreiswissen.cli`` when the command runs, because cli.py imports this module.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

oparl_app = typer.Typer(help="Ratsinformationssystem (OParl 1.1) abgleichen.", no_args_is_help=True)


@oparl_app.command("sync")
def sync_command(
    url: Annotated[str, typer.Argument(help="URL des OParl-System-Objekts, z. B. https://ris.kreis.de/oparl/v1/system")],
    group: Annotated[list[str] | None, typer.Option("--group", help="Zugriffsgruppe der Dokumente "
                                                    "(mehrfach; ohne Angabe: alle).")] = None,
    department: Annotated[str | None, typer.Option("--department", help="Zuständiges Amt.")] = None,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="Weiterer Server, auf den "
                                                         "Dateien verweisen dürfen (mehrfach).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ausgabe als JSON.")] = False,
) -> None:
    """Drucksachen mit Dateien in die Wissensbasis, Sitzungen und Tagesordnungspunkte für die Niederschrift."""
    from kreiswissen.cli import handle_errors

    handle_errors(_sync)(url, group, department, allow_host, as_json)


def _sync(url: str, group: list[str] | None, department: str | None, allow_host: list[str] | None,
          as_json: bool) -> None:
    from kreiswissen.cli import out, principal_for, print_json, runtime
    from kreiswissen.minutes.oparl import sync

    with runtime() as rt:
        report = sync(rt, url, principal_for(None, None, rt), group, department, allowed_hosts=allow_host)
    if as_json:
        print_json(report.to_json())
    else:
        out.print(f"Körperschaften: {report.bodies} · Drucksachen neu/geändert: {report.papers}, unverändert: "
                  f"{report.papers_unchanged}, gelöscht: {report.papers_deleted}")
        out.print(f"Dateien geladen: {report.files_downloaded} · Dokumente neu: {report.documents_added}, "
                  f"aktualisiert: {report.documents_updated}, entfernt: {report.documents_deleted}")
        out.print(f"Sitzungen: {report.meetings} · Tagesordnungspunkte: {report.agenda_items}")
        for error in report.errors:
            out.print(f"[yellow]Übersprungen:[/] {escape(error.object)}: {escape(error.error)}")
    if report.errors:
        raise typer.Exit(1)


@oparl_app.command("meetings")
def meetings_command(as_json: Annotated[bool, typer.Option("--json", help="Ausgabe als JSON.")] = False) -> None:
    """Abgeglichene Sitzungen mit der Zahl ihrer Tagesordnungspunkte (für 'minutes draft --oparl-meeting')."""
    from kreiswissen.cli import handle_errors

    handle_errors(_meetings)(as_json)


def _meetings(as_json: bool) -> None:
    from rich.table import Table

    from kreiswissen.cli import out, print_json, runtime
    from kreiswissen.minutes.oparl import list_meetings

    with runtime() as rt:
        rows = list_meetings(rt)
    if as_json:
        print_json({"meetings": rows})
        return
    if not rows:
        out.print("Keine Sitzungen abgeglichen ('kreiswissen oparl sync URL').")
        return
    table = Table()
    for column in ("ID", "Sitzung", "Beginn", "TOPs"):
        table.add_column(column)
    for r in rows:
        table.add_row(escape(r["id"]), escape(r["name"] or "–") + (" (abgesagt)" if r["cancelled"] else ""),
                      escape(str(r["start"] or "–")), str(r["agenda_items"]))
    out.print(table)
