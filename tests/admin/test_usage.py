"""The KI-Manager's usage analytics against a real PostgreSQL: exact aggregates from real audit entries and
feedback, small departments pooled as "andere", no account name in any output, permissions, CSV, eval runs."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kreiswissen.admin import usage
from kreiswissen.errors import InputError, PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

BERLIN = ZoneInfo("Europe/Berlin")
PASSWORD = "Sonnenblume-Rathaus-42"
# Who is in which department. bauamt: 4 accounts (shown); kaemmerei and ordnungsamt: 2 each, schulamt: 1 (pooled
# as "andere"; hans is in bauamt and kaemmerei, fritz in two pooled departments but counts once in "andere");
# no group: gabi and ina, plus the non-account actor "cli" (3: shown).
MEMBERS = {"anna": ["bauamt"], "bernd": ["bauamt"], "clara": ["bauamt"], "hans": ["bauamt", "kaemmerei"],
           "dora": ["ordnungsamt"], "emil": ["ordnungsamt"], "fritz": ["kaemmerei", "schulamt"], "gabi": [], "ina": []}
NAMES = re.compile(r"\b(" + "|".join([*MEMBERS, "kim", "leo"]) + r")\b", re.IGNORECASE)
PASS = "Was kostet ein Reisepass?"
ANGEL = "Wo beantrage ich einen Angelschein für Frau Erika Mustermann?"
HUND = "Wie hoch ist die Hundesteuer?"


@pytest.fixture
def days() -> tuple[date, date, date]:
    """Three days well before today (so today's own audit entries fall outside the period)."""
    first = datetime.now(BERLIN).date() - timedelta(days=10)
    return first, first + timedelta(days=1), first + timedelta(days=2)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), BERLIN)


def _backdate_last_entry(rt: Runtime, day: date) -> None:
    # The trigger stamps each entry with the current time; only the superuser can move it (this breaks the
    # chain, which these tests do not verify).
    with rt.db.admin_connection() as su:
        su.execute("UPDATE audit_log SET ts = %s WHERE id = (SELECT last_id FROM audit_head)", (_noon(day),))


def _event(rt: Runtime, actor: str, event: str, question: str, day: date, documents: list[str] | None = None,
           answered: bool | None = None, mode: str = "extractive") -> None:
    extra = {"answered": answered, "mode": mode} if event == "ask" else None
    rt.audit.record_query(actor, event, question, documents or [], extra)
    _backdate_last_entry(rt, day)


def _accounts(rt: Runtime) -> None:
    for group in ("bauamt", "kaemmerei", "ordnungsamt", "schulamt", "personal"):
        rt.identity.add_group("admin", group)
    for name, groups in MEMBERS.items():
        rt.identity.add_user("admin", name, groups, PASSWORD)
    rt.identity.add_user("admin", "kim", [], PASSWORD, roles=["ki-manager"])
    rt.identity.add_user("admin", "leo", ["bauamt"], PASSWORD, roles=["leser", "redakteur"])


def _documents(rt: Runtime, tmp_path: Path) -> tuple[str, str]:
    """One document everyone may read, one only for the group "personal"; their ids."""
    public, secret = tmp_path / "oeffentlich", tmp_path / "geheim"
    public.mkdir()
    secret.mkdir()
    (public / "hund.md").write_text("---\ntitel: Hundesteuersatzung Bad Boll\n---\n\n# § 5 Steuersatz\n\n"
                                    "Die Steuer beträgt für den ersten Hund 108 Euro im Jahr.\n", encoding="utf-8")
    (secret / "gehalt.md").write_text("---\ntitel: Gehaltsliste Kämmerei\n---\n\n# Gehälter\n\n"
                                      "Die Entgeltgruppe 15 gilt für die Leitung.\n", encoding="utf-8")
    operator = Principal.local_operator()
    assert not rt.ingest([public], operator).failed
    assert not rt.ingest([secret], operator, groups=["personal"]).failed
    with rt.db.transaction(operator) as conn:
        ids = dict(conn.execute("SELECT title, id::text FROM documents WHERE is_current").fetchall())
    return ids["Hundesteuersatzung Bad Boll"], ids["Gehaltsliste Kämmerei"]


