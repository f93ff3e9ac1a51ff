"""Cluster SMS load (``python -m bench.cluster_load``, in ``make bench``): signed Twilio webhooks
through the load balancer to 1, 2 and 4 gateway replicas on PostgreSQL and Redis
(``stack.cluster``), twice in one run:

1. **Rasa not the bottleneck**: the bot is ``bench.stand_in_bot``, a real HTTP server in its own
   process (each turn takes a fixed ``--stand-in-ms``, any number of turns wait at once, and it
   costs next to no CPU), and enough concurrent conversations that one replica has more work
   than it can do: the throughput is the gateways'. Each resident writes again 0 to
   ``--stand-in-pause`` s (1) after the answer, at random, the first message too: without that
   pause the 150 conversations sent their first messages in the same millisecond and the rest
   in waves, and one replica took 0.6 s to acknowledge the last of such a burst (HAProxy's
   log); the single-process bench (``bench.sms_load``) measures bursts on their own.
2. **Rasa the bottleneck**: the real Rasa server (tracker store on PostgreSQL, lock store on
   Redis) and action server with the trained model, and the same texts posted straight to Rasa's
   REST channel (the baseline, "bare Rasa") with the same concurrency.

The Rasa server runs its sentence encoder on one thread (``stack.rasa_cli``): cheaper per message
when other processes share the cores, slower alone. So bare Rasa is measured twice: the same
server (the goal's baseline: what the SMS path costs against Rasa as it is served), and a second
server on the same model and stores with the encoder's two threads (``OMP_NUM_THREADS=2``), the
fastest bare Rasa on an otherwise idle machine.

Which one limits a run is measured, not assumed: the report gives each process's CPU per
answered message and each target's throughput; when the stand-in limits, throughput is
conversations / (its latency + the gateway's path) whatever the replicas; when Rasa limits, the
Rasa server's CPU per message times the throughput is about one core (its event loop, one
encoder thread) or, with two encoder threads, more.

One cluster of 4 replicas is started for each bot; the 1- and 2-replica targets are HAProxy
load balancers of their own (the cluster's template, stack/haproxy.cfg) in front of the first
1 and 2 replicas, so every target is measured in the same rounds, in an order that rotates, and
the machine's noise falls on all of them (this machine has 2 cores shared with other work:
compare the ratios). The idle replicas still run their outbox and retry loops; they may
deliver a reply another replica queued (at most once: the outbox's claims).

Per target: throughput (answered / the phase's wall time, from the first webhook to the last
reply's ``sent_at``), the acknowledgement's p50/p99 (from this process: the POST to its
answer, through the load balancer), reply p95 (POST to the reply's ``sent_at``), and from the
database at the end: lost (not stored, or never answered), duplicated (stored or answered
twice), and out of order: residents who send three messages in a row (each once the previous
one is acknowledged, so they land on different replicas) whose messages were stored, seen by
the bot (Rasa's tracker store, or the stand-in's record) or answered (the stand-in's echo) in
another order. Writes reports/cluster-load-<time>.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp

import bench.stand_in_bot
from bench.cluster_report import BARE, TWO_THREADS, goals, markdown
from bench.common import write_report
from bench.sms_load.__main__ import code_version
from bench.sms_load.audit import audit, audit_rest, order, settled
from bench.sms_load.driver import Bench, Phase, fetch, http_client
from bench.sms_load.measure import CpuMeter, ReplyWatcher, ServerAcks, dist, notices
from bench.sms_load.run import summarize
from bench.sms_load.workload import LANGS, TEXTS, plan
from gateway.settings import Settings
from stack import model, services_local
from stack.cluster import HEALTH_PATH, Cluster, with_option
from stack.processes import Service, Stack, free_port

REPLICAS = (1, 2, 4)
IN_A_ROW = 3  # messages each resident of the order phase sends without waiting for the answer


def stand_in_stack(latency_ms: float) -> type[Stack]:
    """``stack.processes.Stack`` whose Rasa server and action server are the stand-in bot."""

    class StandIn(Stack):
        def build(self) -> list[Service]:
            rasa, actions, gateway = super().build()
            bot = [sys.executable, "-m", bench.stand_in_bot.__name__, "--latency-ms", str(latency_ms)]
            return [
                dataclasses.replace(rasa, command=[*bot, "--port", str(self.rasa_port), "--endpoints", "-"]),
                dataclasses.replace(actions, command=[*bot, "--port", str(self.action_port)]),
                gateway,
            ]

    return StandIn


def cluster_settings(data: Path) -> Settings:
    port = free_port()
    return Settings(
        _env_file=None,
        app_env="test",
        data_dir=data,
        gateway_port=port,
        rasa_port=free_port(),
        action_port=free_port(),
        public_base_url=f"http://127.0.0.1:{port}",  # Twilio signs the load balancer's URL
        twilio_account_sid="",
        log_level="INFO",
    )


def balancer(cluster: Cluster, replicas: int) -> services_local.Daemon:
    """An HAProxy of its own in front of the cluster's first ``replicas`` replicas, started."""
    ports = [int(urlsplit(cluster.service(f"gateway {n}").health_url).port or 0) for n in range(1, replicas + 1)]
    port = free_port()
    config = cluster.folder / f"haproxy-{replicas}.cfg"
    config.write_text(services_local.haproxy_config("127.0.0.1", port, ports, HEALTH_PATH), encoding="utf-8")
    lb = services_local.haproxy(
        config, f"http://127.0.0.1:{port}", cluster.logs / f"haproxy-{replicas}.log", HEALTH_PATH
    )
    lb = dataclasses.replace(lb, name=f"load balancer ({replicas})")
    lb.start(dict(os.environ))
    lb.wait_ready(progress=False)
    return lb


