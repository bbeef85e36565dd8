"""Row-level security: the database itself hides what a principal may not read."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from kreiswissen.db.embedded import APP_ROLE
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal


def _visible(rt: Runtime, principal: Principal, table: str) -> int:
    with rt.db.transaction(principal) as conn:
        # Deliberately no WHERE on groups: only the policies filter.
        return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


@pytest.mark.parametrize("table", ["documents", "chunks", "postings"])
def test_unfiltered_sql_returns_nothing_unreadable(corpus_rt: Runtime, table: str) -> None:
    everything = _visible(corpus_rt, Principal.local_operator(), table)
    ordinary = _visible(corpus_rt, Principal.with_groups(["bauamt"]), table)
    personal = _visible(corpus_rt, Principal.with_groups(["personal"]), table)
    assert 0 < ordinary < personal == everything


def test_secret_text_is_invisible_to_raw_sql_without_the_group(corpus_rt: Runtime) -> None:
    with corpus_rt.db.transaction(Principal.with_groups(["bauamt"])) as conn:
        rows = conn.execute("SELECT text FROM chunks WHERE text LIKE '%98.765%'").fetchall()
        assert rows == []
        assert conn.execute("SELECT count(*) FROM documents WHERE title LIKE '%Gehaltsliste%'").fetchone()[0] == 0
    with corpus_rt.db.transaction(Principal.with_groups(["personal"])) as conn:
        assert len(conn.execute("SELECT text FROM chunks WHERE text LIKE '%98.765%'").fetchall()) == 1


def test_no_principal_set_means_nothing_visible(corpus_rt: Runtime) -> None:
    with psycopg.connect(corpus_rt.db.info.app_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0


def test_application_role_is_not_owner_and_cannot_bypass_rls(corpus_rt: Runtime) -> None:
    with psycopg.connect(corpus_rt.db.info.app_url, autocommit=True) as conn:
        user, bypass, superuser = conn.execute(
            "SELECT current_user, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert user == APP_ROLE and not bypass and not superuser
        owners = {r[0] for r in conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename IN ('documents', 'chunks', 'postings')")}
        assert APP_ROLE not in owners
        forced = conn.execute("SELECT bool_and(relforcerowsecurity AND relrowsecurity) FROM pg_class "
                              "WHERE relname IN ('documents', 'chunks', 'postings')").fetchone()[0]
        assert forced
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE chunks DISABLE ROW LEVEL SECURITY")


def test_writes_outside_ones_groups_are_rejected_by_the_database(corpus_rt: Runtime) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            corpus_rt.db.transaction(Principal.with_groups(["bauamt"])) as conn:
        conn.execute("UPDATE documents SET access_groups = '{bauamt}' WHERE title LIKE '%Gehaltsliste%' "
                     "RETURNING id")
        # The update matched nothing visible; an insert for a foreign group must fail outright.
        conn.execute("INSERT INTO documents (source, source_key, version, content_hash, title, doc_type, format, "
                     "access_groups) VALUES ('x', 'x', 1, 'h', 't', 'text', 'text', '{personal}')")


def test_a_principal_set_by_hand_without_the_signature_sees_nothing(corpus_rt: Runtime) -> None:
    """SQL slipped into a session (an injection) can call set_config, but cannot sign: claiming operator
    rights or other groups by hand makes everything invisible instead of visible."""
    with corpus_rt.db.transaction(Principal.with_groups(["bauamt"])) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] > 0  # type: ignore[index]
        conn.execute("SELECT set_config('kreiswissen.operator', 'on', true)")
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0  # type: ignore[index]
        conn.execute("SELECT set_config('kreiswissen.operator', 'off', true), "
                     "set_config('kreiswissen.groups', '{\"alle\",\"personal\"}', true)")
        assert conn.execute("SELECT count(*) FROM chunks WHERE text LIKE '%%98.765%%'").fetchone()[0] == 0  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM postings").fetchone()[0] == 0  # type: ignore[index]
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            corpus_rt.db.transaction(Principal.with_groups(["bauamt"])) as conn:
        conn.execute("SELECT key FROM kw_principal_key")