GONE = str(uuid.UUID(int=7))


@pytest.fixture
def scenario(rt: Runtime, tmp_path: Path, days: tuple[date, date, date]) -> dict[str, Any]:
    _accounts(rt)
    dog, pay = _documents(rt, tmp_path)
    d1, d2, _ = days
    _event(rt, "anna", "ask", HUND, d1, [dog], answered=True, mode="generated")
    _event(rt, "bernd", "ask", PASS, d1, answered=False)
    _event(rt, "clara", "search", "Hundesteuer", d1, [dog, pay])
    _event(rt, "hans", "ask", PASS, d1, answered=False)
    _event(rt, "dora", "search", "Hund", d1, [dog])
    _event(rt, "gabi", "ask", "Entgeltgruppe Leitung", d1, [pay], answered=True)
    _event(rt, "cli", "ask", ANGEL, d1, answered=False)
    _event(rt, "anna", "search", "Streupflicht", d2)
    _event(rt, "emil", "ask", "Streupflicht Gehweg", d2, answered=True)
    _event(rt, "fritz", "search", "Friedhof", d2, [GONE])
    _event(rt, "ina", "search", "Reisepass", d2)
    _event(rt, "ina", "ask", "was kostet ein reisepass?", d2, answered=False)
    return {"dog": dog, "pay": pay}


def _kim(rt: Runtime) -> Principal:
    return rt.identity.principal_for("kim")


def _assert_no_names(*outputs: Any) -> None:
    for output in outputs:
        text = output if isinstance(output, str) else repr(output)
        assert not NAMES.search(text), NAMES.search(text)
        assert "Mustermann" not in text and "Erika" not in text


