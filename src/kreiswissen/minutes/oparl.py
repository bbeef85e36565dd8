"""Import from an OParl 1.1 endpoint: System → Body → Paper → File into the knowledge base, Meeting → AgendaItem
into ``oparl_objects`` for the minutes drafts.

Incremental: each Body's papers and meetings are listed with ``modified_since`` = the start of the last run
(stored per system and body in ``oparl_sync``); a Paper whose ``modified`` equals the stored one is skipped even
when a server ignores the filter, so a second run with nothing modified downloads nothing. A broken file or object
is reported and skipped; it never aborts the sync. Papers marked ``deleted`` remove their documents.

The knowledge base has no field for OParl metadata (``Runtime.ingest`` takes paths, the parser decides the
metadata), so reference, paper type, date, body name and OParl URL are kept in ``oparl_objects.metadata`` of the
Paper, with the sources of its files; ``paper_for_source`` finds them for a search hit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, FileTooLarge, InputError, KreiswissenError, NotFound
from kreiswissen.ingest.pipeline import source_key
from kreiswissen.minutes.store import AgendaEntry
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import EVERYONE, Principal

# Extensions for the MIME types of documents a council information system serves.
MIME_SUFFIXES = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/msword": ".doc",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/markdown": ".md",
}
MAX_PAGES = 10_000  # a server whose "next" never ends must not keep the sync running forever
MAX_REDIRECTS = 5


@dataclass
class SyncError:
    object: str  # the OParl URL (or the file's access URL)
    error: str  # German, for the administration


@dataclass
class SyncReport:
    system: str
    bodies: int = 0
    papers: int = 0  # papers new or modified since the last run
    papers_unchanged: int = 0
    papers_deleted: int = 0
    files_downloaded: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_deleted: int = 0
    meetings: int = 0
    agenda_items: int = 0
    errors: list[SyncError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _unavailable(url: str, detail: str) -> BackendUnavailable:
    return BackendUnavailable(f"OParl {url}: {detail}",
                              user_message=f"OParl-Schnittstelle nicht erreichbar ({url}): {detail}.")


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"OParl URL must be http(s): {url}",
                         user_message=f"OParl-Adresse muss mit http:// oder https:// beginnen: '{url}'.")


class OParlClient:
    """GET OParl objects and files. Redirects are followed only to the system's own host or to hosts the
    administration allowed (``allowed_hosts``): an OParl server must not send us to arbitrary places."""

    def __init__(self, system_url: str, settings: Settings, *, allowed_hosts: list[str] | None = None,
                 timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        _check_scheme(system_url)
        self.system_url = system_url
        self.max_bytes = settings.max_file_bytes
        host = urlsplit(system_url).hostname or ""
        self.allowed_hosts = {host.casefold(), *(h.casefold() for h in allowed_hosts or [])}
        self.http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
                                 follow_redirects=False, transport=transport,
                                 headers={"Accept": "application/json", "User-Agent": "kreiswissen-oparl"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OParlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _allowed(self, url: str) -> None:
        _check_scheme(url)
        host = (urlsplit(url).hostname or "").casefold()
        if host not in self.allowed_hosts:
            raise InputError(f"OParl: host {host} not allowed",
                             user_message=f"OParl: Verweis auf einen fremden Server ({host}) abgelehnt "
                             "(erlaubte Server: " + ", ".join(sorted(self.allowed_hosts)) + ").")

    def _send(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """Open a streamed GET, following allowed redirects; the caller closes the response."""
        for _ in range(MAX_REDIRECTS + 1):
            self._allowed(url)
            try:
                response = self.http.send(self.http.build_request("GET", url, params=params), stream=True)
            except httpx.TimeoutException:
                raise _unavailable(url, "Zeitüberschreitung") from None
            except httpx.HTTPError as exc:
                raise _unavailable(url, f"Verbindung fehlgeschlagen ({type(exc).__name__})") from None
            if response.is_redirect and "location" in response.headers:
                response.close()
                url, params = urljoin(str(response.url), response.headers["location"]), None
                continue
            return response
        raise _unavailable(url, "zu viele Weiterleitungen")

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._send(url, params)
        try:
            if response.status_code == 404:
                raise NotFound(f"OParl {url}: 404", user_message=f"OParl-Objekt nicht gefunden: {url}.")
            if response.status_code >= 400:
                raise _unavailable(url, f"HTTP-Status {response.status_code}")
            body = response.read()
        except httpx.HTTPError as exc:
            raise _unavailable(url, f"Übertragung abgebrochen ({type(exc).__name__})") from None
        finally:
            response.close()
        try:
            data = json.loads(body)
        except ValueError:
            raise _unavailable(url, "Antwort ist kein JSON") from None
        if not isinstance(data, dict):
            raise _unavailable(url, "Antwort ist kein JSON-Objekt")
        return data

    def iter_list(self, url: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every object of an external list, page by page along ``links.next`` (which carries the filters)."""
        seen: set[str] = set()
        next_url: str | None = url
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            if next_url in seen:
                raise _unavailable(url, "Paginierung verweist im Kreis")
            seen.add(next_url)
            page = self.get(next_url, params if next_url == url else None)
            data = page.get("data")
            if not isinstance(data, list):
                raise _unavailable(next_url, "Objektliste ohne 'data'")
            yield from (item for item in data if isinstance(item, dict))
            links = page.get("links")
            target = links.get("next") if isinstance(links, dict) else None
            next_url = urljoin(next_url, target) if isinstance(target, str) and target else None
        raise _unavailable(url, f"mehr als {MAX_PAGES} Seiten")

    def download(self, url: str) -> tuple[bytes, str]:
        """(content, MIME type) of a file, refused beyond ``max_file_bytes`` while it streams."""
        response = self._send(url)
        try:
            if response.status_code >= 400:
                raise _unavailable(url, f"Datei nicht abrufbar (HTTP-Status {response.status_code})")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large(url, int(declared))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large(url, size)
                chunks.append(chunk)
            mime = response.headers.get("content-type", "").split(";")[0].strip().casefold()
            return b"".join(chunks), mime
        except httpx.HTTPError as exc:
            raise _unavailable(url, f"Übertragung abgebrochen ({type(exc).__name__})") from None
        finally:
            response.close()

    def _too_large(self, url: str, size: int) -> FileTooLarge:
        return FileTooLarge(f"{url}: over {self.max_bytes} bytes",
                            user_message=f"Datei '{url}': zu groß (mindestens {size / 1e6:.1f} MB, erlaubt sind "
                            f"{self.max_bytes / 1e6:.1f} MB).")


