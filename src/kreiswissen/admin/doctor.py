"""``kreiswissen doctor``: which backends are configured and whether each one answers.

Each check returns a ``Check``; none raises. A configured backend that does not answer is a failure; an
optional backend that is not configured is reported as such (not a failure).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from kreiswissen.config import Settings
from kreiswissen.errors import KreiswissenError

Status = Literal["ok", "fehler", "aus"]


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _timed(name: str, probe: Callable[[], tuple[Status, str]]) -> Check:
    t = time.perf_counter()
    try:
        status, detail = probe()
    except KreiswissenError as exc:
        status, detail = "fehler", exc.user_message
    except Exception as exc:  # noqa: BLE001 - the doctor reports every failure instead of crashing
        status, detail = "fehler", f"{exc.__class__.__name__}: {exc}"
    return Check(name, status, detail, round((time.perf_counter() - t) * 1000, 1))


def _tcp(url: str, timeout: float) -> tuple[Status, str]:
    parsed = urlparse(url)
    port = parsed.port or {"https": 443, "ldaps": 636, "ldap": 389}.get(parsed.scheme, 80)
    with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
        return "ok", f"{parsed.hostname}:{port} erreichbar"


def run_checks(runtime: Any) -> list[Check]:
    """All checks against a ``Runtime`` (typed loosely: admin sits beside the runtime, not below it)."""
    settings: Settings = runtime.settings
    checks: list[Check] = []

    def database() -> tuple[Status, str]:
        info = runtime.db.info
        with runtime.db.admin_connection() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
            level = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            docs = conn.execute("SELECT count(*) FROM documents WHERE is_current").fetchone()[0]
        kind = "eingebettet" if info.embedded else "extern"
        return "ok", (f"PostgreSQL {version} ({kind}), pgvector {vector[0] if vector else 'fehlt'}, "
                      f"Schema-Version {level}, {docs} Dokumente")

    checks.append(_timed("Datenbank", database))

    def embedder() -> tuple[Status, str]:
        model = runtime.embedder
        t = time.perf_counter()
        model.embed_query("Hundesteuer")
        where = f" über {settings.embedding_base_url}" if settings.embedder == "openai" else " (im Paket)"
        took = 1000 * (time.perf_counter() - t)
        return "ok", f"{model.model_id}, {model.dim} Dimensionen{where}, Anfrage {took:.0f} ms"

    checks.append(_timed("Embeddings", embedder))

    def generator() -> tuple[Status, str]:
        gen = runtime.generator
        if gen is None:
            return "aus", "kein Sprachmodell konfiguriert: Antworten sind extraktiv (wörtliche Zitate)"
        health = gen.health()
        return ("ok" if health["ok"] else "fehler"), f"{gen.model_id}: {health['detail']}"

    checks.append(_timed("Sprachmodell", generator))

    def reranker() -> tuple[Status, str]:
        rr = runtime.reranker
        if rr is None:
            return "aus", "kein Reranker konfiguriert (optional)"
        health = rr.health()
        return ("ok" if health["ok"] else "fehler"), health["detail"]

    checks.append(_timed("Reranker", reranker))

    def ocr() -> tuple[Status, str]:
        binary = shutil.which("tesseract")
        if not binary:
            return "fehler", "tesseract fehlt: gescannte PDFs und Bilder können nicht gelesen werden"
        langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=10).stdout.split()
        wanted = settings.ocr_languages.split("+")
        missing = [lang for lang in wanted if lang not in langs]
        if missing:
            return "fehler", f"Tesseract-Sprachdaten fehlen: {', '.join(missing)}"
        return "ok", f"{binary}, Sprachen {settings.ocr_languages}"

    checks.append(_timed("Texterkennung (OCR)", ocr))

    def ldap() -> tuple[Status, str]:
        if not settings.ldap_url:
            return "aus", "LDAP/Active Directory nicht konfiguriert"
        return _tcp(settings.ldap_url, settings.ldap_timeout_s)

    checks.append(_timed("LDAP", ldap))

    def oidc() -> tuple[Status, str]:
        if not settings.oidc_issuer:
            return "aus", "OpenID Connect nicht konfiguriert"
        import httpx

        url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        verify: Any = str(settings.oidc_ca_file) if settings.oidc_ca_file else True
        response = httpx.get(url, timeout=settings.oidc_timeout_s, verify=verify)
        response.raise_for_status()
        return "ok", f"{settings.oidc_issuer} (Discovery erreichbar)"

    checks.append(_timed("OpenID Connect", oidc))
    return checks