@dataclasses.dataclass
class Target:
    name: str
    path: str  # "sms" (through a load balancer) or "rest" (Rasa's REST channel, direct)
    bench: Bench
    replicas: int | None = None
    phases: list[Phase] = dataclasses.field(default_factory=list)
    in_a_row: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # number -> texts sent
    in_a_row_acks: list[float] = dataclasses.field(default_factory=list)
    in_a_row_failed: list[str] = dataclasses.field(default_factory=list)
    in_a_row_server: Counter = dataclasses.field(default_factory=Counter)  # the gateways' histogram


def two_thread_rasa(cluster: Cluster) -> tuple[Service, str]:
    """A second Rasa server like the cluster's (model, tracker and lock stores) on a port of its
    own, its sentence encoder on two OpenMP threads; started and ready, and its URL."""
    rasa = cluster.service("Rasa server")
    port = str(free_port())
    service = dataclasses.replace(
        rasa,
        name="Rasa server, 2 encoder threads",
        command=with_option(rasa.command, "--port", port),
        health_url=rasa.health_url.replace(f":{cluster.settings.rasa_port}/", f":{port}/"),
        log_path=rasa.log_path.with_name("rasa-2-threads.log"),
        process=None,
    )
    service.start({**cluster.env, "OMP_NUM_THREADS": "2"}, to_terminal=False)
    service.wait_ready(progress=False)
    return service, f"http://127.0.0.1:{port}"


async def warm_up(targets: list[Target]) -> None:
    """Each replica, Rasa server, language and path once or twice (round robin over the
    4-replica balancer)."""
    sms = next(t for t in targets if t.replicas == max(REPLICAS))
    async with http_client() as client:
        for i, language in enumerate(LANGS):
            for text in TEXTS[language][:2]:
                await sms.bench.sms_message(client, "warm-up", f"+46709{i:06d}", language, text)
                for rest in (t for t in targets if t.path == "rest"):
                    await rest.bench.rest_message(client, f"warm-{i}-{time.time_ns()}", language, text)


async def main_phase(
    args, targets: list[Target], conversations: int, messages: int, pause: float = 0.0
) -> list[list[str]]:
    """Rounds; in each, every target's conversations send their chunk, one target after the other,
    the first target rotating from round to round; each message ``pause`` s at most after the
    previous answer (``Bench.conversation``)."""
    plans = {t.name: plan(messages, conversations, args.rounds, f"{5 + k}") for k, t in enumerate(targets)}
    orders = []
    for r in range(args.rounds):
        turn = targets[r % len(targets) :] + targets[: r % len(targets)]
        orders.append([t.name for t in turn])
        for t in turn:
            phase = await t.bench.phase(f"{t.name} round {r + 1}", t.path, t.name, plans[t.name][r], pause=pause)
            t.phases.append(phase)
            print(
                f"  round {r + 1}, {t.name}: {phase.answered}/{len(phase.samples)} in {phase.seconds:.1f} s", flush=True
            )
            await asyncio.sleep(0.5)
    return orders


