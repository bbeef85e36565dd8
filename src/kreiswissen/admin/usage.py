"""The KI-Manager's usage analytics: use per day and department, answered vs refused, feedback, knowledge gaps,
most-used documents, active users, answer-quality evaluation runs — and CSV exports of each.

Sources: the audit log (``search``/``ask`` entries hold the pseudonymised question, its keyed digest, the
ids of the documents returned or cited, and for ``ask`` whether it was answered and how), the ``feedback``
table and the ``eval_runs`` table (migration 0008). Days are calendar days in ``Europe/Berlin``; a period is
``start`` to ``end`` inclusive, by default the last 30 days up to today.

No personal data leaves this module: every figure is an aggregate, questions and comments appear only
pseudonymised (``[PERSON_1]`` placeholders), feedback stores a keyed user pseudonym instead of the account
name, and no account name is ever returned — not in the rows, not in the CSV.

Departments. An account's department is each of its groups other than ``alle`` (an account in several
groups counts in each, so per-department figures may add up to more than the total); accounts without a
group and actors that are no accounts (``cli``, ``operator:…``) count as "ohne Zuordnung".

Small-number protection (k-anonymity). A department with fewer than ``MIN_GROUP_USERS`` (3) distinct
accounts active in the period — searching, asking or giving feedback — is not shown by name: its figures
are pooled under "andere", in every per-department table (usage, feedback list, knowledge gaps). So one
clerk's use cannot be singled out by choosing a department. An account in several small departments
counts once in "andere". "andere" itself may be small; it names no department, and the totals it could be
derived from are shown anyway (answer outcomes, active users).

Auditing: looking at the figures is not audited (they hold nothing personal and the dashboard would flood
the log); every CSV export is (``usage.export``). Recording feedback writes a ``feedback`` entry with the
rating and the question's digest, not the comment.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from kreiswissen.db.database import Database
from kreiswissen.errors import InputError, PermissionDenied
from kreiswissen.security.audit import AuditLog
from kreiswissen.security.input_policy import check_question
from kreiswissen.security.pii import pseudonymise
from kreiswissen.security.principal import EVERYONE, Principal

TIMEZONE = "Europe/Berlin"
MIN_GROUP_USERS = 3  # k: departments with fewer distinct active accounts are pooled as OTHER
OTHER = "andere"
UNASSIGNED = "ohne Zuordnung"
DEFAULT_DAYS = 30
MAX_DAYS = 731
MAX_LIMIT = 10_000
COMMENT_MAX = 2000
MAX_FEEDBACK_DOCUMENTS = 50
MODES = ("generated", "extractive", "refused")
MODE_LABELS = {"generated": "vom Sprachmodell formuliert", "extractive": "Zitate (ohne Sprachmodell)",
               "refused": "abgelehnt"}
ANALYTICS_ROLES = ("ki-manager", "administrator")
DOCUMENT_STATUS = ("freigegeben", "nicht freigegeben", "gelöscht")
REPORTS = ("nutzung", "ergebnisse", "feedback", "wissensluecken", "dokumente", "aktive_nutzer", "auswertungen")

_TZ = ZoneInfo(TIMEZONE)


# -- rows --------------------------------------------------------------------------------------------------------
def _col(label: str, fmt: Callable[[Any], str] | None = None) -> Any:
    """A field that is a CSV column (German header ``label``; ``fmt`` renders non-empty values)."""
    return field(metadata={"label": label, "fmt": fmt})


def _rating_label(value: int) -> str:
    return "positiv" if value > 0 else "negativ"


def _mode_label(value: str) -> str:
    return MODE_LABELS.get(value, value)


@dataclass(frozen=True)
class UsageRow:
    """One day and department (every day of the period, every department active in it)."""

    day: date = _col("Tag")
    department: str = _col("Fachbereich")
    searches: int = _col("Suchen")
    questions: int = _col("Fragen")
    answered: int = _col("beantwortet")
    refused: int = _col("abgelehnt")


@dataclass(frozen=True)
class OutcomeDay:
    day: date = _col("Tag")
    questions: int = _col("Fragen")
    answered: int = _col("beantwortet")
    refused: int = _col("abgelehnt")
    generated: int = _col("vom Sprachmodell formuliert")
    extractive: int = _col("Zitate (ohne Sprachmodell)")


@dataclass(frozen=True)
class AnswerOutcomes:
    questions: int
    answered: int
    refused: int
    generated: int  # answered by the language model
    extractive: int  # answered with quoted passages
    days: list[OutcomeDay]  # every day of the period

    @property
    def answer_rate(self) -> float | None:
        return round(self.answered / self.questions, 4) if self.questions else None


@dataclass(frozen=True)
class FeedbackItem:
    day: date = _col("Datum")
    department: str = _col("Fachbereich")
    rating: int = _col("Bewertung", _rating_label)  # +1 helpful, -1 not helpful
    mode: str = _col("Antwortart", _mode_label)
    question: str = _col("Frage (pseudonymisiert)")
    comment: str = _col("Kommentar (pseudonymisiert)")


@dataclass(frozen=True)
class FeedbackSummary:
    up: int
    down: int
    items: list[FeedbackItem]  # newest first

    @property
    def total(self) -> int:
        return self.up + self.down


@dataclass(frozen=True)
class KnowledgeGap:
    """A question the system could not answer (refused), or answered but rated unhelpful."""

    question: str = _col("Frage (pseudonymisiert, Beispiel)")
    count: int = _col("Anzahl")  # refused + negative_feedback
    refused: int = _col("abgelehnt")
    negative_feedback: int = _col("negatives Feedback")
    last_asked: date = _col("zuletzt")
    departments: list[str] = _col("Fachbereiche")
    reasons: list[str] = _col("Grund")  # "abgelehnt", "negatives Feedback"
    question_id: str = _col("Frage-ID")


@dataclass(frozen=True)
class DocumentUse:
    title: str = _col("Titel")  # "(nicht freigegeben)" / "(gelöscht)" when the caller may not read it
    answers: int = _col("in Antworten zitiert")
    searches: int = _col("in Suchergebnissen")
    status: str = _col("Status")  # one of DOCUMENT_STATUS
    document_id: str = _col("Dokument-ID")

    @property
    def readable(self) -> bool:
        return self.status == "freigegeben"

    @property
    def uses(self) -> int:
        return self.answers + self.searches


@dataclass(frozen=True)
class ActiveCount:
    start: date = _col("Beginn")  # the day, or the Monday of the week
    users: int = _col("aktive Konten")


@dataclass(frozen=True)
class ActiveUsers:
    total: int  # distinct accounts in the period
    days: list[ActiveCount]  # every day of the period
    weeks: list[ActiveCount]  # every ISO week touching the period (first/last may be partial)


@dataclass(frozen=True)
class EvalRun:
    id: int
    created_at: datetime
    mode: str  # "generated" | "extractive"
    questions: int
    metrics: dict[str, Any]  # evaluation.answers.summarise output (+ "backend")


# The answer-quality figures for the trend chart and the CSV (keys of evaluation.answers.summarise).
EVAL_METRICS = {
    "backend": "Modell", "answered": "beantwortet", "refused": "abgelehnt", "errors": "Fehler",
    "generated": "vom Sprachmodell formuliert", "fallback_extractive": "Rückfall auf Zitate",
    "answer_rate_answerable": "Antwortquote (beantwortbare Fragen)",
    "refusal_rate_unanswerable": "Ablehnungsquote (nicht beantwortbare Fragen)",
    "decision_accuracy": "Entscheidung richtig", "contains_expected": "erwartete Angabe enthalten",
    "citation_precision": "Zitatgenauigkeit", "unsupported_rate": "Anteil unbelegter Sätze",
    "first_token_ms_p50": "erstes Token p50 (ms)", "first_token_ms_p95": "erstes Token p95 (ms)",
    "total_ms_p50": "gesamt p50 (ms)", "total_ms_p95": "gesamt p95 (ms)",
}


# -- checks ------------------------------------------------------------------------------------------------------
def require_analytics(principal: Principal) -> None:
    if not principal.has_role(*ANALYTICS_ROLES):
        raise PermissionDenied(f"{principal.name} lacks ki-manager/administrator for usage analytics",
                               user_message="Die Nutzungsauswertung ist KI-Managerinnen und -Managern und der "
                               "Administration vorbehalten.")


def period(start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The period asked for, with defaults (the last ``DEFAULT_DAYS`` days up to today), checked."""
    end = end or datetime.now(_TZ).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InputError(f"period {start} > {end}", user_message="Der Zeitraum ist ungültig: der Beginn liegt "
                         "nach dem Ende.")
    if (end - start).days + 1 > MAX_DAYS:
        raise InputError(f"period of {(end - start).days + 1} days",
                         user_message=f"Der Zeitraum ist zu lang (höchstens {MAX_DAYS} Tage).")
    return start, end


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"bad limit {limit}", user_message=f"Die Anzahl muss zwischen 1 und {MAX_LIMIT} liegen.")
    return limit


