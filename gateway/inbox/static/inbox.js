// Live updates for the hub guide inbox, without polling.
//
// An EventSource on /inbox/events receives events that name ids only
// ({"handoff": 12}); the page then fetches what it needs from /api, which
// applies the same rules about who may see what. Text from the server is
// always put in the page with textContent, never as markup.
(() => {
  "use strict";

  const body = document.body;
  const page = body.dataset.page;
  if (!page || page === "login" || page === "error") return;

  const KINDS = ["handoff_created", "handoff_updated", "message_in", "message_out", "delivery"];
  const DELIVERY = {
    queued: "queued", sent: "sent", delivered: "delivered", dry_run: "dry run (not sent)",
    awaiting_connection: "waiting for the resident to open the chat again",
    suppressed: "not sent: the resident opted out", failed: "delivery failed", undelivered: "not delivered",
  };
  const live = document.getElementById("live");
  const handoffId = Number(body.dataset.handoff) || null;

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
    }
    return node;
  }

  async function api(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      location.assign("/inbox/login?next=" + encodeURIComponent(location.pathname));
      return null;
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function duration(seconds) {
    let minutes = Math.max(0, Math.floor(seconds / 60));
    if (minutes < 60) return `${minutes} min`;
    let hours = Math.floor(minutes / 60);
    minutes %= 60;
    if (hours < 24) return `${hours} h ${minutes} min`;
    const days = Math.floor(hours / 24);
    hours %= 24;
    return `${days} d ${hours} h`;
  }

  function when(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString("sv-SE", {
      timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    });
  }

  // Says what changed to screen readers through the page's live region (#announce), which was there
  // from the start: a region added together with its text is often not read out.
  function announce(text) {
    const region = document.getElementById("announce");
    if (region) region.textContent = text;
  }

  function notice(text, link) {
    const main = document.querySelector("main");
    const p = el("p", { class: "notice live-notice" }, text);
    if (link) p.append(" ", el("a", { href: link }, "Open"));
    main.prepend(p);
    announce(text);
  }

  // --- the list -------------------------------------------------------------------------------

  const table = document.getElementById("handoffs");
  const listIsLive = table && table.dataset.status === "active";

  function waitingText(h) {
    return h.waiting_since ? `waiting ${duration((Date.now() - Date.parse(h.waiting_since)) / 1000)}` : "answered";
  }

  // The resident left (gateway/handoff.py `unreachable`): the same words as list.html and handoff.html.
  function leftText(u, short) {
    const at = u.since ? ` ${short ? "" : "at "}${when(u.since)}` : "";
    if (short) return `${u.reason === "stop" ? "Opted out (STOP)" : "Resident ended the chat"}${at}`;
    return u.reason === "stop" ? `The resident opted out (STOP)${at}; no message can be sent to them.`
      : `The resident ended the chat${at}; replies cannot reach them.`;
  }

  function waitingCell(h) {
    if (h.unreachable) {
      return el("td", { class: "waiting", "data-since": "" },
        el("strong", { class: "badge badge-left" }, leftText(h.unreachable, true)));
    }
    return el("td", { class: "waiting", "data-since": h.waiting_since || "" }, waitingText(h));
  }

  // The same words as render.py's CRISIS_LABELS and NO_HUB.
  const CRISIS = { suicide: "suicide or self-harm", violence: "violence", child: "a child in danger",
                   medical: "a medical emergency", shelter: "nowhere to sleep" };

  function topicCell(h) {
    if (!h.crisis) return el("td", {}, h.topic || "–");
    return el("td", {}, el("strong", { class: "badge badge-crisis" }, `Crisis: ${CRISIS[h.crisis] || h.crisis}`),
      " ", h.topic || "–");
  }

  function row(h) {
    const attrs = { "data-id": h.id, "data-status": h.status };
    if (h.crisis) attrs.class = "crisis";
    return el("tr", attrs,
      el("td", {}, el("a", { href: `/inbox/handoffs/${h.id}` }, `#${h.id}`)),
      el("td", {}, el("span", { class: `badge badge-${h.status}` }, h.status)),
      el("td", {}, h.hub ? h.hub.name : "not known yet: reassign it to a hub"), el("td", {}, h.language.name),
      topicCell(h),
      el("td", {}, h.area || "–"), el("td", {}, h.channel),
      waitingCell(h),
      el("td", {}, h.claimed_by || "–"));
  }

  function updateEmpty() {
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = table.tBodies[0].rows.length > 0;
  }

  async function refreshRow(id) {
    const h = await api(`/api/handoffs/${id}`);
    const existing = table.querySelector(`tr[data-id="${id}"]`);
    if (!h || h.status === "closed") {
      if (existing) existing.remove();
    } else {
      const fresh = row(h);
      fresh.classList.add("fresh");
      if (existing) {
        existing.replaceWith(fresh);
      } else {
        table.tBodies[0].append(fresh);
        announce(`New handoff #${h.id}${h.crisis ? `, crisis: ${CRISIS[h.crisis] || h.crisis}` : ""}.`);
      }
    }
    updateEmpty();
  }

  async function refreshList() {
    const items = await api("/api/handoffs?status=active");
    if (!items) return;
    table.tBodies[0].replaceChildren(...items.map(row));
    updateEmpty();
  }

  // --- one handoff ----------------------------------------------------------------------------

  const conversation = document.getElementById("conversation");

  function deliveryText(m) {
    if (m.direction === "in") return m.in_this_handoff ? "to the coordinator" : "";
    const text = DELIVERY[m.status] || m.status;
    return m.delivery_failed && m.error ? `${text}: ${m.error}` : text;
  }

  function message(m) {
    const item = el("li", {
      class: `msg msg-${m.sender} msg-${m.direction}${m.delivery_failed ? " failed" : ""}`,
      "data-id": m.id, "data-state": m.status,
    },
    el("div", { class: "meta" },
      el("span", { class: "sender" }, m.sender_label), " ",
      el("time", { datetime: m.created_at }, when(m.created_at)), " ",
      el("span", { class: "delivery" }, deliveryText(m))),
    el("p", { class: "body", dir: "auto", lang: m.language }, m.body));
    if (m.buttons.length) {
      item.append(el("p", { class: "buttons", lang: m.language },
        ...m.buttons.map((t) => el("span", { class: "button" }, t))));
    }
    return item;
  }

  async function refreshConversation() {
    const h = await api(`/api/handoffs/${handoffId}`);
    if (!h) {
      notice("This handoff is no longer in your hub (reassigned, or the resident's data erased).", "/inbox");
      return;
    }
    for (const m of h.messages) {
      const shown = conversation.querySelector(`li[data-id="${m.id}"]`);
      if (!shown) {
        const fresh = message(m);
        fresh.classList.add("fresh");
        conversation.append(fresh);
        if (m.direction === "in") announce("New message from the resident.");
      } else if (shown.dataset.state !== m.status) {
        shown.replaceWith(message(m));
      }
    }
    const status = document.getElementById("status");
    if (status && status.textContent !== h.status) {
      status.textContent = h.status;
      status.className = `badge badge-${h.status}`;
      if (h.status === "closed") notice("This handoff was closed.", `/inbox/handoffs/${h.id}`);
    }
    const claimedBy = document.getElementById("claimed-by");
    if (claimedBy) claimedBy.textContent = h.claimed_by || "–";
    // The resident left meanwhile: say so, and the reply form goes (the server refuses replies now).
    const form = document.querySelector("form.reply");
    if (h.unreachable && form) {
      form.replaceWith(el("p", { class: "notice", id: "no-reply" },
        `${leftText(h.unreachable, false)} Close the handoff with an outcome when you are done.`));
      notice(leftText(h.unreachable, false));
    }
  }

  const reply = document.getElementById("reply-body");
  const count = document.getElementById("reply-count");
  if (reply && count) reply.addEventListener("input", () => { count.textContent = String(reply.value.length); });

  // The phrasebook: a phrase's button holds the text in the resident's language (data-text), which goes
  // into the reply at the cursor (replacing a selection), set off by spaces, the cursor after it.
  const phrases = document.getElementById("phrases");
  if (reply && phrases) {
    phrases.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-text]");
      if (!button) return;
      const start = reply.selectionStart;
      const end = reply.selectionEnd;
      const before = start > 0 && !/\s/.test(reply.value[start - 1]) ? " " : "";
      const after = end < reply.value.length && !/\s/.test(reply.value[end]) ? " " : "";
      reply.setRangeText(before + button.dataset.text + after, start, end, "end");
      reply.dispatchEvent(new Event("input")); // the character count
      reply.focus();
      announce("Phrase added to the reply.");
    });
  }

  // --- events ---------------------------------------------------------------------------------

  const seen = { events: 0 };
  window.inboxLive = seen; // for tests and the curious: how many events arrived

  async function onEvent(kind, data) {
    seen.events += 1;
    const id = Number(data.handoff);
    if (!id) return;
    try {
      if (listIsLive) await refreshRow(id);
      if (conversation && id === handoffId) await refreshConversation();
      else if (conversation && kind === "handoff_created") notice(`New handoff #${id}.`, `/inbox/handoffs/${id}`);
    } catch (error) {
      console.warn("inbox update failed", error);
    }
  }

  function setLive(on) {
    body.dataset.live = on ? "on" : "off";
    if (!live) return;
    live.hidden = false;
    live.textContent = on ? "● live" : "○ reconnecting…";
    live.classList.toggle("off", !on);
  }

  function connect() {
    const source = new EventSource("/inbox/events");
    let connectedBefore = false;
    source.addEventListener("ready", () => {
      setLive(true);
      // After a reconnect, catch up on whatever happened while the stream was down.
      if (connectedBefore) {
        if (listIsLive) refreshList().catch(() => {});
        if (conversation) refreshConversation().catch(() => {});
      }
      connectedBefore = true;
    });
    for (const kind of KINDS) {
      source.addEventListener(kind, (event) => onEvent(kind, JSON.parse(event.data)));
    }
    source.addEventListener("signed_out", () => {
      source.close();
      location.assign("/inbox/login");
    });
    source.addEventListener("error", () => {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out?) rather than dropped: ask who we are, then try again.
        setTimeout(() => api("/api/me").then((me) => { if (me) connect(); }).catch(() => {}), 5000);
      }
    });
  }

  if (listIsLive || conversation) connect();

  setInterval(() => {
    for (const cell of document.querySelectorAll("td.waiting[data-since]")) {
      if (cell.dataset.since) cell.textContent = `waiting ${duration((Date.now() - Date.parse(cell.dataset.since)) / 1000)}`;
    }
  }, 30000);
})();