async def in_a_row(target: Target, residents: int, prefix: str) -> None:
    """``residents`` new residents each send IN_A_ROW different messages, the next one as soon as
    the previous one is acknowledged (round robin sends them to different replicas)."""

    async def one(i: int) -> None:
        language = LANGS[i % len(LANGS)]
        number, texts = f"+4670{prefix}{i:06d}", TEXTS[language][:IN_A_ROW]
        target.in_a_row[number] = list(texts)
        async with http_client() as client:
            await fetch(client, "GET", target.bench.gateway_url + "/healthz")
            for text in texts:
                form, headers = target.bench.webhook(f"{target.name}, in a row", number, language, text)
                ack, status, error = await target.bench.post_webhook(client, form, headers)
                target.in_a_row_acks.append(ack)
                if status != 200:
                    target.in_a_row_failed.append(f"{status} {error}")

    before = await target.bench.server.snapshot()
    await asyncio.gather(*(one(i) for i in range(residents)))
    target.in_a_row_server = (await target.bench.server.snapshot()) - before


def summary(t: Target, database_url: str, tracker_url: str | None, bot_seen: dict | None, skip: frozenset) -> dict:
    s = summarize(t.phases)
    if t.path == "rest":
        s["audit"] = audit_rest(tracker_url, t.bench.rest_sent) if tracker_url else None
        return s
    s["audit"] = audit(database_url, tracker_url, t.bench.sent_sids[t.name], t.bench.numbers[t.name], skip)
    group = f"{t.name}, in a row"
    s["in_a_row"] = {
        "ack": dist(t.in_a_row_acks),
        "server_ack": ServerAcks.dist(t.in_a_row_server),
        "failed": t.in_a_row_failed[:10],
        "audit": audit(database_url, tracker_url, t.bench.sent_sids[group], t.bench.numbers[group], skip),
        "order": order(
            database_url,
            t.in_a_row,
            tracker_url=tracker_url,
            bot_seen=bot_seen,
            answer_prefix=bench.stand_in_bot.PREFIX if bot_seen is not None else None,
        ),
    }
    return s


async def measure(args, cluster: Cluster, rasa: bool) -> dict:
    database_url = cluster.env["DATABASE_URL"]
    tracker_url = cluster.env["TRACKER_STORE_URL"].replace("postgresql:", "postgresql+psycopg:") if rasa else None
    rasa_url = f"http://127.0.0.1:{cluster.settings.rasa_port}"
    balancers = {n: balancer(cluster, n) for n in REPLICAS if n != cluster.replicas}
    two, two_url = two_thread_rasa(cluster) if rasa else (None, "")
    extra = [two] if two else []
    try:
        cpu = CpuMeter(SimpleNamespace(services=[*cluster.services, *extra, *balancers.values()]))
        skip = notices(cluster.settings)
        watcher = ReplyWatcher(database_url, args.poll_ms / 1000, skip)
        watcher.start()
        try:
            replicas = [s.health_url.removesuffix("/health") for s in cluster.services if s.name.startswith("gateway ")]
            targets = []
            for n in REPLICAS:
                url = balancers[n].health_url.removesuffix(HEALTH_PATH) if n in balancers else cluster.url
                name = f"{n} replica{'s' if n > 1 else ''}"
                targets.append(Target(name, "sms", Bench(cluster, watcher, cpu, url, rasa_url, replicas), n))
            if rasa:
                targets.append(Target(BARE, "rest", Bench(cluster, watcher, cpu, cluster.url, rasa_url)))
                targets.append(Target(TWO_THREADS, "rest", Bench(cluster, watcher, cpu, cluster.url, two_url)))
            await warm_up(targets)
            conversations, messages = (
                (args.conversations, args.messages) if rasa else (args.stand_in_conversations, args.stand_in_messages)
            )
            pause = 0.0 if rasa else args.stand_in_pause
            orders = await main_phase(args, targets, conversations, messages, pause)
            for k, t in enumerate(t for t in targets if t.path == "sms"):
                await in_a_row(t, args.in_a_row, f"9{k}")
            await settled(database_url, 120)
        finally:
            watcher.stop()
        bot_seen = None
        if not rasa:
            async with aiohttp.ClientSession() as client:
                bot_seen = json.loads((await fetch(client, "GET", rasa_url + "/seen"))[1])
        return {
            "conversations": conversations,
            "messages_per_target": messages,
            "pause_seconds": pause,
            "order": orders,
            "targets": {t.name: summary(t, database_url, tracker_url, bot_seen, skip) for t in targets},
            "replies_nobody_waited_for": len(watcher.unexpected),
            "poll_lag_after_sent_at": dist(watcher.lags),
        }
    finally:
        for service in [*balancers.values(), *extra]:
            service.stop()


