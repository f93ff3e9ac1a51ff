"""The web chat in a real browser: Debian's chromium, driven by Playwright,
against the real gateway, Rasa server and action server.

The page in Arabic reads right to left (the widget too), the widget answers an
Arabic question with the Arabic web answer and keeps the conversation across a
reload (in the tab's session storage only), the quick-reply buttons are buttons
a keyboard can reach and press, the language picker works without JavaScript,
the text is readable, and "end conversation" leaves nothing for the next person
at a shared computer.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright's own
browser downloads are never used. Nothing leaves 127.0.0.1: every other
request is aborted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bench.common import CHROMIUM, CHROMIUM_ARGS
from common.texts import text
from gateway.db import session_scope
from gateway.models import Message, Resident
from tests.e2e.test_languages import answered_unsure, first_example, variant

pytestmark = pytest.mark.e2e

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: `apt-get install chromium` to run the browser tests", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect

BOT_SECONDS = 30  # a reply goes through the gateway, Rasa and the outbox
# A learn_swedish example from data/nlu/ar/studies.yml: "How do I learn Swedish?"
ARABIC_SFI_QUESTION = "كيف أتعلم اللغة السويدية"
PERSIAN_SFI_QUESTION = "چطور زبان سوئدی یاد بگیرم"
# WCAG 2.1 AA contrast for normal text.
MIN_CONTRAST = 4.5

# The contrast ratio of an element's text colour against the first opaque
# background behind it (its own or an ancestor's).
CONTRAST_JS = """(element) => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  let background = [255, 255, 255];
  for (let node = element; node; node = node.parentElement) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { background = colour; break; }
  }
  const [light, dark] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)]
    .sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, stack, javascript: bool = True):
    """A fresh browser profile (no stored chat) that reaches only the gateway."""
    context = browser.new_context(viewport={"width": 800, "height": 900}, java_script_enabled=javascript)
    context.route(lambda url: not url.startswith(stack.gateway_url), lambda route: route.abort())
    return context.new_page()


@pytest.fixture
def page(browser, stack):
    page = open_page(browser, stack)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.context.close()
    assert errors == [], f"uncaught errors in the page's scripts: {errors}"


def bot_messages(page):
    """The bot's messages in the widget (not its typing indicator)."""
    return page.locator(".rw-response .rw-message-text")


def resident_messages(page):
    return page.locator(".rw-client .rw-message-text")


def chat_input(page, language: str):
    return page.get_by_role("textbox", name=text("web_hint", language))


def inbound_messages(session_id: str) -> list[str]:
    """What the gateway stored from one web chat conversation, in order."""
    with session_scope() as session:
        return list(
            session.scalars(
                select(Message.body)
                .join(Resident)
                .where(Resident.channel == "web", Resident.address == session_id, Message.direction == "in")
                .order_by(Message.id)
            )
        )


def stored_session_id(page) -> str | None:
    """The widget's session id, kept in the tab's session storage (never local storage)."""
    assert page.evaluate("localStorage.getItem('chat_session')") is None, "the chat outlives the tab"
    return page.evaluate("JSON.parse(sessionStorage.getItem('chat_session') || '{}').session_id || null")


def fresh_conversation(page, old: str) -> str:
    """Waits until the tab holds another conversation than ``old``, with the bot's greeting and
    nothing the resident wrote (the page may load twice on the way); its id."""
    page.wait_for_function(
        """(old) => {
        const stored = JSON.parse(sessionStorage.getItem('chat_session') || '{}');
        const shown = stored.conversation || [];
        return stored.session_id && stored.session_id !== old && shown.length > 0
            && shown.every(message => message.sender !== 'client');
    }""",
        arg=old,
        timeout=BOT_SECONDS * 1000,
    )
    return stored_session_id(page)


def say(page, language: str, message: str) -> None:
    question = chat_input(page, language)
    question.fill(message)
    question.press("Enter")


