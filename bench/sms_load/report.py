"""The SMS load bench's goals and its markdown report (``--render`` prints it
again from a saved JSON report)."""

from __future__ import annotations

GOALS = {"ack_p99_ms": 100.0, "reply_p95_ratio": 1.2, "throughput_ratio": 0.90}


def goals(result: dict) -> dict:
    main = result["main"]
    acks = [
        ("main", main["sms"]["ack"]["p99_ms"]),
        ("duplicates, first", result["duplicates"]["ack_first"]["p99_ms"]),
        ("duplicates, second", result["duplicates"]["ack_second"]["p99_ms"]),
        ("bot busy", result["slow_bot"]["busy"]["ack"]["p99_ms"]),
        ("bot stalled", result["slow_bot"]["stalled"]["ack"]["p99_ms"]),
    ]
    worst = max(v for _, v in acks if v is not None)
    server = {
        "main": main["sms"].get("server_ack"),
        "duplicates": result["duplicates"].get("server_ack"),
        "bot busy": result["slow_bot"]["busy"].get("server_ack"),
        "bot stalled": result["slow_bot"]["stalled"].get("server_ack"),
    }
    reply_ratio = main["sms"]["reply"]["p95_ms"] / main["rest"]["reply"]["p95_ms"]
    throughput_ratio = main["sms"]["throughput_per_s"] / main["rest"]["throughput_per_s"]
    lost = sum(a["lost_or_duplicated"] for a in result["audit"].values())
    rasa_twice = sum(a["rasa_processed_twice"] for a in result["audit"].values())
    return {
        "ack_p99_under_100ms": {
            "measured_worst_p99_ms": worst,
            "per_phase": dict(acks),
            "met": worst < GOALS["ack_p99_ms"],
            "as_the_gateway_measures_it": server,
        },
        "reply_p95_vs_rest": {
            "ratio": round(reply_ratio, 3),
            "goal": f"<= {GOALS['reply_p95_ratio']}",
            "met": reply_ratio <= GOALS["reply_p95_ratio"],
        },
        "throughput_vs_rest": {
            "ratio": round(throughput_ratio, 3),
            "goal": f">= {GOALS['throughput_ratio']}",
            "met": throughput_ratio >= GOALS["throughput_ratio"],
        },
        "zero_lost_or_duplicated": {"count": lost, "met": lost == 0},
        "zero_processed_twice_by_rasa": {
            "count": rasa_twice,
            "met": rasa_twice == 0,
            "baseline": result["audit_rest"]["rasa_processed_twice"],
        },
    }


def _server_acks(server: dict | None) -> list[str]:
    """The acknowledgement as the gateway's own histogram counts it (bench.sms_load.measure.ServerAcks)."""
    if not server:
        return []
    return [
        "The acknowledgement as the gateway measures it (`hubguide_sms_ack_seconds`, from the request "
        "reaching the app to its last byte handed to uvicorn; read from /metrics before and after each "
        "phase): what the rows above add on top of it is uvicorn, the machine and this process "
        "receiving up to 50 answers at once.",
        "",
        "| phase | webhooks | p50 ≤ ms | p99 ≤ ms | within 100 ms |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {x['n']} | {x['p50_le_ms']} | {x['p99_le_ms']} | {x['within_100_ms']} |"
            for name, x in server.items()
            if x
        ),
        "",
    ]