def run_cluster(args, data: Path, model_copy: Path, rasa: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="cluster-", dir=data))
    folder.chmod(0o755)
    processes = Stack if rasa else stand_in_stack(args.stand_in_ms)
    cluster = Cluster(cluster_settings(folder), max(REPLICAS), model_copy, stack=processes)
    started = time.perf_counter()
    cluster.start()
    print(
        f"cluster with {'Rasa' if rasa else 'the stand-in bot'} ready in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    load_before = os.getloadavg()
    try:
        result = asyncio.run(measure(args, cluster, rasa))
    finally:
        cluster.stop()
    result["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    return result


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=160, help="per target, with Rasa")
    parser.add_argument("--conversations", type=int, default=8, help="with Rasa (enough to keep it busy)")
    parser.add_argument("--stand-in-messages", type=int, default=1500, help="per target, with the stand-in bot")
    parser.add_argument(
        "--stand-in-conversations",
        type=int,
        default=150,
        help="with the stand-in bot (more than one replica keeps up with)",
    )
    parser.add_argument("--stand-in-ms", type=float, default=50.0, help="the stand-in bot's time per turn")
    parser.add_argument(
        "--stand-in-pause",
        type=float,
        default=1.0,
        help="with the stand-in bot, each resident writes 0 to this many seconds after the answer",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-a-row", type=int, default=20, help="residents per target sending 3 messages in a row")
    parser.add_argument("--poll-ms", type=float, default=10.0)
    parser.add_argument("--bot", choices=("both", "stand-in", "rasa"), default="both")
    parser.add_argument("--quick", action="store_true", help="fewer messages and rounds")
    parser.add_argument("--render", type=Path, help="only print the markdown of a saved JSON report")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.stand_in_messages, args.rounds, args.in_a_row = 48, 600, 2, 6
    return args


def main() -> None:
    args = options()
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return
    missing = services_local.missing_binaries()
    if missing:
        sys.exit(f"the cluster bench needs Debian's {', '.join(missing)}: apt-get install {' '.join(missing)}")
    started = time.perf_counter()
    data = Path(tempfile.mkdtemp(prefix="hubguide-clusterload-"))
    data.chmod(0o755)  # PostgreSQL's own user (we may be root) reaches its folder inside
    model_copy = data / "model.tar.gz"  # another `make train` may replace the model meanwhile
    shutil.copyfile(model.MODEL, model_copy)
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {
            **{k: v for k, v in vars(args).items() if k != "render"},
            "replicas": REPLICAS,
            "cores": os.cpu_count(),
            "model_sha256_16": hashlib.sha256(model_copy.read_bytes()).hexdigest()[:16],
            "code": code_version(),
        },
    }
    try:
        if args.bot in ("both", "stand-in"):
            result["stand_in"] = run_cluster(args, data, model_copy, rasa=False)
        if args.bot in ("both", "rasa"):
            result["rasa"] = run_cluster(args, data, model_copy, rasa=True)
    finally:
        result["run_seconds"] = round(time.perf_counter() - started, 1)
    result["goals"] = goals(result)
    write_report("cluster-load", result, markdown)
    shutil.rmtree(data, ignore_errors=True)  # kept, with the logs, when the run failed


if __name__ == "__main__":
    main()
