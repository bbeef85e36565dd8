"""Browser login through the directory services: LDAP/AD passwords in the login form (real slapd) and the
OpenID Connect button (real provider: oidc-provider-mock), both ending in a session like a local login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

import ldap_server as slapd
from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app
from web_session import browser

PEOPLE = f"ou=people,{slapd.SUFFIX}"
GROUPS = f"ou=groups,{slapd.SUFFIX}"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = slapd.start(tmp_path_factory.mktemp("slapd-web"))
    slapd.populate(server.url, {"anna": ("Anna Weber", "Anna-Passwort-2026")}, {"fd-bauen": ["anna"]})
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def test_ldap_user_logs_in_through_the_form(rt: Runtime, directory: str) -> None:
    settings = rt.settings.model_copy(update={
        "ldap_url": directory, "ldap_bind_dn": slapd.ADMIN_DN, "ldap_bind_password": slapd.ADMIN_PW,
        "ldap_user_base": PEOPLE, "ldap_group_base": GROUPS,
        "ldap_group_map": {f"cn=fd-bauen,{GROUPS}": "bauamt"}, "web_worker": False})
    with browser(create_app(Runtime(settings=settings, db=rt.db))) as client:
        page = client.get("/anmelden")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        wrong = client.post("/anmelden", data={"username": "anna", "password": "falsch-falsch", "login_token": token})
        assert wrong.status_code == 401 and "Anmeldung fehlgeschlagen" in wrong.text
        page = client.get("/anmelden")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        ok = client.post("/anmelden", data={"username": "anna", "password": "Anna-Passwort-2026",
                                            "login_token": token})
        assert ok.status_code == 303
        assert "Anna Weber" in client.get("/fragen").text
    assert rt.identity.get_user("anna").groups == ("bauamt",)


def test_oidc_button_logs_in_through_the_provider(rt: Runtime, provider: str) -> None:
    settings = rt.settings.model_copy(update={
        "oidc_issuer": provider, "oidc_client_id": "kreiswissen", "oidc_client_secret": "geheim",
        "oidc_group_map": {"fd-jugend": "jugendamt"}, "web_worker": False})
    httpx.put(f"{provider}/users/sub-42", json={"preferred_username": "jonas", "name": "Jonas Jugend",
                                               "groups": ["fd-jugend"]}).raise_for_status()
    with browser(create_app(Runtime(settings=settings, db=rt.db))) as client:
        assert 'href="/anmelden/oidc"' in client.get("/anmelden").text
        start = client.get("/anmelden/oidc")
        assert start.status_code == 303 and start.headers["location"].startswith(provider)
        query = parse_qs(urlparse(start.headers["location"]).query)
        assert query["redirect_uri"] == ["https://testserver/anmelden/oidc/rueckkehr"]
        assert query["code_challenge_method"] == ["S256"]
        back = httpx.post(start.headers["location"], data={"sub": "sub-42"})  # the provider's login form
        target = urlparse(back.headers["location"])
        done = client.get(f"{target.path}?{target.query}")
        assert done.status_code == 303 and done.headers["location"] == "/fragen"
        assert "Jonas Jugend" in client.get("/fragen").text
        replay = client.get(f"{target.path}?{target.query}")  # state is single-use
        assert replay.status_code == 400 and "fehlgeschlagen" in replay.text
    assert rt.identity.get_user("jonas").groups == ("jugendamt",)


def test_oidc_button_is_absent_and_its_route_refused_without_configuration(rt: Runtime) -> None:
    with browser(create_app(rt)) as client:
        assert "/anmelden/oidc" not in client.get("/anmelden").text
        assert client.get("/anmelden/oidc").status_code == 404
