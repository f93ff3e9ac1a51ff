"""What residents are told about their personal data (GDPR Art. 13): a line in their first SMS
reply that has room for it (``with_notice``; the third reply at the latest) and the page it
links, ``GET /privacy?lang=xx``: who is responsible
(CONTROLLER_NAME, CONTROLLER_CONTACT; the page names no one when they are empty), what is
kept, for how long (the retention settings), and how to erase it. The web chat's page links
the privacy page instead of adding the line to a reply: the link is there before a word is
written.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.languages import DEFAULT_LANGUAGE, LANGUAGES
from common.texts import text
from gateway.channels.gsm import SMS_SEGMENTS, segments
from gateway.erasure import CONFIRM
from gateway.models import Message, Resident, utcnow
from gateway.settings import Settings, get_settings

router = APIRouter(tags=["privacy"])

LATEST = 3  # the notice goes with one of a resident's first three replies at the latest
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
)
# No script at all; the page's own inline style only; framed by no one.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_url(settings: Settings, language: str | None) -> str:
    """The privacy page in ``language``, as residents reach it."""
    return f"{settings.public_base_url.rstrip('/')}/privacy?{urlencode({'lang': language or DEFAULT_LANGUAGE})}"


def notice(language: str | None, settings: Settings | None = None) -> str:
    """The notice line: how long messages are kept, the erase keyword, the page."""
    settings = settings or get_settings()
    days = max(settings.retention_messages_days, settings.retention_tracker_days)
    return text("privacy_notice", language).format(days=days, url=page_url(settings, language))


def with_notice(session: Session, resident: Resident, body: str) -> list[str]:
    """The SMS a reply goes as, with the notice once per resident whose language is known: after
    the first reply it fits in (SMS_SEGMENTS); a longer reply goes as it is and a later one carries
    it, but the ``LATEST``th reply at the latest, as an SMS of its own before it (before: a numbered
    choice in the reply stays the last message, which a bare number answers)."""
    if resident.notified_at is not None or not resident.language or not body:
        return [body]
    line = notice(resident.language)
    earlier = session.scalar(select(func.count()).where(Message.resident_id == resident.id, Message.direction == "out"))
    if segments(f"{body}\n\n{line}") <= SMS_SEGMENTS:
        parts = [f"{body}\n\n{line}"]
    elif (earlier or 0) + 1 >= LATEST:
        parts = [line, body]
    else:
        return [body]
    resident.notified_at = utcnow()
    return parts


def page(settings: Settings, language: str | None) -> str:
    lang = LANGUAGES.get(language or "") or LANGUAGES[DEFAULT_LANGUAGE]

    def say(key: str, **fields) -> str:
        return text(f"web_privacy_{key}", lang.code).format(**fields)

    return TEMPLATES.get_template("privacy.html").render(
        lang=lang,
        languages=LANGUAGES.values(),
        languages_label=text("web_picker_label", lang.code),
        title=say("title"),
        intro=say("intro"),
        kept=say("kept"),
        erase_title=say("erase_title"),
        controller=settings.controller_name and say("controller", name=settings.controller_name),
        contact=settings.controller_contact and say("contact", contact=settings.controller_contact),
        messages=say("messages", days=max(settings.retention_messages_days, settings.retention_tracker_days)),
        handoffs=say("handoffs", days=settings.retention_handoffs_days, summary_days=settings.retention_summaries_days),
        statistics=say("statistics"),
        erase=say("erase", minutes=int(CONFIRM.total_seconds() // 60)),
        stop=say("stop"),
        rights=say("rights"),
    )


@router.get(
    "/privacy",
    response_class=HTMLResponse,
    summary="What is kept about residents, for how long, and how to erase it (GDPR Art. 13)",
)
async def privacy(request: Request, lang: str | None = None) -> HTMLResponse:
    return HTMLResponse(page(request.app.state.settings, lang), headers=HEADERS)
