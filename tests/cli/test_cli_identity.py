"""CLI for users, groups, tokens and the audit log; ``--as-user`` acts with that user's groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kreiswissen.config import Settings
from kreiswissen.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
KW = [sys.executable, "-m", "kreiswissen.cli"]
PASSWORD = "Sonnenblume-Rathaus-42"


def run(home: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run([*KW, *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
                          input=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def test_as_user_reads_with_that_users_groups_and_is_audited(corpus_rt: Runtime, corpus_home: Path) -> None:
    added = run(corpus_home, "groups", "add", "personal", "--description", "Personalamt", check=False)
    assert added.returncode == 0 or "gibt es schon" in added.stderr  # other tests of this store may have added it
    run(corpus_home, "users", "add", "erika", "--group", "personal", "--password-stdin", stdin=PASSWORD + "\n")
    run(corpus_home, "users", "add", "max", "--password-stdin", stdin=PASSWORD + "\n")
    users = json.loads(run(corpus_home, "users", "list", "--json").stdout)["users"]
    # Other tests share this store (the web tests add their own users): look at the two made here.
    assert {u["name"]: u["groups"] for u in users if u["name"] in ("erika", "max")} == {"erika": ["personal"],
                                                                                         "max": []}

    question = "Jahresgehalt der Kämmerin Frau Erika Mustermann"
    erika = json.loads(run(corpus_home, "search", question, "--as-user", "erika", "--json").stdout)
    assert any("Gehaltsliste" in r["document"]["title"] for r in erika["results"])
    max_ = json.loads(run(corpus_home, "search", question, "--as-user", "max", "--json").stdout)
    assert not any("Gehaltsliste" in r["document"]["title"] or "98.765" in r["chunk"]["text"]
                   for r in max_["results"])
    answer = json.loads(run(corpus_home, "ask", "Wie hoch ist das Jahresgehalt der Kämmerin?", "--as-user", "max",
                            "--json").stdout)
    assert "98.765" not in json.dumps(answer, ensure_ascii=False)

    run(corpus_home, "users", "disable", "max")
    denied = run(corpus_home, "search", question, "--as-user", "max", check=False)
    assert denied.returncode != 0 and "gesperrt" in denied.stderr
    unknown = run(corpus_home, "search", question, "--as-user", "niemand", check=False)
    assert unknown.returncode != 0 and "gibt es nicht" in unknown.stderr
    both = run(corpus_home, "search", question, "--as-user", "erika", "--as-group", "personal", check=False)
    assert both.returncode != 0

    no_reason = run(corpus_home, "audit", "export", "--format", "json", check=False)
    assert no_reason.returncode != 0 and "Anlass" in no_reason.stderr
    export = run(corpus_home, "audit", "export", "--format", "json", "--reason", "Testlauf").stdout
    entries = json.loads(export)
    searches = [e for e in entries if e["event"] == "search" and e["actor"] == "erika"]
    assert searches and searches[0]["details"]["documents"]
    # Questions only pseudonymised: the name is a placeholder, the rest stays readable for the KI-Manager.
    assert searches[0]["details"]["question"] == "Jahresgehalt der Kämmerin Frau [PERSON_1]"
    assert "Mustermann" not in export
    assert run(corpus_home, "audit", "verify").returncode == 0
    exported = run(corpus_home, "audit", "export", "--format", "json", "--reason", "Zweite Einsicht").stdout
    assert any(e["event"] == "audit.export" and e["details"]["reason"] == "Testlauf" for e in json.loads(exported))


def test_password_stdin_policy_and_tokens(home_dir: Path) -> None:
    weak = run(home_dir, "users", "add", "anna", "--password-stdin", stdin="kurz\n", check=False)
    assert weak.returncode != 0 and "Richtlinie" in weak.stderr
    run(home_dir, "users", "add", "anna", "--password-stdin", "--role", "redakteur", stdin=PASSWORD + "\n")
    created = json.loads(run(home_dir, "tokens", "create", "anna", "--scope", "search", "--days", "7",
                             "--json").stdout)
    assert created["token"].startswith("kw_") and created["scopes"] == ["search"]
    listed = json.loads(run(home_dir, "tokens", "list", "--json").stdout)["tokens"]
    assert [t["id"] for t in listed] == [created["id"]] and created["token"] not in json.dumps(listed)
    run(home_dir, "tokens", "revoke", created["id"])
    assert json.loads(run(home_dir, "tokens", "list", "--json").stdout)["tokens"][0]["revoked"] is True
    again = run(home_dir, "tokens", "revoke", created["id"], check=False)
    assert again.returncode != 0


def test_audit_verify_exit_code_names_the_tampered_entry(home_dir: Path) -> None:
    for name in ("bauamt", "ordnungsamt", "jugendamt"):
        run(home_dir, "groups", "add", name)
    ok = run(home_dir, "audit", "verify", "--json")
    assert json.loads(ok.stdout) == {"ok": True, "entries": 3, "first_broken": None, "reason": ""}
    rt = Runtime.open(Settings(home=home_dir, database_url=None))
    try:
        with rt.db.admin_connection() as su:
            su.execute("UPDATE audit_log SET details = '{\"group\":\"personalamt\"}' WHERE id = 2")
    finally:
        rt.close()
    broken = run(home_dir, "audit", "verify", check=False)
    assert broken.returncode == 3
    assert "Eintrag 2" in broken.stderr
