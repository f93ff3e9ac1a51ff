import pytest
from pydantic import ValidationError

from gateway.settings import Settings


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
        _env_file=None, app_env="production", rasa_token="r" * 32, secret_key="s" * 32,
        twilio_auth_token="t" * 32, twilio_account_sid="AC" + "0" * 32, twilio_from_number="+46700000000",
        database_url="postgresql+psycopg://hub@db/hub",
    )
    assert not s.sms_dry_run


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_PORT", "8123")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://sms.example.org")
    s = Settings(_env_file=None)
    assert s.gateway_port == 8123 and s.public_base_url == "https://sms.example.org"
