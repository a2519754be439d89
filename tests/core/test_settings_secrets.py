"""Settings hardening (issues 14 and 15): the secret key and the URLs' passwords never shown, and the
placeholders of docker-compose.yml refused unless PETA_ENV=development."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from core import settings as settings_module
from core.settings import PLACEHOLDERS, Settings, get_settings, load_secret_key, mask_url
from peta.cli import app
from tests.conftest import REPO

PLACEHOLDER_SECRET = "change-me-to-a-long-random-secret-of-32-chars"
PLACEHOLDER_PASSWORD = "peta-dev-only"
GOOD_SECRET = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c"  # 32 characters, 14 distinct
PASSWORD = "s3cr3t-Pa55word"
MAKE_ONE = 'python -c "import secrets; print(secrets.token_hex(32))"'
URL_FIELDS = ["DATABASE_URL", "PETA_APP_DATABASE_URL"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts: none of the variables under test come from the caller's shell."""
    for name in ("PETA_ENV", "PETA_SECRET_KEY", *URL_FIELDS):
        monkeypatch.delenv(name, raising=False)


def refused(**env: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Settings(**env)  # type: ignore[arg-type]
    return caught.value


def only_error(exc: ValidationError) -> tuple[str, str]:
    """(variable, message) of the one error, as the CLI prints it (peta/common.py: `setting {loc[0]}: {msg}`)."""
    [error] = exc.errors()
    return str(error["loc"][0]), error["msg"]


# --- the mode ---


def test_the_default_mode_is_production(tmp_path):
    assert Settings().env == "production"
    exc = refused(PETA_SECRET_KEY=PLACEHOLDER_SECRET)  # no PETA_ENV: the placeholder is refused
    assert only_error(exc)[0] == "PETA_SECRET_KEY"


def test_the_embedded_path_needs_no_setting_in_production(tmp_path):
    """`make demo` on a fresh machine: no DATABASE_URL, no PETA_SECRET_KEY, a key generated under PETA_HOME."""
    s = Settings(PETA_HOME=str(tmp_path / "home"))
    assert (s.env, s.database_url, s.app_database_url, s.secret_key) == ("production", None, None, None)
    key = load_secret_key(s)
    assert len(set(key.decode())) >= settings_module.SECRET_MIN_DISTINCT
    assert Settings(PETA_HOME=str(tmp_path / "home"), PETA_SECRET_KEY=key.decode()).env == "production"


def test_peta_env_takes_only_the_two_modes():
    exc = refused(PETA_ENV="staging", PETA_SECRET_KEY=PLACEHOLDER_SECRET)
    variable, message = only_error(exc)  # one error, about the mode: not a second one about the key
    assert variable == "PETA_ENV"
    assert "'development' or 'production'" in message


# --- the secret key ---


@pytest.mark.parametrize("env", [{}, {"PETA_ENV": "production"}])
def test_the_placeholder_secret_is_refused_in_production(env):
    variable, message = only_error(refused(PETA_SECRET_KEY=PLACEHOLDER_SECRET, **env))
    assert variable == "PETA_SECRET_KEY"
    assert "PETA_SECRET_KEY is the placeholder of docker-compose.yml" in message
    assert "PETA_ENV=development" in message and MAKE_ONE in message


def test_the_placeholder_secret_is_accepted_in_development():
    s = Settings(PETA_ENV="development", PETA_SECRET_KEY=PLACEHOLDER_SECRET)
    assert load_secret_key(s) == PLACEHOLDER_SECRET.encode()


@pytest.mark.parametrize("secret", ["c" * 40, "ab" * 20, "012345678" * 4])
def test_a_secret_with_little_variety_is_refused_in_production(secret):
    assert len(secret) >= 32 and len(set(secret)) < 10
    variable, message = only_error(refused(PETA_SECRET_KEY=secret))
    assert variable == "PETA_SECRET_KEY"
    assert "fewer than 10 distinct characters" in message and MAKE_ONE in message
    assert secret not in message


def test_a_secret_with_little_variety_is_accepted_in_development():
    assert load_secret_key(Settings(PETA_ENV="development", PETA_SECRET_KEY="c" * 40)) == b"c" * 40


def test_ten_distinct_characters_are_enough():
    secret = "0123456789" * 4
    assert load_secret_key(Settings(PETA_SECRET_KEY=secret)) == secret.encode()


def test_a_short_secret_is_refused_in_either_mode():
    for env in ("production", "development"):
        variable, message = only_error(refused(PETA_ENV=env, PETA_SECRET_KEY="a1b2c3d4e5f6g7h8"))
        assert variable == "PETA_SECRET_KEY"
        assert "at least 32 characters" in message and MAKE_ONE in message


def test_a_good_secret_is_accepted_in_production_and_read_whole():
    s = Settings(PETA_SECRET_KEY=GOOD_SECRET, DATABASE_URL=f"postgresql://peta:{PASSWORD}@db:5432/peta")
    assert s.env == "production"
    assert load_secret_key(s) == GOOD_SECRET.encode()


def test_a_generated_key_is_accepted_in_production():
    import secrets

    key = secrets.token_hex(32)
    assert load_secret_key(Settings(PETA_SECRET_KEY=key)) == key.encode()


# --- the database passwords ---


@pytest.mark.parametrize("variable", URL_FIELDS)
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://peta:{PLACEHOLDER_PASSWORD}@db:5432/peta",
        f"postgresql+psycopg://peta:{PLACEHOLDER_PASSWORD}@db/peta",
        "postgresql://peta:peta%2Ddev%2Donly@db/peta",  # the same password, percent-encoded
        f"postgresql://peta@db/peta?sslmode=disable&password={PLACEHOLDER_PASSWORD}",
    ],
)
def test_the_placeholder_password_is_refused_in_production(variable, url):
    got, message = only_error(refused(**{variable: url}))
    assert got == variable
    assert message.startswith(f"Value error, {variable} has the placeholder password of docker-compose.yml")
    assert "PETA_ENV=development" in message and "POSTGRES_PASSWORD" in message


