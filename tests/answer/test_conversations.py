"""Conversations: stored per user, readable only by their owner (row-level security, not just Python),
expired after the retention period, exported and erased with the user's DSGVO rights."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from typer.testing import CliRunner

from kreiswissen.answer.conversations import ConversationStore, Turn
from kreiswissen.cli_conversations import conversations_app, expire_conversations, list_conversations
from kreiswissen.db.embedded import APP_ROLE
from kreiswissen.errors import InputError, NotFound
from kreiswissen.runtime import Runtime
from kreiswissen.security.keys import principal_name_mac
from kreiswissen.security.principal import Principal

ANNA = Principal(name="anna", groups=frozenset({"alle", "bauamt"}), roles=frozenset({"leser"}))
BERND = Principal(name="bernd", groups=frozenset({"alle", "bauamt"}), roles=frozenset({"leser"}))
QUESTION = "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"
MARKER = "Quastenflosser-Gespräch"  # occurs nowhere else
CITATION = {"rank": 1, "score": 0.9, "document": {"id": "d1", "title": "Hundesteuersatzung Bad Boll",
                                                  "source": "/srv/BBO_Hundesteuer.md"}}


@pytest.fixture
def store(rt: Runtime) -> Iterator[ConversationStore]:
    """An empty conversation store, emptied again afterwards (the work database is shared by all tests)."""
    with rt.db.admin_connection() as admin:
        admin.execute("TRUNCATE conversations CASCADE")
    yield ConversationStore(rt.db)
    with rt.db.admin_connection() as admin:
        admin.execute("TRUNCATE conversations CASCADE")


def _ask(store: ConversationStore, who: Principal, cid: str, question: str = QUESTION,
         answer: str = "Für den zweiten Hund 216 Euro im Jahr [1].") -> int:
    return store.append(who, cid, question, question, answer, "extractive", [CITATION])


def test_turns_are_numbered_and_the_history_is_the_latest_oldest_first(store: ConversationStore) -> None:
    cid = store.start(ANNA)
    assert [_ask(store, ANNA, cid, f"Frage {i}?") for i in range(1, 9)] == list(range(1, 9))
    history = store.history(ANNA, cid)
    assert [t.turn for t in history] == [3, 4, 5, 6, 7, 8]
    assert [t.question for t in history] == [f"Frage {i}?" for i in range(3, 9)]
    assert all(isinstance(t, Turn) and t.conversation_id == cid and t.mode == "extractive" for t in history)
    assert history[-1].citations == [CITATION]
    assert [t.turn for t in store.history(ANNA, cid, limit=2)] == [7, 8]
    assert len(store.history(ANNA, cid, limit=None)) == 8
    # Without a title the first question names the conversation.
    (summary,) = store.list(ANNA)
    assert summary["id"] == cid and summary["owner"] == "anna" and summary["turns"] == 8
    assert summary["title"] == "Frage 1?"


def test_append_checks_mode_and_id_and_keeps_the_resolved_question(store: ConversationStore) -> None:
    cid = store.start(ANNA, "Hundesteuer")
    store.append(ANNA, cid, "Und für den dritten Hund?", "Wie hoch ist die Hundesteuer für den dritten Hund in "
                 "Bad Boll?", "Dazu habe ich nichts gefunden.", "refused", [])
    (turn,) = store.history(ANNA, cid)
    assert turn.question == "Und für den dritten Hund?" and "dritten Hund in Bad Boll" in turn.standalone_question
    assert turn.mode == "refused" and turn.citations == []
    with pytest.raises(InputError):
        store.append(ANNA, cid, "x", "x", "y", "erfunden", [])
    with pytest.raises(NotFound) as err:
        store.history(ANNA, "keine-uuid")
    assert "gibt es nicht" in err.value.user_message
    with pytest.raises(NotFound):
        store.append(ANNA, "00000000-0000-0000-0000-000000000000", "x", "x", "y", "extractive", [])
    data = store.get(ANNA, cid)
    assert data["title"] == "Hundesteuer" and data["turns"][0]["turn"] == 1


def test_another_user_can_neither_read_append_nor_delete(store: ConversationStore) -> None:
    mine = store.start(ANNA)
    _ask(store, ANNA, mine)
    theirs = store.start(BERND)
    assert [c["id"] for c in store.list(BERND)] == [theirs]
    for attempt in (lambda: store.history(BERND, mine), lambda: store.get(BERND, mine),
                    lambda: _ask(store, BERND, mine), lambda: store.delete(BERND, mine)):
        with pytest.raises(NotFound) as err:
            attempt()
        assert "anderen Benutzer" in err.value.user_message
    assert len(store.history(ANNA, mine)) == 1  # untouched
    # An operator (administration, DSGVO) sees everyone's.
    assert {c["id"] for c in store.list(Principal.local_operator())} == {mine, theirs}
    store.delete(ANNA, mine)
    assert store.list(ANNA) == []


@contextmanager
def _as(store: ConversationStore, principal: Principal) -> Iterator[psycopg.Connection]:
    with store._transaction(principal) as conn:  # the properly signed name, as the store itself uses it
        yield conn


def test_row_level_security_hides_other_users_conversations_from_raw_sql(store: ConversationStore) -> None:
    mine = store.start(ANNA)
    _ask(store, ANNA, mine, f"Frage mit {MARKER}?")
    store.start(BERND)
    with _as(store, BERND) as conn:
        # Deliberately no WHERE on the owner: only the policies filter.
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 0  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM conversation_turns WHERE question LIKE %s",
                            (f"%{MARKER}%",)).fetchone()[0] == 0  # type: ignore[index]
        assert conn.execute("UPDATE conversations SET owner = 'bernd' WHERE id = %s", (mine,)).rowcount == 0
        assert conn.execute("UPDATE conversation_turns SET answer = 'x' WHERE conversation_id = %s",
                            (mine,)).rowcount == 0
        assert conn.execute("DELETE FROM conversation_turns WHERE conversation_id = %s", (mine,)).rowcount == 0
        assert conn.execute("DELETE FROM conversations WHERE id = %s", (mine,)).rowcount == 0
    # Writing into another user's conversation, or in another user's name, is refused by the database.
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(store, BERND) as conn:
        conn.execute("INSERT INTO conversation_turns (conversation_id, turn, question, standalone_question, answer, "
                     "mode) VALUES (%s, 2, 'q', 'q', 'a', 'extractive')", (mine,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(store, BERND) as conn:
        conn.execute("INSERT INTO conversations (owner) VALUES ('anna')")
    theirs = store.list(BERND)[0]["id"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(store, BERND) as conn:
        conn.execute("UPDATE conversations SET owner = 'anna' WHERE id = %s", (theirs,))  # no giving away either
    assert len(store.history(ANNA, mine)) == 1


def test_a_name_claimed_without_its_signature_sees_nothing(rt: Runtime, store: ConversationStore) -> None:
    """SQL slipped into a session can set the name, but cannot sign it (the key is out of its reach)."""
    mine = store.start(ANNA)
    _ask(store, ANNA, mine)
    # Every transaction carries the signed name: raw SQL sees exactly the principal's own conversations.
    with rt.db.transaction(ANNA) as conn:
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1  # type: ignore[index]
    with rt.db.transaction(BERND) as conn:
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0  # type: ignore[index]
    with _as(store, BERND) as conn:
        conn.execute("SELECT set_config('kreiswissen.principal_name', 'anna', true)")  # keeps bernd's signature
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0  # type: ignore[index]
        conn.execute("SELECT set_config('kreiswissen.principal_name_mac', %s, true)",
                     (principal_name_mac(b"\x00" * 32, "anna"),))
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 0  # type: ignore[index]
        assert conn.execute("SELECT kw_principal_name()").fetchone()[0] is None  # type: ignore[index]
    # A group signature does not pass for a name signature.
    with rt.db.transaction(ANNA) as conn:
        group_mac = conn.execute("SELECT current_setting('kreiswissen.principal_mac')").fetchone()[0]  # type: ignore[index]
        conn.execute("SELECT set_config('kreiswissen.principal_name', 'anna', true), "
                     "set_config('kreiswissen.principal_name_mac', %s, true)", (group_mac,))
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0  # type: ignore[index]
    with psycopg.connect(rt.db.info.app_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0  # type: ignore[index]


def test_tables_force_row_level_security_for_the_application_role(rt: Runtime) -> None:
    with psycopg.connect(rt.db.info.app_url, autocommit=True) as conn:
        rows = conn.execute("SELECT relname, relrowsecurity AND relforcerowsecurity, pg_get_userbyid(relowner) "
                            "FROM pg_class WHERE relname IN ('conversations', 'conversation_turns')").fetchall()
        assert len(rows) == 2 and all(forced and owner != APP_ROLE for _, forced, owner in rows)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE conversations DISABLE ROW LEVEL SECURITY")


def test_expire_deletes_conversations_not_continued_within_the_retention(rt: Runtime,
                                                                          store: ConversationStore) -> None:
    old = store.start(ANNA)
    _ask(store, ANNA, old)
    continued = store.start(ANNA)
    _ask(store, ANNA, continued)
    fresh = store.start(BERND)
    with rt.db.admin_connection() as admin:
        admin.execute("UPDATE conversations SET updated_at = now() - interval '40 days', "
                      "created_at = now() - interval '40 days' WHERE id = ANY(%s)", ([old, continued],))
    _ask(store, ANNA, continued, "Und für den dritten Hund?")  # continuing renews it
    assert store.expire(30) == 1
    assert {c["id"] for c in store.list(Principal.local_operator())} == {continued, fresh}
    with rt.db.admin_connection() as admin:
        assert admin.execute("SELECT count(*) FROM conversation_turns WHERE conversation_id = %s",
                             (old,)).fetchone()[0] == 0  # type: ignore[index]
    assert store.expire(30) == 0
    with pytest.raises(InputError):
        store.expire(0)
    # The CLI helper uses the configured retention when none is given.
    assert expire_conversations(rt) == (0, rt.settings.conversation_retention_days)


def test_dsgvo_export_contains_the_users_conversations_with_turns(rt: Runtime, store: ConversationStore) -> None:
    rt.identity.add_user("admin", "anna", [], "Sonnenblume-Rathaus-42")
    cid = store.start(ANNA, "Hundesteuer")
    _ask(store, ANNA, cid)
    store.append(ANNA, cid, "Und für den dritten Hund?", "Wie hoch ist die Hundesteuer für den dritten Hund in "
                 "Bad Boll?", "Für jeden weiteren Hund 216 Euro [1].", "generated", [CITATION])
    store.start(BERND, f"Bernds {MARKER}")
    data = rt.dsgvo.export_user("dsb", "anna", None, "Auskunftsersuchen vom 24.11.2026")
    (conversation,) = data["conversations"]
    assert conversation["id"] == cid and conversation["title"] == "Hundesteuer"
    assert [t["turn"] for t in conversation["turns"]] == [1, 2]
    assert conversation["turns"][1]["question"] == "Und für den dritten Hund?"
    assert conversation["turns"][1]["mode"] == "generated"
    assert conversation["turns"][1]["citations"] == [CITATION]
    assert MARKER not in json.dumps(data, ensure_ascii=False)  # nobody else's


def test_dsgvo_erase_user_deletes_their_conversations_only(rt: Runtime, store: ConversationStore) -> None:
    rt.identity.add_user("admin", "anna", [], "Sonnenblume-Rathaus-42")
    cid = store.start(ANNA)
    _ask(store, ANNA, cid, f"Frage mit {MARKER}?")
    kept = store.start(BERND)
    _ask(store, BERND, kept)
    rt.dsgvo.erase_user("dsb", "anna", "Löschersuchen vom 24.11.2026")
    with rt.db.admin_connection() as su:
        for table in ("conversations", "conversation_turns"):
            rows = su.execute(f"SELECT count(*) FROM {table} t WHERE t::text ILIKE %s",  # noqa: S608
                              (f"%{MARKER}%",)).fetchone()[0]  # type: ignore[index]
            assert rows == 0, table
        assert su.execute("SELECT count(*) FROM conversations WHERE owner = 'anna'").fetchone()[0] == 0  # type: ignore[index]
        assert su.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 1  # type: ignore[index]
    assert [c["id"] for c in store.list(BERND)] == [kept]
    # Conversations of a name without an account (an API client) can be erased too; nobody at all is an error.
    store.start(Principal(name="fachverfahren"))
    rt.dsgvo.erase_user("dsb", "fachverfahren", "Löschersuchen vom 24.11.2026")
    with pytest.raises(NotFound):
        rt.dsgvo.erase_user("dsb", "niemand", "Löschersuchen vom 24.11.2026")


def test_cli_lists_shows_and_deletes_per_user(rt: Runtime, store: ConversationStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import kreiswissen.cli as cli

    @contextmanager
    def shared_runtime() -> Iterator[Runtime]:
        yield rt

    monkeypatch.setattr(cli, "runtime", shared_runtime)
    for name in ("anna", "bernd"):
        rt.identity.add_user("admin", name, [], "Sonnenblume-Rathaus-42")
    cid = store.start(ANNA, "Hundesteuer")
    _ask(store, ANNA, cid)
    store.start(BERND)
    runner = CliRunner()

    listed = runner.invoke(conversations_app, ["list", "--as-user", "anna", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [c["id"] for c in json.loads(listed.stdout)["conversations"]] == [cid]
    assert len(list_conversations(rt, Principal.local_operator())) == 2  # the operator sees all

    shown = runner.invoke(conversations_app, ["show", cid, "--as-user", "anna"])
    assert shown.exit_code == 0 and "Hundesteuersatzung Bad Boll" in shown.stdout and "216 Euro" in shown.stdout
    refused = runner.invoke(conversations_app, ["show", cid, "--as-user", "bernd", "--json"])
    assert refused.exit_code == NotFound.exit_code and "gibt es nicht" in refused.output

    assert runner.invoke(conversations_app, ["delete", cid, "--as-user", "bernd"]).exit_code == NotFound.exit_code
    deleted = runner.invoke(conversations_app, ["delete", cid, "--as-user", "anna"])
    assert deleted.exit_code == 0 and "gelöscht" in deleted.stdout
    expired = runner.invoke(conversations_app, ["expire", "--days", "30"])
    assert expired.exit_code == 0 and "0 Gespräch(e) gelöscht" in expired.stdout
