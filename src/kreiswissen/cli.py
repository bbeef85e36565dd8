"""Command-line interface. Thin: parse options, build a Principal, call one service, render.

Without ``--as-group`` commands act as the local operator (who sees everything); with it, as a user in
exactly those groups (plus ``alle``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kreiswissen import __version__
from kreiswissen.errors import InputError, KreiswissenError
from kreiswissen.ingest.pipeline import Status
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import SearchFilters
from kreiswissen.security.principal import Principal

app = typer.Typer(help="Kreiswissen – Wissensassistent für Kreis- und Gemeindeverwaltungen.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Datenbank (eingebettet oder extern).", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

AsGroup = Annotated[list[str] | None, typer.Option("--as-group", help="Als Benutzer mit genau diesen Gruppen "
                                                   "handeln (mehrfach angebbar).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Ausgabe als JSON.")]


def handle_errors(func: F) -> F:
    """The one place where errors become German messages and exit codes."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KreiswissenError as exc:
            err.print(f"[bold red]Fehler:[/] {escape(exc.user_message)}")
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt:
            err.print("Abgebrochen.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def runtime() -> Iterator[Runtime]:
    rt = Runtime.open()
    try:
        yield rt
    finally:
        rt.close()


def principal_for(as_group: list[str] | None) -> Principal:
    if as_group:
        return Principal.with_groups(as_group)
    return Principal.local_operator()


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"bad date for {name}: {value}",
                         user_message=f"Ungültiges Datum für {name}: {value!r} (erwartet JJJJ-MM-TT).") from None


def _within_document(section: str | None, title: str) -> str:
    """The section path without the document title it starts with ("§ 5 Steuersatz")."""
    if not section:
        return ""
    prefix = title + " › "
    return section[len(prefix):] if section.startswith(prefix) else ("" if section == title else section)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
@handle_errors
def version() -> None:
    """Version anzeigen."""
    out.print(f"kreiswissen {__version__}")


@app.command()
@handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Dateien oder Verzeichnisse (rekursiv).")],
    group: Annotated[list[str] | None, typer.Option("--group", "-g", help="Zugriffsgruppe (mehrfach). Ohne "
                                                    "Angabe: lesbar für alle.")] = None,
    department: Annotated[str | None, typer.Option("--department", "-d", help="Zuständiger Fachdienst.")] = None,
    as_group: AsGroup = None,
    as_json: JsonFlag = False,
) -> None:
    """Dokumente einlesen (PDF, Scans, DOCX, ODT, HTML, Markdown, TXT, E-Mail, XLSX/ODS)."""
    principal = principal_for(as_group)
    with runtime() as rt:
        ingestor = rt.ingestor
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True, disable=as_json) as progress:
            task = progress.add_task("Einlesen", total=None)

            def tick(result: Any) -> None:
                progress.update(task, advance=1, description=f"Einlesen: {Path(result.source).name[:40]}")
                if result.status == "failed":
                    progress.console.print(f"[red]✗[/] {escape(result.error or '')}")

            report = ingestor.ingest(paths, principal, group, department, progress=tick)
    if as_json:
        print_json({"files": [r.__dict__ for r in report.results],
                    "summary": {s: report.count(s) for s in ("added", "updated", "unchanged", "access_updated",
                                                             "failed")}})
    else:
        table = Table(title="Zusammenfassung", show_header=False)
        rows: list[tuple[str, Status]] = [("neu", "added"), ("aktualisiert", "updated"), ("unverändert", "unchanged"),
                                          ("Rechte geändert", "access_updated"), ("fehlgeschlagen", "failed")]
        for label, status in rows:
            table.add_row(label, str(report.count(status)))
        table.add_row("Abschnitte neu", str(report.chunks))
        out.print(table)
        for failed in report.failed:
            err.print(f"[red]✗[/] {escape(failed.error or failed.source)}")
    if report.failed:
        raise typer.Exit(1)