@pytest.mark.parametrize("variable", URL_FIELDS)
def test_the_placeholder_password_is_accepted_in_development(variable):
    url = f"postgresql://peta:{PLACEHOLDER_PASSWORD}@db:5432/peta"
    s = Settings(PETA_ENV="development", **{variable: url})  # type: ignore[arg-type]
    assert getattr(s, variable.removeprefix("PETA_").lower()) == url


@pytest.mark.parametrize("variable", URL_FIELDS)
def test_urls_with_a_real_password_or_none_are_accepted(variable):
    for url in (f"postgresql://peta:{PASSWORD}@db/peta", "postgresql://postgres@127.0.0.1:5432/postgres"):
        assert getattr(Settings(**{variable: url}), variable.removeprefix("PETA_").lower()) == url  # type: ignore[arg-type]


def test_compose_sets_development_and_ships_only_known_placeholders():
    """The placeholders refused are the ones docker-compose.yml ships; compose runs in development by default."""
    app_env = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["app"]["environment"]
    assert app_env["PETA_ENV"] == "${PETA_ENV:-development}"
    defaults = set(re.findall(r"\$\{[A-Z_]+:-([^}]*)\}", app_env["DATABASE_URL"] + app_env["PETA_SECRET_KEY"]))
    assert defaults == {PLACEHOLDER_PASSWORD, PLACEHOLDER_SECRET} == set(PLACEHOLDERS)


def test_a_placeholder_is_logged_once_in_development(caplog):
    settings_module._warn_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        for _ in range(3):
            Settings(PETA_ENV="development", PETA_SECRET_KEY=PLACEHOLDER_SECRET)
    assert [r.getMessage() for r in caplog.records] == [
        "PETA_SECRET_KEY is the placeholder of docker-compose.yml: accepted because PETA_ENV=development, "
        "refused in production"
    ]


