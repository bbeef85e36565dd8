"""``kreiswissen minutes …``: Niederschriften entwerfen, bearbeiten, genehmigen und exportieren.

Registered in cli.py with ``app.add_typer(minutes_app, name="minutes")``. The shared CLI helpers are imported
from ``kreiswissen.cli`` when a command runs, because cli.py imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kreiswissen.cli_support import JsonFlag, acting_principal, handled
from kreiswissen.errors import InputError
from kreiswissen.minutes.store import AUDIO_SUFFIXES, STATUS_LABELS, AgendaEntry

minutes_app = typer.Typer(
    help="Niederschriften: Entwurf aus Aufnahme oder Wortprotokoll, Bearbeitung, Genehmigung durch die "
    "Protokollführung, Export (DOCX, ODT, PDF) und Übernahme in den Wissensbestand.",
    no_args_is_help=True)

AsUser = Annotated[str | None, typer.Option("--as-user", help="Als dieser Benutzer handeln (ohne Angabe: als "
                                            "Betreiber).")]
MinutesId = Annotated[str, typer.Argument(help="ID der Niederschrift (siehe 'minutes list').")]


@minutes_app.command("draft")
@handled
def draft_command(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Aufnahme (WAV, MP3, M4A, OGG, WebM) oder "
                                               "Wortprotokoll (VTT, SRT, Text, DOCX, Bundestag-XML).")],
    agenda: Annotated[Path | None, typer.Option("--agenda", help="Tagesordnung (Text oder DOCX, Zeilen wie "
                                                "„TOP 1: Titel“; „nichtöffentlich“ markiert).")] = None,
    oparl_meeting: Annotated[str | None, typer.Option(
        "--oparl-meeting", help="Tagesordnung einer mit 'oparl sync' abgeglichenen Sitzung (ID aus "
        "'oparl meetings').")] = None,
    nonpublic_group: Annotated[list[str] | None, typer.Option(
        "--nonpublic-group", help="Gruppe, die die nichtöffentlichen TOPs lesen darf (mehrfach).")] = None,
    as_user: AsUser = None,
    as_json: JsonFlag = False,
) -> None:
    """Einen Entwurf der Niederschrift anlegen und speichern."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kreiswissen.cli import err, out, print_json, runtime

    if agenda is not None and oparl_meeting is not None:
        raise InputError("--agenda and --oparl-meeting", user_message="Bitte entweder --agenda oder "
                         "--oparl-meeting angeben, nicht beides.")
    with runtime() as rt:
        principal = acting_principal(rt, as_user)
        entries: Path | list[AgendaEntry] | None = agenda
        meeting = None
        if oparl_meeting is not None:
            from kreiswissen.minutes.oparl import meeting_agenda

            meeting, entries = meeting_agenda(rt, oparl_meeting)
        if input_path.suffix.lower() in AUDIO_SUFFIXES and not as_json:
            with Progress(TextColumn("Transkription"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                          TimeElapsedColumn(), console=err) as bar:
                task = bar.add_task("audio", total=1.0)
                minutes_id = rt.minutes.create_draft(principal, input_path, entries, meeting=meeting,
                                                     nonpublic_groups=nonpublic_group,
                                                     progress=lambda f: bar.update(task, completed=f))
        else:
            minutes_id = rt.minutes.create_draft(principal, input_path, entries, meeting=meeting,
                                                 nonpublic_groups=nonpublic_group)
        content = rt.minutes.get(principal, minutes_id)["content"]
    if as_json:
        print_json({"id": minutes_id, **content})
        return
    items = content["agenda_items"]
    votes = sum(len(i["votes"]) for i in items)
    out.print(f"Entwurf {minutes_id} angelegt: {len(items)} TOPs, {votes} Abstimmungen, "
              f"{sum(1 for i in items if not i['public'])} nichtöffentlich.")


@minutes_app.command("list")
@handled
def list_command(as_user: AsUser = None, as_json: JsonFlag = False) -> None:
    """Gespeicherte Niederschriften auflisten, zuletzt geänderte zuerst."""
    from kreiswissen.cli import out, print_json, runtime

    with runtime() as rt:
        rows = rt.minutes.list(acting_principal(rt, as_user))
    if as_json:
        print_json({"minutes": rows})
        return
    if not rows:
        out.print("Keine Niederschriften gespeichert.")
        return
    table = Table()
    for column in ("ID", "Status", "Gremium", "Sitzung", "Datum", "Protokollführung", "geändert"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], STATUS_LABELS.get(r["status"], r["status"]), escape(r["body"] or "–"),
                      escape(r["session"] or "–"), r["meeting_date"] or "–", escape(r["owner"]),
                      (r["updated_at"] or "")[:16].replace("T", " "))
    out.print(table)


@minutes_app.command("show")
@handled
def show_command(minutes_id: MinutesId, as_user: AsUser = None, as_json: JsonFlag = False) -> None:
    """Eine Niederschrift mit TOPs, Abstimmungen und Verlauf anzeigen."""
    from kreiswissen.cli import out, print_json, runtime

    with runtime() as rt:
        record = rt.minutes.get(acting_principal(rt, as_user), minutes_id)
    if as_json:
        print_json(record)
        return
    out.print(f"[bold]{escape(record['title'] or 'Niederschrift')}[/]  [dim]{record['id']} · "
              f"{STATUS_LABELS.get(record['status'], record['status'])} · {escape(record['owner'])}[/]")
    for item in record["content"]["agenda_items"]:
        label = f"TOP {item['number']}" if item["number"] else "TOP"
        flag = "" if item["public"] else " [yellow](nichtöffentlich)[/]"
        out.print(f"\n[bold]{escape(label)}: {escape(item['title'])}[/]{flag}")
        for vote in item["votes"]:
            out.print(f"   {escape(vote['outcome'])}: „{escape(vote['text'])}“")
    out.print("\n[bold]Verlauf[/]")
    for event in record["events"]:
        out.print(f"   {(event['at'] or '')[:16].replace('T', ' ')}  {escape(event['actor'])}: {event['action']}")


