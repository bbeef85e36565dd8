"""Language-model backends against a real OpenAI-compatible server (llama-cpp-python + Gemma 3 270M) and the
in-process GGUF backend: protocol, streaming, and every failure a county's model server can show."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kreiswissen.config import Settings
from kreiswissen.errors import ConfigurationError
from kreiswissen.models.generator import (
    ChatMessage,
    GenerationFailed,
    LlamaCppGenerator,
    OpenAIGenerator,
    complete,
    get_generator,
)
from llm_server import LlamaServer, free_port, gemma_path

# The end-of-sequence and end-of-turn tokens of Gemma 3 banned: the model must write until max_tokens.
NO_EOS = {"logit_bias": {"1": -100, "106": -100}}
# A prompt the base model continues at length (it counts on).
LONG = [ChatMessage("user", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,")]
HELLO = [ChatMessage("system", "Antworte kurz."), ChatMessage("user", "Wie heißt die Hauptstadt von Deutschland?")]


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    srv = LlamaServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def own_server() -> Iterator[LlamaServer]:
    """A server a test may freeze or kill."""
    srv = LlamaServer().start()
    yield srv
    srv.stop()


def test_streaming_chat_completion_from_a_real_server(server: LlamaServer) -> None:
    gen = OpenAIGenerator(server.base_url, server.MODEL, timeout_s=60)
    pieces = list(gen.stream(HELLO, max_tokens=12, temperature=0))
    assert len(pieces) >= 2 and all(isinstance(p, str) for p in pieces)  # streamed, not one block
    assert gen.last_finish_reason in ("length", "stop")
    result = complete(gen, HELLO, max_tokens=12, temperature=0)
    assert result.text.strip() and result.model == "openai:gemma-3-270m"
    assert result.ttft_ms is not None and 0 < result.ttft_ms <= result.total_ms


def test_non_streaming_mode_and_health(server: LlamaServer) -> None:
    gen = OpenAIGenerator(server.base_url, server.MODEL, stream=False)
    text = "".join(gen.stream(HELLO, max_tokens=8, temperature=0))
    assert text and gen.last_finish_reason in ("length", "stop")
    assert gen.health()["ok"] is True
    wrong = OpenAIGenerator(server.base_url, "llama-3-70b").health()
    assert wrong["ok"] is False and "gemma-3-270m" in wrong["detail"]


def test_server_errors_become_a_german_message(server: LlamaServer) -> None:
    too_long = [ChatMessage("user", "Hundesteuer " * 4000)]  # far beyond the 2048-token window
    with pytest.raises(GenerationFailed) as info:
        list(OpenAIGenerator(server.base_url, server.MODEL, stream=False).stream(too_long, max_tokens=16))
    assert "Fehler" in info.value.user_message and "HTTP 400" in info.value.user_message
    # Streaming, this server opens the event stream and closes it empty: an error as well, not an empty answer.
    with pytest.raises(GenerationFailed):
        list(OpenAIGenerator(server.base_url, server.MODEL).stream(too_long, max_tokens=16))


def test_dead_server_fails_fast_with_a_clear_message() -> None:
    gen = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "x", connect_timeout_s=2)
    with pytest.raises(GenerationFailed) as info:
        list(gen.stream(HELLO, max_tokens=8))
    assert info.value.user_message == "Das Sprachmodell ist nicht erreichbar."
    assert gen.health()["ok"] is False


def test_a_hung_server_times_out_instead_of_hanging(own_server: LlamaServer) -> None:
    own_server.freeze()  # the socket still accepts; nothing ever answers
    gen = OpenAIGenerator(own_server.base_url, own_server.MODEL, timeout_s=1.0, connect_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(GenerationFailed) as info:
        list(gen.stream(HELLO, max_tokens=8))
    assert "nicht rechtzeitig" in info.value.user_message
    assert time.monotonic() - started < 10


def test_total_timeout_ends_a_slow_stream(server: LlamaServer) -> None:
    gen = OpenAIGenerator(server.base_url, server.MODEL, total_timeout_s=0.3, extra_body=NO_EOS)
    with pytest.raises(GenerationFailed) as info:
        list(gen.stream(LONG, max_tokens=400, temperature=0))
    assert "nicht rechtzeitig" in info.value.user_message


def test_a_stream_cut_mid_answer_is_an_error_not_a_short_answer(own_server: LlamaServer) -> None:
    gen = OpenAIGenerator(own_server.base_url, own_server.MODEL, timeout_s=5, extra_body=NO_EOS)
    received: list[str] = []
    with pytest.raises(GenerationFailed) as info:
        for piece in gen.stream(LONG, max_tokens=500, temperature=0):
            received.append(piece)
            if len(received) == 3:
                own_server.kill()
    assert len(received) >= 3
    assert info.value.user_message in ("Die Antwort des Sprachmodells brach mitten ab.",
                                       "Das Sprachmodell ist nicht erreichbar.")


class _Broken(BaseHTTPRequestHandler):
    """A misbehaving endpoint (a proxy error page, a stream that stops without an end) — what the real
    server cannot be made to produce."""

    body = b""
    content_type = "text/event-stream"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("body,content_type,message", [
    (b"<html><body>502 Bad Gateway</body></html>", "text/html", "unlesbare"),
    (b"data: {\"choices\": [{\"delta\": {\"content\": \"Die\"}}]}\n\ndata: {kaputt\n\n", "text/event-stream",
     "unlesbare"),
    (b"data: {\"choices\": [{\"delta\": {\"content\": \"Die Steuer\"}}]}\n\n", "text/event-stream", "brach mitten ab"),
    (b"data: {\"error\": {\"message\": \"out of memory\"}}\n\n", "text/event-stream", "Fehler"),
])
def test_garbage_from_a_broken_endpoint(body: bytes, content_type: str, message: str) -> None:
    handler = type("H", (_Broken,), {"body": body, "content_type": content_type})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        gen = OpenAIGenerator(f"http://127.0.0.1:{httpd.server_address[1]}/v1", "x",
                              stream=content_type == "text/event-stream")
        with pytest.raises(GenerationFailed) as info:
            list(gen.stream(HELLO, max_tokens=8))
        assert message in info.value.user_message
    finally:
        httpd.shutdown()


def test_embedded_gguf_backend() -> None:
    gen = LlamaCppGenerator(gemma_path(), context_tokens=1024, threads=2)
    assert gen.count_tokens("Die Hundesteuer beträgt 108 Euro.") > 3
    result = complete(gen, HELLO, max_tokens=8, temperature=0)
    assert result.text and result.ttft_ms is not None
    assert gen.health()["ok"]


def test_configuration_selects_the_backend(tmp_path: Path, server: LlamaServer) -> None:
    assert get_generator(Settings(home=tmp_path)) is None
    remote = get_generator(Settings(home=tmp_path, llm_base_url=server.base_url, llm_model=server.MODEL))
    assert isinstance(remote, OpenAIGenerator) and remote.model_id == "openai:gemma-3-270m"
    with pytest.raises(ConfigurationError):
        get_generator(Settings(home=tmp_path, llm_base_url=server.base_url))
    with pytest.raises(ConfigurationError) as info:
        get_generator(Settings(home=tmp_path, llm_model_path=tmp_path / "fehlt.gguf"))
    assert "nicht gefunden" in info.value.user_message
