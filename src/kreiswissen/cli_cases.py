"""``kreiswissen cases …``: the catalogue of services and the routing of citizens' requests (issue 7).

Registered in cli.py with ``app.add_typer(cases_app, name="cases")``; the shared helpers come from
``kreiswissen.cli`` when a command runs, because cli.py imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kreiswissen.cli_support import JsonFlag, handled
from kreiswissen.errors import InputError

cases_app = typer.Typer(help="Standardfälle: Leistungskatalog und Zuständigkeitsfinder für Anfragen von Bürgerinnen "
                        "und Bürgern.", no_args_is_help=True)
catalogue_app = typer.Typer(help="Leistungskatalog (Leistungen und zuständige Stellen).", no_args_is_help=True)
cases_app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import")
@handled
def import_command(path: Annotated[Path, typer.Argument(metavar="DATEI", help="Katalog als YAML oder CSV.")],
                   as_json: JsonFlag = False) -> None:
    """Den Leistungskatalog aus einer Datei übernehmen (ersetzt den bisherigen vollständig)."""
    from kreiswissen.cases.catalogue import read_catalogue, store_catalogue
    from kreiswissen.cli import out, principal_for, print_json, runtime

    catalogue = read_catalogue(path)
    with runtime() as rt:
        principal = principal_for(None, None, rt)
        store_catalogue(rt.db, principal, catalogue)
        rt.audit.record(principal.name, "cases.catalogue", {"file": path.name, "services": len(catalogue.services),
                                                            "units": len(catalogue.units)})
    if as_json:
        print_json({"services": len(catalogue.services), "units": len(catalogue.units)})
        return
    out.print(f"Leistungskatalog übernommen: {len(catalogue.services)} Leistungen, {len(catalogue.units)} "
              "zuständige Stellen.")


@catalogue_app.command("list")
@handled
def list_command(as_json: JsonFlag = False) -> None:
    """Die Leistungen des Katalogs mit ihrer zuständigen Stelle."""
    from kreiswissen.cases.catalogue import load_stored
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        catalogue = load_stored(rt.db, principal_for(None, None, rt))
    if as_json:
        print_json(catalogue.to_json())
        return
    if not catalogue.services:
        out.print("Kein Leistungskatalog vorhanden ('kreiswissen cases catalogue import DATEI').")
        return
    table = Table()
    for column in ("ID", "Leistung", "Zuständig"):
        table.add_column(column)
    for s in catalogue.services.values():
        table.add_row(s.id, escape(s.name), escape(catalogue.unit_of(s).name))
    out.print(table)


@cases_app.command("route")
@handled
def route_command(
    text: Annotated[str | None, typer.Argument(metavar="TEXT", help="Die Anfrage (oder --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Anfrage aus einer Textdatei.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Zuständige Leistung und Stelle für eine Anfrage finden, mit Sicherheit und Alternativen."""
    from kreiswissen.cases.catalogue import load_stored
    from kreiswissen.cases.router import Router
    from kreiswissen.cli import out, principal_for, print_json, runtime

    if (text is None) == (file is None):
        raise InputError("text xor file", user_message="Bitte die Anfrage als TEXT oder mit --file angeben.")
    request = text if text is not None else _read(file)  # type: ignore[arg-type]
    with runtime() as rt:
        principal = principal_for(None, None, rt)
        catalogue = load_stored(rt.db, principal)
        from kreiswissen.cases.router import cached_vectors

        routing = Router(catalogue, rt.embedder, cached_vectors(rt, principal)).route(request)
        result = routing.to_json(catalogue)
        rt.audit.record(principal.name, "cases.route", {"service": result["service"],
                                                        "confidence": result["confidence"],
                                                        "out_of_scope": result["out_of_scope"]})
    if as_json:
        print_json(result)
        return
    if result["out_of_scope"]:
        out.print("Keine Leistung des Katalogs passt sicher; bitte von Hand zuordnen.")
    else:
        out.print(f"[bold]{escape(result['service_name'])}[/] – zuständig: {escape(result['unit_name'])} "
                  f"(Sicherheit {result['confidence']:.0%})")
    for alt in result["alternatives"]:
        out.print(f"   oder: {escape(alt['name'])} ({escape(alt['unit_name'])})")
    for concern in result["concerns"]:
        out.print(f"   weiteres Anliegen: {escape(concern['name'])} ({escape(concern['unit_name'])})")


def _read(path: Path) -> str:
    from kreiswissen.text.encoding import decode_text

    if not path.is_file():
        raise InputError(f"{path} not found", user_message=f"Datei '{path}': nicht gefunden.")
    return decode_text(path.read_bytes())[0]


__all__ = ["cases_app"]