def _params(start: date | None, end: date | None, **more: Any) -> tuple[date, date, dict[str, Any]]:
    start, end = period(start, end)
    return start, end, {
        "tz": TIMEZONE, "k": MIN_GROUP_USERS, "other": OTHER, "unassigned": UNASSIGNED,
        "lo": datetime.combine(start, time(), _TZ), "hi": datetime.combine(end + timedelta(days=1), time(), _TZ),
        **more,
    }


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _department_order(name: str) -> tuple[int, str]:
    return ({OTHER: 1, UNASSIGNED: 2}.get(name, 0), name.casefold())


# -- SQL ---------------------------------------------------------------------------------------------------------
# The activity of the period and each actor's departments, with departments of fewer than k distinct accounts
# pooled as OTHER. Every per-department query starts from these common table expressions.
_ACTIVITY = """
events AS (
    SELECT a.id, a.actor, a.event, a.details::jsonb AS d, (a.ts AT TIME ZONE %(tz)s)::date AS day
    FROM audit_log a
    WHERE a.event IN ('search', 'ask', 'feedback') AND a.ts >= %(lo)s AND a.ts < %(hi)s
),
membership AS (
    SELECT DISTINCT e.actor, COALESCE(ug.group_name, %(unassigned)s) AS department
    FROM (SELECT DISTINCT actor FROM events) e
    LEFT JOIN user_groups ug ON ug.user_name = e.actor AND ug.group_name <> 'alle'
),
sizes AS (
    SELECT department, count(*) AS accounts FROM membership GROUP BY department
),
folded AS (
    SELECT DISTINCT m.actor, CASE WHEN s.accounts >= %(k)s THEN m.department ELSE %(other)s END AS department
    FROM membership m JOIN sizes s USING (department)
),
shown AS (
    SELECT department FROM sizes WHERE accounts >= %(k)s
)"""

