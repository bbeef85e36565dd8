"""The installation key: kept outside the database, it signs audit checkpoints, keys question pseudonyms and
signs the principal the application sets per transaction (so SQL slipped into a session cannot claim other
groups or operator rights)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from kreiswissen.config import Settings
from kreiswissen.errors import ConfigurationError


def installation_key(settings: Settings) -> bytes:
    """``$KREISWISSEN_HOME/secrets/audit.key`` (or ``KREISWISSEN_AUDIT_KEY_FILE``), created on first use,
    readable by the owner only."""
    path = Path(settings.audit_key_file or settings.home / "secrets" / "audit.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"key {path} unreadable: {exc}",
                                 user_message=f"Der Schlüssel {path} ist nicht lesbar.") from exc
    if len(key) < 32:
        raise ConfigurationError(f"key {path} too short",
                                 user_message=f"Der Schlüssel {path} ist zu kurz (mindestens 32 Byte).")
    return key


def derive(key: bytes, purpose: str) -> bytes:
    """A separate key per purpose, so the database's copy of one cannot forge another."""
    return hmac.new(key, b"kreiswissen:" + purpose.encode(), hashlib.sha256).digest()


def principal_mac(principal_key: bytes, groups_literal: str, operator: bool) -> str:
    """HMAC-SHA256 over exactly what the database checks (kw_principal_ok in migration 0006)."""
    message = f"{groups_literal}\n{'on' if operator else 'off'}".encode()
    return hmac.new(principal_key, message, hashlib.sha256).hexdigest()


def principal_name_mac(principal_key: bytes, name: str) -> str:
    """HMAC-SHA256 over exactly what ``kw_principal_name()`` (migration 0007) checks."""
    return hmac.new(principal_key, b"name\n" + name.encode("utf-8"), hashlib.sha256).hexdigest()
