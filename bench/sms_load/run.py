"""The load phases against the running stack: main (rounds over both paths),
duplicates, slow bot; then the audit and the measurement's own figures."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from bench.common import rss_mb
from bench.sms_load.audit import audit, audit_rest, settled
from bench.sms_load.driver import STALL_SECONDS, Bench, Phase, http_client
from bench.sms_load.measure import CpuMeter, LoopLag, ReplyWatcher, ServerAcks, dist, notices
from bench.sms_load.workload import LANGS, TEXTS, plan
from stack.processes import Stack


def summarize(phases: list[Phase]) -> dict:
    samples = [s for p in phases for s in p.samples]
    answered = sum(p.answered for p in phases)
    seconds = sum(p.seconds for p in phases)
    cpu = Counter()
    for p in phases:
        cpu.update(p.cpu)
    return {
        "messages": len(samples),
        "answered": answered,
        "apologies": sum(s.apologies for s in samples),
        "failed": [s.error for s in samples if not s.ok][:10],
        "ack": dist([s.ack for s in samples if s.ack is not None]),
        "server_ack": server_acks(phases),
        "reply": dist([s.reply for s in samples if s.ok and s.reply is not None]),
        "phase_seconds": round(seconds, 2),
        "throughput_per_s": round(answered / seconds, 2) if seconds else None,
        "per_round_throughput": [round(p.answered / p.seconds, 2) if p.seconds else None for p in phases],
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_ms_per_message": {k: round(v * 1000 / max(1, answered), 1) for k, v in cpu.items()},
    }


def server_acks(phases: list[Phase]) -> dict:
    """The gateway's own acknowledgement histogram over ``phases`` (ServerAcks)."""
    total: Counter = Counter()
    for p in phases:
        total.update(p.server_acks)
    return ServerAcks.dist(total)


def bursts_summary(phase: Phase) -> dict:
    return {
        "ack": dist([s.ack for s in phase.samples if s.ack is not None]),
        "server_ack": server_acks([phase]),
        "reply": dist([s.reply for s in phase.samples if s.ok]),
        "answered": phase.answered,
        "messages": len(phase.samples),
        "apologies": sum(s.apologies for s in phase.samples),
    }


async def warm_up(bench: Bench) -> None:
    """Every path and language once (TensorFlow graphs, lingua, connections)."""
    async with http_client() as client:
        for i, language in enumerate(LANGS):
            for text in TEXTS[language][:2]:
                await bench.sms_message(client, "warm-up", f"+46709{i:06d}", language, text)
                await bench.rest_message(client, f"warm-{i}-{uuid.uuid4().hex[:6]}", language, text)


async def main_phase(args, bench: Bench) -> dict:
    """Rounds, alternating which path goes first."""
    sms_phases, rest_phases, order = [], [], []
    for r, convs in enumerate(plan(args.messages, args.conversations, args.rounds, "1")):
        paths = ("sms", "rest") if r % 2 == 0 else ("rest", "sms")
        order.append(list(paths))
        for path in paths:
            phase = await bench.phase(f"main round {r + 1} {path}", path, "main", convs)
            (sms_phases if path == "sms" else rest_phases).append(phase)
            print(
                f"round {r + 1} {path}: {phase.answered}/{len(phase.samples)} answered in {phase.seconds:.1f} s",
                flush=True,
            )
            await asyncio.sleep(0.3)
    return {"order": order, "sms": summarize(sms_phases), "rest": summarize(rest_phases)}


async def duplicates_phase(args, bench: Bench) -> dict:
    """Every webhook twice, same MessageSid."""
    dup_convs = plan(args.dup_messages, args.conversations, 1, "2")[0]
    dup = await bench.phase("duplicates", "sms", "duplicates", dup_convs, duplicate=True)
    ok = [s for s in dup.samples if s.ack is not None]
    print(f"duplicates: {dup.answered}/{len(dup.samples)} answered", flush=True)
    return {
        "messages": len(dup.samples),
        "deliveries": 2 * len(ok),
        "answered": dup.answered,
        "ack_first": dist([s.ack for s in ok]),
        "ack_second": dist([s.ack2 for s in ok if s.ack2]),
        "server_ack": server_acks([dup]),
        "reply": dist([s.reply for s in dup.samples if s.ok]),
        "apologies": sum(s.apologies for s in dup.samples),
        "failed": [s.error for s in dup.samples if not s.ok][:10],
    }


async def slow_bot_phase(args, bench: Bench, rest_rate: float | None, database_url: str) -> dict:
    """Bursts while the bot is busy, then a burst while it is stalled, then
    the control bursts with the bot idle again."""
    interval = max(1.0, args.burst_size / (0.8 * (rest_rate or 10.0)))
    busy = await bench.bursts("bursts, bot busy", "bursts", args.bursts, args.burst_size, interval, 0)
    print(f"bursts (busy): {busy.answered}/{len(busy.samples)} answered", flush=True)
    stalled = await bench.bursts(
        "burst, bot stalled", "bursts", 1, args.burst_size, 0, args.bursts * args.burst_size, stall=True
    )
    print(f"burst (stalled): {stalled.answered}/{len(stalled.samples)} answered", flush=True)
    await settled(database_url, 60)  # the bot idle again
    control = await bench.control_bursts(2, args.burst_size)
    return {
        "burst_size": args.burst_size,
        "busy_bursts": args.bursts,
        "busy_interval_s": round(interval, 2),
        "stall_seconds": STALL_SECONDS,
        "busy": {**bursts_summary(busy), "seconds": round(busy.seconds, 1)},
        "control_bot_idle": control,
        "stalled": bursts_summary(stalled),
    }


async def run(args, stack: Stack) -> dict:
    database_url, tracker_url = stack.settings.sqlalchemy_url, stack.settings.tracker_store_sqlalchemy_url
    skip = notices(stack.settings)
    watcher = ReplyWatcher(database_url, args.poll_ms / 1000, skip)
    watcher.start()
    bench = Bench(stack, watcher, CpuMeter(stack))
    lag = LoopLag()
    result: dict = {}
    try:
        await warm_up(bench)
        lag.start()
        result["main"] = await main_phase(args, bench)
        result["duplicates"] = await duplicates_phase(args, bench)
        result["slow_bot"] = await slow_bot_phase(args, bench, result["main"]["rest"]["throughput_per_s"], database_url)
        await lag.stop()
        await settled(database_url, 30)  # anything late (a duplicate answer, a retry) shows before counting
        result["audit"] = {
            group: audit(database_url, tracker_url, bench.sent_sids[group], bench.numbers[group], skip)
            for group in ("main", "duplicates", "bursts")
        }
        result["audit_rest"] = audit_rest(tracker_url, bench.rest_sent)
        result["memory_rss_mb"] = {s.name: round(rss_mb(s.process.pid), 1) for s in stack.services}
    finally:
        watcher.stop()
    result["measurement"] = {
        "poll_interval_ms": args.poll_ms,
        "checks": watcher.checks,
        "queries": watcher.queries,
        "poll_thread_cpu_s": round(watcher.poll_cpu, 2),
        "poll_lag_after_sent_at": dist(watcher.lags),
        "benchmark_loop_lag": dist(lag.lags),
        "replies_nobody_waited_for": len(watcher.unexpected),
        "webhook_deliveries_retried_after_no_response": bench.client_retries,
    }
    return result
