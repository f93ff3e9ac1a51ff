"""``python -m bench.sms_load``: options, the stack, the phases, then the
gateway's code in this process, and the report's files."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import bench.sms_load
from bench.common import bench_stack, write_report
from bench.sms_load.inprocess import profile_gateway_code
from bench.sms_load.report import goals, markdown
from bench.sms_load.run import run
from bench.sms_load.workload import check_texts
from gateway.settings import ROOT
from stack import model


def code_version() -> dict:
    """Which gateway code ran: the commit, and files changed since (others edit this checkout)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = git("status", "--porcelain", "--", "common", "gateway", "nlu", "actions", "config.yml", "domain", "data")
    return {"commit": git("rev-parse", "--short", "HEAD"), "changed": changed.splitlines()}


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sms_load", description=bench.sms_load.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=6, help="main-phase rounds (path order alternates)")
    parser.add_argument("--dup-messages", type=int, default=100, help="messages in the duplicate phase")
    parser.add_argument("--bursts", type=int, default=4, help="bursts while the bot is busy")
    parser.add_argument("--burst-size", type=int, default=50)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--log-level", default="INFO", help="the gateway's (INFO is production's default)")
    parser.add_argument("--quick", action="store_true", help="100 messages, shorter phases")
    parser.add_argument("--render", type=Path, help="only print the markdown of a saved JSON report")
    args = parser.parse_args()
    if args.render:
        return args
    if args.quick:
        args.messages, args.rounds, args.dup_messages, args.bursts = 100, 2, 40, 2
    if args.messages < args.conversations:
        parser.error("--messages must be at least --conversations")
    return args


def main() -> None:
    args = options()
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return
    run_started = time.perf_counter()
    stack = bench_stack("hubguide-smsload-", args.log_level)
    data = stack.settings.data_dir
    # A copy of the model: another `make train` may replace models/hubguide.tar.gz meanwhile.
    model_copy = data / "model.tar.gz"
    shutil.copyfile(model.MODEL, model_copy)
    model_sha = hashlib.sha256(model_copy.read_bytes()).hexdigest()[:16]
    stack.model_path = model_copy
    load_before = os.getloadavg()
    version = code_version()  # as the gateway imports it at start
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    print(f"stack ready in {startup:.0f} s; data in {data}", flush=True)
    try:
        result = asyncio.run(run(args, stack))
    finally:
        stack.stop()
    result["profile"] = asyncio.run(profile_gateway_code(data, rounds=48))
    result.update(
        {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": {
                "messages": args.messages,
                "conversations": args.conversations,
                "rounds": args.rounds,
                "dup_messages": args.dup_messages,
                "bursts": args.bursts,
                "burst_size": args.burst_size,
                "poll_ms": args.poll_ms,
                "log_level": args.log_level,
                "quick": args.quick,
                "cores": os.cpu_count(),
                "model_sha256_16": model_sha,
                "code": version,
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
            "startup_seconds": round(startup, 1),
            "run_seconds": round(time.perf_counter() - run_started, 1),
            "texts_not_in_nlu_data": check_texts(),
        }
    )
    try:
        result["goals"] = goals(result)
    except (KeyError, TypeError, ZeroDivisionError) as exc:  # keep the measurements anyway
        result["goals_error"] = repr(exc)
    write_report("sms-load", result, markdown)


if __name__ == "__main__":
    main()