# A department stored with feedback, shown by name only when it passes the same threshold.
_FEEDBACK_DEPARTMENT = """CASE WHEN COALESCE(f.department, %(unassigned)s) IN (SELECT department FROM shown)
                THEN COALESCE(f.department, %(unassigned)s) ELSE %(other)s END"""

USAGE_PER_DAY_SQL = f"""
WITH {_ACTIVITY}
SELECT e.day, fo.department,
       count(*) FILTER (WHERE e.event = 'search'),
       count(*) FILTER (WHERE e.event = 'ask'),
       count(*) FILTER (WHERE e.event = 'ask' AND COALESCE((e.d ->> 'answered')::boolean, false)),
       count(*) FILTER (WHERE e.event = 'ask' AND NOT COALESCE((e.d ->> 'answered')::boolean, false))
FROM events e JOIN folded fo USING (actor)
WHERE e.event IN ('search', 'ask')
GROUP BY e.day, fo.department"""

DEPARTMENTS_SQL = f"WITH {_ACTIVITY} SELECT DISTINCT department FROM folded"

ANSWER_OUTCOMES_SQL = """
SELECT day,
       count(*),
       count(*) FILTER (WHERE answered),
       count(*) FILTER (WHERE NOT answered),
       count(*) FILTER (WHERE answered AND mode = 'generated'),
       count(*) FILTER (WHERE answered AND mode = 'extractive')
FROM (SELECT (ts AT TIME ZONE %(tz)s)::date AS day,
             COALESCE((details::jsonb ->> 'answered')::boolean, false) AS answered,
             details::jsonb ->> 'mode' AS mode
      FROM audit_log WHERE event = 'ask' AND ts >= %(lo)s AND ts < %(hi)s) asked
GROUP BY day"""

FEEDBACK_COUNTS_SQL = """
SELECT count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = -1)
FROM feedback WHERE created_at >= %(lo)s AND created_at < %(hi)s"""

