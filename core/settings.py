"""Settings read from the environment and validated at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Process settings; `DATABASE_URL` unset means the embedded cluster under `PETA_HOME`."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    app_database_url: str | None = Field(default=None, alias="PETA_APP_DATABASE_URL")
    peta_home: Path = Field(default=Path(".peta"), alias="PETA_HOME")
    pg_bindir: Path | None = Field(default=None, alias="PETA_PG_BINDIR")
    secret_key: str | None = Field(default=None, alias="PETA_SECRET_KEY", min_length=32)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="PETA_CORS_ORIGINS")
    cookie_secure: bool = Field(default=False, alias="PETA_COOKIE_SECURE")
    rate_per_minute: int = Field(default=600, alias="PETA_RATE_PER_MINUTE", ge=1)
    max_body_bytes: int = Field(default=10_000_000, alias="PETA_MAX_BODY_BYTES", ge=1024)
    statement_timeout_ms: int = Field(default=60_000, alias="PETA_STATEMENT_TIMEOUT_MS", ge=0)
    # what one request may cost (api/limits.py): anonymous callers get the tightest bounds, staff the session's
    statement_timeout_anonymous_ms: int = Field(default=3_000, alias="PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS", ge=100)
    statement_timeout_agency_ms: int = Field(default=15_000, alias="PETA_STATEMENT_TIMEOUT_AGENCY_MS", ge=100)
    max_vertices_anonymous: int = Field(default=200, alias="PETA_MAX_VERTICES_ANONYMOUS", ge=5, le=1_000_000)
    max_vertices: int = Field(default=10_000, alias="PETA_MAX_VERTICES", ge=5, le=1_000_000)
    # database connections of a process, and how many of them anonymous and agency feature lists may hold
    pool_size: int = Field(default=8, alias="PETA_POOL_SIZE", ge=2, le=200)
    pool_expensive: int = Field(default=5, alias="PETA_POOL_EXPENSIVE", ge=1, le=199)
    pool_wait_ms: int = Field(default=5_000, alias="PETA_POOL_WAIT_MS", ge=100, le=60_000)
    expensive_wait_ms: int = Field(default=1_000, alias="PETA_EXPENSIVE_WAIT_MS", ge=0, le=60_000)
    shutdown_timeout_s: int = Field(default=10, alias="PETA_SHUTDOWN_TIMEOUT_S", ge=1, le=600)
    # seconds a public vector tile is kept in the process (0: no cache)
    tile_cache_seconds: int = Field(default=60, alias="PETA_TILE_CACHE_SECONDS", ge=0, le=86_400)
    # a CQL2 filter's bounds, checked before it is parsed (the parser recurses); the upper limits keep
    # every configurable value far below what would overflow a stack
    filter_max_chars: int = Field(default=10_000, alias="PETA_FILTER_MAX_CHARS", ge=100, le=1_000_000)
    filter_max_depth: int = Field(default=30, alias="PETA_FILTER_MAX_DEPTH", ge=2, le=100)
    filter_max_nodes: int = Field(default=2_000, alias="PETA_FILTER_MAX_NODES", ge=10, le=100_000)
    # a photo declaring more pixels than this is refused before it is decoded (Pillow's own bound: 89.5 million)
    photo_max_pixels: int = Field(default=40_000_000, alias="PETA_PHOTO_MAX_PIXELS", ge=1_000_000, le=89_000_000)
    # megabytes of public response bodies (identity and gzip) kept in the process by data version (0: none)
    cache_mb: int = Field(default=64, alias="PETA_CACHE_MB", ge=0, le=65_536)
    # how often the served application chains the audit rows committed since (0: only `peta audit seal`)
    audit_seal_seconds: float = Field(default=1.0, alias="PETA_AUDIT_SEAL_SECONDS", ge=0, le=3_600)
    # an export whose client takes no data for this long is stopped and its connection given back
    send_stall_seconds: float = Field(default=30.0, alias="PETA_SEND_STALL_SECONDS", gt=0, le=3_600)

    @field_validator("database_url", "app_database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
        return value.replace("postgresql+psycopg://", "postgresql://", 1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"PETA_CORS_ORIGINS takes exact http(s) origins, not {origin!r}")
        return value

    @model_validator(mode="after")
    def _share_below_pool(self) -> Settings:
        if self.pool_expensive >= self.pool_size:
            raise ValueError(f"PETA_POOL_EXPENSIVE ({self.pool_expensive}) must be below PETA_POOL_SIZE "
                             f"({self.pool_size}): the rest is kept for cheap and staff requests")  # fmt: skip
        return self

    @field_validator("peta_home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()


def load_secret_key(settings: Settings) -> bytes:
    """The key for hashing KK/NIK: PETA_SECRET_KEY, else one generated once under PETA_HOME."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.peta_home / "secret.key"
    if not path.exists():
        import secrets

        settings.peta_home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
