"""LDAP/AD login against a real OpenLDAP slapd on loopback: bind authentication, memberOf group mapping,
group sync on every login, refusal of empty passwords and filter injection, a dead directory server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ldap_server as slapd  # tests/ldap_server.py (tests/ is on sys.path via the root conftest)
from kreiswissen.errors import BackendUnavailable, PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.identity import Identity
from kreiswissen.security.principal import EVERYONE

PEOPLE = f"ou=people,{slapd.SUFFIX}"
GROUPS = f"ou=groups,{slapd.SUFFIX}"
USERS = {"anna": ("Anna Weber", "Anna-Passwort-2026"), "bernd": ("Bernd Koch", "Bernd-Passwort-2026"),
         "carla": ("Carla Diaz", "Carla-Passwort-2026")}
DIRECTORY_GROUPS = {"fd-bauen": ["anna"], "fd-ordnung": ["anna", "bernd"], "dsb": ["carla"]}

@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = slapd.start(tmp_path_factory.mktemp("slapd"))
    slapd.populate(server.url, USERS, DIRECTORY_GROUPS)
    yield server.url
    server.stop()


@pytest.fixture
def ldap_identity(rt: Runtime, directory: str) -> Identity:
    settings = rt.settings.model_copy(update={
        "ldap_url": directory, "ldap_bind_dn": slapd.ADMIN_DN, "ldap_bind_password": slapd.ADMIN_PW,
        "ldap_user_base": PEOPLE, "ldap_group_base": GROUPS,
        "ldap_group_map": {f"cn=fd-bauen,{GROUPS}": "bauamt", f"CN=FD-Ordnung,{GROUPS}": "ordnungsamt",
                           f"cn=dsb,{GROUPS}": "datenschutz"},
        "ldap_role_map": {f"cn=dsb,{GROUPS}": "datenschutz"},
    })
    return Identity(rt.db, settings, rt.audit)


def test_login_maps_memberof_groups_and_roles(ldap_identity: Identity, rt: Runtime) -> None:
    anna = ldap_identity.authenticate("anna", USERS["anna"][1])
    assert anna.auth_source == "ldap" and anna.display_name == "Anna Weber"
    assert anna.groups == ("bauamt", "ordnungsamt") and anna.roles == ("leser",)
    assert anna.principal().groups == frozenset({"bauamt", "ordnungsamt", EVERYONE})
    carla = ldap_identity.authenticate("Carla", USERS["carla"][1])
    assert carla.roles == ("datenschutz",)
    events = [(e["actor"], e["event"], e["details"].get("method")) for e in rt.audit.entries(None, None)]
    assert ("anna", "login.success", "ldap") in events


def test_wrong_password_unknown_user_and_empty_password_are_refused(ldap_identity: Identity, rt: Runtime) -> None:
    for name, password in (("anna", "falsch-falsch-falsch"), ("niemand", "Irgendwas-2026"), ("anna", "")):
        with pytest.raises(PermissionDenied):
            ldap_identity.authenticate(name, password)
    failures = [e for e in rt.audit.entries(None, None) if e["event"] == "login.failure"]
    assert len(failures) == 3


def test_filter_injection_cannot_log_in_as_someone_else(ldap_identity: Identity) -> None:
    for name in ("*", "anna)(uid=*", "*)(|(uid=*"):
        with pytest.raises(PermissionDenied):
            ldap_identity.authenticate(name, USERS["anna"][1])


def test_group_changes_in_the_directory_follow_at_next_login(ldap_identity: Identity, directory: str) -> None:
    import ldap3

    assert ldap_identity.authenticate("bernd", USERS["bernd"][1]).groups == ("ordnungsamt",)
    with ldap3.Connection(ldap3.Server(directory), slapd.ADMIN_DN, slapd.ADMIN_PW, auto_bind=True) as conn:
        conn.modify(f"cn=fd-bauen,{GROUPS}", {"member": [(ldap3.MODIFY_ADD, [f"uid=bernd,{PEOPLE}"])]})
        conn.modify(f"cn=fd-ordnung,{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [f"uid=bernd,{PEOPLE}"])]})
    try:
        assert ldap_identity.authenticate("bernd", USERS["bernd"][1]).groups == ("bauamt",)
    finally:
        with ldap3.Connection(ldap3.Server(directory), slapd.ADMIN_DN, slapd.ADMIN_PW, auto_bind=True) as conn:
            conn.modify(f"cn=fd-ordnung,{GROUPS}", {"member": [(ldap3.MODIFY_ADD, [f"uid=bernd,{PEOPLE}"])]})
            conn.modify(f"cn=fd-bauen,{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [f"uid=bernd,{PEOPLE}"])]})


def test_disabled_directory_user_is_refused_locally(ldap_identity: Identity) -> None:
    ldap_identity.authenticate("anna", USERS["anna"][1])
    ldap_identity.set_disabled("admin", "anna", True)
    with pytest.raises(PermissionDenied):
        ldap_identity.authenticate("anna", USERS["anna"][1])


def test_local_accounts_still_work_beside_ldap(ldap_identity: Identity) -> None:
    ldap_identity.add_user("admin", "notfall", [], "Sicherer-Zugang-2026!", ["administrator"])
    assert ldap_identity.authenticate("notfall", "Sicherer-Zugang-2026!").auth_source == "local"


def test_unreachable_directory_is_a_clear_error(rt: Runtime) -> None:
    settings = rt.settings.model_copy(update={"ldap_url": "ldap://127.0.0.1:9", "ldap_user_base": PEOPLE,
                                              "ldap_timeout_s": 2.0})
    with pytest.raises(BackendUnavailable) as info:
        Identity(rt.db, settings, rt.audit).authenticate("anna", "Anna-Passwort-2026")
    assert "Verzeichnisdienst" in info.value.user_message


def test_starttls_with_the_countys_ca_and_refusal_of_an_unknown_certificate(rt: Runtime, tmp_path_factory:
                                                                             pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("slapd-tls")
    cert, key = slapd.make_certificate(directory)
    server = slapd.start(directory, tls=(cert, key))
    try:
        slapd.populate(server.url, {"anna": USERS["anna"]}, {"fd-bauen": ["anna"]})
        base = {"ldap_url": server.url.replace("127.0.0.1", "localhost"), "ldap_bind_dn": slapd.ADMIN_DN,
                "ldap_bind_password": slapd.ADMIN_PW, "ldap_user_base": PEOPLE, "ldap_start_tls": True,
                "ldap_group_map": {f"cn=fd-bauen,{GROUPS}": "bauamt"}}
        trusted = Identity(rt.db, rt.settings.model_copy(update={**base, "ldap_ca_file": cert}), rt.audit)
        assert trusted.authenticate("anna", USERS["anna"][1]).groups == ("bauamt",)
        # Without the county's CA the certificate is not trusted: no password goes over that connection.
        stranger = Identity(rt.db, rt.settings.model_copy(update=base), rt.audit)
        with pytest.raises(BackendUnavailable) as info:
            stranger.authenticate("anna", USERS["anna"][1])
        assert "certificate" in str(info.value).lower() or "tls" in str(info.value).lower(), info.value
    finally:
        server.stop()
