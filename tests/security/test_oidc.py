"""OpenID Connect login against a real OpenID provider (oidc-provider-mock: Authlib's provider server, started
on loopback): authorisation code flow with state, nonce and PKCE, ID-token verification, claims mapping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from kreiswissen.errors import PermissionDenied
from kreiswissen.runtime import Runtime
from kreiswissen.security.identity import Identity
from kreiswissen.security.principal import EVERYONE

REDIRECT = "http://127.0.0.1:8000/auth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc(rt: Runtime, provider: str) -> Identity:
    settings = rt.settings.model_copy(update={
        "oidc_issuer": provider, "oidc_client_id": "kreiswissen", "oidc_client_secret": "geheim",
        "oidc_group_map": {"fd-bauen": "bauamt", "fd-jugend": "jugendamt"},
        "oidc_role_map": {"kw-admins": "administrator"},
    })
    return Identity(rt.db, settings, rt.audit)


def _set_user(provider: str, sub: str, claims: dict) -> None:
    httpx.put(f"{provider}/users/{sub}", json=claims).raise_for_status()


def _authorize(url: str, sub: str) -> tuple[str, str]:
    """What the browser does: the provider's login form, then the redirect back with code and state."""
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["nonce"][0] and query["state"][0]
    response = httpx.post(url, data={"sub": sub})
    assert response.status_code in (302, 303), response.text
    location = urlparse(response.headers["location"])
    assert location.geturl().startswith(REDIRECT)
    params = parse_qs(location.query)
    return params["state"][0], params["code"][0]


def test_login_maps_claims_to_user_groups_and_roles(oidc: Identity, provider: str, rt: Runtime) -> None:
    _set_user(provider, "u-123", {"preferred_username": "jana.berger", "name": "Jana Berger",
                                  "email": "jana.berger@landkreis.example", "groups": ["fd-bauen", "kw-admins",
                                                                                      "unbekannt"]})
    state, code = _authorize(oidc.oidc_begin(REDIRECT), "u-123")
    user = oidc.oidc_complete(state, code)
    assert user.name == "jana.berger" and user.display_name == "Jana Berger" and user.auth_source == "oidc"
    assert user.groups == ("bauamt",) and user.roles == ("administrator",)
    assert user.principal().groups == frozenset({"bauamt", EVERYONE})
    assert any(e["event"] == "login.success" and e["details"]["method"] == "oidc"
               for e in rt.audit.entries(None, None))


def test_state_is_single_use_and_must_be_known(oidc: Identity, provider: str) -> None:
    _set_user(provider, "u-200", {"preferred_username": "tom.kern", "groups": []})
    state, code = _authorize(oidc.oidc_begin(REDIRECT), "u-200")
    assert oidc.oidc_complete(state, code).name == "tom.kern"
    with pytest.raises(PermissionDenied):  # replaying the same redirect
        oidc.oidc_complete(state, code)
    with pytest.raises(PermissionDenied):
        oidc.oidc_complete("erfunden", code)


def test_a_code_from_another_login_fails_the_nonce_check(oidc: Identity, provider: str) -> None:
    _set_user(provider, "u-300", {"preferred_username": "eve", "groups": []})
    first_url = oidc.oidc_begin(REDIRECT)
    second_url = oidc.oidc_begin(REDIRECT)
    state_a, _ = _authorize(first_url, "u-300")
    _, code_b = _authorize(second_url, "u-300")
    # Swap: state of login A with the code (and so the ID-token nonce) of login B.
    with pytest.raises(PermissionDenied):
        oidc.oidc_complete(state_a, code_b)


def test_a_forged_code_is_refused(oidc: Identity, provider: str) -> None:
    url = oidc.oidc_begin(REDIRECT)
    state = parse_qs(urlparse(url).query)["state"][0]
    with pytest.raises(PermissionDenied):
        oidc.oidc_complete(state, "gefälschter-code")


def test_a_local_account_cannot_be_taken_over_by_the_provider(oidc: Identity, provider: str) -> None:
    oidc.add_user("admin", "notfall", [], "Sicherer-Zugang-2026!", ["administrator"])
    _set_user(provider, "u-400", {"preferred_username": "notfall", "groups": ["kw-admins"]})
    state, code = _authorize(oidc.oidc_begin(REDIRECT), "u-400")
    with pytest.raises(PermissionDenied):
        oidc.oidc_complete(state, code)
    assert oidc.get_user("notfall").auth_source == "local"


def test_invalid_usernames_from_the_provider_are_refused(oidc: Identity, provider: str) -> None:
    _set_user(provider, "u-500", {"preferred_username": "Robert'); DROP TABLE users;--", "groups": []})
    state, code = _authorize(oidc.oidc_begin(REDIRECT), "u-500")
    with pytest.raises(Exception) as info:
        oidc.oidc_complete(state, code)
    assert re.search("Ungültiger Benutzername", getattr(info.value, "user_message", ""))
