"""Crisis messages (common/crisis.py): what must get 112 and a helpline at once,
and what only sounds alarming. The gateway side (the reply before anything
else, during a handoff and after STOP, and the alert) is driven through the
real gateway in tests/gateway/channels/test_sms.py's way: signed webhooks, Rasa down,
which a crisis reply must not need."""

from pathlib import Path

import pytest
import yaml
from twilio.request_validator import RequestValidator

from common import crisis
from common.languages import LANGUAGES
from common.texts import TEXTS, text
from gateway.channels.gsm import segments
from gateway.db import session_scope
from gateway.models import Coordinator, Handoff, Hub, Message, Resident

# (message, kind, language): real phrasing, direct and indirect.
CRISES = [
    ("jag vill dö", "suicide", "sv"),
    ("Jag orkar inte mer", "suicide", "sv"),
    ("jag orkar inte leva längre", "suicide", "sv"),
    ("har tankar på självmord", "suicide", "sv"),
    ("jag vill inte leva", "suicide", "sv"),
    ("jag skär mig varje kväll", "suicide", "sv"),
    ("min man slår mig", "violence", "sv"),
    ("han hotar att döda mig", "violence", "sv"),
    ("pappa slår mig när han är full", "violence", "sv"),
    ("han slår barnen", "child", "sv"),
    ("jag kan inte andas", "medical", "sv"),
    ("jag har ingenstans att sova i natt", "shelter", "sv"),
    ("I want to kill myself", "suicide", "en"),
    ("i dont want to live anymore", "suicide", "en"),
    ("I cut myself and I can't stop the bleeding", "medical", "en"),
    ("my husband beats me", "violence", "en"),
    ("he threatened to kill me", "violence", "en"),
    ("my child is in danger", "child", "en"),
    ("I have nowhere to sleep tonight", "shelter", "en"),
    ("أريد أن أموت", "suicide", "ar"),
    ("بدي موت", "suicide", "ar"),
    ("افكر في الانتحار", "suicide", "ar"),
    ("زوجي يضربني كل يوم", "violence", "ar"),
    ("لا أستطيع التنفس", "medical", "ar"),
    ("ما عندي مكان انام فيه الليلة", "shelter", "ar"),
    ("waxaan doonayaa inaan is dilo", "suicide", "so"),
    ("ma rabo inaan noolaado", "suicide", "so"),
    ("ninkaygu wuu i garaacaa", "violence", "so"),
    ("ma neefsan karo", "medical", "so"),
    ("می‌خواهم بمیرم", "suicide", "fa"),
    ("به خودکشی فکر می کنم", "suicide", "fa"),
    ("شوهرم مرا کتک میزند", "violence", "fa"),
    ("نمی‌توانم نفس بکشم", "medical", "fa"),
    ("امشب جای خواب ندارم", "shelter", "fa"),
    ("ክሞት እደሊ", "suicide", "ti"),
    ("ሰብኣየይ ይወቕዓኒ", "violence", "ti"),
    ("ክተንፍስ ኣይክእልን", "medical", "ti"),
    # Sexual abuse named as such, also when asked how to report it: 112 and the violence lines
    ("vart anmäler jag sexuella övergrepp", "violence", "sv"),
    ("how do I report sexual abuse", "violence", "en"),
    ("تعرضت لاعتداء جنسي", "violence", "ar"),
    ("Sidee loo sheegaa xadgudubka galmada?", "violence", "so"),
    ("آزار جنسی دیدم", "violence", "fa"),
    ("ጾታዊ ዓመጽ ኣጋጢሙኒ", "violence", "ti"),
]

# Ordinary messages that only sound alarming, and questions next to a crisis.
ORDINARY = [
    "jag dör av tristess",
    "jag vill dö av skratt",
    "this job hunt is killing me",
    "I'm dying to start working",
    "hur blir jag sjukskriven?",
    "kan jag få sjukpenning om jag skadar mig på jobbet",
    "I hurt my back at work",
    "slår mig att ingen svarar på Arbetsförmedlingen",
    "jag vill ha jobb",
    "how do I get a flat",
    "brorsan ringde mig idag",
    "برادرم به من زنگ میزند",
    "اگر درآمدم از حد تجاوز کند چه میشود",
    "از کار بیرونم کردند",
    "I was fired today",
    "hur söker jag bostad",
    "دنبال کار هستم",
    "shaqo ayaan rabaa",
    "ስራሕ እደሊ",
    "chefen sparkade mig",
    "the deadline is killing me",
    "my phone died",
]


@pytest.mark.parametrize("message,kind,language", CRISES)
def test_a_crisis_is_recognised_with_its_kind_and_language(message, kind, language):
    assert crisis.detect(message) == crisis.Crisis(kind, language)


