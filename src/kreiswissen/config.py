"""One settings object for the whole application.

Values come from ``KREISWISSEN_*`` environment variables and, optionally, a TOML file
(``$KREISWISSEN_HOME/kreiswissen.toml`` or the path in ``KREISWISSEN_CONFIG``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "kreiswissen"


def _config_file() -> Path:
    explicit = os.environ.get("KREISWISSEN_CONFIG")
    if explicit:
        return Path(explicit)
    home = os.environ.get("KREISWISSEN_HOME")
    return (Path(home) if home else default_home()) / "kreiswissen.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KREISWISSEN_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    # Application connection (a non-owner role). Empty: start the embedded PostgreSQL in $home/db.
    database_url: str | None = None
    # Owner connection used only for migrations; defaults to database_url.
    database_admin_url: str | None = None

    # Embeddings: "e5" (packaged multilingual-e5-small), "use" (packaged USE multilingual), "openai" (HTTP).
    embedder: Literal["e5", "use", "openai"] = "e5"
    embedding_base_url: str | None = None
    embedding_model: str | None = None
    embedding_api_key: str | None = None
    embedding_timeout_s: float = 60.0
    # e5-family models served by TEI/vLLM expect "query: " / "passage: "; most other models expect nothing.
    embedding_query_prefix: str = ""
    embedding_passage_prefix: str = ""
    embedding_batch_size: int = 16
    threads: int | None = None

    # Ingestion limits.
    max_file_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: float = 200.0
    ocr_languages: str = "deu"
    ocr_dpi: int = 300

    # Identity and audit.
    audit_key_file: Path | None = None  # default: $home/secrets/audit.key (created on first use)
    audit_checkpoint_every: int = 100  # sign every N-th entry (0: only on expiry and on request)
    audit_retention_days: int = 730  # entries older than this are removed by `kreiswissen audit expire`
    password_min_length: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    token_default_days: int = 90

    # LDAP / Active Directory (bind authentication, groups from memberOf). Empty URL: LDAP is off.
    ldap_url: str | None = None  # ldap://dc1.kreis.local:389 or ldaps://…:636
    ldap_bind_dn: str | None = None  # service account that looks users up (empty: anonymous search)
    ldap_bind_password: str | None = None
    ldap_user_base: str | None = None  # e.g. ou=Benutzer,dc=kreis,dc=local
    # {user} is replaced (escaped) by the login name.
    ldap_user_filter: str = "(&(|(objectClass=person)(objectClass=user))(|(uid={user})(sAMAccountName={user})))"
    ldap_group_base: str | None = None  # fallback group search (member=<user DN>) when memberOf is absent
    # Group DN (case-insensitive) → Kreiswissen group; JSON in the environment.
    ldap_group_map: dict[str, str] = Field(default_factory=dict)
    ldap_role_map: dict[str, str] = Field(default_factory=dict)  # group DN → role
    ldap_start_tls: bool = False
    ldap_ca_file: Path | None = None
    ldap_tls_verify: bool = True
    ldap_timeout_s: float = 10.0

    # OpenID Connect (Keycloak, ADFS, Entra ID, …): authorisation code flow with PKCE. Empty issuer: off.
    oidc_issuer: str | None = None  # e.g. https://sso.kreis.de/realms/verwaltung
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid profile email"
    oidc_username_claim: str = "preferred_username"
    oidc_groups_claim: str = "groups"
    oidc_roles_claim: str = "roles"
    oidc_group_map: dict[str, str] = Field(default_factory=dict)  # claim value → Kreiswissen group
    oidc_role_map: dict[str, str] = Field(default_factory=dict)  # claim value (group or role) → role
    oidc_login_ttl_s: int = 600
    oidc_timeout_s: float = 10.0
    oidc_ca_file: Path | None = None

    # Chunking.
    chunk_max_chars: int = 900
    chunk_min_chars: int = 200

    # Retrieval.
    candidates: int = 60
    lexical_per_term: int = 300  # postings read per query term, best impact first
    hnsw_ef_search: int = 64
    fusion: Literal["convex", "rrf"] = "convex"
    dense_weight: float = 0.6
    rrf_k: int = 60
    answer_threshold: float = 0.5

    # Language model for generated answers. A GGUF path runs it in-process (llama-cpp-python); a base URL
    # talks to an OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LocalAI). Neither: extractive.
    llm_base_url: str | None = None  # e.g. http://gpu01.kreis.local:8000/v1
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_model_path: Path | None = None
    llm_context_tokens: int = 8192
    llm_max_answer_tokens: int = 700
    llm_temperature: float = 0.1
    llm_connect_timeout_s: float = 5.0
    llm_timeout_s: float = 60.0  # longest wait for the first token or the next piece of the stream
    llm_total_timeout_s: float = 180.0
    llm_stream: bool = True
    # Further fields for each chat request, as JSON (e.g. {"top_k": 20} or a vLLM "chat_template_kwargs").
    llm_extra_body: dict[str, Any] = Field(default_factory=dict)
    # Sentences of a generated answer that its cited passages do not support: removed, or kept and marked.
    llm_unsupported: Literal["remove", "mark"] = "remove"

    # Optional cross-encoder reranking through a /rerank endpoint (TEI, Infinity, vLLM, llama.cpp server).
    rerank_base_url: str | None = None
    rerank_model: str | None = None
    rerank_api_key: str | None = None
    rerank_protocol: Literal["cohere", "tei"] = "cohere"  # {"documents": …} → results / {"texts": …} → list
    rerank_timeout_s: float = 10.0
    rerank_candidates: int = 30

    # Speech-to-text for recordings (minutes). A base URL: an OpenAI-compatible /v1/audio/transcriptions server
    # (speaches/faster-whisper-server, vLLM, LocalAI); empty: the packaged Whisper base model on the CPU.
    speech_base_url: str | None = None
    speech_model: str | None = None
    speech_api_key: str | None = None
    speech_timeout_s: float = 600.0  # per chunk of the recording
    speech_compute_type: Literal["float32", "int8"] = "float32"  # packaged model: int8 is faster, less exact
    speech_chunk_s: int = 300  # recordings are transcribed (and resumed) in pieces of this length

    # Conversations are personal data: kept this many days, then deleted.
    conversation_retention_days: int = 90

    # Web application (kreiswissen serve). Sessions end after this much inactivity, and at the latest after
    # session_max_hours. Secure cookies need HTTPS; switch off only for a test server on plain HTTP.
    session_idle_minutes: int = 60
    session_max_hours: int = 10
    cookie_secure: bool = True
    # Rate limits (fixed one-minute windows, shared by all app processes through PostgreSQL).
    login_rate_limit_per_minute: int = 10  # login attempts per client address
    api_rate_limit_per_minute: int = 300  # requests per user or API token
    # Maximum size of one upload in the browser (the parser limits max_file_bytes apply as well).
    upload_max_bytes: int = 100 * 1024 * 1024
    # Start a job worker (uploads) inside each web process; off when separate `kreiswissen worker` run.
    web_worker: bool = True

    # Standard cases (issue 7): the group that sees every incoming request (besides the responsible unit's
    # group, which is the unit's id in the catalogue), and the signature line of reply drafts.
    cases_intake_group: str = "poststelle"


    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def db_dir(self) -> Path:
        return self.home / "db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