# -- usage per day and department ----------------------------------------------------------------------------------
def test_usage_per_day_counts_every_day_and_pools_small_departments(rt: Runtime, scenario: dict[str, Any],
                                                                     days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    rows = usage.usage_per_day(rt.db, _kim(rt), d1, d3)
    got = [(r.day, r.department, r.searches, r.questions, r.answered, r.refused) for r in rows]
    assert got == [
        (d1, "bauamt", 1, 3, 1, 2),  # anna (answered), bernd, hans (refused); clara searched
        (d1, "andere", 1, 1, 0, 1),  # hans again (kaemmerei), dora (ordnungsamt)
        (d1, "ohne Zuordnung", 0, 2, 1, 1),  # gabi, cli
        (d2, "bauamt", 1, 0, 0, 0),
        (d2, "andere", 1, 1, 1, 0),  # emil, fritz (once, though in two pooled departments)
        (d2, "ohne Zuordnung", 1, 1, 0, 1),  # ina
        (d3, "bauamt", 0, 0, 0, 0),
        (d3, "andere", 0, 0, 0, 0),
        (d3, "ohne Zuordnung", 0, 0, 0, 0),
    ]
    assert not {"kaemmerei", "ordnungsamt", "schulamt"} & {r.department for r in rows}
    _assert_no_names(rows)


def test_a_department_is_named_once_it_has_three_active_accounts(rt: Runtime, scenario: dict[str, Any],
                                                                 days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    rt.identity.add_user("admin", "olga", ["ordnungsamt"], PASSWORD)
    _event(rt, "olga", "search", "Sondernutzung", d3)
    rows = usage.usage_per_day(rt.db, _kim(rt), d1, d3)
    by_key = {(r.day, r.department): (r.searches, r.questions) for r in rows}
    assert {r.department for r in rows} == {"bauamt", "ordnungsamt", "andere", "ohne Zuordnung"}
    assert by_key[(d1, "ordnungsamt")] == (1, 0)  # dora
    assert by_key[(d2, "ordnungsamt")] == (0, 1)  # emil
    assert by_key[(d3, "ordnungsamt")] == (1, 0)  # olga
    assert by_key[(d1, "andere")] == (0, 1)  # hans via kaemmerei (fritz and hans: still 2)
    assert by_key[(d2, "andere")] == (1, 0)  # fritz
    # A shorter period has fewer accounts: ordnungsamt (dora alone on day 1) is pooled again.
    assert {r.department for r in usage.usage_per_day(rt.db, _kim(rt), d1, d1)} == {"bauamt", "andere"}


def test_answer_outcomes_and_active_users(rt: Runtime, scenario: dict[str, Any],
                                          days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    outcomes = usage.answer_outcomes(rt.db, _kim(rt), d1, d3)
    assert (outcomes.questions, outcomes.answered, outcomes.refused, outcomes.generated, outcomes.extractive) == \
        (7, 3, 4, 1, 2)
    assert outcomes.answer_rate == round(3 / 7, 4)
    assert [(o.day, o.questions, o.answered, o.refused, o.generated, o.extractive) for o in outcomes.days] == [
        (d1, 5, 2, 3, 1, 1), (d2, 2, 1, 1, 0, 1), (d3, 0, 0, 0, 0, 0)]

    active = usage.active_users(rt.db, _kim(rt), d1, d3)
    assert active.total == 10
    assert [(a.start, a.users) for a in active.days] == [(d1, 7), (d2, 4), (d3, 0)]
    on_day = {d1: {"anna", "bernd", "clara", "hans", "dora", "gabi", "cli"}, d2: {"anna", "emil", "fritz", "ina"},
              d3: set()}
    weeks: dict[date, set[str]] = {}
    for day, actors in on_day.items():
        weeks.setdefault(day - timedelta(days=day.weekday()), set()).update(actors)
    assert [(w.start, w.users) for w in active.weeks] == [(w, len(a)) for w, a in sorted(weeks.items())]
    assert all(w.start.weekday() == 0 for w in active.weeks)


def test_default_period_is_the_last_thirty_days(rt: Runtime) -> None:
    today = datetime.now(BERLIN).date()
    assert usage.period() == (today - timedelta(days=29), today)
    rt.audit.record_query("anna", "search", "heute", [])
    days = usage.answer_outcomes(rt.db, Principal.local_operator()).days
    assert [d.day for d in days] == [today - timedelta(days=29 - i) for i in range(30)]
    assert [(r.day, r.department, r.searches) for r in usage.usage_per_day(rt.db, Principal.local_operator())
            if r.searches] == [(today, "andere", 1)]  # "anna" is no account here, and alone
    with pytest.raises(InputError) as err:
        usage.period(today, today - timedelta(days=1))
    assert "Beginn" in err.value.user_message
    with pytest.raises(InputError):
        usage.period(today - timedelta(days=usage.MAX_DAYS), today)


# -- knowledge gaps, documents ----------------------------------------------------------------------------------------
def test_knowledge_gaps_group_refusals_and_unhelpful_answers(rt: Runtime, scenario: dict[str, Any],
                                                             days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    anna, fritz = rt.identity.principal_for("anna"), rt.identity.principal_for("fritz")
    usage.record_feedback(rt.db, rt.audit, anna, HUND, "generated", -1, "veraltet", [scenario["dog"]])
    usage.record_feedback(rt.db, rt.audit, anna, HUND, "generated", 1)  # helpful: not a gap
    usage.record_feedback(rt.db, rt.audit, fritz, ANGEL, "refused", -1)  # a refusal rated: counted as refusal only
    with rt.db.admin_connection() as su:
        su.execute("UPDATE feedback SET created_at = %s", (_noon(d2),))

    gaps = usage.knowledge_gaps(rt.db, _kim(rt), d1, d3)
    got = [(g.question, g.count, g.refused, g.negative_feedback, g.last_asked, g.departments, g.reasons)
           for g in gaps]
    assert got == [
        ("was kostet ein reisepass?", 3, 3, 0, d2, ["bauamt", "andere", "ohne Zuordnung"], ["abgelehnt"]),
        (HUND, 1, 0, 1, d2, ["bauamt"], ["negatives Feedback"]),
        ("Wo beantrage ich einen Angelschein für Frau [PERSON_1]?", 1, 1, 0, d1, ["ohne Zuordnung"],
         ["abgelehnt"]),
    ]
    assert gaps[0].question_id == rt.audit.pseudonym(PASS) and gaps[1].question_id == rt.audit.pseudonym(HUND)
    assert [g.question for g in usage.knowledge_gaps(rt.db, _kim(rt), d1, d3, limit=1)] == [gaps[0].question]
    assert usage.knowledge_gaps(rt.db, _kim(rt), d3, d3) == []
    _assert_no_names(gaps)


def test_top_documents_show_only_titles_the_caller_may_read(rt: Runtime, scenario: dict[str, Any],
                                                            days: tuple[date, date, date]) -> None:
    d1, _, d3 = days
    docs = usage.top_documents(rt.db, _kim(rt), d1, d3)
    assert [(d.document_id, d.title, d.answers, d.searches, d.status) for d in docs] == [
        (scenario["dog"], "Hundesteuersatzung Bad Boll", 1, 2, "freigegeben"),
        (scenario["pay"], "(nicht freigegeben)", 1, 1, "nicht freigegeben"),  # kim is not in "personal"
        (GONE, "(gelöscht)", 0, 1, "gelöscht"),
    ]
    assert docs[0].readable and not docs[1].readable and docs[0].uses == 3
    # An administrator in "personal" sees that title; an operator sees every title.
    rt.identity.add_user("admin", "ada", ["personal"], PASSWORD, roles=["administrator"])
    titles = [d.title for d in usage.top_documents(rt.db, rt.identity.principal_for("ada"), d1, d3, limit=2)]
    assert titles == ["Hundesteuersatzung Bad Boll", "Gehaltsliste Kämmerei"]


# -- feedback ---------------------------------------------------------------------------------------------------------
def test_feedback_is_stored_without_the_account_name_and_pseudonymised(rt: Runtime) -> None:
    _accounts(rt)
    hans = rt.identity.principal_for("hans")
    doc = str(uuid.uuid4())
    comment = "Frau Erika Mustermann sagt,\x07 die Antwort\u202e ist  veraltet.\r\nBitte prüfen."
    number = usage.record_feedback(rt.db, rt.audit, hans, "Gilt das für Herrn Max Mustermann?", "generated", -1,
                                   comment, [doc, doc, " "])
    with rt.db.admin_connection() as su:
        row = su.execute("SELECT id, user_pseudonym, department, question, question_id, mode, rating, comment, "
                         "documents FROM feedback").fetchone()
        entry = su.execute("SELECT actor, details FROM audit_log WHERE event = 'feedback'").fetchone()
    assert row is not None and entry is not None
    assert row[0] == number
    assert row[1] == rt.audit.user_pseudonym("hans") and row[1] != rt.audit.user_pseudonym("anna")
    assert row[2] == "bauamt"  # the first of hans's groups (bauamt, kaemmerei)
    assert row[3] == "Gilt das für Herrn [PERSON_1]?"
    assert row[4] == rt.audit.pseudonym("Gilt das für Herrn Max Mustermann?")
    assert (row[5], row[6]) == ("generated", -1)
    assert row[7] == "Frau [PERSON_1] sagt, die Antwort ist  veraltet.\nBitte prüfen."
    assert row[8] == [doc]
    assert "hans" not in repr(row) and "Mustermann" not in repr(row)
    # The audit entry names the actor (the record of processing) but holds no comment.
    assert entry[0] == "hans" and json.loads(entry[1]) == {"question_id": row[4], "rating": -1}

    long = usage.record_feedback(rt.db, rt.audit, Principal(name="cli"), "Frage", "refused", 1, "x" * 5000)
    with rt.db.admin_connection() as su:
        stored = su.execute("SELECT department, length(comment) FROM feedback WHERE id = %s", (long,)).fetchone()
    assert stored == (None, usage.COMMENT_MAX)


@pytest.mark.parametrize(("mode", "rating", "documents", "question"), [
    ("generated", 0, [], "Frage"), ("generated", 2, [], "Frage"), ("generated", True, [], "Frage"),
    ("geraten", 1, [], "Frage"), ("extractive", 1, ["../etc/passwd"], "Frage"), ("extractive", 1, [], "  "),
])
def test_feedback_input_is_checked(rt: Runtime, mode: str, rating: int, documents: list[str],
                                   question: str) -> None:
    with pytest.raises(InputError) as err:
        usage.record_feedback(rt.db, rt.audit, Principal(name="cli"), question, mode, rating, "", documents)
    assert err.value.user_message
    with rt.db.admin_connection() as su:
        assert su.execute("SELECT count(*) FROM feedback").fetchone() == (0,)


def test_feedback_summary_newest_first_with_pooled_departments(rt: Runtime, scenario: dict[str, Any],
                                                               days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    for name, rating, comment, day in (("anna", 1, "", d1), ("fritz", -1, "Erika Mustermann fehlt", d2),
                                       ("gabi", -1, "unvollständig", d2)):
        usage.record_feedback(rt.db, rt.audit, rt.identity.principal_for(name), HUND, "generated", rating, comment)
        with rt.db.admin_connection() as su:
            su.execute("UPDATE feedback SET created_at = %s WHERE id = (SELECT max(id) FROM feedback)",
                       (_noon(day) + timedelta(minutes=len(comment)),))
    summary = usage.feedback_summary(rt.db, _kim(rt), d1, d3)
    assert (summary.up, summary.down, summary.total) == (1, 2, 3)
    assert [(i.day, i.department, i.rating, i.mode, i.question, i.comment) for i in summary.items] == [
        (d2, "andere", -1, "generated", HUND, "[PERSON_1] fehlt"),  # fritz: kaemmerei has 2 accounts
        (d2, "ohne Zuordnung", -1, "generated", HUND, "unvollständig"),  # gabi: no group
        (d1, "bauamt", 1, "generated", HUND, ""),
    ]
    assert [i.comment for i in usage.feedback_summary(rt.db, _kim(rt), d1, d3, only_with_comment=True).items] \
        == ["[PERSON_1] fehlt", "unvollständig"]
    assert len(usage.feedback_summary(rt.db, _kim(rt), d1, d3, limit=1).items) == 1
    assert usage.feedback_summary(rt.db, _kim(rt), d3, d3).total == 0
    _assert_no_names(summary)


# -- permissions, audit, CSV -------------------------------------------------------------------------------------------
def test_only_ki_managers_and_administrators_see_the_figures(rt: Runtime, scenario: dict[str, Any],
                                                             days: tuple[date, date, date]) -> None:
    d1, _, d3 = days
    leo = rt.identity.principal_for("leo")  # leser and redakteur
    calls = [
        lambda p: usage.usage_per_day(rt.db, p, d1, d3), lambda p: usage.answer_outcomes(rt.db, p, d1, d3),
        lambda p: usage.feedback_summary(rt.db, p, d1, d3), lambda p: usage.knowledge_gaps(rt.db, p, d1, d3),
        lambda p: usage.top_documents(rt.db, p, d1, d3), lambda p: usage.active_users(rt.db, p, d1, d3),
        lambda p: usage.eval_runs(rt.db, p), lambda p: usage.export_csv(rt.db, p, "nutzung", d1, d3),
        lambda p: usage.record_eval_run(rt.db, p, "extractive", 1, {}),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as err:
            call(leo)
        assert "vorbehalten" in err.value.user_message
    rt.identity.add_user("admin", "ada", [], PASSWORD, roles=["administrator"])
    for who in (_kim(rt), rt.identity.principal_for("ada"), Principal.local_operator()):
        assert usage.answer_outcomes(rt.db, who, d1, d3).questions == 7


def test_viewing_is_not_audited_but_every_export_is(rt: Runtime, scenario: dict[str, Any],
                                                    days: tuple[date, date, date]) -> None:
    d1, _, d3 = days
    kim = _kim(rt)

    def entries() -> int:
        with rt.db.admin_connection() as su:
            return su.execute("SELECT count(*) FROM audit_log").fetchone()[0]  # type: ignore[index]

    before = entries()
    usage.usage_per_day(rt.db, kim, d1, d3)
    usage.knowledge_gaps(rt.db, kim, d1, d3)
    usage.top_documents(rt.db, kim, d1, d3)
    assert entries() == before
    usage.export_csv(rt.db, kim, "wissensluecken", d1, d3)
    with rt.db.admin_connection() as su:
        actor, details = su.execute("SELECT actor, details FROM audit_log WHERE event = 'usage.export'").fetchone()  # type: ignore[misc]
    assert actor == "kim"
    assert json.loads(details) == {"report": "wissensluecken", "start": d1.isoformat(), "end": d3.isoformat(),
                                   "rows": 2}
    with pytest.raises(InputError):
        usage.export_csv(rt.db, kim, "benutzer", d1, d3)


def _read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_exports_have_german_headers_and_no_names(rt: Runtime, scenario: dict[str, Any],
                                                      days: tuple[date, date, date]) -> None:
    d1, d2, d3 = days
    kim = _kim(rt)
    usage.record_feedback(rt.db, rt.audit, rt.identity.principal_for("anna"), HUND, "generated", -1,
                          "=HYPERLINK(\"http://x\") sagt Erika Mustermann")
    with rt.db.admin_connection() as su:
        su.execute("UPDATE feedback SET created_at = %s", (_noon(d2),))
    run = usage.record_eval_run(rt.db, kim, "generated", 12, {"backend": "qwen", "decision_accuracy": 0.8333,
                                                              "answered": 9})
    with rt.db.admin_connection() as su:
        su.execute("UPDATE eval_runs SET created_at = %s WHERE id = %s", (_noon(d3), run))
    exported = {report: usage.export_csv(rt.db, kim, report, d1, d3) for report in usage.REPORTS}

    nutzung = _read_csv(exported["nutzung"])
    assert nutzung[0] == ["Tag", "Fachbereich", "Suchen", "Fragen", "beantwortet", "abgelehnt"]
    assert nutzung[1] == [d1.isoformat(), "bauamt", "1", "3", "1", "2"]
    assert len(nutzung) == 10
    assert _read_csv(exported["ergebnisse"])[1] == [d1.isoformat(), "5", "2", "3", "1", "1"]
    feedback = _read_csv(exported["feedback"])
    assert feedback[0] == ["Datum", "Fachbereich", "Bewertung", "Antwortart", "Frage (pseudonymisiert)",
                           "Kommentar (pseudonymisiert)"]
    # A comment that would start a spreadsheet formula is defused.
    assert feedback[1] == [d2.isoformat(), "bauamt", "negativ", "vom Sprachmodell formuliert", HUND,
                           "'=HYPERLINK(\"http://x\") sagt [PERSON_1]"]
    gaps = _read_csv(exported["wissensluecken"])
    assert gaps[0][:3] == ["Frage (pseudonymisiert, Beispiel)", "Anzahl", "abgelehnt"]
    assert gaps[1][:3] == ["was kostet ein reisepass?", "3", "3"]
    assert gaps[1][5] == "bauamt, andere, ohne Zuordnung"
    documents = _read_csv(exported["dokumente"])
    assert documents[1] == ["Hundesteuersatzung Bad Boll", "1", "2", "freigegeben", scenario["dog"]]
    assert _read_csv(exported["aktive_nutzer"])[1:] == [[d1.isoformat(), "7"], [d2.isoformat(), "4"],
                                                         [d3.isoformat(), "0"]]
    runs = _read_csv(exported["auswertungen"])
    assert runs[0][:5] == ["Zeitpunkt", "Betriebsart", "Fragen", "Modell", "beantwortet"]
    header = dict(zip(runs[0], runs[1], strict=True))
    assert header["Modell"] == "qwen" and header["Fragen"] == "12" and header["Entscheidung richtig"] == "0,8333"
    assert header["Betriebsart"] == "vom Sprachmodell formuliert" and header["Zitatgenauigkeit"] == ""
    _assert_no_names(*exported.values())
    assert "\r\n" in exported["nutzung"]


def test_to_csv_of_nothing_and_of_mappings() -> None:
    assert usage.to_csv([]) == "\ufeff\r\n"
    assert usage.to_csv([], usage.columns_of(usage.ActiveCount)) == "\ufeffBeginn;aktive Konten\r\n"
    text = usage.to_csv([{"a": 1.5, "b": ["x", "y"], "c": None}, {"a": -2, "b": "@x", "c": True}],
                        [usage.Column("a", "A"), usage.Column("b", "B"), usage.Column("c", "C")])
    assert _read_csv(text) == [["A", "B", "C"], ["1,5", "x, y", ""], ["-2", "'@x", "ja"]]


# -- evaluation runs ---------------------------------------------------------------------------------------------------
def test_eval_answers_record_stores_a_run(rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kreiswissen.cli as cli

    @contextmanager
    def shared_runtime() -> Iterator[Runtime]:
        yield rt

    monkeypatch.setattr(cli, "runtime", shared_runtime)
    _accounts(rt)
    _documents(rt, tmp_path)
    questions = tmp_path / "fragen.jsonl"
    questions.write_text(
        json.dumps({"id": "q1", "question": "Wie hoch ist die Steuer für den ersten Hund in Bad Boll?",
                    "answer_contains": ["108 Euro"]}) + "\n"
        + json.dumps({"id": "q2", "question": "Was kostet ein neuer Reisepass?", "answerable": False}) + "\n",
        encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(cli.app, ["eval", "answers", str(questions), "--extractive", "--json"])
    assert plain.exit_code == 0, plain.output
    assert "run" not in json.loads(plain.stdout) and usage.eval_runs(rt.db, _kim(rt)) == []

    recorded = runner.invoke(cli.app, ["eval", "answers", str(questions), "--extractive", "--record", "--json"])
    assert recorded.exit_code == 0, recorded.output
    report = json.loads(recorded.stdout)
    runs = usage.eval_runs(rt.db, _kim(rt))
    assert [(r.id, r.mode, r.questions) for r in runs] == [(report["run"], "extractive", 2)]
    assert runs[0].metrics == {k: v for k, v in report.items() if k != "run"}
    assert runs[0].metrics["backend"] == "extraktiv" and runs[0].metrics["questions"] == 2

    table = runner.invoke(cli.app, ["eval", "answers", str(questions), "--extractive", "--record"])
    assert table.exit_code == 0, table.output
    assert "Auswertungslauf Nr." in table.stdout
    runs = usage.eval_runs(rt.db, _kim(rt))
    assert len(runs) == 2 and runs[0].created_at <= runs[1].created_at  # oldest first, for the trend chart
    assert [r.id for r in usage.eval_runs(rt.db, _kim(rt), limit=1)] == [runs[1].id]
    today = datetime.now(BERLIN).date()
    assert usage.eval_runs(rt.db, _kim(rt), start=today - timedelta(days=3), end=today - timedelta(days=1)) == []
    assert asdict(runs[0])["metrics"]["questions"] == 2