def markdown(r: dict) -> str:
    m, g, a = r["main"], r["goals"], r["audit"]
    yes = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    s, rest = m["sms"], m["rest"]

    def row(name, x, ack_note=""):
        return (
            f"| {name} | {x['messages']} | {x['answered']} | {x['ack']['p50_ms']} | "
            f"{x['ack']['p99_ms']}{ack_note} | {x['reply']['p50_ms']} | {x['reply']['p95_ms']} | "
            f"{x['reply']['p99_ms']} | {x['throughput_per_s']} |"
        )

    d, sb = r["duplicates"], r["slow_bot"]
    lines = [
        f"# SMS load benchmark, {r['when']}",
        "",
        f"{r['config']['messages']} messages over {r['config']['conversations']} concurrent "
        f"conversations (each a phone number that sends its next message once the previous reply "
        f"is sent), six languages, same model, same run; {r['config']['rounds']} rounds, the path "
        f"that goes first alternating ({', '.join('→'.join(o) for o in m['order'])}). "
        f"Stack start-up {r['startup_seconds']} s; whole run {r['run_seconds']} s. "
        f"Gateway log level {r['config']['log_level']}, SMS dry-run, SQLite. Model "
        f"sha256 {r['config']['model_sha256_16']}…; code at {r['config']['code']['commit']}"
        + (
            f" with local changes ({'; '.join(r['config']['code']['changed'])})"
            if r["config"]["code"]["changed"]
            else ""
        )
        + f"; {r['config']['cores']} cores, load average "
        f"{r['config']['load_average_before'][0]} before, {r['config']['load_average_after'][0]} after "
        "(the machine is shared: compare the ratios, not the absolute numbers).",
        "",
        "## Main phase",
        "",
        "| path | messages | answered | ack p50 ms | ack p99 ms | reply p50 ms | reply p95 ms | "
        "reply p99 ms | answered/s |",
        "|---|---|---|---|---|---|---|---|---|",
        row("SMS webhook through the gateway", s),
        row("Rasa REST channel, direct (baseline)", rest, " ¹"),
        "",
        '¹ Rasa\'s REST channel answers only after the whole turn: its "ack" is the reply.',
        "",
        f"Per-round throughput, SMS: {s['per_round_throughput']}; REST: {rest['per_round_throughput']}. "
        f'SMS answers preceded by a "bot unavailable" apology: {s["apologies"]}.'
        + (f" Failures: SMS {s['failed']}, REST {rest['failed']}." if s["failed"] or rest["failed"] else ""),
        "",
        "## Goals",
        "",
        "| goal | measured | result |",
        "|---|---|---|",
        f"| acknowledgement p99 < 100 ms whatever the bot's speed | worst phase p99 "
        f"{g['ack_p99_under_100ms']['measured_worst_p99_ms']} ms "
        f"({', '.join(f'{k} {v}' for k, v in g['ack_p99_under_100ms']['per_phase'].items())}) | "
        f"{yes(g['ack_p99_under_100ms']['met'])} |",
        f"| reply p95 ≤ 1.2 × Rasa REST p95 | {s['reply']['p95_ms']} / {rest['reply']['p95_ms']} ms = "
        f"{g['reply_p95_vs_rest']['ratio']} | {yes(g['reply_p95_vs_rest']['met'])} |",
        f"| throughput ≥ 90% of Rasa REST | {s['throughput_per_s']} / {rest['throughput_per_s']} /s = "
        f"{g['throughput_vs_rest']['ratio']} | {yes(g['throughput_vs_rest']['met'])} |",
        f"| zero lost or duplicated (stored once, answered once; from the database) | "
        f"{g['zero_lost_or_duplicated']['count']} | {yes(g['zero_lost_or_duplicated']['met'])} |",
        f"| (added) every message processed by Rasa once (tracker store user events) | "
        f"{g['zero_processed_twice_by_rasa']['count']} processed twice through the gateway; "
        f"{g['zero_processed_twice_by_rasa']['baseline']} in the baseline | "
        f"{yes(g['zero_processed_twice_by_rasa']['met'])} |",
        "",
        *_server_acks(g["ack_p99_under_100ms"].get("as_the_gateway_measures_it")),
        "## Duplicate deliveries (same MessageSid twice; half right after the first ack, half overlapping)",
        "",
        "| delivery | n | ack p50 ms | ack p99 ms | max ms |",
        "|---|---|---|---|---|",
        f"| first | {d['ack_first']['n']} | {d['ack_first']['p50_ms']} | {d['ack_first']['p99_ms']} | "
        f"{d['ack_first']['max_ms']} |",
        f"| duplicate | {d['ack_second']['n']} | {d['ack_second']['p50_ms']} | "
        f"{d['ack_second']['p99_ms']} | {d['ack_second']['max_ms']} |",
        "",
        f"Answered {d['answered']}/{d['messages']}; reply p50 {d['reply']['p50_ms']} ms, "
        f"p95 {d['reply']['p95_ms']} ms. Stored twice: {a['duplicates']['stored_twice']}; "
        f"answered twice: {a['duplicates']['inbound_answered_twice']}.",
        "",
        f"## Acknowledgement with a slow bot (bursts of {sb['burst_size']} concurrent webhooks "
        "from new residents, not waiting for replies)",
        "",
        "Sent with one aiohttp.ClientSession per resident, its connection opened before each burst (as "
        "Twilio's would be), as the conversations above.",
        "",
        "| bot | webhooks | ack p50 ms | ack p99 ms | ack max ms | answer p50 ms | answer p95 ms | apologies |",
        "|---|---|---|---|---|---|---|---|",
        f"| busy: {sb['busy_bursts']} bursts, one every {sb['busy_interval_s']} s (≈80% of Rasa's "
        f"measured throughput) | {sb['busy']['ack']['n']} | {sb['busy']['ack']['p50_ms']} | "
        f"{sb['busy']['ack']['p99_ms']} | {sb['busy']['ack']['max_ms']} | {sb['busy']['reply']['p50_ms']} | "
        f"{sb['busy']['reply']['p95_ms']} | {sb['busy']['apologies']} |",
        f"| stalled: Rasa server stopped (SIGSTOP) for {sb['stall_seconds']} s | "
        f"{sb['stalled']['ack']['n']} | {sb['stalled']['ack']['p50_ms']} | "
        f"{sb['stalled']['ack']['p99_ms']} | {sb['stalled']['ack']['max_ms']} | "
        f"{sb['stalled']['reply']['p50_ms']} | {sb['stalled']['reply']['p95_ms']} | "
        f"{sb['stalled']['apologies']} |",
        *(
            f"| control, bot idle: {name} | {x['n']} | {x['p50_ms']} | {x['p99_ms']} | {x['max_ms']} | | | |"
            for name, x in sb["control_bot_idle"].items()
        ),
        "",
        "The control rows send the same bursts (with the bot idle) to the gateway where it stores "
        "nothing and starts no turn: their time is the client, uvicorn and the machine; the "
        "difference to the rows above is the gateway's work per webhook (storing, and the turns "
        "the webhooks start on the same event loop). The httpx row shows what the client this bench "
        "used until issue 15 added by itself: its request path, ~2 ms of this process per request, "
        "paid 50 times in a row.",
        "",
        "## Lost or duplicated, counted from the gateway's database",
        "",
        "| phase | SIDs sent | not stored | stored twice | no bot answer | bot answered twice | "
        "answer after the next message | apologies ² | processed twice by Rasa ³ | inbound status |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {x['sids_sent']} | {x['lost_not_stored']} | {x['stored_twice']} | "
            f"{x['inbound_unanswered']} | {x['inbound_answered_twice']} | "
            f"{x['answered_after_the_next_message']} | {x['apologies']} | {x['rasa_processed_twice']} | "
            f"{', '.join(f'{k} {v}' for k, v in x['inbound_status'].items())} |"
            for name, x in a.items()
        ),
        f"| REST baseline (main) | {r['audit_rest']['posted']} posted | | | | | | | "
        f"{r['audit_rest']['rasa_processed_twice']} | |",
        "",
        "² Rasa did not answer within the gateway's RASA_TIMEOUT_SECONDS: the resident got the "
        '"bot unavailable" apology and, after the gateway\'s retry, the answer (two SMS for one '
        "message, by design; not counted as duplicated, but a sign the bot was overloaded).",
        "³ More user events in Rasa's tracker store than messages the resident sent: the gateway "
        "gave up waiting, Rasa still finished the turn, and the retry ran it again.",
        "",
        f"Rasa REST baseline: {rest['answered']}/{rest['messages']} answered with text. The privacy "
        "notice sent as an SMS of its own before a first long answer is not counted as an answer: "
        + ", ".join(f"{name} {x.get('privacy_notices_on_their_own', 0)}" for name, x in a.items())
        + ".",
        "",
        "## Where the time goes",
        "",
        "CPU per answered message in the main phase (all processes with their children, psutil):",
        "",
        "| process | SMS path ms/msg | REST path ms/msg |",
        "|---|---|---|",
        *(
            f"| {k} | {s['cpu_ms_per_message'].get(k)} | {rest['cpu_ms_per_message'].get(k)} |"
            for k in s["cpu_ms_per_message"]
        ),
        "",
        "The gateway's SMS code in-process, one message at a time (Rasa stubbed, scratch SQLite in "
        "the same data directory; the steps' database work runs in worker threads as in the gateway):",
        "",
        "| step | n | wall p50 ms | CPU ms (mean) | SQL statements (SELECT/INSERT/UPDATE/SAVEPOINT) | "
        "commits (with writes) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {k} | {v['n']} | {v['p50_ms']} | {v.get('cpu_ms_mean')} | {v['statements']} ({v['SELECT']}/"
            f"{v['INSERT']}/{v['UPDATE']}/{v['SAVEPOINT']}) | {v['commits']} ({v['write commits']}) |"
            for k, v in r["profile"]["steps"].items()
        ),
        "",
        "Storing a burst of 50 webhooks (`gateway.intake`, 4 bursts, new residents):",
        "",
        "| path | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|",
        *(
            f"| {k} | {v['p50_ms']} | {v['p99_ms']} | {v['max_ms']} |"
            for k, v in r["profile"].get("store_burst_of_50", {}).items()
        ),
        "",
        f"Language decision (`langid.decide`) p50 {r['profile']['langid_decide_p50_ms']} ms, max "
        f"{r['profile']['langid_decide_max_ms']} ms. One SQLite WAL commit on this disk: "
        f"synchronous=FULL (the gateway's) p50 {r['profile']['sqlite_commit']['FULL']['p50_ms']} ms / "
        f"p99 {r['profile']['sqlite_commit']['FULL']['p99_ms']} ms; synchronous=NORMAL p50 "
        f"{r['profile']['sqlite_commit']['NORMAL']['p50_ms']} ms / p99 "
        f"{r['profile']['sqlite_commit']['NORMAL']['p99_ms']} ms.",
        "",
        "## Measurement",
        "",
        f"Replies are seen by one thread reading the gateway's SQLite read-only: every "
        f"{r['measurement']['poll_interval_ms']} ms `PRAGMA data_version` ({r['measurement']['checks']} "
        f"checks), and the outbound rows above a moving id floor only when it changed "
        f"({r['measurement']['queries']} queries; {r['measurement']['poll_thread_cpu_s']} s CPU for the "
        f"thread). Reply latency uses the row's `sent_at`, so the "
        f"poll only delays the next message of a conversation (poll lag after `sent_at`: p50 "
        f"{r['measurement']['poll_lag_after_sent_at']['p50_ms']} ms, p99 "
        f"{r['measurement']['poll_lag_after_sent_at']['p99_ms']} ms). This process's event-loop lag "
        f"(a 50 ms timer): p50 {r['measurement']['benchmark_loop_lag']['p50_ms']} ms, p99 "
        f"{r['measurement']['benchmark_loop_lag']['p99_ms']} ms. Bot answers nobody waited for: "
        f"{r['measurement']['replies_nobody_waited_for']}. Webhook deliveries sent again after no "
        f"response (a keep-alive connection closed by uvicorn as the request went out; Twilio would "
        f"retry too): {len(r['measurement'].get('webhook_deliveries_retried_after_no_response', []))}.",
    ]
    if r["texts_not_in_nlu_data"]:
        lines += ["", f"Texts no longer in data/nlu: {r['texts_not_in_nlu_data']}"]
    lines += [
        "",
        "| process | RSS MB (with children) at the end |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in r["memory_rss_mb"].items()),
    ]
    return "\n".join(lines) + "\n"