FEEDBACK_ITEMS_SQL = f"""
WITH {_ACTIVITY}
SELECT (f.created_at AT TIME ZONE %(tz)s)::date, {_FEEDBACK_DEPARTMENT}, f.rating, f.mode, f.question, f.comment
FROM feedback f
WHERE f.created_at >= %(lo)s AND f.created_at < %(hi)s AND (NOT %(only_comments)s OR f.comment <> '')
ORDER BY f.created_at DESC, f.id DESC
LIMIT %(limit)s"""

KNOWLEDGE_GAPS_SQL = f"""
WITH {_ACTIVITY},
refusals AS (
    SELECT e.id, e.day, e.d ->> 'question_id' AS question_id, e.d ->> 'question' AS question, fo.department
    FROM events e JOIN folded fo USING (actor)
    WHERE e.event = 'ask' AND NOT COALESCE((e.d ->> 'answered')::boolean, false) AND e.d ? 'question_id'
),
refused AS (
    SELECT question_id, count(DISTINCT id) AS n, max(day) AS last,
           array_agg(DISTINCT department) AS departments, (array_agg(question ORDER BY id DESC))[1] AS question
    FROM refusals GROUP BY question_id
),
negative AS (
    SELECT f.question_id, count(*) AS n, max((f.created_at AT TIME ZONE %(tz)s)::date) AS last,
           array_agg(DISTINCT {_FEEDBACK_DEPARTMENT}) AS departments,
           (array_agg(f.question ORDER BY f.created_at DESC, f.id DESC))[1] AS question
    FROM feedback f
    WHERE f.rating = -1 AND f.mode IN ('generated', 'extractive')
      AND f.created_at >= %(lo)s AND f.created_at < %(hi)s
    GROUP BY f.question_id
)
SELECT COALESCE(r.question_id, n.question_id), COALESCE(r.question, n.question),
       COALESCE(r.n, 0) AS refused, COALESCE(n.n, 0) AS negative, GREATEST(r.last, n.last) AS last,
       ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(r.departments, '{{}}') || COALESCE(n.departments, '{{}}')) x)
FROM refused r FULL JOIN negative n ON n.question_id = r.question_id
ORDER BY COALESCE(r.n, 0) + COALESCE(n.n, 0) DESC, last DESC, 1
LIMIT %(limit)s"""

TOP_DOCUMENTS_SQL = """
SELECT doc, count(*) FILTER (WHERE a.event = 'ask'), count(*) FILTER (WHERE a.event = 'search')
FROM audit_log a
CROSS JOIN LATERAL jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(a.details::jsonb -> 'documents') = 'array' THEN a.details::jsonb -> 'documents'
         ELSE '[]'::jsonb END) AS doc
WHERE a.event IN ('ask', 'search') AND a.ts >= %(lo)s AND a.ts < %(hi)s
GROUP BY doc
ORDER BY count(*) DESC, count(*) FILTER (WHERE a.event = 'ask') DESC, doc
LIMIT %(limit)s"""

# Under the caller's row-level security: only titles the caller may read come back.
DOCUMENT_TITLES_SQL = "SELECT id::text, title FROM documents WHERE id = ANY(%s::uuid[])"

ACTIVE_USERS_SQL = """
SELECT GROUPING(day), GROUPING(week), day, week, count(DISTINCT actor)
FROM (SELECT actor, (ts AT TIME ZONE %(tz)s)::date AS day,
             date_trunc('week', (ts AT TIME ZONE %(tz)s)::date)::date AS week
      FROM audit_log WHERE event IN ('search', 'ask') AND ts >= %(lo)s AND ts < %(hi)s) active
GROUP BY GROUPING SETS ((day), (week), ())"""


# -- analytics ---------------------------------------------------------------------------------------------------
def usage_per_day(db: Database, principal: Principal, start: date | None = None,
                  end: date | None = None) -> list[UsageRow]:
    """Searches and questions (answered/refused) per day and department; every day of the period for every
    department active in it (zeros filled), small departments pooled as "andere"."""
    require_analytics(principal)
    start, end, params = _params(start, end)
    with db.transaction(principal) as conn:
        counts = {(r[0], r[1]): r[2:] for r in conn.execute(USAGE_PER_DAY_SQL, params)}
        departments = sorted((r[0] for r in conn.execute(DEPARTMENTS_SQL, params)), key=_department_order)
    rows = []
    for day in _days(start, end):
        for department in departments:
            searches, questions, answered, refused = counts.get((day, department), (0, 0, 0, 0))
            rows.append(UsageRow(day, department, searches, questions, answered, refused))
    return rows


