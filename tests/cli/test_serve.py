"""``kreiswissen serve --demo`` (what ``make demo`` starts): a real server process with the demo account."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kreiswissen.cli import DEMO_PASSWORD, DEMO_USER

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_demo_starts_the_web_app_with_a_working_demo_login(home_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "KREISWISSEN_HOME": str(home_dir), "HF_HUB_OFFLINE": "1",
           "KREISWISSEN_COOKIE_SECURE": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "kreiswissen.cli", "serve", "--demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise AssertionError("server did not start")
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            page = client.get("/anmelden")
            token = re.search(r'name="login_token" value="([^"]+)"', page.text)
            assert token
            login = client.post("/anmelden", data={"username": DEMO_USER, "password": DEMO_PASSWORD,
                                                   "login_token": token.group(1), "next": "/verwaltung"})
            assert login.status_code == 303 and login.headers["location"] == "/verwaltung"
            admin = client.get("/verwaltung")
            assert admin.status_code == 200 and "Benutzer anlegen" in admin.text
            for path in ("/auswertung", "/datenschutz", "/dokumente"):
                assert client.get(path).status_code == 200, path
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}/" in out and DEMO_PASSWORD in out


def test_demo_account_only_on_a_local_address(home_dir: Path) -> None:
    env = {**os.environ, "KREISWISSEN_HOME": str(home_dir), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "kreiswissen.cli", "serve", "--demo", "--host", "0.0.0.0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "nur, wenn der Server lokal lauscht" in proc.stderr
