import pytest
from pydantic import ValidationError

from common.paths import ROOT
from gateway.settings import Settings

REAL = {"rasa_token": "r" * 32, "secret_key": "s" * 32, "twilio_auth_token": "t" * 32}
PLACEHOLDERS = ("RASA_TOKEN", "SECRET_KEY", "TWILIO_AUTH_TOKEN")


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch):
    """Each test states its settings: none leak in from the process (the e2e stack, a shell)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_development_defaults_need_nothing(tmp_path):
    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'hubguide.db'}"
    assert s.tracker_store_sqlalchemy_url == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    assert s.sms_dry_run


def test_production_refuses_placeholder_secrets():
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, app_env="production")
    message = str(error.value)
    for name in ("RASA_TOKEN", "SECRET_KEY", "TWILIO_AUTH_TOKEN", "DATABASE_URL", "TWILIO_ACCOUNT_SID"):
        assert name in message


def test_production_starts_with_real_values():
    s = Settings(
        _env_file=None,
        app_env="production",
        rasa_token="r" * 32,
        secret_key="s" * 32,
        twilio_auth_token="t" * 32,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from_number="+46700000000",
        database_url="postgresql+psycopg://hub@db/hub",
    )
    assert not s.sms_dry_run


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_PORT", "8123")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://sms.example.org")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    s = Settings(_env_file=None, rasa_token="r" * 32, secret_key="s" * 32)
    assert s.gateway_port == 8123 and s.public_base_url == "https://sms.example.org"
    assert s.twilio_auth_token.get_secret_value() == "t" * 32


# --- M8: the public placeholders never guard a gateway others can reach ---


@pytest.mark.parametrize(
    "reachable",
    [
        {"gateway_host": "0.0.0.0"},
        {"gateway_host": "::"},
        {"gateway_host": "10.0.0.5"},
        {"public_base_url": "https://hubguide.goteborg.se"},
        {"public_base_url": "http://192.168.1.20:8000"},
        {"gateway_host": "hubguide.internal"},
    ],
)
@pytest.mark.parametrize("app_env", [None, "development"])
def test_placeholders_are_refused_whenever_others_can_reach_the_gateway(reachable, app_env, monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, **reachable, **({"app_env": app_env} if app_env else {}))
    message = str(error.value)
    assert all(name in message for name in PLACEHOLDERS)
    assert ("GATEWAY_HOST" if "gateway_host" in reachable else "PUBLIC_BASE_URL") in message


def test_the_refusal_names_only_what_is_still_a_placeholder():
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, gateway_host="0.0.0.0", rasa_token="r" * 32, twilio_auth_token="t" * 32)
    message = str(error.value)
    assert "SECRET_KEY" in message and "RASA_TOKEN" not in message and "TWILIO_AUTH_TOKEN" not in message


def test_real_secrets_may_be_served_beyond_loopback_in_development():
    s = Settings(_env_file=None, gateway_host="0.0.0.0", public_base_url="https://hubguide.goteborg.se", **REAL)
    assert s.gateway_host == "0.0.0.0"


@pytest.mark.parametrize(
    "local",
    [
        {},
        {"gateway_host": "localhost", "public_base_url": "http://localhost:8000"},
        {"gateway_host": "::1", "public_base_url": "http://[::1]:8000"},
        {"public_base_url": "http://127.0.0.1:9000/"},
    ],
)
def test_placeholders_do_on_loopback(local):
    assert Settings(_env_file=None, **local).secret_key.get_secret_value().startswith("dev-")


def test_make_runs_example_settings_start():
    """`make run` with .env.example copied to .env: loopback, placeholders, no error."""
    s = Settings(_env_file=ROOT / ".env.example")
    assert s.gateway_host == "127.0.0.1" and s.twilio_auth_token.get_secret_value().startswith("dev-")


def test_the_test_suite_alone_is_exempt():
    """tests/conftest.py's settings: APP_ENV=test with a public https URL, so cookies are Secure."""
    s = Settings(_env_file=None, app_env="test", public_base_url="https://hubguide.example.org")
    assert s.twilio_auth_token.get_secret_value().startswith("dev-")


def test_a_refusal_does_not_print_the_secrets_it_was_given():
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, gateway_host="0.0.0.0", rasa_token="real-rasa-token-0123456789abcdef")
    assert "SECRET_KEY" in str(error.value) and "0123456789abcdef" not in str(error.value)
