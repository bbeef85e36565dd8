"""Command-line interface. Thin: parse options, build a Principal, call one service, render.

Without ``--as-group`` commands act as the local operator (who sees everything); with it, as a user in
exactly those groups (plus ``alle``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
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
from kreiswissen.answer.extractive import AI_LABEL
from kreiswissen.cli_cases import cases_app
from kreiswissen.cli_conversations import conversations_app
from kreiswissen.cli_minutes import minutes_app
from kreiswissen.cli_oparl import oparl_app
from kreiswissen.errors import InputError, KreiswissenError, NotFound
from kreiswissen.ingest.pipeline import Status
from kreiswissen.runtime import Runtime
from kreiswissen.search.models import SearchFilters, section_within_document
from kreiswissen.security.input_policy import INPUT_NOTICE
from kreiswissen.security.policy import CLASSIFICATION_LABELS
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
AsUser = Annotated[str | None, typer.Option("--as-user", help="Als dieser Benutzer (mit seinen Gruppen) handeln.")]
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


def principal_for(as_group: list[str] | None, as_user: str | None = None, rt: Runtime | None = None) -> Principal:
    if as_user and as_group:
        raise InputError("--as-user and --as-group", user_message="Bitte entweder --as-user oder --as-group angeben.")
    if as_user:
        if rt is None:
            raise RuntimeError("as_user needs the runtime")
        return rt.identity.principal_for(as_user)
    if as_group:
        return Principal.with_groups(as_group)
    return replace(Principal.local_operator(), name=operator_actor())


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"bad date for {name}: {value}",
                         user_message=f"Ungültiges Datum für {name}: {value!r} (erwartet JJJJ-MM-TT).") from None


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
    classification: Annotated[str | None, typer.Option("--classification", "-c", help="Einstufung: öffentlich, "
                                                       "intern (Standard), vertraulich, personenbezogen "
                                                       "(wird pseudonymisiert indexiert).")] = None,
    as_user: AsUser = None,
) -> None:
    """Dokumente einlesen (PDF, Scans, DOCX, ODT, HTML, Markdown, TXT, E-Mail, XLSX/ODS)."""
    with runtime() as rt:
        principal = principal_for(as_group, as_user, rt)
        rt.ingestor  # noqa: B018  # load the model and migrate before the progress bar starts
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True, disable=as_json) as progress:
            task = progress.add_task("Einlesen", total=None)

            def tick(result: Any) -> None:
                progress.update(task, advance=1, description=f"Einlesen: {Path(result.source).name[:40]}")
                if result.status == "failed":
                    progress.console.print(f"[red]✗[/] {escape(result.error or '')}")

            report = rt.ingest(list(paths), principal, group, department, classification, progress=tick)
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
    as_user: AsUser = None,
) -> None:
    """Hybride Suche (Volltext + Bedeutung) in den freigegebenen Dokumenten."""
    if mode not in ("hybrid", "lexical", "dense"):
        raise InputError(f"bad mode {mode}", user_message="--mode muss hybrid, lexical oder dense sein.")
    filters = SearchFilters(department=department, municipality=municipality, doc_type=doc_type,
                            date_from=_date(date_from, "--date-from"), date_to=_date(date_to, "--date-to"))
    with runtime() as rt:
        principal = principal_for(as_group, as_user, rt)
        result = rt.search(query, principal, top_k=top_k, mode=mode, filters=filters)
    if as_json:
        print_json({"query": result.query, "results": [h.to_json() for h in result.hits]})
        return
    if not result.hits:
        out.print("Keine Treffer in den freigegebenen Dokumenten.")
        return
    for hit in result.hits:
        page = f", S. {hit.chunk.page}" if hit.chunk.page else ""
        out.print(f"[bold]{hit.rank}.[/] [cyan]{escape(hit.document.title)}[/]{page}  [dim]{hit.score:.4f}[/]")
        if where := section_within_document(hit.chunk.section, hit.document.title):
            out.print(f"   [dim]{escape(where)}[/]")
        snippet = " ".join(hit.chunk.text.split())
        out.print(f"   {escape(snippet[:300])}{'…' if len(snippet) > 300 else ''}")
        out.print(f"   [dim]{escape(hit.document.source)}[/]")


def _print_citations(citations: list[Any]) -> None:
    if citations:
        out.print("\n[bold]Quellen[/]")
        for c in citations:
            page = f", S. {c.chunk.page}" if c.chunk.page else ""
            where = section_within_document(c.chunk.section, c.document.title)
            out.print(f" [{c.rank}] {escape(c.document.title)}{' – ' + escape(where) if where else ''}{page}\n"
                      f"     [dim]{escape(c.document.source)}[/]")


def _print_notices(notices: list[str], unsupported: list[dict[str, str]] | None = None) -> None:
    for notice in notices:
        err.print(f"[yellow]Hinweis:[/] {escape(notice)}")
    for item in unsupported or []:
        err.print(f"[dim]  ohne Beleg ({escape(item['reason'])}): {escape(item['sentence'])}[/]")


@app.command(epilog=INPUT_NOTICE)
@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="Frage in natürlicher Sprache.")],
    as_group: AsGroup = None,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
    extractive: Annotated[bool, typer.Option("--extractive", help="Ohne Sprachmodell antworten (wörtliche "
                                             "Zitate), auch wenn eines konfiguriert ist.")] = False,
    conversation: Annotated[str | None, typer.Option("--conversation", help="Folgefrage in diesem Gespräch "
                                                     "(ID aus einer früheren Antwort).")] = None,
    new_conversation: Annotated[bool, typer.Option("--new-conversation", help="Ein neues Gespräch beginnen "
                                                   "(Folgefragen mit --conversation ID).")] = False,
) -> None:
    """Frage beantworten – mit Quellenangaben; mit Sprachmodell formuliert, sonst wörtliche Zitate."""
    with runtime() as rt:
        principal = principal_for(as_group, as_user, rt)
        # A model on a CPU server may take many seconds: show that it is writing (the checked text follows).
        with err.status("Suche in den freigegebenen Dokumenten …", spinner="dots") as status:
            written: list[int] = [0]

            def progress(piece: str) -> None:
                written[0] += len(piece)
                status.update(f"Das Sprachmodell formuliert die Antwort … ({written[0]} Zeichen)")

            on_token = None if as_json else progress
            if conversation or new_conversation:
                answer = rt.ask_in_conversation(question, principal, conversation, extractive=extractive,
                                                on_token=on_token)
            else:
                answer = rt.ask(question, principal, extractive=extractive, on_token=on_token)
    if as_json:
        print_json(answer.to_json())
        return
    if answer.ai_generated:
        out.print(f"[bold magenta]KI-generiert[/] [dim]{escape(AI_LABEL)}[/]\n")
    if answer.standalone_question and answer.standalone_question != answer.question:
        err.print(f"[dim]Verstanden als: {escape(answer.standalone_question)}[/]")
    out.print(escape(answer.answer))
    _print_citations(answer.citations)
    _print_notices(answer.notices, answer.unsupported)
    if answer.conversation_id:
        err.print(f"[dim]Gespräch {answer.conversation_id} – Folgefrage: kreiswissen ask \"…\" "
                  f"--conversation {answer.conversation_id}[/]")


@app.command()
@handle_errors
def summarize(
    source: Annotated[str, typer.Argument(help="Quelle des Dokuments (Pfad wie beim Einlesen oder URI).")],
    as_group: AsGroup = None,
    as_user: AsUser = None,
    as_json: JsonFlag = False,
    extractive: Annotated[bool, typer.Option("--extractive", help="Ohne Sprachmodell (wichtigste Sätze).")] = False,
) -> None:
    """Ein Dokument zusammenfassen – mit Quellenangaben zu seinen Abschnitten."""
    with runtime() as rt:
        summary = rt.summarize(source, principal_for(as_group, as_user, rt), extractive=extractive)
    if as_json:
        print_json(summary.to_json())
        return
    if summary.mode == "generated":
        out.print(f"[bold magenta]KI-generiert[/] [dim]{escape(AI_LABEL)}[/]\n")
    out.print(f"[bold]{escape(summary.title)}[/]\n")
    out.print(escape(summary.summary))
    _print_citations(summary.citations)
    _print_notices(summary.notices, summary.unsupported)


@app.command()
@handle_errors
def doctor(as_json: JsonFlag = False) -> None:
    """Zeigen, welche Dienste konfiguriert und erreichbar sind (Datenbank, Modelle, OCR, Anmeldung)."""
    from kreiswissen.admin.doctor import run_checks

    with runtime() as rt:
        checks = run_checks(rt)
    failed = [c for c in checks if c.status == "fehler"]
    if as_json:
        print_json({"ok": not failed, "checks": [c.to_json() for c in checks]})
    else:
        table = Table("Dienst", "Status", "Details", "ms")
        colour = {"ok": "green", "fehler": "red", "aus": "dim"}
        for c in checks:
            table.add_row(c.name, f"[{colour[c.status]}]{c.status}[/]", escape(c.detail), f"{c.ms:.0f}")
        out.print(table)
    if failed:
        raise typer.Exit(5)


DEMO_USER = "demo"
DEMO_PASSWORD = "Landkreis-Wissen-2026"


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Adresse, an der der Server lauscht.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Anzahl Prozesse (teilen sich die Datenbank).")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Vorführkonto 'demo' mit allen Rollen anlegen (Passwort "
                                       "wird angezeigt). Nur zum Ausprobieren, nie im Betrieb.")] = False,
) -> None:
    """Die Weboberfläche und die Schnittstellen starten (Seiten unter /, REST-API unter /api/v1,
    OpenAI-kompatibel unter /v1, API-Dokumentation unter /api/docs)."""
    import os

    import uvicorn

    # Many requests at once: each embeds its question in one thread. The models' default (a thread per core,
    # OpenMP threads spinning while they wait) makes concurrent requests fight for the cores: measured 280 ms
    # of CPU per request instead of 41 ms under 50 users. An explicit KREISWISSEN_THREADS still wins.
    os.environ.setdefault("KREISWISSEN_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from kreiswissen.config import get_settings

    get_settings.cache_clear()

    if demo:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise InputError("demo on a public address", user_message="Das Vorführkonto gibt es nur, wenn der "
                             "Server lokal lauscht (--host 127.0.0.1).")
        with runtime() as rt:
            _demo_account(rt)
    err.print(f"Kreiswissen läuft unter [bold]http://{host}:{port}/[/] (API-Dokumentation: /api/docs). "
              "Beenden mit Strg+C.")
    if demo:
        err.print(f"Anmelden mit Benutzername [bold]{DEMO_USER}[/] und Passwort [bold]{DEMO_PASSWORD}[/].")
    uvicorn.run("kreiswissen.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, server_header=False, log_level="warning")


def _demo_account(rt: Runtime) -> None:
    """The demonstration account: every role, the sample groups, the known password (reset on each start)."""
    actor = operator_actor()
    groups = ["bauamt", "ordnungsamt", rt.settings.cases_intake_group]  # the intake group sees every request
    for group in groups:
        if group not in {g[0] for g in rt.identity.list_groups()}:
            rt.identity.add_group(actor, group)
    roles = ["leser", "redakteur", "ki-manager", "administrator", "datenschutz"]
    try:
        rt.identity.get_user(DEMO_USER)
    except NotFound:
        rt.identity.add_user(actor, DEMO_USER, groups, password=DEMO_PASSWORD, roles=roles,
                             display_name="Demo-Konto")
        return
    rt.identity.set_roles(actor, DEMO_USER, roles)
    rt.identity.set_groups(actor, DEMO_USER, groups)
    rt.identity.set_password(actor, DEMO_USER, DEMO_PASSWORD)
    rt.identity.set_disabled(actor, DEMO_USER, False)


@app.command()
@handle_errors
def worker(
    name: Annotated[str | None, typer.Option("--name", help="Name dieses Prozesses in der Auftragsliste (Vorgabe: "
                                             "Rechnername:Prozessnummer).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Nur die wartenden Aufträge abarbeiten, dann beenden.")] = False,
) -> None:
    """Hochgeladene Dateien aus der Warteschlange einlesen, bis Strg+C gedrückt wird.

    Beliebig viele Worker (auch auf anderen Rechnern) können sich eine Datenbank teilen; jeder Auftrag wird
    genau einmal bearbeitet. Ein abgebrochener Auftrag wird nach Ablauf der Sperrfrist erneut bearbeitet."""
    import logging

    from kreiswissen.ingest.jobs import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with runtime() as rt:
        rt.ingestor  # noqa: B018  # load the model and migrate before the first job
        job_worker = Worker(rt.jobs, name)
        if once:
            count = job_worker.drain()
            out.print(f"Aufträge bearbeitet: {count}")
            return
        err.print(f"Worker {escape(job_worker.name)} läuft. Beenden mit Strg+C.")
        job_worker.start()
        try:
            while job_worker.running:
                job_worker.join(0.5)
        except KeyboardInterrupt:
            err.print("Wird beendet, sobald der laufende Auftrag fertig ist (sofort: noch einmal Strg+C) …")
            job_worker.stop(timeout=3600)
        err.print(f"Worker beendet ({job_worker.processed} Aufträge bearbeitet).")


@app.command()
@handle_errors
def delete(
    source: Annotated[str, typer.Argument(help="Quelle (Pfad wie beim Einlesen oder URI).")],
    as_group: AsGroup = None,
    as_user: AsUser = None,
) -> None:
    """Ein Dokument mit allen Versionen löschen."""

    with runtime() as rt:
        principal = principal_for(as_group, as_user, rt)
        removed = rt.delete(source, principal)
    out.print(f"Gelöscht: {escape(source)} ({removed} Version(en)).")


@app.command("documents")
@handle_errors
def list_documents(as_group: AsGroup = None, as_json: JsonFlag = False, as_user: AsUser = None) -> None:
    """Die lesbaren Dokumente auflisten."""
    from kreiswissen.ingest.service import list_documents as service

    with runtime() as rt:
        docs = service(rt.db, principal_for(as_group, as_user, rt))
    if as_json:
        print_json({"documents": docs})
        return
    table = Table("Titel", "Quelle", "Version", "Abschnitte", "Gruppen", "Einstufung")
    for d in docs:
        table.add_row(escape(d["title"]), escape(d["source"]), str(d["version"]), str(d["chunks"]),
                      ", ".join(d["access_groups"]), CLASSIFICATION_LABELS.get(d["classification"], ""))
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


# -- identity and audit ------------------------------------------------------------------------------------
users_app = typer.Typer(help="Benutzer verwalten.", no_args_is_help=True)
groups_app = typer.Typer(help="Gruppen (Fachdienste, Ämter, Projektgruppen) verwalten.", no_args_is_help=True)
tokens_app = typer.Typer(help="API-Tokens verwalten.", no_args_is_help=True)
audit_app = typer.Typer(help="Protokoll (Audit-Log) prüfen und exportieren.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(groups_app, name="groups")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
dsgvo_app = typer.Typer(help="Betroffenenrechte nach DSGVO (Auskunft, Löschung).", no_args_is_help=True)
app.add_typer(dsgvo_app, name="dsgvo")
ReasonOpt = Annotated[str, typer.Option("--reason", help="Anlass (Pflicht; wird protokolliert).")]

GroupOpt = Annotated[list[str] | None, typer.Option("--group", "-g", help="Gruppe (mehrfach).")]
RoleOpt = Annotated[list[str] | None, typer.Option("--role", "-r", help="Rolle: leser, redakteur, ki-manager, "
                                                   "administrator, datenschutz (mehrfach).")]


def operator_actor() -> str:
    """Who acts on the command line: the local operator, named by the OS account."""
    try:
        import pwd

        account = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        account = os.environ.get("USER") or os.environ.get("USERNAME") or "unbekannt"
    return f"operator:{account}"


def _read_password_stdin() -> str:
    data = sys.stdin.readline()
    password = data.rstrip("\r\n")
    if not password:
        raise InputError("empty password", user_message="Kein Passwort auf der Standardeingabe erhalten.")
    return password


def _user_row(u: Any) -> dict[str, Any]:
    return {"name": u.name, "display_name": u.display_name, "auth_source": u.auth_source, "roles": list(u.roles),
            "groups": list(u.groups), "disabled": u.disabled,
            "locked_until": u.locked_until.isoformat() if u.locked_until else None}


@users_app.command("add")
@handle_errors
def users_add(
    name: Annotated[str, typer.Argument(help="Benutzername (Kleinbuchstaben).")],
    group: GroupOpt = None,
    role: RoleOpt = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Passwort von der Standardeingabe "
                                                 "lesen (lokales Konto).")] = False,
    source: Annotated[str, typer.Option("--source", help="local, ldap oder oidc.")] = "local",
    display_name: Annotated[str, typer.Option("--display-name", help="Anzeigename.")] = "",
) -> None:
    """Benutzer anlegen."""
    if source not in ("local", "ldap", "oidc"):
        raise InputError(f"bad source {source}", user_message="--source muss local, ldap oder oidc sein.")
    password = _read_password_stdin() if password_stdin else None
    with runtime() as rt:
        user = rt.identity.add_user(operator_actor(), name, group or [], password, role, display_name, source)
    out.print(f"Benutzer '{escape(user.name)}' angelegt (Gruppen: {escape(', '.join(user.groups) or '–')}, "
              f"Rollen: {', '.join(user.roles)}).")


@users_app.command("list")
@handle_errors
def users_list(as_json: JsonFlag = False) -> None:
    """Benutzer auflisten."""
    with runtime() as rt:
        users = rt.identity.list_users()
    if as_json:
        print_json({"users": [_user_row(u) for u in users]})
        return
    table = Table("Name", "Anmeldung", "Rollen", "Gruppen", "Status")
    for u in users:
        table.add_row(escape(u.name), u.auth_source, ", ".join(u.roles), escape(", ".join(u.groups)),
                      "gesperrt" if u.disabled else "aktiv")
    out.print(table)


@users_app.command("disable")
@handle_errors
def users_disable(name: Annotated[str, typer.Argument(help="Benutzername.")]) -> None:
    """Benutzer sperren (seine API-Tokens werden widerrufen)."""
    with runtime() as rt:
        rt.identity.set_disabled(operator_actor(), name, True)
    out.print(f"Benutzer '{escape(name)}' gesperrt.")


@users_app.command("enable")
@handle_errors
def users_enable(name: Annotated[str, typer.Argument(help="Benutzername.")]) -> None:
    """Gesperrten Benutzer wieder freigeben."""
    with runtime() as rt:
        rt.identity.set_disabled(operator_actor(), name, False)
    out.print(f"Benutzer '{escape(name)}' freigegeben.")


@users_app.command("set-groups")
@handle_errors
def users_set_groups(name: Annotated[str, typer.Argument(help="Benutzername.")], group: GroupOpt = None) -> None:
    """Die Gruppen eines Benutzers ersetzen."""
    with runtime() as rt:
        user = rt.identity.set_groups(operator_actor(), name, group or [])
    out.print(f"Gruppen von '{escape(user.name)}': {escape(', '.join(user.groups) or '–')}.")


@users_app.command("set-roles")
@handle_errors
def users_set_roles(name: Annotated[str, typer.Argument(help="Benutzername.")], role: RoleOpt = None) -> None:
    """Die Rollen eines Benutzers ersetzen."""
    with runtime() as rt:
        user = rt.identity.set_roles(operator_actor(), name, role or [])
    out.print(f"Rollen von '{escape(user.name)}': {', '.join(user.roles)}.")


@users_app.command("set-password")
@handle_errors
def users_set_password(name: Annotated[str, typer.Argument(help="Benutzername.")]) -> None:
    """Neues Passwort setzen (von der Standardeingabe)."""
    password = _read_password_stdin()
    with runtime() as rt:
        rt.identity.set_password(operator_actor(), name, password)
    out.print(f"Passwort von '{escape(name)}' geändert.")


@groups_app.command("add")
@handle_errors
def groups_add(name: Annotated[str, typer.Argument(help="Gruppenname.")],
               description: Annotated[str, typer.Option("--description", help="Beschreibung.")] = "") -> None:
    """Gruppe anlegen."""
    with runtime() as rt:
        rt.identity.add_group(operator_actor(), name, description)
    out.print(f"Gruppe '{escape(name)}' angelegt.")


@groups_app.command("list")
@handle_errors
def groups_list(as_json: JsonFlag = False) -> None:
    """Gruppen auflisten."""
    with runtime() as rt:
        groups = rt.identity.list_groups()
    if as_json:
        print_json({"groups": [{"name": n, "description": d, "members": m} for n, d, m in groups]})
        return
    table = Table("Gruppe", "Beschreibung", "Mitglieder")
    for n, d, m in groups:
        table.add_row(escape(n), escape(d), str(m))
    out.print(table)


@groups_app.command("remove")
@handle_errors
def groups_remove(name: Annotated[str, typer.Argument(help="Gruppenname.")]) -> None:
    """Gruppe entfernen (Mitgliedschaften entfallen; Dokumentfreigaben bleiben unverändert)."""
    with runtime() as rt:
        rt.identity.remove_group(operator_actor(), name)
    out.print(f"Gruppe '{escape(name)}' entfernt.")


@tokens_app.command("create")
@handle_errors
def tokens_create(
    user: Annotated[str, typer.Argument(help="Benutzer, für den das Token gilt.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", "-s", help="search, ask, documents:read, "
                                                    "documents:write, admin (mehrfach).")] = None,
    days: Annotated[int | None, typer.Option("--days", help="Gültigkeit in Tagen.")] = None,
    label: Annotated[str, typer.Option("--label", help="Bezeichnung.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """API-Token erzeugen. Das Geheimnis wird nur jetzt angezeigt."""
    with runtime() as rt:
        secret, token = rt.identity.create_token(operator_actor(), user, scope or ["search", "ask"], days, label)
    if as_json:
        print_json({"id": token.id, "token": secret, "user": token.user, "scopes": list(token.scopes),
                    "expires_at": token.expires_at.isoformat()})
        return
    out.print(f"Token {token.id} für '{escape(token.user)}' (gültig bis {token.expires_at:%d.%m.%Y}):")
    sys.stdout.write(secret + "\n")


@tokens_app.command("list")
@handle_errors
def tokens_list(user: Annotated[str | None, typer.Option("--user", help="Nur dieser Benutzer.")] = None,
                as_json: JsonFlag = False) -> None:
    """API-Tokens auflisten (ohne Geheimnisse)."""
    with runtime() as rt:
        tokens = rt.identity.list_tokens(user)
    if as_json:
        print_json({"tokens": [{"id": t.id, "user": t.user, "label": t.label, "scopes": list(t.scopes),
                                "expires_at": t.expires_at.isoformat(), "revoked": t.revoked} for t in tokens]})
        return
    table = Table("ID", "Benutzer", "Bezeichnung", "Rechte", "gültig bis", "Status")
    for t in tokens:
        table.add_row(t.id, escape(t.user), escape(t.label), ", ".join(t.scopes), f"{t.expires_at:%d.%m.%Y}",
                      "widerrufen" if t.revoked else "aktiv")
    out.print(table)


@tokens_app.command("revoke")
@handle_errors
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="Token-ID.")]) -> None:
    """API-Token widerrufen."""
    with runtime() as rt:
        rt.identity.revoke_token(operator_actor(), token_id)
    out.print(f"Token {escape(token_id)} widerrufen.")


@audit_app.command("verify")
@handle_errors
def audit_verify(as_json: JsonFlag = False) -> None:
    """Die Hash-Kette des Protokolls prüfen (Exit-Code 0: unversehrt)."""
    with runtime() as rt:
        result = rt.audit.verify()
    if as_json:
        print_json({"ok": result.ok, "entries": result.entries, "first_broken": result.first_broken,
                    "reason": result.reason})
    elif result.ok:
        out.print(f"Protokoll unversehrt: {result.entries} Einträge geprüft.")
    else:
        err.print(f"[red]Protokoll verletzt bei Eintrag {result.first_broken}:[/] {escape(result.reason)}")
    if not result.ok:
        raise typer.Exit(3)


@audit_app.command("expire")
@handle_errors
def audit_expire(
    older_than_days: Annotated[int | None, typer.Option("--older-than-days", min=1,
                                                        help="Aufbewahrungsfrist in Tagen (Standard: "
                                                        "KREISWISSEN_AUDIT_RETENTION_DAYS).")] = None,
) -> None:
    """Protokolleinträge nach Ablauf der Aufbewahrungsfrist löschen (ein signierter Prüfpunkt hält den Rest
    prüfbar)."""
    from datetime import UTC, datetime, timedelta

    with runtime() as rt:
        days = older_than_days or rt.settings.audit_retention_days
        deleted = rt.audit.expire(datetime.now(UTC) - timedelta(days=days))
        result = rt.audit.verify()
    out.print(f"{deleted} Einträge älter als {days} Tage gelöscht; Protokoll "
              f"{'unversehrt' if result.ok else 'VERLETZT: ' + escape(result.reason)}.")
    if not result.ok:
        raise typer.Exit(3)


@audit_app.command("export")
@handle_errors
def audit_export(
    date_from: Annotated[str | None, typer.Option("--from", help="Ab Datum (JJJJ-MM-TT).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Bis einschließlich Datum (JJJJ-MM-TT).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv oder json.")] = "json",
    reason: Annotated[str, typer.Option("--reason", help="Anlass der Einsicht (Pflicht; wird protokolliert).")] = "",
) -> None:
    """Protokolleinträge exportieren (die Einsicht selbst wird mit Anlass protokolliert)."""
    if len(reason.strip()) < 5:
        raise InputError("reason required", user_message="Bitte den Anlass der Einsicht angeben (--reason), z. B. "
                         "'Prüfung Beschwerde vom 12.03.2026'. Er wird protokolliert.")
    from datetime import datetime, time, timedelta

    start = _date(date_from, "--from")
    end = _date(date_to, "--to")
    begin = datetime.combine(start, time.min).astimezone() if start else None
    stop = datetime.combine(end + timedelta(days=1), time.min).astimezone() if end else None
    with runtime() as rt:
        text = rt.audit.export(begin, stop, fmt)
        rt.audit.record(operator_actor(), "audit.export", {"from": date_from, "to": date_to, "format": fmt,
                                                           "reason": reason})
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@dsgvo_app.command("export")
@handle_errors
def dsgvo_export(
    reason: ReasonOpt,
    user: Annotated[str | None, typer.Option("--user", help="Benutzerkonto.")] = None,
    person: Annotated[str | None, typer.Option("--person", help="Name einer Person, die in Dokumenten "
                                               "vorkommen kann.")] = None,
) -> None:
    """Auskunft nach Art. 15 DSGVO: alles Gespeicherte zu einem Konto bzw. einer Person (JSON)."""
    with runtime() as rt:
        data = rt.dsgvo.export_user(operator_actor(), user, person, reason)
    print_json(data)


@dsgvo_app.command("erase")
@handle_errors
def dsgvo_erase(
    reason: ReasonOpt,
    document: Annotated[str | None, typer.Option("--document", help="Quelle eines Dokuments.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Benutzerkonto.")] = None,
) -> None:
    """Löschung nach Art. 17 DSGVO: ein Dokument mit allen abgeleiteten Daten, oder ein Benutzerkonto."""
    if bool(document) == bool(user):
        raise InputError("one of --document/--user", user_message="Bitte genau eines angeben: --document oder "
                         "--user.")
    with runtime() as rt:
        if document:
            counts = rt.dsgvo.erase_document(operator_actor(), document, reason)
            out.print(f"Gelöscht: {escape(document)} – {counts['versions']} Version(en), {counts['chunks']} "
                      f"Abschnitte, {counts['cached_embeddings']} zwischengespeicherte Vektoren.")
        else:
            rt.dsgvo.erase_user(operator_actor(), user or "", reason)
            out.print(f"Benutzerkonto '{escape(user or '')}' mit Gruppen, Tokens und Anmeldedaten gelöscht.")


app.add_typer(conversations_app, name="conversations")
app.add_typer(oparl_app, name="oparl")
app.add_typer(minutes_app, name="minutes")
app.add_typer(cases_app, name="cases")

eval_app = typer.Typer(help="Qualität messen (vor einem Modellwechsel oder Rollout).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("answers")
@handle_errors
def eval_answers(
    questions: Annotated[Path | None, typer.Argument(help="Fragen als JSONL ({\"question\", \"answerable\", "
                                                     "\"answer_contains\"}); ohne Angabe: der mitgelieferte "
                                                     "Fragensatz zu den Beispielsatzungen.")] = None,
    as_group: AsGroup = None,
    as_user: AsUser = None,
    as_json: JsonFlag = False,
    extractive: Annotated[bool, typer.Option("--extractive",
                                             help="Ohne Sprachmodell messen (Vergleichswert).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Nur die ersten N Fragen.")] = None,
    details: Annotated[Path | None, typer.Option("--details", help="Ergebnis je Frage als JSONL hierhin "
                                                 "schreiben.")] = None,
    record: Annotated[bool, typer.Option("--record", help="Ergebnis als Auswertungslauf speichern (Verlauf im "
                                         "KI-Manager-Bereich).")] = False,
) -> None:
    """Antwortqualität des konfigurierten Sprachmodells messen: beantwortet/abgelehnt, Zitatgenauigkeit,
    erwartete Angaben, unbelegte Sätze, Antwortzeiten."""
    from kreiswissen.admin.usage import record_eval_run
    from kreiswissen.evaluation.answers import load_questions, outcomes_json, run, summarise

    items = load_questions(questions)[:limit]
    with runtime() as rt:
        principal = principal_for(as_group, as_user, rt)
        backend = "extraktiv" if extractive or rt.generator is None else rt.generator.model_id

        def ask_one(question: str, who: Any, on_token: Any = None) -> Any:
            return rt.ask(question, who, extractive=extractive, on_token=on_token)

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=as_json) as progress:
            task = progress.add_task("Fragen", total=len(items))
            outcomes = run(ask_one, items, principal, progress=lambda _o: progress.advance(task))
        report: dict[str, Any] = {"backend": backend, **summarise(outcomes)}
        if record:
            # Recorded by the local operator, whoever the questions were asked as (--as-user/--as-group).
            mode = "extractive" if backend == "extraktiv" else "generated"
            report["run"] = record_eval_run(rt.db, principal_for(None), mode, report["questions"], report)
    if details:
        details.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in outcomes_json(outcomes)),
                           encoding="utf-8")
    if as_json:
        print_json(report)
        return
    labels = {
        "backend": "Modell", "questions": "Fragen", "answered": "beantwortet", "refused": "abgelehnt",
        "errors": "Fehler", "generated": "vom Sprachmodell formuliert", "fallback_extractive": "Rückfall auf Zitate",
        "answer_rate_answerable": "Antwortquote (beantwortbare Fragen)",
        "refusal_rate_unanswerable": "Ablehnungsquote (nicht beantwortbare Fragen)",
        "decision_accuracy": "Entscheidung richtig (antworten/ablehnen)",
        "contains_expected": "Antwort enthält die erwartete Angabe", "citation_precision": "Zitatgenauigkeit",
        "unsupported_rate": "Anteil unbelegter Sätze", "first_token_ms_p50": "erstes Token p50 (ms)",
        "first_token_ms_p95": "erstes Token p95 (ms)", "total_ms_p50": "gesamt p50 (ms)",
        "total_ms_p95": "gesamt p95 (ms)",
    }
    table = Table("Kennzahl", "Wert", title="Antwortqualität")
    for key, label in labels.items():
        value = report.get(key)
        table.add_row(label, "–" if value is None else str(value))
    out.print(table)
    if record:
        out.print(f"Als Auswertungslauf Nr. {report['run']} gespeichert.")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
