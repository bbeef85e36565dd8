"""No data leaves the building: ingest, search and ask with every non-loopback connection refused.

The guard wraps the socket layer of this process: any connect to an address outside loopback, and any name
lookup of something other than localhost, is recorded and fails. The embedded PostgreSQL is reached over a
Unix socket; the models are packaged. A library that phoned home (telemetry, a model hub) would show up.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kreiswissen.config import Settings
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "statutes"


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) in ("localhost", "")


@pytest.fixture
def egress_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            attempts.append(f"connect {address}")
            raise OSError("outbound connection blocked by test")
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _is_local(address):
            attempts.append(f"connect_ex {address}")
            return 111
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in (None, "localhost", "127.0.0.1", "::1", b"localhost"):
            attempts.append(f"lookup {host!r}")
            raise socket.gaierror("name lookup blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts


def test_guard_blocks_outbound_connections(egress_guard: list[str]) -> None:
    with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect(("192.0.2.1", 443))  # TEST-NET-1: would never answer anyway
    assert egress_guard == ["connect ('192.0.2.1', 443)"]


def test_ingest_search_ask_make_no_outbound_connection(home_dir: Path, egress_guard: list[str]) -> None:
    # Everything starts under the guard: the embedded server, the connections, the model.
    rt = Runtime.open(Settings(home=home_dir, database_url=None, embedder="e5", threads=2))
    try:
        op = Principal.local_operator()
        report = rt.ingestor.ingest([SAMPLES / "BBO_Satzung_Erhebung_Hundesteuer.md"], op)
        assert not report.failed and report.count("added") == 1
        assert rt.searcher.search("Hundesteuer zweiter Hund Bad Boll", op).hits
        question = "Wie hoch ist die Hundesteuer für den zweiten Hund in Bad Boll?"
        answer = rt.answerer.ask(question, op)
        assert answer.citations
        rt.audit.record_query("operator", "ask", question, [c.document.id for c in answer.citations])
        assert rt.audit.verify().ok
    finally:
        rt.close()
    assert egress_guard == []


def test_importing_kreiswissen_switches_hubs_and_telemetry_off() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK", "TRANSFORMERS_OFFLINE")}
    code = ("import os, kreiswissen; print(os.environ['HF_HUB_OFFLINE'], os.environ['HF_HUB_DISABLE_TELEMETRY'], "
            "os.environ['DO_NOT_TRACK'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "1", "1"]