def answer_outcomes(db: Database, principal: Principal, start: date | None = None,
                    end: date | None = None) -> AnswerOutcomes:
    """Questions answered vs refused, and how (language model or quoted passages), in total and per day."""
    require_analytics(principal)
    start, end, params = _params(start, end)
    with db.transaction(principal) as conn:
        per_day = {r[0]: r[1:] for r in conn.execute(ANSWER_OUTCOMES_SQL, params)}
    days = [OutcomeDay(day, *per_day.get(day, (0, 0, 0, 0, 0))) for day in _days(start, end)]
    return AnswerOutcomes(
        questions=sum(d.questions for d in days), answered=sum(d.answered for d in days),
        refused=sum(d.refused for d in days), generated=sum(d.generated for d in days),
        extractive=sum(d.extractive for d in days), days=days,
    )


def feedback_summary(db: Database, principal: Principal, start: date | None = None, end: date | None = None,
                     limit: int = 50, only_with_comment: bool = False) -> FeedbackSummary:
    """Helpful/unhelpful counts and the newest feedback (pseudonymised question and comment)."""
    require_analytics(principal)
    _, _, params = _params(start, end, limit=_limit(limit), only_comments=only_with_comment)
    with db.transaction(principal) as conn:
        up, down = conn.execute(FEEDBACK_COUNTS_SQL, params).fetchone() or (0, 0)
        items = [FeedbackItem(*r) for r in conn.execute(FEEDBACK_ITEMS_SQL, params)]
    return FeedbackSummary(up=up, down=down, items=items)


def knowledge_gaps(db: Database, principal: Principal, start: date | None = None, end: date | None = None,
                   limit: int = 50) -> list[KnowledgeGap]:
    """Questions the system refused, and questions answered but rated unhelpful, grouped by the question's
    keyed digest (the same question however it was typed); most frequent first."""
    require_analytics(principal)
    _, _, params = _params(start, end, limit=_limit(limit))
    with db.transaction(principal) as conn:
        rows = conn.execute(KNOWLEDGE_GAPS_SQL, params).fetchall()
    gaps = []
    for question_id, question, refused, negative, last, departments in rows:
        reasons = (["abgelehnt"] if refused else []) + (["negatives Feedback"] if negative else [])
        gaps.append(KnowledgeGap(question=question or "", count=refused + negative, refused=refused,
                                 negative_feedback=negative, last_asked=last,
                                 departments=sorted(departments, key=_department_order), reasons=reasons,
                                 question_id=question_id))
    return gaps


def top_documents(db: Database, principal: Principal, start: date | None = None, end: date | None = None,
                  limit: int = 20) -> list[DocumentUse]:
    """The documents cited in answers and returned by searches most often. A title is shown only when the
    caller may read the document (row-level security decides); otherwise "(nicht freigegeben)", or
    "(gelöscht)" when no version of that id exists any more."""
    require_analytics(principal)
    _, _, params = _params(start, end, limit=_limit(limit))
    with db.transaction(principal) as conn:
        counts = conn.execute(TOP_DOCUMENTS_SQL, params).fetchall()
        ids = [doc for doc, _, _ in counts if _is_uuid(doc)]
        titles = dict(conn.execute(DOCUMENT_TITLES_SQL, (ids,)).fetchall())
    hidden = [i for i in ids if i not in titles]
    existing: set[str] = set()
    if hidden:
        # Only whether the ids still exist: no title, no content (the operator view is needed because the
        # caller's own view cannot tell "not yours" from "gone").
        with db.transaction(Principal(name="usage", operator=True)) as conn:
            existing = {r[0] for r in conn.execute("SELECT id::text FROM documents WHERE id = ANY(%s::uuid[])",
                                                   (hidden,))}
    result = []
    for doc, answers, searches in counts:
        if doc in titles:
            title, status = titles[doc], "freigegeben"
        elif doc in existing:
            title, status = "(nicht freigegeben)", "nicht freigegeben"
        else:
            title, status = "(gelöscht)", "gelöscht"
        result.append(DocumentUse(title=title, answers=answers, searches=searches, status=status, document_id=doc))
    return result


