"""Migrations refuse a database that another build numbered differently instead of half-applying on top."""

from __future__ import annotations

import pytest

from kreiswissen.db.migrate import available_migrations, migrate
from kreiswissen.errors import ConfigurationError
from kreiswissen.runtime import Runtime


def test_all_packaged_migrations_are_recorded(rt: Runtime) -> None:
    with rt.db.admin_connection() as admin:
        recorded = dict(admin.execute("SELECT version, name FROM schema_migrations").fetchall())
    assert recorded == {version: name for version, name, _ in available_migrations()}
    assert migrate(rt.db.admin_connection(), None) == []  # nothing pending: idempotent


def test_a_foreign_migration_history_is_refused_with_a_clear_message(rt: Runtime) -> None:
    with rt.db.admin_connection() as admin:
        original = admin.execute("SELECT name FROM schema_migrations WHERE version = 3").fetchone()[0]  # type: ignore[index]
        admin.execute("UPDATE schema_migrations SET name = '0003_chunk_density.sql' WHERE version = 3")
        try:
            with pytest.raises(ConfigurationError) as info:
                migrate(admin, None)
            assert "anderen Kreiswissen-Version" in info.value.user_message and "0003_chunk_density" in \
                info.value.user_message
        finally:
            admin.execute("UPDATE schema_migrations SET name = %s WHERE version = 3", (original,))
