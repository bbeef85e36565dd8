"""Generated discussion summaries per TOP: the passages come from the stored transcript (members' words, not
the chair's procedure), every kept sentence is supported by the passage it cites and points at it, unsupported
sentences are dropped, a failing or useless model leaves the draft as it was; and the ``minutes summarize`` and
``minutes delete`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kreiswissen.errors import InputError, KreiswissenError, NotFound
from kreiswissen.minutes.store import minutes_from_json
from kreiswissen.models.generator import ChatMessage, OpenAIGenerator
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal
from llm_server import LlamaServer, free_port
from scripted_generator import ScriptedGenerator, source_number

SCHULZ = ("Die Sanierung der Kreisrealschule kostet nach der Kostenschätzung 3,1 Mio. €; die Fördermittel des "
          "Landes decken davon 40 Prozent, wenn der Antrag bis zum 31. März gestellt wird.")
KRUEGER = ("Wir halten den Neubau der Turnhalle für vordringlich, weil der Schulsport seit zwei Jahren in der "
           "Halle der Nachbargemeinde stattfinden muss und die Busfahrten dorthin jede Woche Unterricht kosten.")
TRANSCRIPT = f"""Kreistag Musterkreis – 14. Sitzung

Landrat Dr. Meier: Ich eröffne die Sitzung.

TOP 1: Sanierung der Kreisrealschule

Landrat Dr. Meier: Das Wort hat Frau Schulz.
Anna Schulz (CDU): {SCHULZ}
Egon Krüger (Grüne): {KRUEGER}
Landrat Dr. Meier: Wer zustimmt, den bitte ich um das Handzeichen. – Der Beschluss ist einstimmig angenommen.

TOP 2: Anfragen

