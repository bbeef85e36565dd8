"""``ScriptedGenerator``: the Generator protocol returning given text.

The tiny packaged model cannot follow instructions, so tests that need particular *words* from a model (a
supported answer, an invented sentence, an exfiltration link, a refusal) use this. It stands in for the model's
words only; prompt building, packing, checking, fallback, storage and the APIs are the product's own code.
The protocol itself is tested against the real llama.cpp server (tests/models/test_generator.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from kreiswissen.models.generator import ChatMessage


class ScriptedGenerator:
    model_id = "scripted"
    context_tokens = 4096

    def __init__(self, reply: str | Callable[[list[ChatMessage]], str]) -> None:
        self.reply = reply
        self.calls: list[list[ChatMessage]] = []
        self.last_finish_reason: str | None = None

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def stream(self, messages: list[ChatMessage], *, max_tokens: int, temperature: float = 0.1) -> Iterator[str]:
        self.calls.append(messages)
        text = self.reply(messages) if callable(self.reply) else self.reply
        for i in range(0, len(text), 7):
            yield text[i:i + 7]
        self.last_finish_reason = "stop"

    def health(self) -> dict[str, object]:
        return {"ok": True, "detail": "scripted"}


def source_number(messages: list[ChatMessage], needle: str) -> int:
    """The number the prompt gave the passage containing ``needle``."""
    prompt = messages[-1].content
    for match in re.finditer(r"^\[(\d+)\] .*?\n<<<\n(.*?)\n>>>", prompt, re.S | re.M):
        if needle in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"{needle!r} not in the prompt")
