"""The OpenAI-compatible API through the real ``openai`` client against the app served by uvicorn."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
import uvicorn

from kreiswissen.answer.extractive import AI_LABEL
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app
from scripted_generator import ScriptedGenerator, source_number

PASSWORD = "Lange Passphrase für die Tests 2026!"
QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(rt: Runtime) -> Iterator[str]:
    """The app for ``rt`` served by uvicorn in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def base_url(corpus_rt: Runtime) -> Iterator[str]:
    with serve(corpus_rt) as url:
        yield url


def _token(rt: Runtime, scopes: list[str]) -> str:
    with contextlib.suppress(InputError):
        rt.identity.add_group("test", "bauamt")
    name = f"oai-{uuid.uuid4().hex[:10]}"
    rt.identity.add_user("test", name, ["bauamt"], password=PASSWORD)
    return rt.identity.create_token("test", name, scopes, days=1)[0]


@pytest.fixture(scope="module")
def client(base_url: str, corpus_rt: Runtime) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=_token(corpus_rt, ["ask"]), max_retries=0, timeout=120)


def test_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["kreiswissen"]
    assert client.models.retrieve("kreiswissen").id == "kreiswissen"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_chat_completion(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="kreiswissen", messages=[
        {"role": "system", "content": "Antworte kurz."}, {"role": "user", "content": QUESTION}])
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    assert "330,00 €" in content and "Quellen:" in content
    assert "[1] " in content and "BBO_Satzung_Erhebung_Hundesteuer.md" in content
    extra = (completion.model_extra or {})["kreiswissen"]
    assert extra["answered"] is True and extra["mode"] == "extractive" and extra["unsupported"] == []
    assert extra["citations"][0]["document"]["source"].endswith("BBO_Satzung_Erhebung_Hundesteuer.md")
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_completion_refusal(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="kreiswissen", messages=[
        {"role": "user", "content": "Was kostet ein neuer Reisepass?"}])
    content = completion.choices[0].message.content or ""
    assert content == "Dazu habe ich in den freigegebenen Dokumenten nichts gefunden."
    assert (completion.model_extra or {})["kreiswissen"]["citations"] == []


def test_streaming(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="kreiswissen", messages=[{"role": "user", "content": QUESTION}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    content = "".join(pieces)
    assert len([p for p in pieces if p]) > 3, "content arrives in pieces"
    assert "330,00 €" in content and "Quellen:" in content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    assert (finals[0].model_extra or {})["kreiswissen"]["citations"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_follow_up_is_resolved_with_the_history(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="kreiswissen", messages=[{"role": "user", "content": QUESTION}])
    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": first.choices[0].message.content or ""},
                {"role": "user", "content": "Und für einen Kampfhund?"}]
    follow = client.chat.completions.create(model="kreiswissen", messages=messages)  # type: ignore[arg-type]
    extra = (follow.model_extra or {})["kreiswissen"]
    assert "Kampfhund" in extra["standalone_question"] and "Bad Boll" in extra["standalone_question"]
    assert extra["answered"] is True
    assert "900,00 €" in (follow.choices[0].message.content or "") or "Kampfhund" in extra["citations"][0]["chunk"][
        "text"]


def test_invalid_key_and_wrong_scope(base_url: str, corpus_rt: Runtime) -> None:
    bad = openai.OpenAI(base_url=f"{base_url}/v1", api_key="kw_ungueltig", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.models.list()
    assert "ungültig" in str(info.value)
    search_only = openai.OpenAI(base_url=f"{base_url}/v1", api_key=_token(corpus_rt, ["search"]), max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        search_only.chat.completions.create(model="kreiswissen", messages=[{"role": "user", "content": QUESTION}])


def test_unknown_model_and_bad_messages(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert "kreiswissen" in str(info.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="kreiswissen", messages=[{"role": "assistant", "content": "Hallo"}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="kreiswissen", messages=[])


def test_stream_headers(base_url: str, client: openai.OpenAI) -> None:
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", timeout=120,
                      headers={"Authorization": f"Bearer {client.api_key}"},
                      json={"model": "kreiswissen", "stream": True,
                            "messages": [{"role": "user", "content": QUESTION}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-content-type-options"] == "nosniff"
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith(("data: ", ":")) for line in lines)


def test_generated_answers_stream_only_checked_text(corpus_rt: Runtime) -> None:
    generated = Runtime(settings=corpus_rt.settings, db=corpus_rt.db)  # same store, with a language model
    generated.__dict__["generator"] = ScriptedGenerator(
        lambda m: f"Für den zweiten Hund sind 330,00 € zu zahlen [{source_number(m, '330,00 €')}]. "
                  "Hunde dürfen nachts nicht bellen.")
    with serve(generated) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=_token(corpus_rt, ["ask"]), max_retries=0, timeout=120)
        stream = client.chat.completions.create(model="kreiswissen", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}])
        chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    extra = (chunks[-1].model_extra or {})["kreiswissen"]
    assert extra["mode"] == "generated" and extra["ai_generated"] is True
    assert "330,00 € zu zahlen [1]" in content and AI_LABEL in content and "Quellen:" in content
    # The sentence the citation check removed was never sent, not even as a streamed token.
    assert "bellen" not in content and extra["unsupported"] == ["Hunde dürfen nachts nicht bellen."]
