"""Helpers for the web tests: users with roles, and browser-like clients that log in through the login form."""

from __future__ import annotations

import contextlib
import re
import uuid

from fastapi.testclient import TestClient

from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime

PASSWORD = "Lange Passphrase für die Tests 2026!"


def make_user(rt: Runtime, roles: list[str], groups: list[str] | None = None, prefix: str = "web") -> str:
    """A new local user (unique name: the corpus runtime is shared by the whole test session)."""
    for group in groups or []:
        with contextlib.suppress(InputError):
            rt.identity.add_group("test", group)
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    rt.identity.add_user("test", name, groups or [], password=PASSWORD, roles=roles)
    return name


def login(client: TestClient, name: str, password: str = PASSWORD, next_url: str = "/fragen") -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/anmelden")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post("/anmelden", data={"username": name, "password": password,
                                              "login_token": token.group(1), "next": next_url},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get(next_url).text)


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)">', html)
    assert match, html[:500]
    return match.group(1)


def browser(app: object, address: str | None = None) -> TestClient:
    """A client on https (session cookies are Secure) that does not follow redirects on its own, from its own
    client address (login rate limits count per address)."""
    address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return TestClient(app, base_url="https://testserver", follow_redirects=False,  # type: ignore[arg-type]
                      client=(address, 50000))