@app.command()
@handle_errors
def search(
    query: Annotated[str, typer.Argument(help="Suchanfrage.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100, help="Anzahl Treffer.")] = 10,
    as_group: AsGroup = None,
    as_json: JsonFlag = False,
    mode: Annotated[str, typer.Option(help="hybrid, lexical oder dense.")] = "hybrid",
    department: Annotated[str | None, typer.Option(help="Nur dieser Fachdienst.")] = None,
    municipality: Annotated[str | None, typer.Option(help="Nur diese Gemeinde.")] = None,
    doc_type: Annotated[str | None, typer.Option("--doc-type", help="Dokumenttyp, z. B. satzung oder pdf.")] = None,
    date_from: Annotated[str | None, typer.Option("--date-from", help="Stand ab (JJJJ-MM-TT).")] = None,
    date_to: Annotated[str | None, typer.Option("--date-to", help="Stand bis (JJJJ-MM-TT).")] = None,
) -> None:
    """Hybride Suche (Volltext + Bedeutung) in den freigegebenen Dokumenten."""
    if mode not in ("hybrid", "lexical", "dense"):
        raise InputError(f"bad mode {mode}", user_message="--mode muss hybrid, lexical oder dense sein.")
    filters = SearchFilters(department=department, municipality=municipality, doc_type=doc_type,
                            date_from=_date(date_from, "--date-from"), date_to=_date(date_to, "--date-to"))
    with runtime() as rt:
        result = rt.searcher.search(query, principal_for(as_group), top_k=top_k, mode=mode,  # type: ignore[arg-type]
                                    filters=filters)
    if as_json:
        print_json({"query": result.query, "results": [h.to_json() for h in result.hits]})
        return
    if not result.hits:
        out.print("Keine Treffer in den freigegebenen Dokumenten.")
        return
    for hit in result.hits:
        page = f", S. {hit.chunk.page}" if hit.chunk.page else ""
        out.print(f"[bold]{hit.rank}.[/] [cyan]{escape(hit.document.title)}[/]{page}  [dim]{hit.score:.4f}[/]")
        if where := _within_document(hit.chunk.section, hit.document.title):
            out.print(f"   [dim]{escape(where)}[/]")
        snippet = " ".join(hit.chunk.text.split())
        out.print(f"   {escape(snippet[:300])}{'…' if len(snippet) > 300 else ''}")
        out.print(f"   [dim]{escape(hit.document.source)}[/]")


@app.command()
@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="Frage in natürlicher Sprache.")],
    as_group: AsGroup = None,
    as_json: JsonFlag = False,
) -> None:
    """Frage beantworten – mit wörtlichen Zitaten und Quellen."""
    with runtime() as rt:
        answer = rt.answerer.ask(question, principal_for(as_group))
    if as_json:
        print_json(answer.to_json())
        return
    out.print(escape(answer.answer))
    if answer.citations:
        out.print("\n[bold]Quellen[/]")
        for c in answer.citations:
            page = f", S. {c.chunk.page}" if c.chunk.page else ""
            where = _within_document(c.chunk.section, c.document.title)
            out.print(f" [{c.rank}] {escape(c.document.title)}{' – ' + escape(where) if where else ''}{page}\n"
                      f"     [dim]{escape(c.document.source)}[/]")


@app.command()
@handle_errors
def delete(
    source: Annotated[str, typer.Argument(help="Quelle (Pfad wie beim Einlesen oder URI).")],
    as_group: AsGroup = None,
) -> None:
    """Ein Dokument mit allen Versionen löschen."""
    from kreiswissen.ingest.service import delete_source

    with runtime() as rt:
        removed = delete_source(rt.db, source, principal_for(as_group))
    out.print(f"Gelöscht: {escape(source)} ({removed} Version(en)).")


@app.command("documents")
@handle_errors
def list_documents(as_group: AsGroup = None, as_json: JsonFlag = False) -> None:
    """Die lesbaren Dokumente auflisten."""
    from kreiswissen.ingest.service import list_documents as service

    with runtime() as rt:
        docs = service(rt.db, principal_for(as_group))
    if as_json:
        print_json({"documents": docs})
        return
    table = Table("Titel", "Quelle", "Version", "Abschnitte", "Gruppen")
    for d in docs:
        table.add_row(escape(d["title"]), escape(d["source"]), str(d["version"]), str(d["chunks"]),
                      ", ".join(d["access_groups"]))
    out.print(table)


@db_app.command("url")
@handle_errors
def db_url() -> None:
    """Verbindungs-URL der Anwendung ausgeben (für den Betrieb)."""
    from kreiswissen.config import get_settings
    from kreiswissen.db.database import resolve

    info = resolve(get_settings())
    sys.stdout.write(info.app_url + "\n")


@db_app.command("stop")
@handle_errors
def db_stop() -> None:
    """Die eingebettete Datenbank sauber beenden."""
    from kreiswissen.config import get_settings
    from kreiswissen.db.embedded import stop_embedded

    stopped = stop_embedded(get_settings().db_dir)
    out.print("Datenbank beendet." if stopped else "Die eingebettete Datenbank lief nicht.")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
