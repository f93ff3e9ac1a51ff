"""What a turn sends back to the resident, and what a bare number they send back chooses: the
replies queued for the outbox (one SMS for a turn, with the privacy notice once; one web message
per reply, with its buttons), and the button a reply "2" picks."""

from __future__ import annotations

from sqlalchemy import select

from gateway import privacy
from gateway.channels import sms
from gateway.models import Message
from gateway.rasa_client import BotReply
from gateway.store import queue_outbound


def queue_replies(session, resident, replies: list[BotReply], sender: str = "bot", notice: bool = True) -> None:
    """Queue a turn's replies: one SMS for the whole turn (cheaper, and in
    order), or one web message per reply with its quick-reply buttons. An SMS
    carries the privacy notice once (``gateway.privacy.with_notice``) unless
    ``notice`` is False (a crisis line, a STOP or START confirmation)."""
    if resident.channel == "sms":
        body, buttons = sms.render(replies)
        parts = privacy.with_notice(session, resident, body) if notice else [body]
        for number, part in enumerate(parts, 1):
            if part:  # the reply is the last part: its buttons are what a bare number answers
                queue_outbound(
                    session,
                    resident,
                    part,
                    sender=sender,
                    extra={"buttons": buttons} if buttons and number == len(parts) else None,
                )
        return
    # The web chat (rasa-webchat) shows a message's quick replies only while it is the last one:
    # a turn's earlier set (the other topics before the offer of a person) goes as buttons that stay.
    last = max((i for i, reply in enumerate(replies) if reply.buttons), default=None)
    for i, reply in enumerate(replies):
        extra = {"buttons": reply.buttons, **({} if i == last else {"stay": True})} if reply.buttons else None
        queue_outbound(session, resident, reply.text, sender=sender, extra=extra)


def button_choice(session, resident, body: str) -> str | None:
    """The payload of the button a bare number chooses ("2"), when the last
    message the resident got had buttons; otherwise None."""
    number = body.strip().rstrip(".)")
    if not number.isdigit():
        return None
    last = session.scalars(
        select(Message)
        .where(Message.resident_id == resident.id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    buttons = (last.extra or {}).get("buttons") if last is not None else None
    if buttons and 1 <= int(number) <= len(buttons):
        return buttons[int(number) - 1]["payload"]
    return None