# -- names and values ---------------------------------------------------------------------------------------
def slug(text: str) -> str:
    """A file-system-safe name part (umlauts kept readable)."""
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(a, b)
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    return cleaned[:80] or "unbenannt"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def file_name(paper: dict[str, Any], file: dict[str, Any], mime: str) -> str:
    """``<reference>_<file name>`` with an extension that the MIME type (or the served name) gives."""
    reference = slug(str(paper.get("reference") or paper.get("id", "").rsplit("/", 1)[-1]))
    name = str(file.get("fileName") or file.get("name") or file.get("id", "").rsplit("/", 1)[-1] or "datei")
    stem, dot, ext = slug(name).rpartition(".")
    if not dot:
        stem, ext = slug(name), ""
    suffix = MIME_SUFFIXES.get(mime) or MIME_SUFFIXES.get(str(file.get("mimeType") or "").casefold())
    suffix = suffix or (f".{ext}" if ext else ".bin")
    return f"{reference}_{stem}{suffix}"


def document_metadata(paper: dict[str, Any], body: dict[str, Any], file: dict[str, Any]) -> dict[str, Any]:
    """What the knowledge base keeps of the Paper with each of its files: the title (reference and name; an
    attachment adds its own name), the paper type as document type, the paper's date, reference and body."""
    reference, name = paper.get("reference"), paper.get("name")
    title = ": ".join(str(x) for x in (reference, name) if x) or None
    main = paper.get("mainFile")
    if title and isinstance(main, dict) and main.get("id") != file.get("id") and file.get("name"):
        title = f"{title} – {file['name']}"
    return {"titel": title, "dokumenttyp": paper.get("paperType"), "datum": paper.get("date"),
            "drucksache": reference, "gremium": body.get("name"), "oparl_url": paper.get("id")}