def test_in_arabic_the_page_reads_right_to_left_answers_and_keeps_the_conversation(stack, page, tmp_path):
    page.goto(stack.gateway_url + "/?lang=ar")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text(text("web_title", "ar"))
    expect(page.locator(".intro")).to_have_text(text("web_intro", "ar"))
    expect(page.get_by_label(text("web_picker_label", "ar"))).to_have_value("ar")
    greeting = bot_messages(page).first
    expect(greeting).to_be_visible(timeout=BOT_SECONDS * 1000)

    question = chat_input(page, "ar")
    question.fill(ARABIC_SFI_QUESTION)
    question.press("Enter")
    expect(resident_messages(page).first).to_have_text(ARABIC_SFI_QUESTION)
    answer_text = variant("utter_learn_swedish", "ar", "web")
    answer = bot_messages(page).filter(has_text=answer_text.split(".")[0])
    expect(answer).to_have_text(answer_text, timeout=BOT_SECONDS * 1000)

    # The widget reads right to left too: the bot's messages on the right, the resident's on the left.
    log = page.get_by_role("log")
    assert log.evaluate("e => getComputedStyle(e).direction") == "rtl"
    log_box, asked, answered = (x.bounding_box() for x in (log, resident_messages(page).first, answer))
    assert answered["x"] + answered["width"] > log_box["x"] + log_box["width"] - 40, "bot message not on the right"
    assert asked["x"] < log_box["x"] + 40, "resident's message not on the left"
    assert answer.evaluate("e => getComputedStyle(e).textAlign") in ("start", "right")
    page.screenshot(path=tmp_path / "web_chat_ar.png")

    session_id = stored_session_id(page)
    page.reload()
    expect(resident_messages(page).first).to_have_text(ARABIC_SFI_QUESTION)
    expect(bot_messages(page).filter(has_text=answer_text.split(".")[0])).to_have_text(answer_text)
    assert stored_session_id(page) == session_id, "the reload started another conversation"
    page.screenshot(path=tmp_path / "web_chat_ar_reloaded.png")

    # The same conversation goes on, and the reload did not greet again.
    thanks = first_example("ar", "thank")
    question = chat_input(page, "ar")
    question.fill(thanks)
    question.press("Enter")
    expect(bot_messages(page).last).to_have_text(variant("utter_thank", "ar", "web"), timeout=BOT_SECONDS * 1000)
    assert inbound_messages(session_id) == ["/greet", ARABIC_SFI_QUESTION, thanks]


def test_the_widget_greets_in_the_chosen_language(stack, page):
    page.goto(stack.gateway_url + "/?lang=ar")
    greeting = bot_messages(page).first
    expect(greeting).to_be_visible(timeout=BOT_SECONDS * 1000)
    assert greeting.inner_text() == variant("utter_greet", "ar", "web")


def test_quick_replies_are_buttons_the_keyboard_reaches_and_presses(stack, page, tmp_path):
    page.goto(stack.gateway_url + "/?lang=en")
    expect(bot_messages(page).first).to_be_visible(timeout=BOT_SECONDS * 1000)
    question = chat_input(page, "en")
    question.fill("I am looking for a job")
    question.press("Enter")
    offer = variant("utter_offer_handoff", "en", "web")
    expect(bot_messages(page).filter(has_text=offer)).to_have_count(1, timeout=BOT_SECONDS * 1000)
    yes, no = page.get_by_role("button", name="Yes", exact=True), page.get_by_role("button", name="No", exact=True)
    expect(yes).to_be_visible()
    expect(no).to_be_visible()

    # From the top of the page, Tab reaches "Yes" (picker, its button, the conversation, then the replies).
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(8):
        page.keyboard.press("Tab")
        if yes.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Yes button")
    outline = yes.evaluate("e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]")
    assert outline[0] != "none" and outline[1] >= 2, f"no visible focus on the Yes button: {outline}"
    page.screenshot(path=tmp_path / "web_chat_en_focus.png")

    page.keyboard.press("Enter")
    expect(resident_messages(page).last).to_have_text("Yes")
    ask_area = variant("utter_ask_area", "en", "web")
    expect(bot_messages(page).last).to_have_text(ask_area, timeout=BOT_SECONDS * 1000)
    expect(yes).to_have_count(0)  # a chosen reply's buttons go away
    expect(chat_input(page, "en")).to_be_focused()  # and the resident can write the area straight away

    for selector in (
        "h1",
        ".intro",
        ".picker label",
        ".picker button",
        ".rw-response .rw-message-text",
        ".rw-client .rw-message-text",
        ".rw-new-message",
    ):
        ratio = page.locator(selector).first.evaluate(CONTRAST_JS)
        assert ratio >= MIN_CONTRAST, f"{selector}: contrast {ratio:.2f} is below {MIN_CONTRAST}"


def test_other_topics_after_an_unsure_answer_stay_beside_the_offers_yes_and_no(stack, page):
    """The widget shows quick replies only on its last message: the topics offered after an
    answer the model was unsure of go as buttons that stay (gateway.replies), so both they and
    the offer's yes and no can be pressed; a topic pressed is asked and answered."""
    language, _, message, said = answered_unsure(stack)
    page.goto(stack.gateway_url + f"/?lang={language}")
    expect(bot_messages(page).first).to_be_visible(timeout=BOT_SECONDS * 1000)
    say(page, language, message)
    offer = variant("utter_offer_handoff", language, "web")
    expect(bot_messages(page).filter(has_text=offer)).to_have_count(1, timeout=BOT_SECONDS * 1000)
    topics, yes_no = said[1]["buttons"], said[3]["buttons"]
    for button in [*topics, *yes_no]:
        expect(page.get_by_role("button", name=button["title"], exact=True)).to_be_visible()

    before = bot_messages(page).count()
    page.get_by_role("button", name=topics[0]["title"], exact=True).click()
    expect(resident_messages(page).last).to_have_text(topics[0]["title"])
    expect(bot_messages(page).nth(before)).to_be_visible(timeout=BOT_SECONDS * 1000)


