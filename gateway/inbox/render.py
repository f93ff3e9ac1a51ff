"""The inbox's HTML, rendered on the server with escaping by default.

Jinja2 is not among the application's packages, so pages are built from
small ``str.format`` templates through ``render``, which HTML-escapes every
value unless it is already ``Markup`` (built by this module). Whatever a
resident wrote therefore reaches the page as text, never as markup. The pages
carry no inline script or style (the Content-Security-Policy forbids them):
data for ``inbox.js`` travels in ``data-`` attributes.
"""
from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.channels.gsm import MAX_BODY
from gateway.handoff import OUTCOMES
from gateway.inbox.security import CSRF_FIELD, User, aware
from gateway.inbox.service import OUTCOME_LABELS

TZ = ZoneInfo("Europe/Stockholm")


class Markup(str):
    """Text that is HTML already (made here, from escaped parts)."""


def esc(value) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values) -> Markup:
    return Markup(template.format_map({key: esc(value) for key, value in values.items()}))


def join(parts) -> Markup:
    return Markup("".join(esc(part) for part in parts))


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return aware(moment).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def iso(moment: datetime | None) -> str:
    return aware(moment).isoformat() if moment else ""


def duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def csrf_input(user_or_token) -> Markup:
    token = user_or_token.csrf if isinstance(user_or_token, User) else user_or_token
    return render('<input type="hidden" name="{field}" value="{token}">', field=CSRF_FIELD, token=token)


def options(choices, selected=None) -> Markup:
    return join(render('<option value="{value}"{sel}>{label}</option>', value=value, label=label,
                       sel=Markup(" selected") if str(value) == str(selected) else Markup(""))
                for value, label in choices)


LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Hub guide inbox</title>
<link rel="stylesheet" href="/inbox/static/inbox.css">
<script src="/inbox/static/inbox.js" defer></script>
</head>
<body data-page="{page}" data-csrf="{csrf}" data-handoff="{handoff}">
<header class="top">
<a class="brand" href="/inbox">Hub guide inbox</a>
{nav}
</header>
<main>
{notice}
{content}
</main>
</body>
</html>
"""

NAV = """<nav>
<a href="/inbox">Handoffs</a>
<a href="/inbox/stats">Statistics</a>
{admin}
<a href="/inbox/account">Account</a>
</nav>
<span id="live" class="live" hidden title="Live updates">● live</span>
<span class="who">{name} · {where}</span>
<form method="post" action="/inbox/logout" class="inline">{csrf}<button type="submit">Sign out</button></form>
"""


def page(title: str, content: Markup, user: User | None = None, *, page_name: str = "",
         notice: str | None = None, error: str | None = None, handoff: int | str = "",
         csrf: str = "") -> Markup:
    nav = Markup("")
    if user is not None:
        nav = render(NAV, name=user.name, where="admin, all hubs" if user.is_admin else (user.hub_name or "no hub"),
                     csrf=csrf_input(user), admin=Markup(
                         '<a href="/inbox/admin/coordinators">Coordinators</a>\n<a href="/inbox/admin/hubs">Hubs</a>')
                     if user.is_admin else Markup(""))
    notices = join([render('<p class="notice error" role="alert">{m}</p>', m=error) if error else "",
                    render('<p class="notice" role="status">{m}</p>', m=notice) if notice else ""])
    return render(LAYOUT, title=title, page=page_name, csrf=user.csrf if user else csrf, handoff=handoff,
                  nav=nav, notice=notices, content=content)


# --- sign in -------------------------------------------------------------------------------

LOGIN = """<h1>Sign in</h1>
<form method="post" action="/inbox/login" class="card narrow">
{csrf}
<input type="hidden" name="next" value="{next}">
<label for="email">Email</label>
<input id="email" type="email" name="email" autocomplete="username" required value="{email}">
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="hint">Accounts are made by an admin. After {failures} failed attempts an account is locked for a while.</p>
"""


def login_page(csrf: str, next_path: str = "/inbox", email: str = "", error: str | None = None,
               notice: str | None = None) -> Markup:
    from gateway.inbox.security import MAX_FAILURES

    content = render(LOGIN, csrf=csrf_input(csrf), next=next_path, email=email, failures=MAX_FAILURES)
    return page("Sign in", content, page_name="login", error=error, notice=notice, csrf=csrf)


# --- the list ------------------------------------------------------------------------------

LIST = """<h1>Handoffs <small>{scope}</small></h1>
<p class="tabs">{tabs}</p>
<table class="handoffs" id="handoffs" data-status="{status}">
<thead><tr><th>#</th><th>Status</th><th>Hub</th><th>Language</th><th>Topic</th><th>Area</th><th>Channel</th>
<th>{last_column}</th><th>Claimed by</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p id="empty" class="empty"{hidden}>{empty}</p>
"""

ROW = """<tr data-id="{id}" data-status="{status}"{crisis_class}>
<td><a href="/inbox/handoffs/{id}">#{id}</a></td>
<td><span class="badge badge-{status}">{status}</span></td>
<td>{hub}</td><td>{language}</td><td>{crisis}{topic}</td><td>{area}</td><td>{channel}</td>
<td class="waiting" data-since="{since}">{waiting}</td>
<td>{claimed_by}</td>
</tr>"""


def row(h: dict) -> Markup:
    if h["status"] == "closed":
        last = OUTCOME_LABELS.get(h["outcome"], h["outcome"] or "")
    else:
        last = f"waiting {duration(h['waiting_seconds'])}" if h["waiting_since"] else "answered"
    return render(ROW, id=h["id"], status=h["status"], hub=hub_name(h), language=h["language"]["name"],
                  crisis_class=Markup(' class="crisis"') if h["crisis"] else Markup(""), crisis=crisis_badge(h),
                  topic=h["topic"] or "–", area=h["area"] or "–", channel=h["channel"],
                  since=iso(h["waiting_since"]) if h["status"] != "closed" else "", waiting=last,
                  claimed_by=h["claimed_by"] or "–")


NO_HUB = "not known yet: reassign it to a hub"
CRISIS_LABELS = {"suicide": "suicide or self-harm", "violence": "violence", "child": "a child in danger",
                 "medical": "a medical emergency", "shelter": "nowhere to sleep"}


def hub_name(h: dict) -> str:
    return h["hub"]["name"] if h["hub"] else NO_HUB


def crisis_badge(h: dict) -> Markup:
    """A crisis stands out in the list by words, not colour alone (WCAG 1.4.1)."""
    if not h["crisis"]:
        return Markup("")
    return render('<strong class="badge badge-crisis">Crisis: {kind}</strong> ',
                  kind=CRISIS_LABELS.get(h["crisis"], h["crisis"]))


def list_page(user: User, items: list[dict], status: str, notice: str | None = None) -> Markup:
    tabs = join(render('<a href="/inbox?status={key}"{current}>{label}</a> ', key=key, label=label,
                       current=Markup(' aria-current="page"') if key == status else Markup(""))
                for key, label in (("active", "Waiting and claimed"), ("closed", "Closed")))
    content = render(LIST, scope="all hubs" if user.is_admin else user.hub_name or "", tabs=tabs, status=status,
                     rows=join(row(h) for h in items), hidden=Markup(" hidden") if items else Markup(""),
                     last_column="Outcome" if status == "closed" else "Waiting",
                     empty="No closed handoffs." if status == "closed" else "No handoffs are waiting.")
    return page("Handoffs", content, user, page_name="list", notice=notice)


# --- one handoff ---------------------------------------------------------------------------

HANDOFF = """<p><a href="/inbox">← All handoffs</a></p>
<h1>Handoff #{id} <span id="status" class="badge badge-{status}">{status}</span></h1>
<dl class="facts">
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Contact</dt><dd>{channel} · <span class="contact">{contact}</span></dd>
<dt>Hub</dt><dd id="hub">{hub}</dd>
<dt>Topic</dt><dd>{topic}</dd>
<dt>Area</dt><dd dir="auto">{area}</dd>
<dt>Created</dt><dd><time datetime="{created_iso}">{created}</time></dd>
<dt>Claimed by</dt><dd id="claimed-by">{claimed_by}</dd>
</dl>
{warnings}
<section>
<h2>What the resident asked</h2>
<p class="summary" dir="auto">{summary}</p>
</section>
<section>
<h2>Conversation</h2>
<ol id="conversation" class="conversation">
{messages}
</ol>
</section>
<section id="actions" class="actions">
{actions}
</section>
"""

MESSAGE = """<li class="msg msg-{sender} msg-{direction}{failed}" data-id="{id}">
<div class="meta"><span class="sender">{label}</span> <time datetime="{created_iso}">{created}</time>
<span class="delivery">{delivery}</span></div>
<p class="body" dir="auto">{body}</p>{buttons}
</li>"""

DELIVERY = {"queued": "queued", "sent": "sent", "delivered": "delivered", "dry_run": "dry run (not sent)",
            "awaiting_connection": "waiting for the resident to open the chat again",
            "suppressed": "not sent: the resident opted out", "failed": "delivery failed",
            "undelivered": "not delivered", "to_coordinator": "to the coordinator"}


def delivery(m: dict) -> str:
    if m["direction"] == "in":
        return DELIVERY["to_coordinator"] if m["in_this_handoff"] else ""
    text = DELIVERY.get(m["status"], m["status"])
    return f"{text}: {m['error']}" if m["delivery_failed"] and m["error"] else text


def message(m: dict) -> Markup:
    buttons = join(render('<span class="button">{t}</span>', t=title) for title in m["buttons"])
    return render(MESSAGE, sender=m["sender"], direction=m["direction"], id=m["id"], label=m["sender_label"],
                  failed=" failed" if m["delivery_failed"] else "", created_iso=iso(m["created_at"]),
                  created=when(m["created_at"]), delivery=delivery(m), body=m["body"],
                  buttons=render('<p class="buttons">{b}</p>', b=buttons) if m["buttons"] else Markup(""))


ACTIONS = """<h2>Act</h2>
<form method="post" action="/inbox/handoffs/{id}/claim" class="inline">{csrf}
<button type="submit">{claim_label}</button></form>
<form method="post" action="/inbox/handoffs/{id}/reply" class="reply">{csrf}
<label for="reply-body">Reply to the resident (in {language}; it goes {channel_note})</label>
<textarea id="reply-body" name="body" rows="4" maxlength="{max_body}" required dir="auto">{draft}</textarea>
<p class="hint"><span id="reply-count">{draft_length}</span> / {max_body} characters</p>
<button type="submit">Send reply</button>
</form>
<form method="post" action="/inbox/handoffs/{id}/reassign" class="inline">{csrf}
<label for="reassign-hub">Reassign to</label>
<select id="reassign-hub" name="hub" required>{hubs}</select>
<button type="submit">Reassign</button>
</form>
<form method="post" action="/inbox/handoffs/{id}/close" class="inline">{csrf}
<label for="close-outcome">Close with outcome</label>
<select id="close-outcome" name="outcome" required><option value="">choose…</option>{outcomes}</select>
<button type="submit">Close</button>
</form>
"""


def handoff_page(user: User, h: dict, hubs: list[dict], *, notice: str | None = None, error: str | None = None,
                 draft: str = "") -> Markup:
    warnings = []
    if h["crisis"]:
        warnings.append(render(
            '<p class="notice error" id="crisis-note" role="alert">Crisis: the resident wrote about {kind}. They '
            'were given 112 and the right helpline at once. Contact them as soon as you can.</p>',
            kind=CRISIS_LABELS.get(h["crisis"], h["crisis"])))
    if h["resident"]["opted_out"]:
        warnings.append(render('<p class="notice error">The resident has opted out (STOP): no message can be sent '
                               'to them.</p>'))
    if h["failed_deliveries"]:
        warnings.append(render('<p class="notice error" id="failed-note">{n} message(s) to the resident could not '
                               'be delivered; see the conversation.</p>', n=h["failed_deliveries"]))
    if h["status"] == "closed":
        actions = render('<h2>Closed</h2><p>Closed {when} with the outcome “{outcome}”. The bot answers the '
                         'resident again.</p>', when=when(h["closed_at"]),
                         outcome=OUTCOME_LABELS.get(h["outcome"], h["outcome"]))
    else:
        channel_note = "by SMS" if h["channel"] == "sms" else "to the web chat"
        mine = h["status"] == "claimed" and h["claimed_by_id"] == user.id
        actions = render(
            ACTIONS, id=h["id"], csrf=csrf_input(user), language=h["resident"]["language"]["name"],
            channel_note=channel_note, max_body=MAX_BODY, draft=draft, draft_length=len(draft),
            claim_label="Claimed by you" if mine else ("Take over" if h["status"] == "claimed" else "Claim"),
            hubs=options([(x["slug"], x["name"]) for x in hubs if not h["hub"] or x["slug"] != h["hub"]["slug"]]),
            outcomes=options([(o, OUTCOME_LABELS[o]) for o in OUTCOMES]))
    content = render(
        HANDOFF, id=h["id"], status=h["status"], language=h["resident"]["language"]["name"]
        if h["resident"]["language"]["code"] else h["language"]["name"], channel=h["channel"],
        contact=h["resident"]["contact"], hub=hub_name(h), topic=h["topic"] or "–", area=h["area"] or "–",
        created_iso=iso(h["created_at"]), created=when(h["created_at"]), claimed_by=h["claimed_by"] or "–",
        warnings=join(warnings), summary=h["summary"] or "–", messages=join(message(m) for m in h["messages"]),
        actions=actions)
    return page(f"Handoff #{h['id']}", content, user, page_name="handoff", handoff=h["id"], notice=notice,
                error=error)


# --- statistics ----------------------------------------------------------------------------

def bar_chart(items: list[dict], title: str, value_key: str = "count", unit: str = "") -> Markup:
    """A horizontal bar chart as inline SVG (no script, no style attribute)."""
    if not items:
        return render('<p class="empty">No data for {t}.</p>', t=title.lower())
    values = [item.get(value_key) or 0 for item in items]
    top = max(values) or 1
    bars = []
    for i, (item, value) in enumerate(zip(items, values, strict=True)):
        y = i * 24
        width = round(300 * value / top) if value else 0
        bars.append(render(
            '<text x="0" y="{ty}" class="label">{label}</text>'
            '<rect x="230" y="{y}" width="{w}" height="16" class="bar"></rect>'
            '<text x="{vx}" y="{ty}" class="value">{value}{unit}</text>',
            ty=y + 13, y=y + 1, w=width, vx=236 + width, label=item["label"],
            value=value if item.get(value_key) is not None else "–", unit=unit))
    return render('<svg class="chart" viewBox="0 0 600 {h}" width="600" height="{h}" role="img" aria-label="{t}">'
                  '{bars}</svg>', h=len(items) * 24, t=title, bars=join(bars))


STATS = """<h1>Statistics <small>{scope}</small></h1>
<form method="get" action="/inbox/stats" class="inline">
<label for="weeks">Weeks</label>
<input id="weeks" name="weeks" type="number" min="1" max="260" value="{weeks}">
<button type="submit">Show</button>
<a href="/inbox/stats.csv?weeks={weeks}" download>Download CSV</a>
</form>
<p class="hint">From {start} to {end} (ISO weeks {first} to {last}, Swedish time). Counts only: no numbers,
names or messages.</p>
<section class="grid">
<div><h2>Handoffs per hub ({total})</h2>{by_hub}</div>
<div><h2>Handoffs per topic</h2>{by_topic}</div>
<div><h2>Handoffs per language</h2>{by_language}</div>
<div><h2>Handoffs per week</h2>{by_week}</div>
<div><h2>Questions per language ({questions})</h2>{q_language}</div>
<div><h2>Questions per week</h2>{q_week}</div>
<div><h2>Questions the bot answered, per topic</h2>{q_topic}</div>
<div><h2>Time to first reply</h2>
<p>Median <strong>{median}</strong> from handoff to the coordinator's first reply
({answered} answered, {unanswered} not yet).</p>{reply_by_hub}</div>
<div><h2>Outcomes ({closed} closed, {still_open} open)</h2>{outcomes}</div>
</section>
<p class="hint">{note}</p>
<h2>Questions per language and week</h2>
{table}
"""


def minutes_text(value: float | None) -> str:
    return "–" if value is None else duration(value * 60) if value >= 1 else f"{round(value * 60)} s"


def stats_page(user: User, s: dict, weeks: int) -> Markup:
    weeks_list = s["period"]["weeks"]
    languages = sorted({row["language_name"] for row in s["questions"]["by_language_and_week"]})
    counts = {(row["language_name"], row["week"]): row["count"] for row in s["questions"]["by_language_and_week"]}
    table = render(
        '<div class="scroll"><table class="stats"><thead><tr><th>Language</th>{head}</tr></thead>'
        '<tbody>{body}</tbody></table></div>',
        head=join(render("<th>{w}</th>", w=w) for w in weeks_list),
        body=join(render("<tr><th>{lang}</th>{cells}</tr>", lang=lang,
                         cells=join(render("<td>{n}</td>", n=counts.get((lang, w), 0)) for w in weeks_list))
                  for lang in languages)) if languages else render('<p class="empty">No questions.</p>')
    reply_items = [dict(item, label=item["label"]) for item in s["first_reply"]["by_hub"]]
    content = render(
        STATS, scope=s["scope"]["handoffs"], weeks=weeks, start=s["period"]["from"], end=s["period"]["to"],
        first=weeks_list[0], last=weeks_list[-1], total=s["handoffs"]["total"],
        by_hub=bar_chart(s["handoffs"]["by_hub"], "Handoffs per hub"),
        by_topic=bar_chart(s["handoffs"]["by_topic"], "Handoffs per topic"),
        by_language=bar_chart(s["handoffs"]["by_language"], "Handoffs per language"),
        by_week=bar_chart(s["handoffs"]["by_week"], "Handoffs per week"),
        questions=s["questions"]["total"],
        q_language=bar_chart(s["questions"]["by_language"], "Questions per language"),
        q_week=bar_chart(s["questions"]["by_week"], "Questions per week"),
        q_topic=bar_chart(s["questions"]["by_topic"], "Questions the bot answered, per topic"),
        median=minutes_text(s["first_reply"]["median_minutes"]), answered=s["first_reply"]["answered"],
        unanswered=s["first_reply"]["unanswered"],
        reply_by_hub=bar_chart(reply_items, "Median minutes to first reply per hub", "median_minutes", " min"),
        closed=s["outcomes"]["closed"], still_open=s["outcomes"]["still_open"],
        outcomes=bar_chart(s["outcomes"]["by_outcome"], "Outcomes"), note=s["questions"]["note"], table=table)
    return page("Statistics", content, user, page_name="stats")


# --- admin ----------------------------------------------------------------------------------

COORDINATORS = """<h1>Coordinators</h1>
{secret}
<table class="people">
<thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Hub</th><th>Phone (alerts)</th><th>On duty</th>
<th>Active</th><th></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>New account</h2>
<form method="post" action="/inbox/admin/coordinators" class="card">
{csrf}
<label for="new-name">Name</label><input id="new-name" name="name" required maxlength="200" value="{name}">
<label for="new-email">Email</label><input id="new-email" name="email" type="email" required value="{email}">
<label for="new-role">Role</label><select id="new-role" name="role">{roles}</select>
<label for="new-hub">Hub</label>
<select id="new-hub" name="hub"><option value="">none (admins only)</option>{hubs}</select>
<label for="new-phone">Phone for new-handoff SMS (optional)</label>
<input id="new-phone" name="phone" type="tel" value="{phone}">
<label class="check"><input type="checkbox" name="on_duty" checked> On duty (gets the SMS)</label>
<button type="submit">Create with a one-time password</button>
</form>
"""

PERSON = """<tr data-id="{id}">
<td>{name}{locked}</td><td>{email}</td>
<td><select name="role" form="c{id}">{roles}</select></td>
<td><select name="hub" form="c{id}"><option value="">none</option>{hubs}</select></td>
<td><input name="phone" type="tel" form="c{id}" value="{phone}" size="14"></td>
<td><input type="checkbox" name="on_duty" form="c{id}"{on_duty}></td>
<td><input type="checkbox" name="active" form="c{id}"{active}></td>
<td>
<form id="c{id}" method="post" action="/inbox/admin/coordinators/{id}" class="inline">{csrf}
<button type="submit">Save</button></form>
<form method="post" action="/inbox/admin/coordinators/{id}/password" class="inline">{csrf}
<button type="submit">New password</button></form>
</td>
</tr>"""


def coordinators_page(user: User, people: list[dict], hubs: list[dict], *, secret: tuple[str, str] | None = None,
                      error: str | None = None, notice: str | None = None, draft: dict | None = None) -> Markup:
    from gateway.inbox.accounts import ROLES

    hub_choices = [(h["slug"], h["name"]) for h in hubs]
    rows = join(render(
        PERSON, id=p["id"], name=p["name"], email=p["email"], roles=options([(r, r) for r in ROLES], p["role"]),
        hubs=options(hub_choices, p["hub"]), phone=p["phone"] or "", csrf=csrf_input(user),
        locked=render(' <span class="badge badge-locked">locked</span>') if p["locked"] else Markup(""),
        on_duty=Markup(" checked") if p["on_duty"] else Markup(""),
        active=Markup(" checked") if p["active"] else Markup("")) for p in people)
    shown = render('<div class="notice secret" role="status"><p>One-time password for {who}:</p>'
                   '<p><code>{pw}</code></p><p>It is shown only this once. Give it to them in person; they should '
                   'choose their own under Account after signing in.</p></div>', who=secret[0], pw=secret[1]) \
        if secret else Markup("")
    draft = draft or {}
    content = render(COORDINATORS, secret=shown, rows=rows, csrf=csrf_input(user), name=draft.get("name", ""),
                     email=draft.get("email", ""), phone=draft.get("phone", ""),
                     roles=options([(r, r) for r in ROLES], draft.get("role", "coordinator")),
                     hubs=options(hub_choices, draft.get("hub")))
    return page("Coordinators", content, user, page_name="admin", error=error, notice=notice)


HUBS = """<h1>Hubs</h1>
<p class="hint">Hubs come from <code>data/hubs.yml</code>. “Alerted” counts active, on-duty coordinators with
a phone number: they get an SMS for each new handoff.</p>
<table class="people">
<thead><tr><th>Hub</th><th>Slug</th><th>Municipality</th><th>Routed to</th><th>Coordinators</th><th>Alerted</th>
<th>Open handoffs</th></tr></thead>
<tbody>{rows}</tbody>
</table>
"""


def hubs_page(user: User, hubs: list[dict]) -> Markup:
    rows = join(render('<tr><td>{name}</td><td>{slug}</td><td>{municipality}</td><td>{routable}</td>'
                       '<td>{coordinators}</td><td class="{warn}">{alerted}</td><td>{open}</td></tr>',
                       name=h["name"], slug=h["slug"], municipality=h["municipality"],
                       routable="yes" if h["routable"] else "no (no point)", coordinators=h["coordinators"],
                       alerted=h["alerted"], warn="warn" if not h["alerted"] else "", open=h["open_handoffs"])
                for h in hubs)
    return page("Hubs", render(HUBS, rows=rows), user, page_name="admin")


ACCOUNT = """<h1>Account</h1>
<p>{name} · {email} · {role}{hub}</p>
<h2>New-handoff SMS</h2>
<form method="post" action="/inbox/account/duty" class="inline">{csrf}
<input type="hidden" name="on_duty" value="{duty_value}">
<span>{duty_text}</span> <button type="submit">{duty_button}</button>
</form>
<h2>Change password</h2>
<form method="post" action="/inbox/account/password" class="card narrow">{csrf}
<label for="current">Current password</label>
<input id="current" type="password" name="current" autocomplete="current-password" required>
<label for="new">New password (at least {min} characters)</label>
<input id="new" type="password" name="new" autocomplete="new-password" required minlength="{min}">
<label for="again">New password again</label>
<input id="again" type="password" name="again" autocomplete="new-password" required minlength="{min}">
<button type="submit">Change password</button>
</form>
"""


def account_page(user: User, on_duty: bool, phone: str | None, *, error: str | None = None,
                 notice: str | None = None) -> Markup:
    from gateway.inbox.security import MIN_PASSWORD

    if phone:
        duty_text = ("You are on duty: new handoffs for your hub are texted to your phone."
                     if on_duty else "You are off duty: no SMS for new handoffs.")
    else:
        duty_text = "No phone number is set for you, so you get no SMS; ask an admin to add one."
    content = render(ACCOUNT, name=user.name, email=user.email, role=user.role,
                     hub=f" · {user.hub_name}" if user.hub_name else "", csrf=csrf_input(user),
                     duty_value="" if on_duty else "on", duty_text=duty_text,
                     duty_button="Go off duty" if on_duty else "Go on duty", min=MIN_PASSWORD)
    return page("Account", content, user, page_name="account", error=error, notice=notice)


def error_page(user: User | None, status: int, message: str) -> Markup:
    content = render('<h1>{title}</h1><p>{message}</p><p><a href="/inbox">Back to the inbox</a></p>',
                     title={401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Not possible now"}
                     .get(status, "Something went wrong"), message=message)
    return page("Error", content, user, page_name="error")
