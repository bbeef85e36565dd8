"""Users, groups, roles, local passwords with lockout, API tokens — against a real PostgreSQL."""

from __future__ import annotations

import pytest

from kreiswissen.errors import InputError, NotFound, PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import EVERYONE

PASSWORD = "Sonnenblume-Rathaus-42"


def _events(rt: Runtime) -> list[tuple[str, str]]:
    return [(e["actor"], e["event"]) for e in rt.audit.entries(None, None)]


@pytest.fixture
def anna(rt: Runtime) -> Runtime:
    rt.identity.add_group("admin", "bauamt", "Fachdienst Bauen")
    rt.identity.add_user("admin", "anna", ["bauamt"], PASSWORD, ["leser", "redakteur"])
    return rt


def test_user_has_groups_roles_and_a_principal(anna: Runtime) -> None:
    user = anna.identity.get_user("Anna")
    assert user.groups == ("bauamt",) and user.roles == ("leser", "redakteur")
    principal = anna.identity.principal_for("anna")
    assert principal.groups == frozenset({"bauamt", EVERYONE}) and not principal.operator
    assert ("admin", "user.add") in _events(anna)


def test_password_hash_is_argon2id_never_the_password(anna: Runtime) -> None:
    with anna.db.admin_connection() as su:
        stored = su.execute("SELECT password_hash FROM users WHERE name = 'anna'").fetchone()[0]  # type: ignore[index]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("password", ["kurz", "anna-hat-ein-passwort", "aaaaaaaaaaaaaaaa"])
def test_password_policy(rt: Runtime, password: str) -> None:
    with pytest.raises(InputError) as info:
        rt.identity.add_user("admin", "anna", [], password)
    assert "Richtlinie" in info.value.user_message
    with pytest.raises(NotFound):
        rt.identity.get_user("anna")  # nothing half-created


def test_unknown_groups_and_roles_are_refused(rt: Runtime) -> None:
    with pytest.raises(NotFound):
        rt.identity.add_user("admin", "bernd", ["gibtsnicht"], PASSWORD)
    with pytest.raises(InputError):
        rt.identity.add_user("admin", "bernd", [], PASSWORD, ["chef"])
    with pytest.raises(InputError):
        rt.identity.add_user("admin", "Bernd Müller!", [], PASSWORD)


def test_login_success_and_failure_are_audited(anna: Runtime) -> None:
    assert anna.identity.authenticate("anna", PASSWORD).name == "anna"
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate("anna", "falsches-Passwort-1")
    with pytest.raises(PermissionDenied) as unknown:
        anna.identity.authenticate("niemand", PASSWORD)
    events = _events(anna)
    assert ("anna", "login.success") in events and ("anna", "login.failure") in events
    assert ("niemand", "login.failure") in events
    # One message for every reason: no account enumeration.
    assert "Benutzername oder Passwort" in unknown.value.user_message


def test_lockout_after_repeated_failures_then_unlock_by_admin(anna: Runtime) -> None:
    for _ in range(anna.settings.login_max_failures):
        with pytest.raises(PermissionDenied):
            anna.identity.authenticate("anna", "falsches-Passwort-1")
    assert anna.identity.get_user("anna").locked_until is not None
    with pytest.raises(PermissionDenied):  # even the right password fails while locked
        anna.identity.authenticate("anna", PASSWORD)
    assert ("anna", "login.locked") in _events(anna)
    anna.identity.set_disabled("admin", "anna", False)  # admin unlock
    assert anna.identity.authenticate("anna", PASSWORD).name == "anna"


def test_disabled_user_cannot_log_in_or_act(anna: Runtime) -> None:
    anna.identity.set_disabled("admin", "anna", True)
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate("anna", PASSWORD)
    with pytest.raises(PermissionDenied):
        anna.identity.principal_for("anna")


def test_set_groups_changes_what_the_principal_reads(anna: Runtime) -> None:
    anna.identity.add_group("admin", "personal")
    anna.identity.set_groups("admin", "anna", ["personal"])
    assert anna.identity.principal_for("anna").groups == frozenset({"personal", EVERYONE})
    entry = [e for e in anna.audit.entries(None, None) if e["event"] == "user.change"][-1]
    assert entry["details"]["groups_before"] == ["bauamt"] and entry["details"]["groups"] == ["personal"]


def test_tokens_are_hashed_scoped_expiring_and_revocable(anna: Runtime) -> None:
    secret, token = anna.identity.create_token("admin", "anna", ["search"], days=30)
    with anna.db.admin_connection() as su:
        stored = su.execute("SELECT token_hash FROM api_tokens").fetchone()[0]  # type: ignore[index]
    assert secret not in stored
    assert anna.identity.authenticate_token(secret, "search").name == "anna"
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate_token(secret, "admin")  # not in scope
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate_token(secret[:-1] + "x", "search")
    anna.identity.revoke_token("admin", token.id)
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate_token(secret, "search")
    with pytest.raises(NotFound):
        anna.identity.revoke_token("admin", token.id)  # twice
    with pytest.raises(NotFound):
        anna.identity.revoke_token("admin", "kein-token")


def test_expired_tokens_and_tokens_of_disabled_users_are_rejected(anna: Runtime) -> None:
    old, _ = anna.identity.create_token("admin", "anna", ["search"], days=1)
    with anna.db.admin_connection() as su:
        su.execute("UPDATE api_tokens SET expires_at = now() - interval '1 minute'")
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate_token(old, "search")
    fresh, _ = anna.identity.create_token("admin", "anna", ["search"], days=1)
    anna.identity.set_disabled("admin", "anna", True)
    with pytest.raises(PermissionDenied):
        anna.identity.authenticate_token(fresh, "search")
    assert all(t.revoked for t in anna.identity.list_tokens("anna") if t.expires_at.timestamp() > 0)


def test_bad_token_requests(anna: Runtime) -> None:
    with pytest.raises(InputError):
        anna.identity.create_token("admin", "anna", ["alles"])
    with pytest.raises(InputError):
        anna.identity.create_token("admin", "anna", ["search"], days=0)
    with pytest.raises(NotFound):
        anna.identity.create_token("admin", "niemand", ["search"])


def test_group_alle_cannot_be_removed_and_removal_is_audited(anna: Runtime) -> None:
    with pytest.raises(InputError):
        anna.identity.remove_group("admin", EVERYONE)
    anna.identity.remove_group("admin", "bauamt")
    assert anna.identity.get_user("anna").groups == ()
    assert ("admin", "group.remove") in _events(anna)
    assert anna.audit.verify().ok