def active_users(db: Database, principal: Principal, start: date | None = None,
                 end: date | None = None) -> ActiveUsers:
    """How many distinct accounts searched or asked, per day, per ISO week and in the whole period (counts
    only)."""
    require_analytics(principal)
    start, end, params = _params(start, end)
    with db.transaction(principal) as conn:
        rows = conn.execute(ACTIVE_USERS_SQL, params).fetchall()
    per_day: dict[date, int] = {}
    per_week: dict[date, int] = {}
    total = 0
    for by_day, by_week, day, week, users in rows:
        if not by_day:
            per_day[day] = users
        elif not by_week:
            per_week[week] = users
        else:
            total = users
    first_week = start - timedelta(days=start.weekday())
    weeks = [first_week + timedelta(days=7 * i) for i in range((end - first_week).days // 7 + 1)]
    return ActiveUsers(total=total, days=[ActiveCount(d, per_day.get(d, 0)) for d in _days(start, end)],
                       weeks=[ActiveCount(w, per_week.get(w, 0)) for w in weeks])


# -- evaluation runs ---------------------------------------------------------------------------------------------
def record_eval_run(db: Database, principal: Principal, mode: str, questions: int,
                    metrics: Mapping[str, Any]) -> int:
    """Store one answer-quality run (``kreiswissen eval answers --record``); returns its number."""
    require_analytics(principal)
    mode = mode.strip()
    if not mode or len(mode) > 100:
        raise InputError(f"bad eval mode {mode!r}", user_message="Die Betriebsart der Auswertung fehlt.")
    if isinstance(questions, bool) or questions < 0:
        raise InputError(f"bad question count {questions}", user_message="Ungültige Zahl der Fragen.")
    with db.transaction(principal) as conn:
        row = conn.execute("INSERT INTO eval_runs (mode, questions, metrics) VALUES (%s, %s, %s) RETURNING id",
                           (mode, questions, Jsonb(dict(metrics)))).fetchone()
    assert row is not None
    return int(row[0])


def eval_runs(db: Database, principal: Principal, limit: int = 100, start: date | None = None,
              end: date | None = None) -> list[EvalRun]:
    """The newest ``limit`` runs (within start–end when given), oldest first, for a trend chart."""
    require_analytics(principal)
    params: dict[str, Any] = {"limit": _limit(limit), "lo": None, "hi": None}
    if start is not None or end is not None:
        _, _, bounds = _params(start, end)
        params.update(lo=bounds["lo"], hi=bounds["hi"])
    with db.transaction(principal) as conn:
        rows = conn.execute(
            "SELECT id, created_at, mode, questions, metrics FROM eval_runs "
            "WHERE (%(lo)s::timestamptz IS NULL OR created_at >= %(lo)s) "
            "AND (%(hi)s::timestamptz IS NULL OR created_at < %(hi)s) "
            "ORDER BY created_at DESC, id DESC LIMIT %(limit)s", params).fetchall()
    return [EvalRun(id=r[0], created_at=r[1].astimezone(_TZ), mode=r[2], questions=r[3], metrics=dict(r[4]))
            for r in reversed(rows)]


# -- feedback ----------------------------------------------------------------------------------------------------
def record_feedback(db: Database, audit: AuditLog, principal: Principal, question: str, mode: str, rating: int,
                    comment: str = "", document_ids: Iterable[str] = ()) -> int:
    """Store a clerk's rating of an answer; returns its number. Stored: a keyed pseudonym instead of the account
    name, the department (first group other than ``alle``), the question and comment with personal data
    replaced by placeholders, the question's keyed digest (to join with the audit log), the ids of the cited
    documents. Comments are cut at ``COMMENT_MAX`` characters, control and invisible characters removed."""
    if isinstance(rating, bool) or rating not in (1, -1):
        raise InputError(f"bad rating {rating!r}", user_message="Die Bewertung muss +1 (hilfreich) oder -1 "
                         "(nicht hilfreich) sein.")
    if mode not in MODES:
        raise InputError(f"bad mode {mode!r}", user_message="Unbekannte Antwortart (erwartet: generated, "
                         "extractive oder refused).")
    question = check_question(question)
    documents = list(dict.fromkeys(d.strip() for d in document_ids if d.strip()))
    if len(documents) > MAX_FEEDBACK_DOCUMENTS or not all(_is_uuid(d) for d in documents):
        raise InputError("bad document ids", user_message="Die Angabe der zitierten Dokumente ist ungültig.")
    groups = sorted(principal.groups - {EVERYONE})
    question_id = audit.pseudonym(question)
    with db.transaction(principal) as conn:
        row = conn.execute(
            "INSERT INTO feedback (user_pseudonym, department, question, question_id, mode, rating, comment, "
            "documents) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (audit.user_pseudonym(principal.name), groups[0] if groups else None, pseudonymise(question).text,
             question_id, mode, rating, pseudonymise(clean_comment(comment)).text, documents),
        ).fetchone()
        audit.record(principal.name, "feedback", {"rating": rating, "question_id": question_id}, conn)
    assert row is not None
    return int(row[0])


def clean_comment(text: str) -> str:
    """NFC, line breaks kept, every other control or format (invisible) character removed, at most
    ``COMMENT_MAX`` characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept.strip()[:COMMENT_MAX]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


# -- CSV ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fmt: Callable[[Any], str] | None = None


def columns_of(row_type: type) -> list[Column]:
    return [Column(f.name, f.metadata["label"], f.metadata.get("fmt")) for f in fields(row_type)
            if "label" in f.metadata]


EVAL_COLUMNS = [Column("created_at", "Zeitpunkt"), Column("mode", "Betriebsart", _mode_label),
                Column("questions", "Fragen"), *(Column(k, label) for k, label in EVAL_METRICS.items())]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, datetime):
        return value.astimezone(_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")  # German Excel reads ';'-separated files with decimal commas
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    text = str(value)
    # Free text (questions, comments) must not start a formula when the file is opened in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: Sequence[Any], columns: Sequence[Column] | None = None) -> str:
    """A CSV for German spreadsheets: UTF-8 with byte-order mark, ``;`` between fields, German headers.
    ``rows`` are row dataclasses (columns from their fields) or mappings (``columns`` required)."""
    if columns is None:
        columns = columns_of(type(rows[0])) if rows and is_dataclass(rows[0]) else []
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    for row in rows:
        values = [row.get(c.key) if isinstance(row, Mapping) else getattr(row, c.key) for c in columns]
        writer.writerow([c.fmt(v) if c.fmt is not None and v is not None else _cell(v)
                         for c, v in zip(columns, values, strict=True)])
    return "\ufeff" + buf.getvalue()


def export_csv(db: Database, principal: Principal, report: str, start: date | None = None,
               end: date | None = None) -> str:
    """One report as CSV (``REPORTS``); the export is audited (``usage.export``)."""
    require_analytics(principal)
    if report not in REPORTS:
        raise InputError(f"unknown report {report!r}", user_message="Unbekannte Auswertung (möglich: "
                         + ", ".join(REPORTS) + ").")
    start, end = period(start, end)
    text: str
    if report == "nutzung":
        usage = usage_per_day(db, principal, start, end)
        count, text = len(usage), to_csv(usage, columns_of(UsageRow))
    elif report == "ergebnisse":
        days = answer_outcomes(db, principal, start, end).days
        count, text = len(days), to_csv(days, columns_of(OutcomeDay))
    elif report == "feedback":
        items = feedback_summary(db, principal, start, end, limit=MAX_LIMIT).items
        count, text = len(items), to_csv(items, columns_of(FeedbackItem))
    elif report == "wissensluecken":
        gaps = knowledge_gaps(db, principal, start, end, limit=MAX_LIMIT)
        count, text = len(gaps), to_csv(gaps, columns_of(KnowledgeGap))
    elif report == "dokumente":
        docs = top_documents(db, principal, start, end, limit=MAX_LIMIT)
        count, text = len(docs), to_csv(docs, columns_of(DocumentUse))
    elif report == "aktive_nutzer":
        active = active_users(db, principal, start, end).days
        count, text = len(active), to_csv(active, columns_of(ActiveCount))
    else:
        runs = eval_runs(db, principal, MAX_LIMIT, start, end)
        count = len(runs)
        text = to_csv([{"created_at": r.created_at, "mode": r.mode, "questions": r.questions, **r.metrics}
                       for r in runs], EVAL_COLUMNS)
    AuditLog(db, db.settings).record(principal.name, "usage.export", {
        "report": report, "start": start.isoformat(), "end": end.isoformat(), "rows": count})
    return text
