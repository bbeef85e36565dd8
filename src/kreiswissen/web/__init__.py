"""The web interface: a JSON API under ``/api/v1`` and an OpenAI-compatible API under ``/v1`` (FastAPI)."""

from kreiswissen.web.app import create_app

__all__ = ["create_app"]