def test_the_language_picker_works_without_javascript(stack, browser):
    page = open_page(browser, stack, javascript=False)
    try:
        page.goto(stack.gateway_url + "/")
        expect(page.locator("html")).to_have_attribute("lang", "sv")
        expect(page.locator("#webchat")).to_be_hidden()  # no empty chat box where the widget cannot run
        page.get_by_label(text("web_picker_label", "sv")).select_option("so")
        page.get_by_role("button", name=text("web_picker_button", "sv")).click()
        expect(page).to_have_url(stack.gateway_url + "/?lang=so")
        expect(page.locator("html")).to_have_attribute("lang", "so")
        expect(page.locator("html")).to_have_attribute("dir", "ltr")
        expect(page.get_by_role("heading", level=1)).to_have_text(text("web_title", "so"))
        expect(page.get_by_label(text("web_picker_label", "so"))).to_have_value("so")
    finally:
        page.context.close()


def test_each_bubble_keeps_its_own_direction_after_a_switch_of_language(stack, page, tmp_path):
    """The content review saw Swedish bubbles laid out right to left, their
    punctuation moved, once the page switched to Arabic."""
    page.goto(stack.gateway_url + "/?lang=sv")
    swedish = bot_messages(page).first
    expect(swedish).to_be_visible(timeout=BOT_SECONDS * 1000)
    page.screenshot(path=tmp_path / "web_chat_sv.png")
    for language in ("ar", "fa"):
        page.goto(stack.gateway_url + f"/?lang={language}")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(bot_messages(page).first).to_have_text(variant("utter_greet", "sv", "web"))
        question = chat_input(page, language)
        question.fill(ARABIC_SFI_QUESTION if language == "ar" else PERSIAN_SFI_QUESTION)
        question.press("Enter")
        answer = bot_messages(page).filter(has_text=variant("utter_learn_swedish", language, "web").split(".")[0][:20])
        expect(answer.last).to_be_visible(timeout=BOT_SECONDS * 1000)
        direction = "e => getComputedStyle(e).direction"
        assert bot_messages(page).first.evaluate(direction) == "ltr", "the Swedish greeting turned right to left"
        assert answer.last.evaluate(direction) == "rtl"
        assert resident_messages(page).last.evaluate(direction) == "rtl"
        page.screenshot(path=tmp_path / f"web_chat_{language}.png")


def test_ending_the_conversation_leaves_nothing_for_the_next_person(stack, page, web):
    """A shared computer (the security review's M6): the button clears the tab and the
    server ends the conversation, so a copy of its id brings nothing back."""
    page.goto(stack.gateway_url + "/?lang=sv")
    expect(bot_messages(page).first).to_be_visible(timeout=BOT_SECONDS * 1000)
    thanks = first_example("sv", "thank")
    say(page, "sv", thanks)
    expect(bot_messages(page).last).to_have_text(variant("utter_thank", "sv", "web"), timeout=BOT_SECONDS * 1000)
    ended = stored_session_id(page)
    assert inbound_messages(ended) == ["/greet", thanks]

    page.get_by_role("button", name=text("web_end", "sv"), exact=True).click()
    fresh = fresh_conversation(page, ended)
    expect(bot_messages(page)).to_have_text([variant("utter_greet", "sv", "web")])
    expect(resident_messages(page)).to_have_count(0)
    assert inbound_messages(ended) == []  # the ended conversation no longer answers to its id

    web.emit("session_request", {"session_id": ended})
    event, session_id = web.receive(timeout=10)
    assert event == "session_confirm" and session_id not in (ended, fresh)


def test_a_conversation_the_server_no_longer_takes_leaves_the_screen(stack, page):
    """The stored id ended, was idle too long or was altered: the server starts a fresh
    conversation and the page shows nothing of the last one."""
    page.goto(stack.gateway_url + "/?lang=en")
    expect(bot_messages(page).first).to_be_visible(timeout=BOT_SECONDS * 1000)
    thanks = first_example("en", "thank")
    say(page, "en", thanks)
    expect(bot_messages(page).last).to_have_text(variant("utter_thank", "en", "web"), timeout=BOT_SECONDS * 1000)
    altered = stored_session_id(page) + "x"
    page.evaluate(
        """(id) => {
        const stored = JSON.parse(sessionStorage.getItem('chat_session'));
        sessionStorage.setItem('chat_session', JSON.stringify({...stored, session_id: id}));
    }""",
        altered,
    )
    page.reload()
    fresh_conversation(page, altered)
    expect(bot_messages(page)).to_have_text([variant("utter_greet", "en", "web")])
    expect(resident_messages(page)).to_have_count(0)