Landrat Dr. Meier: Anfragen liegen nicht vor.
"""
CLERK = Principal(name="protokoll", groups=frozenset({"alle", "kreistag"}), roles=frozenset({"leser", "redakteur"}))


def _embed(rt: Runtime):  # type: ignore[no-untyped-def]
    return lambda texts: rt.embedder.embed_passages(list(texts))


@pytest.fixture
def draft(rt: Runtime, tmp_path: Path) -> str:
    path = tmp_path / "sitzung.txt"
    path.write_text(TRANSCRIPT, encoding="utf-8")
    return rt.minutes.create_draft(CLERK, path)


def test_supported_sentences_are_kept_with_their_place_and_invented_ones_dropped(rt: Runtime, draft: str) -> None:
    def reply(messages: list[ChatMessage]) -> str:
        schulz, krueger = source_number(messages, "Kreisrealschule"), source_number(messages, "Turnhalle")
        return (f"Frau Schulz (CDU) erläuterte, dass die Sanierung 3,1 Mio. € kostet und das Land 40 Prozent "
                f"fördert, wenn der Antrag bis zum 31. März gestellt wird [{schulz}]. "
                f"Herr Krüger (Grüne) hielt den Neubau der Turnhalle für vordringlich [{krueger}]. "
                f"Der Landrat sagte zu, die Turnhalle 2027 zu bauen [{krueger}].")

    scripted = ScriptedGenerator(reply)
    result = rt.minutes.summarize(CLERK, draft, scripted, _embed(rt))
    assert result["generated"] == ["TOP 1"] and result["dropped_sentences"] == 1
    assert result["kept"] == {"TOP 2": "keine Aussprache im Wortprotokoll"}
    assert len(scripted.calls) == 1  # TOP 2 has no discussion: no model call
    prompt = scripted.calls[0][-1].content
    assert "Handzeichen" not in prompt and "Das Wort hat" not in prompt and SCHULZ in prompt
    record = rt.minutes.get(CLERK, draft)
    item = record["content"]["agenda_items"][0]
    assert record["status"] == "bearbeitet" and item["summary_mode"] == "generated"
    assert [s["text"][:20] for s in item["summary"]] == ["Frau Schulz (CDU) er", "Herr Krüger (Grüne) "]
    lines = TRANSCRIPT.splitlines()
    assert [lines[s["source"]["line"] - 1].split(":")[0] for s in item["summary"]] == [
        "Anna Schulz (CDU)", "Egon Krüger (Grüne)"]
    assert item["votes"][0]["text"] == "Der Beschluss ist einstimmig angenommen."
    assert record["events"][-1]["action"] == "summarize"
    # The rendered minutes label the generated summary.
    from kreiswissen.minutes.render import render_text

    text = render_text(minutes_from_json(record["content"]), settings=rt.settings)
    assert "KI-generiert – bitte prüfen" in text and "Auszug aus dem Wortprotokoll" not in text.split("TOP 2")[0]


def test_a_summary_without_support_leaves_the_extract(rt: Runtime, draft: str) -> None:
    scripted = ScriptedGenerator("Die Sitzung verlief harmonisch und alle waren sich einig [1]. Das Wetter war gut.")
    result = rt.minutes.summarize(CLERK, draft, scripted, _embed(rt), item="1")
    assert result["generated"] == [] and "nicht belegen" in result["kept"]["TOP 1"]
    record = rt.minutes.get(CLERK, draft)
    assert record["status"] == "entwurf"
    assert record["content"]["agenda_items"][0]["summary_mode"] == "extractive"
    with pytest.raises(InputError) as unknown:
        rt.minutes.summarize(CLERK, draft, scripted, _embed(rt), item="9")
    assert "TOP „9“" in unknown.value.user_message


def test_a_dead_model_server_changes_nothing(rt: Runtime, draft: str) -> None:
    dead = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "gemma", None, timeout_s=2, connect_timeout_s=1,
                           total_timeout_s=5, context_tokens=2048)
    before = rt.minutes.get(CLERK, draft)
    with pytest.raises(KreiswissenError) as failed:
        rt.minutes.summarize(CLERK, draft, dead, _embed(rt))
    assert failed.value.http_status == 503 and "Sprachmodell" in failed.value.user_message
    after = rt.minutes.get(CLERK, draft)
    assert after["content"] == before["content"] and after["events"] == before["events"]


def test_the_real_model_server_output_is_checked_before_it_is_kept(rt: Runtime, draft: str) -> None:
    """The packaged Gemma 270M cannot summarise; whatever it writes goes through the check: kept sentences
    are supported by what they cite, and an item without a supported sentence keeps its extract."""
    server = LlamaServer(n_ctx=4096).start()
    try:
        real = OpenAIGenerator(server.base_url, LlamaServer.MODEL, None, timeout_s=120, connect_timeout_s=5,
                               total_timeout_s=300, context_tokens=4096)
        result = rt.minutes.summarize(CLERK, draft, real, _embed(rt), item="1")
    finally:
        server.stop()
    item = rt.minutes.get(CLERK, draft)["content"]["agenda_items"][0]
    if result["generated"]:
        assert item["summary_mode"] == "generated" and all(s.get("source") for s in item["summary"])
    else:
        assert item["summary_mode"] == "extractive" and result["kept"]["TOP 1"]


def test_approved_minutes_get_no_generated_summary_and_deleted_ones_are_gone(rt: Runtime, draft: str) -> None:
    rt.minutes.approve(CLERK, draft)
    with pytest.raises(InputError) as refused:
        rt.minutes.summarize(CLERK, draft, ScriptedGenerator("x"), _embed(rt))
    assert "genehmigt" in refused.value.user_message
    with pytest.raises(NotFound):  # another user's draft does not exist for them
        rt.minutes.delete(Principal(name="andere", groups=frozenset({"alle"})), draft)
    rt.minutes.delete(CLERK, draft)
    with pytest.raises(NotFound):
        rt.minutes.get(CLERK, draft)
    # The approved document stays in the library.
    assert rt.search("Sanierung Kreisrealschule", CLERK).hits


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("KREISWISSEN_LLM_BASE_URL", None)
    env.pop("KREISWISSEN_LLM_MODEL_PATH", None)
    proc = subprocess.run([sys.executable, "-m", "kreiswissen.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_summarize_without_a_model_delete_and_oparl_meetings(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "sitzung.txt"
    path.write_text(TRANSCRIPT, encoding="utf-8")
    home = rt.settings.home
    minutes_id = json.loads(run(home, "minutes", "draft", str(path), "--json").stdout)["id"]
    refused = run(home, "minutes", "summarize", minutes_id, check=False)
    assert refused.returncode != 0 and "Kein Sprachmodell eingerichtet" in refused.stderr
    both = run(home, "minutes", "draft", str(path), "--agenda", str(path), "--oparl-meeting", "x", check=False)
    assert both.returncode != 0 and "nicht beides" in both.stderr
    unknown = run(home, "minutes", "draft", str(path), "--oparl-meeting", "https://ris.example/meeting/1",
                  check=False)
    assert unknown.returncode != 0 and "nicht bekannt" in unknown.stderr
    assert json.loads(run(home, "oparl", "meetings", "--json").stdout) == {"meetings": []}
    assert "Keine Sitzungen" in run(home, "oparl", "meetings").stdout
    assert "gelöscht" in run(home, "minutes", "delete", minutes_id).stdout
    gone = run(home, "minutes", "show", minutes_id, check=False)
    assert gone.returncode != 0