def _files(paper: dict[str, Any]) -> list[dict[str, Any]]:
    main = paper.get("mainFile")
    aux = paper.get("auxiliaryFile")
    found = [main] if isinstance(main, dict) else []
    found += [f for f in aux if isinstance(f, dict)] if isinstance(aux, list) else []
    return found


# -- the sync ---------------------------------------------------------------------------------------------
class OParlImporter:
    def __init__(self, rt: Runtime, client: OParlClient) -> None:
        self.rt = rt
        self.client = client

    def sync(self, principal: Principal, groups: list[str] | None = None,
             department: str | None = None) -> SyncReport:
        if not principal.operator:
            # The sync state and the non-public agenda items are the operator's (migration 0010).
            from kreiswissen.errors import PermissionDenied

            raise PermissionDenied("oparl sync needs the operator",
                                   user_message="Der OParl-Abgleich ist dem Betrieb vorbehalten (Betreiber).")
        system_url = self.client.system_url
        report = SyncReport(system=system_url)
        system = self.client.get(system_url)
        bodies_url = system.get("body")
        if not isinstance(bodies_url, str):
            raise _unavailable(system_url, "System ohne Liste der Körperschaften ('body')")
        for body in self.client.iter_list(bodies_url):
            report.bodies += 1
            try:
                self._sync_body(system_url, body, principal, groups, department, report)
            except KreiswissenError as exc:
                report.errors.append(SyncError(str(body.get("id")), exc.user_message))
        return report

    def _sync_body(self, system_url: str, body: dict[str, Any], principal: Principal, groups: list[str] | None,
                   department: str | None, report: SyncReport) -> None:
        body_id = str(body["id"])
        started = datetime.now(UTC)
        with self.rt.db.transaction(principal) as conn:
            row = conn.execute("SELECT last_modified FROM oparl_sync WHERE system_url = %s AND body_id = %s",
                               (system_url, body_id)).fetchone()
        since = row[0] if row else None
        params = {"modified_since": _iso(since)} if since else None
        folder = self.rt.settings.home / "oparl" / slug(str(body.get("shortName") or body.get("name") or body_id))
        if isinstance(body.get("paper"), str):
            for paper in self.client.iter_list(body["paper"], params):
                try:
                    self._paper(paper, body, folder, principal, groups, department, report)
                except KreiswissenError as exc:
                    report.errors.append(SyncError(str(paper.get("id")), exc.user_message))
        if isinstance(body.get("meeting"), str):
            for meeting in self.client.iter_list(body["meeting"], params):
                try:
                    self._meeting(meeting, body_id, principal, report)
                except KreiswissenError as exc:
                    report.errors.append(SyncError(str(meeting.get("id")), exc.user_message))
        # Both lists were read to the end: the next run asks only for what changed from now on.
        with self.rt.db.transaction(principal) as conn:
            conn.execute(
                """INSERT INTO oparl_sync (system_url, body_id, last_modified, last_run) VALUES (%s, %s, %s, now())
                   ON CONFLICT (system_url, body_id) DO UPDATE SET last_modified = EXCLUDED.last_modified,
                   last_run = now()""", (system_url, body_id, started))

    def _stored(self, principal: Principal, object_id: str) -> tuple[datetime | None, dict[str, Any]] | None:
        with self.rt.db.transaction(principal) as conn:
            row = conn.execute("SELECT modified, metadata FROM oparl_objects WHERE id = %s", (object_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def _remove_documents(self, sources: list[str], principal: Principal, report: SyncReport) -> None:
        for source in sources:
            try:
                self.rt.delete(source, principal)
                report.documents_deleted += 1
            except NotFound:
                pass
            Path(source).unlink(missing_ok=True)

    def _paper(self, paper: dict[str, Any], body: dict[str, Any], folder: Path, principal: Principal,
               groups: list[str] | None, department: str | None, report: SyncReport) -> None:
        paper_id = str(paper["id"])
        stored = self._stored(principal, paper_id)
        old_sources = list(stored[1].get("sources", [])) if stored else []
        if paper.get("deleted"):
            self._remove_documents(old_sources, principal, report)
            with self.rt.db.transaction(principal) as conn:
                conn.execute("DELETE FROM oparl_objects WHERE id = %s", (paper_id,))
            report.papers_deleted += 1
            return
        modified = _timestamp(paper.get("modified"))
        if stored and modified and stored[0] == modified:
            report.papers_unchanged += 1
            return
        report.papers += 1
        folder.mkdir(parents=True, exist_ok=True)
        sources: list[str] = []
        for file in _files(paper):
            url = file.get("downloadUrl") or file.get("accessUrl")
            if not isinstance(url, str):
                report.errors.append(SyncError(str(file.get("id")), "Datei ohne accessUrl."))
                continue
            try:
                content, mime = self.client.download(url)
            except KreiswissenError as exc:
                report.errors.append(SyncError(url, exc.user_message))
                continue
            report.files_downloaded += 1
            path = folder / file_name(paper, file, mime)
            path.write_bytes(content)
            result = self.rt.ingest([path], principal, groups, department,
                                    metadata=document_metadata(paper, body, file)).results[0]
            if result.status == "failed":
                report.errors.append(SyncError(url, result.error or "Datei nicht verarbeitet."))
                path.unlink(missing_ok=True)
                continue
            if result.status == "added":
                report.documents_added += 1
            elif result.status == "unchanged":
                report.documents_unchanged += 1
            else:
                report.documents_updated += 1
            sources.append(source_key(path))
        # Files the paper no longer lists leave the knowledge base with it.
        self._remove_documents([s for s in old_sources if s not in sources], principal, report)
        metadata = {
            "reference": paper.get("reference"), "paper_type": paper.get("paperType"), "date": paper.get("date"),
            "name": paper.get("name"), "body": body.get("name"), "body_id": body.get("id"), "oparl_url": paper_id,
            "web": paper.get("web"), "sources": sources,
        }
        self._store(principal, paper_id, "Paper", str(body["id"]), modified, None, None, metadata, paper)

    def _meeting(self, meeting: dict[str, Any], body_id: str, principal: Principal, report: SyncReport) -> None:
        meeting_id = str(meeting["id"])
        with self.rt.db.transaction(principal) as conn:
            conn.execute("DELETE FROM oparl_objects WHERE parent = %s AND type = 'AgendaItem'", (meeting_id,))
            if meeting.get("deleted"):
                conn.execute("DELETE FROM oparl_objects WHERE id = %s", (meeting_id,))
                return
        report.meetings += 1
        items = meeting.get("agendaItem")
        metadata = {"name": meeting.get("name"), "start": meeting.get("start"), "end": meeting.get("end"),
                    "cancelled": bool(meeting.get("cancelled", False)),
                    "agenda_order": [str(i["id"]) for i in items if isinstance(i, dict) and i.get("id")]
                    if isinstance(items, list) else []}
        self._store(principal, meeting_id, "Meeting", body_id, _timestamp(meeting.get("modified")), None, None,
                    metadata, meeting)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            public = item.get("public")
            self._store(principal, str(item["id"]), "AgendaItem", body_id, _timestamp(item.get("modified")),
                        public if isinstance(public, bool) else None, meeting_id,
                        {"number": item.get("number"), "name": item.get("name"), "result": item.get("result")}, item)
            report.agenda_items += 1

    def _store(self, principal: Principal, object_id: str, kind: str, body_id: str, modified: datetime | None,
               public: bool | None, parent: str | None, metadata: dict[str, Any], obj: dict[str, Any]) -> None:
        with self.rt.db.transaction(principal) as conn:
            conn.execute(
                """INSERT INTO oparl_objects (id, type, body, modified, public, parent, metadata, json, synced_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, now())
                   ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, body = EXCLUDED.body,
                   modified = EXCLUDED.modified, public = EXCLUDED.public, parent = EXCLUDED.parent,
                   metadata = EXCLUDED.metadata, json = EXCLUDED.json, synced_at = now()""",
                (object_id, kind, body_id, modified, public, parent, json.dumps(metadata, ensure_ascii=False),
                 json.dumps(obj, ensure_ascii=False)))


def sync(rt: Runtime, system_url: str, principal: Principal, groups: list[str] | None = None,
         department: str | None = None, *, allowed_hosts: list[str] | None = None,
         timeout_s: float = 30.0) -> SyncReport:
    """Import one OParl system; the report lists what changed and every object that failed."""
    with OParlClient(system_url, rt.settings, allowed_hosts=allowed_hosts, timeout_s=timeout_s) as client:
        return OParlImporter(rt, client).sync(principal, groups, department)


# -- for the minutes drafts and for search hits --------------------------------------------------------------
def meetings(rt: Runtime, principal: Principal, body_id: str | None = None) -> list[dict[str, Any]]:
    """Stored meetings with their agenda items (``public`` as served), oldest first."""
    with rt.db.transaction(principal) as conn:
        rows = conn.execute(
            """SELECT id, body, metadata, json FROM oparl_objects WHERE type = 'Meeting'
               AND (%s::text IS NULL OR body = %s) ORDER BY metadata->>'start', id""", (body_id, body_id)).fetchall()
        items = conn.execute(
            """SELECT parent, id, public, metadata FROM oparl_objects WHERE type = 'AgendaItem'
               ORDER BY parent, id""").fetchall()
    by_meeting: dict[str, list[dict[str, Any]]] = {}
    for parent, item_id, public, meta in items:
        by_meeting.setdefault(parent, []).append({"id": item_id, "public": public, **meta})
    return [{"id": mid, "body": body, **meta, "agenda_items": by_meeting.get(mid, [])}
            for mid, body, meta, _ in rows]


def paper_for_source(rt: Runtime, principal: Principal, source: str) -> dict[str, Any] | None:
    """The OParl metadata (reference, paper type, date, body, URL) of the Paper a document came from."""
    with rt.db.transaction(principal) as conn:
        row = conn.execute("SELECT metadata FROM oparl_objects WHERE type = 'Paper' AND metadata->'sources' ? %s",
                           (source,)).fetchone()
    return dict(row[0]) if row else None


_READER = Principal(name="oparl", groups=frozenset({EVERYONE}), operator=True)


def meeting_agenda(rt: Runtime, meeting_id: str) -> tuple[dict[str, Any], list[AgendaEntry]]:
    """A synced meeting (name, start, end) and its agenda items as entries for a minutes draft, in the order
    served. The stored OParl objects are the operator's (migration 0010); the agenda is what the
    Protokollführung drafts against, so it is read here on their behalf. Items without a number get their
    position; ``public`` not stated counts as public, as in OParl."""
    with rt.db.transaction(_READER) as conn:
        row = conn.execute("SELECT metadata FROM oparl_objects WHERE type = 'Meeting' AND id = %s",
                           (meeting_id,)).fetchone()
        if row is None:
            raise NotFound(f"no OParl meeting {meeting_id}", user_message=f"Sitzung „{meeting_id}“ ist nicht "
                           "bekannt (zuerst 'kreiswissen oparl sync' ausführen).")
        items = conn.execute("SELECT public, metadata, json FROM oparl_objects WHERE type = 'AgendaItem' "
                             "AND parent = %s", (meeting_id,)).fetchall()
    meta = dict(row[0])
    order = {u: i for i, u in enumerate(meta.get("agenda_order") or [])}
    rows = sorted(items, key=lambda r: (order.get(r[2].get("id"), len(order)), r[2].get("order") or 0))
    entries = []
    for position, (public, item_meta, _) in enumerate(rows, start=1):
        number = str(item_meta.get("number") or position).strip()
        number = re.sub(r"^(?:TOP|Punkt)\s*", "", number, flags=re.IGNORECASE).rstrip(".")
        title = " ".join(str(item_meta.get("name") or f"TOP {number}").split())
        entries.append(AgendaEntry(number, title, public is not False))
    return meta, entries


def list_meetings(rt: Runtime) -> list[dict[str, Any]]:
    """Synced meetings (id, name, start, number of agenda items), newest first, for choosing an agenda."""
    with rt.db.transaction(_READER) as conn:
        rows = conn.execute(
            """SELECT m.id, m.metadata, count(a.id) FROM oparl_objects m
               LEFT JOIN oparl_objects a ON a.parent = m.id AND a.type = 'AgendaItem'
               WHERE m.type = 'Meeting' GROUP BY m.id, m.metadata
               ORDER BY m.metadata->>'start' DESC NULLS LAST, m.id""").fetchall()
    return [{"id": r[0], "name": r[1].get("name"), "start": r[1].get("start"), "cancelled": r[1].get("cancelled"),
             "agenda_items": r[2]} for r in rows]
