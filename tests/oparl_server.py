"""A real OParl 1.1 server on loopback for the import tests: Landkreis Musterkreis with two meetings, five agenda
items (one non-public), six papers on two pages, their files as real PDF and DOCX documents (one file answers 404),
``modified_since`` and paging as the specification describes them.

Objects live in ``self.objects`` by URL path; lists are computed per request from them, so a test changes the
server's state with ``modify_paper`` / ``delete_paper`` and the next sync sees exactly that.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

V = "https://schema.oparl.org/1.1/"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PAGE_SIZE = 4  # six papers: two pages

# (reference, type, date, title, main file text, file format, auxiliary file text or None)
PAPERS: list[tuple[str, str, str, str, str, str, str | None]] = [
    ("DS-2025/001", "Beschlussvorlage", "2025-01-14", "Neubau Radweg Musterstadt – Beispieldorf",
     "Der Kreistag beschließt den Neubau des Radwegs entlang der Kreisstraße K 12 zwischen Musterstadt und "
     "Beispieldorf. Die Baukosten betragen 1,8 Millionen Euro, davon trägt das Land 60 Prozent.", "pdf",
     "Anlage Lageplan: Der Radweg verläuft auf der Ostseite der K 12 auf einer Länge von 4,3 Kilometern."),
    ("DS-2025/002", "Beschlussvorlage", "2025-01-20", "Festsetzung der Kreisumlage 2025",
     "Die Kreisumlage für das Haushaltsjahr 2025 wird auf 33,5 Prozent der Umlagegrundlagen festgesetzt.", "docx",
     None),
    ("DS-2025/003", "Antrag", "2025-02-03", "Antrag der Fraktion Grüne: Schülerbeförderung im ländlichen Raum",
     "Die Verwaltung wird beauftragt, ein Konzept für Rufbusse in der Schülerbeförderung vorzulegen.", "pdf",
     None),
    ("DS-2025/004", "Mitteilungsvorlage", "2025-02-10", "Sachstand Breitbandausbau",
     "Im Musterkreis sind 9.412 Haushalte an das Glasfasernetz angeschlossen; der Ausbau endet 2026.", "pdf",
     "Anlage Statistik (Datei fehlt auf dem Server)"),
    ("DS-2025/005", "Beschlussvorlage", "2025-02-17", "Änderung der Abfallgebührensatzung",
     "Die Gebühr für die Biotonne mit 120 Litern steigt zum 1. Juli 2025 auf 48 Euro im Jahr.", "docx", None),
    ("DS-2025/006", "Anfrage", "2025-02-24", "Anfrage zur Sanierung der Kreisberufsschule",
     "Wann beginnt die Dachsanierung der Kreisberufsschule in Musterstadt und was kostet sie?", "pdf", None),
]


def make_pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text.replace("–", "-"))  # the core fonts are Latin-1 (umlauts fine, dashes not)
    return bytes(pdf.output())


def make_docx(title: str, text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class OParlServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.oparl = self  # type: ignore[attr-defined]
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/oparl/v1"
        self.objects: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.created = datetime.now(UTC) - timedelta(days=30)
        self._build()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- lifecycle
    def start(self) -> OParlServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def system_url(self) -> str:
        return f"{self.base}/system"

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def downloads(self) -> list[str]:
        return [r for r in self.requests if "/files/" in r]

    # -- the body
    def _common(self, kind: str, path: str) -> dict[str, Any]:
        return {"id": self.url(path), "type": V + kind, "created": _ts(self.created), "modified": _ts(self.created)}

    def _build(self) -> None:
        system = {**self._common("System", "system"), "oparlVersion": V, "name": "Kreistagsinformationssystem "
                  "Musterkreis", "body": self.url("bodies"), "contactEmail": "ris@musterkreis.example",
                  "license": "https://creativecommons.org/licenses/by/4.0/"}
        body = {**self._common("Body", "body/1"), "system": self.url("system"), "name": "Landkreis Musterkreis",
                "shortName": "Musterkreis", "ags": "09999000", "website": "https://www.musterkreis.example/",
                "organization": self.url("body/1/organizations"), "person": self.url("body/1/people"),
                "meeting": self.url("body/1/meetings"), "paper": self.url("body/1/papers"),
                "legislativeTerm": [{**self._common("LegislativeTerm", "term/1"), "name": "Wahlperiode 2020–2026",
                                     "startDate": "2020-05-01", "endDate": "2026-04-30"}],
                "classification": "Landkreis"}
        self.objects["system"] = system
        self.objects["body/1"] = body
        for n, (reference, paper_type, day, title, text, fmt, aux) in enumerate(PAPERS, 1):
            self.objects[f"paper/{n}"] = self._paper(n, reference, paper_type, day, title, text, fmt, aux)
        self._meetings()

    def _file(self, path: str, name: str, mime: str, content: bytes | None, paper: str) -> dict[str, Any]:
        fobj = {**self._common("File", path), "name": name, "fileName": name, "mimeType": mime,
                "accessUrl": self.url(f"files/{name}"), "downloadUrl": self.url(f"files/{name}"),
                "paper": [self.url(paper)]}
        if content is not None:
            self.files[name] = (content, mime)
            fobj["size"] = len(content)
        self.objects[path] = fobj
        return fobj

    def _paper(self, n: int, reference: str, paper_type: str, day: str, title: str, text: str, fmt: str,
               aux: str | None, version: int = 1) -> dict[str, Any]:
        path = f"paper/{n}"
        stem = f"vorlage-{n}" + (f"-v{version}" if version > 1 else "")
        if fmt == "pdf":
            main = self._file(f"file/{n}", f"{stem}.pdf", PDF, make_pdf(f"{title}\n\n{text}"), path)
        else:
            main = self._file(f"file/{n}", f"{stem}.docx", DOCX, make_docx(title, text), path)
        paper = {**self._common("Paper", path), "body": self.url("body/1"), "name": title, "reference": reference,
                 "date": day, "paperType": paper_type, "mainFile": main,
                 "web": f"https://ris.musterkreis.example/vorlage/{n}"}
        if aux is not None:
            missing = n == 4  # the server lists this attachment but answers 404 for it
            paper["auxiliaryFile"] = [self._file(f"file/{n}a", f"anlage-{n}.pdf", PDF,
                                                 None if missing else make_pdf(aux), path)]
        return paper

    def _meetings(self) -> None:
        agenda: dict[int, tuple[str, str, list[tuple[str, str, bool, int | None]]]] = {
            1: ("Kreistag – 12. Sitzung", "2025-03-03T16:00:00+01:00", [
                ("1", "Eröffnung und Feststellung der Beschlussfähigkeit", True, None),
                ("2", "Neubau Radweg Musterstadt – Beispieldorf", True, 1),
                ("3", "Festsetzung der Kreisumlage 2025", True, 2),
                ("4", "Personalangelegenheit: Besetzung der Amtsleitung Jugendamt", False, None)]),
            2: ("Ausschuss für Umwelt und Abfall – 5. Sitzung", "2025-03-10T17:00:00+01:00", [
                ("1", "Änderung der Abfallgebührensatzung", True, 5)]),
        }
        item_no = 0
        for m, (name, start, items) in agenda.items():
            meeting = {**self._common("Meeting", f"meeting/{m}"), "name": name, "start": start,
                       "meetingState": "durchgeführt", "cancelled": False,
                       "organization": [self.url(f"organization/{m}")], "agendaItem": []}
            for number, title, public, paper in items:
                item_no += 1
                item = {**self._common("AgendaItem", f"agendaitem/{item_no}"), "meeting": self.url(f"meeting/{m}"),
                        "number": number, "name": title, "public": public}
                if paper is not None:
                    consultation = {**self._common("Consultation", f"consultation/{item_no}"),
                                    "paper": self.url(f"paper/{paper}"),
                                    "agendaItem": self.url(f"agendaitem/{item_no}"),
                                    "meeting": self.url(f"meeting/{m}"), "authoritative": True,
                                    "role": "Entscheidung", "organization": [self.url(f"organization/{m}")]}
                    self.objects[f"consultation/{item_no}"] = consultation
                    item["consultation"] = consultation["id"]
                    self.objects[f"paper/{paper}"].setdefault("consultation", []).append(consultation)
                self.objects[f"agendaitem/{item_no}"] = item
                meeting["agendaItem"].append(item)
            self.objects[f"meeting/{m}"] = meeting

    # -- changes a test makes
    def modify_paper(self, n: int, new_text: str) -> None:
        reference, paper_type, day, title, _text, fmt, aux = PAPERS[n - 1]
        with self.lock:
            old = self.objects[f"paper/{n}"]
            paper = self._paper(n, reference, paper_type, day, title, new_text, fmt, aux, version=2)
            paper["created"] = old["created"]
            paper["modified"] = _ts(datetime.now(UTC) + timedelta(seconds=1))
            if "consultation" in old:
                paper["consultation"] = old["consultation"]
            self.objects[f"paper/{n}"] = paper

    def delete_paper(self, n: int) -> None:
        with self.lock:
            old = self.objects[f"paper/{n}"]
            self.objects[f"paper/{n}"] = {"id": old["id"], "type": old["type"], "created": old["created"],
                                          "modified": _ts(datetime.now(UTC) + timedelta(seconds=1)),
                                          "deleted": True}

    # -- serving
    def list_page(self, kind: str, query: dict[str, list[str]], path: str) -> dict[str, Any]:
        prefix = {"papers": "paper/", "meetings": "meeting/", "bodies": "body/"}.get(kind)
        with self.lock:
            items = [o for p, o in sorted(self.objects.items()) if prefix and p.startswith(prefix)
                     and p.count("/") == 1]
        since = query.get("modified_since", [None])[0]
        if since:
            limit = datetime.fromisoformat(since.replace("Z", "+00:00"))
            items = [o for o in items if datetime.fromisoformat(o["modified"].replace("Z", "+00:00")) >= limit]
        page = int(query.get("page", ["1"])[0])
        total_pages = max(1, -(-len(items) // PAGE_SIZE))
        data = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        base = self.url(path)
        extra = f"&modified_since={since}" if since else ""
        links: dict[str, str] = {"first": f"{base}?page=1{extra}", "self": f"{base}?page={page}{extra}",
                                 "last": f"{base}?page={total_pages}{extra}"}
        if page < total_pages:
            links["next"] = f"{base}?page={page + 1}{extra}"
        if page > 1:
            links["prev"] = f"{base}?page={page - 1}{extra}"
        return {"data": data, "pagination": {"totalElements": len(items), "elementsPerPage": PAGE_SIZE,
                                             "currentPage": page, "totalPages": total_pages}, "links": links}


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def _send(self, status: int, body: bytes, mime: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        oparl: OParlServer = self.server.oparl  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        oparl.requests.append(self.path)
        path = parts.path.removeprefix("/oparl/v1/")
        query = parse_qs(parts.query)
        if path.startswith("files/"):
            found = oparl.files.get(path.removeprefix("files/"))
            if found is None:
                self._send(404, b"Not Found", "text/plain")
            else:
                self._send(200, found[0], found[1])
            return
        kind = path.rsplit("/", 1)[-1]
        if kind in ("papers", "meetings", "bodies", "organizations", "people"):
            payload: Any = oparl.list_page(kind, query, path)
        else:
            with oparl.lock:
                payload = oparl.objects.get(path)
            if payload is None:
                self._send(404, json.dumps({"error": "not found"}).encode(), "application/json")
                return
        self._send(200, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")