# --- never shown ---


@pytest.fixture
def secret_settings() -> Settings:
    return Settings(
        PETA_SECRET_KEY=GOOD_SECRET,  # type: ignore[arg-type]  # a str, as the environment gives it
        DATABASE_URL=f"postgresql://owner:{PASSWORD}@db.example:5432/peta",
        PETA_APP_DATABASE_URL=f"postgresql://peta_app@db.example/peta?sslmode=require&password={PASSWORD}",
    )


def test_repr_str_and_dumps_show_neither_the_secret_nor_a_password(secret_settings, caplog):
    logger = logging.getLogger("tests.settings")
    with caplog.at_level(logging.INFO, logger="tests.settings"):
        logger.info("settings %s", secret_settings)
        logger.info("settings %r", secret_settings)
        logger.info("settings %s", secret_settings.model_dump())
    shown = {
        "repr": repr(secret_settings),
        "str": str(secret_settings),
        "format": f"{secret_settings}",
        "json": secret_settings.model_dump_json(),
        "dump": str(secret_settings.model_dump()),
        "log": caplog.text,
    }
    for how, text in shown.items():
        assert GOOD_SECRET not in text and PASSWORD not in text, how
        assert "owner:***@db.example:5432/peta" in text and "password=***" in text, how
    assert "SecretStr('**********')" in shown["repr"]
    # the values themselves are whole, for the code that connects and hashes
    assert secret_settings.database_url == f"postgresql://owner:{PASSWORD}@db.example:5432/peta"
    assert load_secret_key(secret_settings) == GOOD_SECRET.encode()


def test_validation_errors_show_neither_the_secret_nor_a_password():
    env = {"PETA_SECRET_KEY": GOOD_SECRET, "DATABASE_URL": f"postgresql://owner:{PASSWORD}@db/peta"}
    for bad in (
        {"PETA_POOL_SIZE": "2", "PETA_POOL_EXPENSIVE": "5"},
        {"PETA_APP_DATABASE_URL": f"mysql://u:{PASSWORD}@h/x"},
    ):
        exc = refused(**env, **bad)
        text = str(exc) + repr(exc)
        assert GOOD_SECRET not in text and PASSWORD not in text, bad
    short = refused(PETA_SECRET_KEY="a1b2c3d4e5f6g7h8")
    assert "a1b2c3d4e5f6g7h8" not in str(short)


@pytest.mark.parametrize(
    "url,masked",
    [
        ("postgresql://u:p@h:5432/d", "postgresql://u:***@h:5432/d"),
        ("postgresql://u:p@ss@h/d", "postgresql://u:***@h/d"),  # an unencoded @ in the password
        ("postgresql://u@h/d?password=p&sslmode=require", "postgresql://u@h/d?password=***&sslmode=require"),
        ("postgresql://h:5432/d", "postgresql://h:5432/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        (None, None),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked


# --- how a refusal is reported ---


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"PETA_SECRET_KEY": PLACEHOLDER_SECRET}, "PETA_SECRET_KEY"),
        ({"DATABASE_URL": f"postgresql://peta:{PLACEHOLDER_PASSWORD}@127.0.0.1:1/peta"}, "DATABASE_URL"),
    ],
)
def test_the_cli_stops_with_the_variable_named(tmp_path: Path, env, variable):
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "status"], env={"PETA_HOME": str(tmp_path), **env})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert f"error: setting {variable}: Value error, {variable}" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_the_cli_names_a_rule_across_settings_without_a_traceback(tmp_path: Path):
    get_settings.cache_clear()
    try:
        env = {"PETA_HOME": str(tmp_path), "PETA_POOL_SIZE": "4", "PETA_POOL_EXPENSIVE": "9"}
        result = CliRunner().invoke(app, ["db", "status"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "error: settings: Value error, PETA_POOL_EXPENSIVE (9) must be below PETA_POOL_SIZE (4)" in result.output