@pytest.mark.parametrize("message", ORDINARY)
def test_an_ordinary_message_is_no_crisis(message):
    assert crisis.detect(message) is None


def test_every_crisis_kind_has_a_reply_in_every_language_within_three_sms_segments():
    for kind in crisis.KINDS:
        for language in LANGUAGES:
            reply = TEXTS[f"crisis_{kind}"].get(language)
            assert reply, f"crisis_{kind} has no {language} text"
            assert "112" in reply, f"crisis_{kind}/{language} does not give 112"
            assert segments(reply) <= 3, f"crisis_{kind}/{language}: {segments(reply)} segments"


def test_no_training_example_is_taken_for_a_crisis():
    """False alarms on ordinary messages: thousands of residents' kinds of
    questions in six languages (data/nlu) must not trigger it."""
    root = Path(__file__).resolve().parents[2] / "data" / "nlu"
    examples = [
        line[2:]
        for path in root.glob("*/*.yml")
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]
    alarms = [e for e in examples if crisis.detect(e)]
    assert len(examples) > 5000
    assert len(alarms) <= len(examples) * 0.002, alarms[:20]


# --- through the gateway -----------------------------------------------------------------------

NUMBER = "+46701234599"


def send(gateway, settings, body):
    params = {
        "From": NUMBER,
        "To": "+46700000000",
        "Body": body,
        "MessageSid": f"SM{abs(hash(body)):032d}"[:34],
        "NumMedia": "0",
    }
    signature = RequestValidator(settings.twilio_auth_token.get_secret_value()).compute_signature(
        settings.public_base_url + "/sms/webhook", params
    )
    assert gateway.post("/sms/webhook", data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
    gateway.portal.call(gateway.state.conversations.idle)


def replies():
    with session_scope() as session:
        return [
            m.body
            for m in session.query(Message)
            .filter(Message.direction == "out", Message.resident_id.is_not(None))
            .order_by(Message.id)
        ]


def alerts():
    with session_scope() as session:
        alerts = session.query(Message).filter(Message.coordinator_id.is_not(None)).order_by(Message.id)
        return [(m.coordinator.email, m.body) for m in alerts]


def add_coordinator(email, role="coordinator", hub_slug=None):
    with session_scope() as session:
        hub = session.query(Hub).filter(Hub.slug == hub_slug).one() if hub_slug else None
        session.add(Coordinator(name=email, email=email, password_hash="-", role=role, hub=hub, phone="+46709999999"))


def test_a_crisis_gets_112_at_once_without_the_bot_and_the_admins_are_alerted(gateway, settings):
    """Rasa is not running: a crisis reply must not wait for it. No hub is
    known for this resident, so the handoff waits for the admins."""
    add_coordinator("admin@example.org", role="admin")
    add_coordinator("bergsjon@example.org", hub_slug="bergsjon")
    send(gateway, settings, "jag orkar inte leva längre")
    assert replies() == [text("crisis_suicide", "sv")]
    with session_scope() as session:
        handoff = session.query(Handoff).one()
        assert (handoff.crisis, handoff.hub_id, handoff.status) == ("suicide", None, "open")
        assert session.query(Message).filter(Message.direction == "in").one().status == "crisis"
    assert [who for who, _ in alerts()] == ["admin@example.org"]
    assert NUMBER not in alerts()[0][1] and "leva" not in alerts()[0][1]


def test_a_crisis_during_a_handoff_is_answered_and_flagged_and_alerted_once(gateway, settings):
    add_coordinator("bergsjon@example.org", hub_slug="bergsjon")
    with session_scope() as session:
        resident = Resident(channel="sms", address=NUMBER, language="ar")
        hub = session.query(Hub).filter(Hub.slug == "bergsjon").one()
        session.add(Handoff(resident=resident, hub=hub, channel="sms", language="ar", topic="job_search"))
    send(gateway, settings, "زوجي يضربني")
    send(gateway, settings, "زوجي يضربني كل يوم")
    assert replies() == [text("crisis_violence", "ar")] * 2
    with session_scope() as session:
        assert session.query(Handoff).one().crisis == "violence"
    assert [who for who, _ in alerts()] == ["bergsjon@example.org"]


def test_a_crisis_after_stop_still_gets_the_emergency_number(gateway, settings):
    send(gateway, settings, "STOPP")
    send(gateway, settings, "I want to kill myself")
    assert replies()[-1] == text("crisis_suicide", "en")
    with session_scope() as session:
        assert session.query(Resident).one().opted_out


def test_an_ordinary_message_after_stop_is_still_not_answered(gateway, settings):
    send(gateway, settings, "STOPP")
    send(gateway, settings, "jag dör av tristess")
    assert replies() == [text("opted_out", "sv")]
