"""Settings read from the environment and validated at start."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_serializer, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

# Values shipped in docker-compose.yml for a local trial: refused as PETA_SECRET_KEY or as a database
# password unless PETA_ENV=development.
PLACEHOLDERS = frozenset({"change-me-to-a-long-random-secret-of-32-chars", "peta-dev-only"})
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 10  # a key of few distinct characters ("aaaa…", "abab…") is typed, not generated
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_hex(32))"'
# the password of a postgresql:// URL: `user:PASSWORD@` (up to the netloc's last @) or `password=` in the query
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
_URL_PASSWORD = re.compile(r"(://[^:/?#@]*:)[^/?#]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*")


class Settings(BaseSettings):
    """Process settings; `DATABASE_URL` unset means the embedded cluster under `PETA_HOME`."""

    # hide_input_in_errors: a refused value (a URL with its password, a key) stays out of the error's text
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", hide_input_in_errors=True)

    # first: the validators of the secret and the URLs below read it (fields are validated in this order)
    env: Literal["development", "production"] = Field(default="production", alias="PETA_ENV")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    app_database_url: str | None = Field(default=None, alias="PETA_APP_DATABASE_URL")
    peta_home: Path = Field(default=Path(".peta"), alias="PETA_HOME")
    pg_bindir: Path | None = Field(default=None, alias="PETA_PG_BINDIR")
    # repr, str and dumps show it as '**********'; `load_secret_key` reads it
    secret_key: SecretStr | None = Field(default=None, alias="PETA_SECRET_KEY")
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
    # the portal's base map: a tile URL template ({z}/{x}/{y}, optionally {s}) and its attribution; "none": no
    # base map, the boundaries alone (a city with its own tile server, or none, need not depend on OpenStreetMap's)
    basemap_url: str = Field(default=OSM_TILES, alias="PETA_BASEMAP_URL")
    basemap_attribution: str = Field(default=OSM_ATTRIBUTION, alias="PETA_BASEMAP_ATTRIBUTION", max_length=500)

    @field_validator("database_url", "app_database_url")
    @classmethod
    def _check_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in (None, ""):
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
        if _url_password(value) in PLACEHOLDERS:
            variable = "DATABASE_URL" if info.field_name == "database_url" else "PETA_APP_DATABASE_URL"
            _refuse_placeholder(info, f"{variable} has the placeholder password of docker-compose.yml",
                                "set a real password (with docker compose: POSTGRES_PASSWORD)")  # fmt: skip
        return value.replace("postgresql+psycopg://", "postgresql://", 1)

    @field_validator("basemap_url")
    @classmethod
    def _check_basemap(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in ("", "none"):
            return ""
        if not (value.startswith(("https://", "http://", "/")) and all(p in value for p in ("{z}", "{x}", "{y}"))):
            raise ValueError("PETA_BASEMAP_URL must be an http(s):// or /path tile URL template with {z}, {x} and {y},"
                             " or none")  # fmt: skip
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if len(secret) < SECRET_MIN_LENGTH:
            raise ValueError(f"PETA_SECRET_KEY must be at least {SECRET_MIN_LENGTH} characters; make one with: "
                             f"{MAKE_A_SECRET}")  # fmt: skip
        if secret in PLACEHOLDERS:
            _refuse_placeholder(info, "PETA_SECRET_KEY is the placeholder of docker-compose.yml",
                                f"make a random key with: {MAKE_A_SECRET}")  # fmt: skip
        elif len(set(secret)) < SECRET_MIN_DISTINCT:
            _refuse_placeholder(info, f"PETA_SECRET_KEY has fewer than {SECRET_MIN_DISTINCT} distinct characters",
                                f"make a random key with: {MAKE_A_SECRET}")  # fmt: skip
        return value

    @field_serializer("database_url", "app_database_url")
    def _dump_url(self, value: str | None) -> str | None:
        return mask_url(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """repr() and str() show the URLs without their password (the secret is a SecretStr already)."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name in ("database_url", "app_database_url") else value

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
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.peta_home / "secret.key"
    if not path.exists():
        import secrets

        settings.peta_home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def mask_url(url: str | None) -> str | None:
    """The URL with its password replaced by `***` (host, user and database kept, for messages)."""
    if not url:
        return url
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def _url_password(url: str) -> str | None:
    """The password a postgresql:// URL carries, in the userinfo or as `?password=`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # a malformed URL (an unbalanced '['): the connection will say so, no password to judge
        return None
    if password is not None:
        return unquote(password)
    given = parse_qs(parts.query).get("password")
    return given[-1] if given else None


def _refuse_placeholder(info: ValidationInfo, problem: str, remedy: str) -> None:
    """Outside development a placeholder secret stops the start; in development it is logged, once."""
    env = info.data.get("env")
    if env == "development":
        _warn_once(f"{problem}: accepted because PETA_ENV=development, refused in production")
    elif env is not None:  # None: PETA_ENV itself is invalid, and that error is the one reported
        raise ValueError(f"{problem}, which only PETA_ENV=development accepts (PETA_ENV={env}); {remedy}")


@cache
def _warn_once(message: str) -> None:
    log.warning(message)