@minutes_app.command("edit")
@handled
def edit_command(
    minutes_id: MinutesId,
    set_: Annotated[list[str], typer.Option("--set", help="FELD=WERT, mehrfach: Kopfdaten (place, chair, "
                                            "minute_taker, …), Anwesenheit (present=Name, Name), "
                                            "top.<Nummer>.title|public|summary.")],
    as_user: AsUser = None,
) -> None:
    """Einen Entwurf bearbeiten (Abstimmungsergebnisse und Beschlusstexte bleiben wörtlich)."""
    from kreiswissen.cli import out, runtime

    changes: dict[str, str] = {}
    for pair in set_:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad --set {pair}", user_message=f"„{pair}“: erwartet FELD=WERT.")
        changes[key.strip()] = value
    with runtime() as rt:
        done = rt.minutes.edit(acting_principal(rt, as_user), minutes_id, changes)
    out.print(f"Niederschrift {escape(minutes_id)} bearbeitet: {escape(', '.join(done))}.")


@minutes_app.command("approve")
@handled
def approve_command(minutes_id: MinutesId, as_user: AsUser = None, as_json: JsonFlag = False) -> None:
    """Genehmigen (Protokollführung) und in den Wissensbestand übernehmen: öffentliche TOPs für alle,
    nichtöffentliche nur für die berechtigten Gruppen."""
    from kreiswissen.cli import out, print_json, runtime

    with runtime() as rt:
        result = rt.minutes.approve(acting_principal(rt, as_user), minutes_id)
    if as_json:
        print_json(result)
        return
    groups = ", ".join(result["nonpublic_groups"])
    out.print(f"Niederschrift {result['id']} genehmigt und in den Wissensbestand übernommen"
              + (f" (nichtöffentlicher Teil nur für: {escape(groups)})." if groups else "."))


@minutes_app.command("export")
@handled
def export_command(
    minutes_id: MinutesId,
    fmt: Annotated[str, typer.Option("--format", help="docx, odt oder pdf.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Zieldatei (Standard: "
                                                "niederschrift-<ID>.<Format> im aktuellen Verzeichnis).")] = None,
    public_only: Annotated[bool, typer.Option("--public-only", help="Nur öffentliche TOPs (für die "
                                              "Veröffentlichung).")] = False,
    as_user: AsUser = None,
) -> None:
    """Als DOCX, ODT oder PDF exportieren."""
    from kreiswissen.cli import out, runtime

    path = output or Path(f"niederschrift-{minutes_id}.{fmt.lower()}")
    with runtime() as rt:
        principal = acting_principal(rt, as_user)
        record = rt.minutes.get(principal, minutes_id)
        include = not public_only and rt.minutes.entitled(principal, record)
        written = rt.minutes.export(principal, minutes_id, fmt, path, include_nonpublic=include)
    out.print(f"Exportiert: {escape(str(written))}" + ("" if include else " (ohne nichtöffentliche TOPs)"))


@minutes_app.command("summarize")
@handled
def summarize_command(
    minutes_id: MinutesId,
    item: Annotated[str | None, typer.Option("--top", help="Nur diesen TOP (Nummer).")] = None,
    as_user: AsUser = None,
    as_json: JsonFlag = False,
) -> None:
    """Zusammenfassungen der Aussprache vom Sprachmodell erzeugen (belegt, als KI-generiert gekennzeichnet)."""
    from kreiswissen.cli import out, print_json, runtime
    from kreiswissen.errors import BackendUnavailable

    with runtime() as rt:
        generator = rt.generator
        if generator is None:
            raise BackendUnavailable("no llm configured", user_message="Kein Sprachmodell eingerichtet "
                                     "(KREISWISSEN_LLM_BACKEND); die Zusammenfassungen bleiben Auszüge aus dem "
                                     "Wortprotokoll.")
        embedder = rt.embedder
        result = rt.minutes.summarize(acting_principal(rt, as_user), minutes_id, generator,
                                      lambda xs: embedder.embed_passages(list(xs)), item=item)
    if as_json:
        print_json(result)
        return
    out.print(f"KI-Zusammenfassung erzeugt für: {escape(', '.join(result['generated']) or '–')}")
    for key, reason in result["kept"].items():
        out.print(f"[yellow]Unverändert[/] {escape(key)}: {escape(reason)}")


@minutes_app.command("delete")
@handled
def delete_command(minutes_id: MinutesId, as_user: AsUser = None) -> None:
    """Einen gespeicherten Entwurf mit Verlauf löschen (übernommene Dokumente bleiben in der Bibliothek)."""
    from kreiswissen.cli import out, runtime

    with runtime() as rt:
        rt.minutes.delete(acting_principal(rt, as_user), minutes_id)
    out.print(f"Niederschrift {escape(minutes_id)} gelöscht.")
