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
blocks_app = typer.Typer(help="Freigegebene Textbausteine für Antwortentwürfe.", no_args_is_help=True)
cases_app.add_typer(blocks_app, name="blocks")
CaseId = Annotated[str, typer.Argument(metavar="ID", help="Vorgangsnummer (aus 'kreiswissen cases list').")]


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


@cases_app.command("import")
@handled
def import_cases_command(
    folder: Annotated[Path, typer.Argument(metavar="MAILDIR|EML-ORDNER", help="Ein Maildir-Postfach (cur/, new/) "
                                           "oder ein Ordner mit EML-, Text- oder PDF-Dateien.")],
    as_json: JsonFlag = False,
) -> None:
    """Ein Postfach einlesen: jede Nachricht wird zugeordnet und landet in der Arbeitsliste der zuständigen Stelle.

    Ein abgebrochener Lauf setzt beim nächsten Aufruf fort (bereits übernommene Nachrichten werden erkannt).
    Unlesbare Nachrichten werden gemeldet und übersprungen; die Dateien bleiben unverändert liegen."""
    from kreiswissen.cli import out, principal_for, print_json, runtime

    def progress(done: int, total: int, name: str, outcome: str) -> None:
        if not as_json:
            out.print(f"[{done}/{total}] {escape(name)}: {escape(outcome)}", highlight=False)

    with runtime() as rt:
        report = rt.cases.import_folder(principal_for(None, None, rt), folder, progress)
    if as_json:
        print_json(report.to_json())
    else:
        out.print(f"Übernommen: {len(report.imported)}, bereits vorhanden: {len(report.skipped)}, "
                  f"nicht lesbar: {len(report.failed)} (von {report.total}).")
        for failure in report.failed:
            out.print(f"   [red]nicht übernommen:[/] {escape(failure['source'])} – {escape(failure['reason'])}")
    if report.failed:
        raise typer.Exit(3)


