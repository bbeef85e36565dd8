"""Follow-up questions through the runtime and the CLI: resolved with the history, stored for the owner only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kreiswissen.errors import NotFound
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

ROOT = Path(__file__).resolve().parents[2]
FIRST = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"


def test_a_follow_up_is_resolved_answered_and_stored(corpus_rt: Runtime) -> None:
    anna = Principal(name="anna", groups=frozenset({"alle", "bauamt"}))
    first = corpus_rt.ask_in_conversation(FIRST, anna, None, extractive=True)
    assert first.conversation_id and first.answered and "330,00 €" in first.answer
    follow = corpus_rt.ask_in_conversation("Und für einen Kampfhund?", anna, first.conversation_id, extractive=True)
    assert follow.question == "Und für einen Kampfhund?"
    assert follow.standalone_question is not None
    assert "Kampfhund" in follow.standalone_question and "Bad Boll" in follow.standalone_question
    assert follow.answered and ("900,00 €" in follow.answer or "Kampfhund" in follow.answer)
    turns = corpus_rt.conversations.history(anna, first.conversation_id)
    assert [t.question for t in turns] == [FIRST, "Und für einen Kampfhund?"]
    assert turns[1].standalone_question == follow.standalone_question and turns[1].mode == "extractive"
    data = follow.to_json()
    assert data["conversation_id"] == first.conversation_id and data["standalone_question"]
    bernd = Principal(name="bernd", groups=frozenset({"alle", "bauamt"}))
    with pytest.raises(NotFound):
        corpus_rt.ask_in_conversation("Und für den dritten Hund?", bernd, first.conversation_id)
    corpus_rt.delete_conversation(first.conversation_id, anna)
    with pytest.raises(NotFound):
        corpus_rt.conversations.history(anna, first.conversation_id)


def test_cli_conversation_round_trip(corpus_rt: Runtime, corpus_home: Path) -> None:
    env = {**os.environ, "KREISWISSEN_HOME": str(corpus_home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}

    def kw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kreiswissen.cli", *args], capture_output=True, text=True,
                              env=env, timeout=300, cwd=ROOT, check=True)

    first = json.loads(kw("ask", FIRST, "--new-conversation", "--json").stdout)
    cid = first["conversation_id"]
    follow = json.loads(kw("ask", "Und in Aichelberg?", "--conversation", cid, "--json").stdout)
    assert "Aichelberg" in follow["standalone_question"] and "Hund" in follow["standalone_question"]
    assert follow["answered"] and any("ABG_" in c["document"]["source"] for c in follow["citations"])
    shown = json.loads(kw("conversations", "show", cid, "--json").stdout)
    assert [t["question"] for t in shown["turns"]] == [FIRST, "Und in Aichelberg?"]
