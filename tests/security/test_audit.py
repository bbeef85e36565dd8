"""The hash-chained audit log against a real PostgreSQL: append-only for the application, tampering by the
superuser found and named, retention through signed checkpoints, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal


def _fill(rt: Runtime, n: int = 5) -> None:
    for i in range(n):
        rt.audit.record("anna", "search", {"i": i, "documents": []})


def _superuser(rt: Runtime) -> psycopg.Connection:
    return rt.db.admin_connection()


def test_entries_are_chained_in_order(rt: Runtime) -> None:
    _fill(rt, 4)
    with _superuser(rt) as su:
        rows = su.execute("SELECT id, prev_hash, hash FROM audit_log ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert rows[0][1] == "0" * 64
    for before, after in zip(rows, rows[1:], strict=False):
        assert after[1] == before[2]
    assert rt.audit.verify().ok


def test_application_role_may_only_insert(rt: Runtime) -> None:
    _fill(rt, 2)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                      "UPDATE audit_head SET last_id = 0"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rt.db.transaction(Principal(name="x")) as conn:
            conn.execute(statement)  # type: ignore[arg-type]
    assert rt.audit.verify().ok


@pytest.mark.parametrize(
    ("tamper", "broken"),
    [
        ("UPDATE audit_log SET details = '{\"i\":99}' WHERE id = 3", 3),
        ("UPDATE audit_log SET actor = 'mallory' WHERE id = 2", 2),
        ("DELETE FROM audit_log WHERE id = 3", 3),
        ("DELETE FROM audit_log WHERE id = 5", 5),  # the newest entry: the chain head notices
        ("UPDATE audit_log SET ts = ts - interval '1 day' WHERE id = 4", 4),
    ],
)
def test_tampering_by_the_superuser_is_found_and_named(rt: Runtime, tamper: str, broken: int) -> None:
    _fill(rt, 5)
    assert rt.audit.verify().ok
    with _superuser(rt) as su:
        su.execute(tamper)  # type: ignore[arg-type]
    result = rt.audit.verify()
    assert not result.ok
    assert result.first_broken == broken, result


def test_a_forged_entry_inserted_out_of_order_is_found(rt: Runtime) -> None:
    _fill(rt, 4)
    with _superuser(rt) as su, su.transaction():
        su.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        # Move entries 3-4 up and slip a forged entry in at 3, with a plausible-looking predecessor hash.
        su.execute("UPDATE audit_log SET id = id + 10 WHERE id >= 3")
        su.execute("UPDATE audit_log SET id = id - 9 WHERE id >= 13")
        prev = su.execute("SELECT hash FROM audit_log WHERE id = 2").fetchone()[0]  # type: ignore[index]
        su.execute("INSERT INTO audit_log (id, ts, actor, event, details, prev_hash, hash) "
                   "VALUES (3, now(), 'mallory', 'search', '{}', %s, repeat('a', 64))", (prev,))
        su.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain")
    result = rt.audit.verify()
    assert not result.ok and result.first_broken == 3


def test_retention_keeps_the_rest_verifiable_through_a_signed_checkpoint(rt: Runtime) -> None:
    _fill(rt, 6)
    with _superuser(rt) as su:  # age the first four entries
        su.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        su.execute("UPDATE audit_log SET ts = ts - interval '400 days' WHERE id <= 4")
        su.execute("UPDATE audit_log SET hash = kw_audit_hash(id, ts, actor, event, details, prev_hash) WHERE id = 1")
        # Rebuild the chain over the aged rows the way the trigger would have.
        for i in range(2, 7):
            su.execute("UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE id = %s) WHERE id = %s",
                       (i - 1, i))
            su.execute("UPDATE audit_log SET hash = kw_audit_hash(id, ts, actor, event, details, prev_hash) "
                       "WHERE id = %s", (i,))
        su.execute("UPDATE audit_head SET last_hash = (SELECT hash FROM audit_log WHERE id = 6)")
        su.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain")
    assert rt.audit.verify().ok
    deleted = rt.audit.expire(datetime.now(UTC) - timedelta(days=365))
    assert deleted == 4
    result = rt.audit.verify()
    assert result.ok, result
    assert result.entries == 3  # entries 5, 6 and the record of the expiry itself
    # Without the signed checkpoint the cut is indistinguishable from removal: verify must fail.
    with _superuser(rt) as su:
        su.execute("DELETE FROM audit_checkpoints")
    assert not rt.audit.verify().ok


def test_a_checkpoint_with_a_forged_signature_fails(rt: Runtime) -> None:
    _fill(rt, 3)
    assert rt.audit.checkpoint() == 3
    assert rt.audit.verify().ok
    with _superuser(rt) as su:
        su.execute("UPDATE audit_checkpoints SET signature = repeat('0', 64)")
    result = rt.audit.verify()
    assert not result.ok and result.first_broken == 3


def test_export_as_json_and_csv_within_dates(rt: Runtime) -> None:
    _fill(rt, 3)
    items = json.loads(rt.audit.export(None, None, "json"))
    assert [i["id"] for i in items] == [1, 2, 3]
    assert items[0]["details"] == {"i": 0, "documents": []}
    rows = list(csv.DictReader(io.StringIO(rt.audit.export(None, None, "csv"))))
    assert [r["event"] for r in rows] == ["search"] * 3
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert json.loads(rt.audit.export(tomorrow, None, "json")) == []


def test_unknown_events_are_refused(rt: Runtime) -> None:
    with pytest.raises(ValueError):
        rt.audit.record("anna", "something.else", {})


def test_questions_are_pseudonymised_consistently(rt: Runtime) -> None:
    a = rt.audit.pseudonym("Wie hoch ist die Hundesteuer?")
    assert a == rt.audit.pseudonym("  wie hoch ist   die Hundesteuer? ")
    assert a != rt.audit.pseudonym("Wie hoch ist die Grundsteuer?")
    assert "Hundesteuer" not in a


def test_cutting_off_the_newest_entries_is_found_through_a_signed_anchor(rt: Runtime) -> None:
    every = rt.settings.audit_checkpoint_every
    assert every > 0
    _fill(rt, every + 3)
    with _superuser(rt) as su:
        assert su.execute("SELECT count(*) FROM audit_checkpoints").fetchone()[0] == 1  # type: ignore[index]
        # The superuser removes the newest entries and rewrites the chain head to match: the chain alone
        # looks intact now, but the signed entry is gone.
        su.execute("DELETE FROM audit_log WHERE id >= %s", (every,))
        su.execute("UPDATE audit_head SET last_id = %s, last_hash = (SELECT hash FROM audit_log WHERE id = %s)",
                   (every - 1, every - 1))
    result = rt.audit.verify()
    assert not result.ok and result.first_broken == every


def test_the_runtime_entry_points_audit_what_interfaces_do(rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "satzung.md"
    path.write_text("# Satzung\n\n## § 1 Gebühr\n\nDie Gebühr für die Halle beträgt 50 Euro.\n", encoding="utf-8")
    op = Principal(name="erika", operator=True, groups=frozenset({"alle"}))
    rt.ingest([path], op)
    rt.search("Gebühr Halle Frau Erika Mustermann", op)
    rt.ask("Wie hoch ist die Gebühr für die Halle?", op)
    rt.delete(str(path), op)
    entries = rt.audit.entries(None, None)
    assert [e["event"] for e in entries] == ["document.upload", "search", "ask", "document.delete"]
    assert entries[1]["details"]["question"] == "Gebühr Halle Frau [PERSON_1]" and entries[1]["details"]["documents"]
    assert entries[2]["details"]["answered"] is True
    assert rt.audit.verify().ok
