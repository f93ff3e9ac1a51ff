"""SMS load benchmark (``python -m bench.sms_load``): signed Twilio webhooks
through the gateway next to the same turns posted straight to Rasa's REST
channel, in one run, against the same trained model.

Phases, all on 127.0.0.1, each resident a distinct phone number:

1. **Main**: N messages over C concurrent conversations. A conversation sends
   its next message only once the previous reply has arrived (a resident
   waits for the answer). The same texts, in the same order per conversation
   and with the same concurrency, also go straight to Rasa's REST channel
   (the baseline). The run is cut into rounds; in each round every
   conversation sends its next chunk over both paths, one path after the
   other, and the path that goes first alternates from round to round, so
   machine noise falls on both.
2. **Duplicates**: every webhook delivered twice with the same MessageSid, as
   Twilio retries: half of them right after the first delivery's
   acknowledgement, half overlapping it (both requests in flight at once).
3. **Slow bot**: bursts of concurrent webhooks from new residents while the
   bot is busy (bursts offered at about 80% of the Rasa throughput measured
   in phase 1, without waiting for replies), then one burst while the Rasa
   server is stalled (SIGSTOP for a few seconds, then SIGCONT).

How it is measured:

- acknowledgement latency: from just before the webhook POST to its HTTP
  response (``time.perf_counter`` in this process); for the REST baseline
  the response only comes after the whole turn, so there it equals the reply
  latency. Every resident (conversations on both paths, and each webhook of
  a burst) has its own ``aiohttp.ClientSession`` (keep-alive), its connection
  opened before the timing starts; control bursts to endpoints that store
  nothing (``/healthz``, an unsigned webhook) show what the client, uvicorn
  and the machine account for, and httpx clients what the bench's earlier
  client added by itself;
- reply latency: from just before the webhook POST (wall clock) to the
  ``sent_at`` the gateway's outbox writes on the bot's outbound row (same
  machine, same clock); for the baseline, the REST response time. A "bot
  unavailable" apology (Rasa slower than the gateway's timeout) is counted
  apart; the conversation waits for the bot's answer after the retry;
- replies are seen by one thread that reads the gateway's SQLite database
  read-only: every ``--poll-ms`` it asks ``PRAGMA data_version`` (no table
  read), and only when another connection committed it runs one indexed
  query for outbound rows above a moving id floor, whatever the number of
  conversations, and hands the rows to the waiting conversations. The poll
  only decides when a conversation sends its next message; the latency comes
  from ``sent_at``. The lag from ``sent_at`` to the poll seeing it, the
  thread's CPU and this process's event-loop lag are reported as the
  measurement overhead;
- throughput: messages answered divided by the phase's wall time (first POST
  to the last ``sent_at`` or last REST response), summed over the rounds;
- lost or duplicated: counted from the database at the end: every MessageSid
  sent is stored exactly once, and every stored inbound message has exactly
  one answer from the bot (per resident as many bot answers as messages, each
  before the resident's next message); also, from Rasa's tracker store, that
  Rasa processed each message once (a gateway timeout followed by its retry
  can make Rasa run the same turn twice);
- CPU per message of every process with its children, from psutil, per phase.

Afterwards, with the stack stopped, the gateway's own code (``gateway.channels.sms``,
``gateway.conversation``, ``gateway.outbox``) runs in this process against a scratch
SQLite database with Rasa stubbed, counting SQL statements and commits and
timing each step, and storing bursts of 50 webhooks through the intake
thread, to show where the gateway's time goes.

Writes reports/sms-load-<time>.json and .md and prints the markdown.
``--quick`` runs 100 messages and shorter phases.

Modules: ``workload`` (texts, conversations), ``driver`` (the signed webhooks
and REST posts, the phases' bursts), ``measure`` (percentiles, CPU, the reply
watcher), ``run`` (the phases in order), ``audit`` (lost or duplicated),
``inprocess`` (the gateway's code in this process), ``report`` (goals and
markdown), ``__main__`` (options, the stack, the report's files).
"""