@cases_app.command("list")
@handled
def list_cases_command(
    unit: Annotated[str | None, typer.Option("--unit", help="Nur die Arbeitsliste dieser Stelle (ID).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="neu, entwurf, bearbeitet, angenommen, "
                                               "verworfen.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Die Vorgänge (Anfragen) mit Zuordnung und Status, neueste zuerst."""
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        rows = rt.cases.store.list(principal_for(None, None, rt), unit=unit, status=status)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("Keine Vorgänge.")
        return
    table = Table()
    for column in ("ID", "Eingang", "Betreff", "Leistung", "Stelle", "Status"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], (r["received_at"] or r["created_at"] or "")[:10], escape(r["subject"][:50]),
                      escape(r["service_id"] or "– (bitte zuordnen)"), escape(r["unit_id"] or "–"), r["status"])
    out.print(table)


@cases_app.command("show")
@handled
def show_case_command(case_id: CaseId, as_json: JsonFlag = False) -> None:
    """Einen Vorgang mit Anfrage, Zuordnung, Entwurf und Verlauf zeigen."""
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        case = rt.cases.store.get(principal_for(None, None, rt), case_id)
    if as_json:
        print_json(case)
        return
    out.print(f"[bold]{escape(case['subject'] or case['source_name'])}[/] ({case['status']})")
    out.print(f"Von: {escape(case['sender'])}   Leistung: {escape(case['service_id'] or '–')}   "
              f"Stelle: {escape(case['unit_id'] or '–')}")
    out.print(escape(case["body"]), highlight=False)
    if case["draft"]:
        out.print("\n[bold]Antwortentwurf[/]")
        out.print(escape(case["draft"]), highlight=False)


@cases_app.command("draft")
@handled
def draft_case_command(
    case_id: CaseId,
    generate: Annotated[bool | None, typer.Option("--generate/--template", help="Mit Sprachmodell (Standard, wenn "
                                                  "eines eingerichtet ist) oder nur aus Vorlage und Fundstellen.")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Einen Antwortentwurf schreiben (mit Quellen; personenbezogene Daten sieht kein Modell)."""
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        draft = rt.cases.draft(principal_for(None, None, rt), case_id, generate=generate)
    if as_json:
        print_json({"id": case_id, "draft": draft.text, **draft.meta()})
        return
    out.print(escape(draft.text), highlight=False)
    for notice in draft.notices:
        out.print(f"[yellow]Hinweis:[/] {escape(notice)}")
    if draft.blocks:
        out.print("Passende Textbausteine: " + ", ".join(escape(b["id"]) for b in draft.blocks))


def _decide(case_id: str, decision: str) -> None:
    from kreiswissen.cli import out, principal_for, runtime

    with runtime() as rt:
        rt.cases.store.decide(principal_for(None, None, rt), case_id, decision)
    out.print(f"Vorgang {case_id}: {decision}.")


@cases_app.command("accept")
@handled
def accept_command(case_id: CaseId) -> None:
    """Den Entwurf übernehmen (Kreiswissen versendet nichts)."""
    _decide(case_id, "angenommen")


@cases_app.command("discard")
@handled
def discard_command(case_id: CaseId) -> None:
    """Den Entwurf verwerfen."""
    _decide(case_id, "verworfen")


@cases_app.command("reroute")
@handled
def reroute_command(case_id: CaseId,
                    service: Annotated[str, typer.Argument(metavar="LEISTUNG", help="ID der Leistung.")]) -> None:
    """Einen Vorgang von Hand einer anderen Leistung (und damit Stelle) zuordnen."""
    from kreiswissen.cli import out, principal_for, runtime

    with runtime() as rt:
        principal = principal_for(None, None, rt)
        rt.cases.store.reroute(principal, case_id, rt.cases.catalogue(principal), service)
    out.print(f"Vorgang {case_id} → {escape(service)}.")


@cases_app.command("export")
@handled
def export_case_command(
    case_id: CaseId,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Zieldatei (Standard: "
                                                "antwort-<ID>.docx).")] = None,
) -> None:
    """Den Antwortentwurf als DOCX-Brief exportieren."""
    from kreiswissen.cases.export import to_docx
    from kreiswissen.cli import out, principal_for, runtime

    path = output or Path(f"antwort-{case_id}.docx")
    with runtime() as rt:
        principal = principal_for(None, None, rt)
        case = rt.cases.store.get(principal, case_id)
        to_docx(case, path, owner=rt.cases.catalogue(principal).owner)
        rt.cases.store.record(principal, case_id, "export", {"format": "docx"})
    out.print(f"Exportiert: {escape(str(path))}")


@cases_app.command("failures")
@handled
def failures_command(as_json: JsonFlag = False) -> None:
    """Nachrichten, die beim Import nicht gelesen werden konnten, mit Grund."""
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        rows = rt.cases.store.failures(principal_for(None, None, rt))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{escape(r['source'])}: {escape(r['reason'])} ({r['at'][:16]})")
    if not rows:
        out.print("Keine.")


@cases_app.command("checklist")
@handled
def checklist_command(service: Annotated[str, typer.Argument(metavar="LEISTUNG", help="ID der Leistung.")],
                      as_json: JsonFlag = False) -> None:
    """Unterlagen, Gebühren und Fristen einer Leistung, jeweils mit Quelle (Katalog und Vorschriften)."""
    from kreiswissen.cases.checklist import KIND_LABELS, checklist
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        principal = principal_for(None, None, rt)
        result = checklist(rt.cases.catalogue(principal), service, lambda q: rt.search(q, principal, top_k=6))
    if as_json:
        print_json(result)
        return
    out.print(f"[bold]{escape(result['service_name'])}[/] – {escape(result['unit_name'])}")
    for kind, label in KIND_LABELS.items():
        items = [i for i in result["items"] if i["kind"] == kind]
        if items:
            out.print(f"[bold]{label}[/]")
        for i in items:
            src = i["source"]
            where = src["title"] + (f", {src['section']}" if src.get("section") and src["kind"] == "dokument" else "")
            out.print(f"  • {escape(i['text'])}  [dim]({escape(where)})[/]", highlight=False)


@blocks_app.command("import")
@handled
def blocks_import_command(path: Annotated[Path, typer.Argument(metavar="DATEI", help="Textbausteine als YAML.")],
                          as_json: JsonFlag = False) -> None:
    """Die Textbaustein-Bibliothek übernehmen (ersetzt die bisherige; Sie werden als Freigebende vermerkt)."""
    from kreiswissen.cases.blocks import read_blocks, store_blocks
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        principal = principal_for(None, None, rt)
        catalogue = rt.cases.catalogue(principal)
        blocks = read_blocks(path, set(catalogue.services) if catalogue.services else None)
        store_blocks(rt.db, principal, blocks)
        rt.audit.record(principal.name, "cases.blocks", {"file": path.name, "blocks": len(blocks)})
    if as_json:
        print_json({"blocks": len(blocks)})
        return
    out.print(f"Textbausteine übernommen: {len(blocks)}.")


@blocks_app.command("list")
@handled
def blocks_list_command(as_json: JsonFlag = False) -> None:
    """Die freigegebenen Textbausteine."""
    from kreiswissen.cases.blocks import load_blocks
    from kreiswissen.cli import out, principal_for, print_json, runtime

    with runtime() as rt:
        blocks = load_blocks(rt.db, principal_for(None, None, rt))
    if as_json:
        print_json([b.to_json() for b in blocks])
        return
    for b in blocks:
        services = f" – {', '.join(b.services)}" if b.services else ""
        out.print(f"{escape(b.id)} ({b.kind}): {escape(b.title)}{services}")
    if not blocks:
        out.print("Keine Textbausteine ('kreiswissen cases blocks import DATEI').")


def _read(path: Path) -> str:
    from kreiswissen.text.encoding import decode_text

    if not path.is_file():
        raise InputError(f"{path} not found", user_message=f"Datei '{path}': nicht gefunden.")
    return decode_text(path.read_bytes())[0]


__all__ = ["cases_app"]
