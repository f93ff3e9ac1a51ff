from bot.db import session_scope
from bot.models import Message
from bot.store import mask, resident_for, store_inbound


def test_a_phone_number_is_never_shown_in_full():
    shown = mask("sms", "+46701234567")
    assert shown.startswith("+467") and shown.endswith("67")
    assert "1234" not in shown and len(shown) == len("+46701234567")
    assert "12345" not in mask("sms", "12345")  # short codes too


def test_web_sessions_are_shown_by_their_last_characters_only():
    assert mask("web", "e23ce4f52be747c7bce243c57039e289") == "web:…e289"


def test_a_resident_is_created_once_per_channel_address(settings):
    with session_scope() as session:
        first = resident_for(session, "sms", "+46701234567")
        again = resident_for(session, "sms", "+46701234567")
        other = resident_for(session, "web", "+46701234567")
        assert first is again and first.id != other.id
        assert first.pseudonym != other.pseudonym and "4670" not in first.pseudonym


def test_a_provider_id_is_stored_once(settings):
    with session_scope() as session:
        resident = resident_for(session, "sms", "+46701234567")
        assert store_inbound(session, resident, "jobb", provider_id="SM1") is not None
        assert store_inbound(session, resident, "jobb", provider_id="SM1") is None
        assert store_inbound(session, resident, "jobb igen", provider_id="SM2") is not None
    with session_scope() as session:
        assert [m.body for m in session.query(Message).order_by(Message.id)] == ["jobb", "jobb igen"]
