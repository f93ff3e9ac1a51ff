"""The cluster load bench's goals and markdown report (``python -m bench.cluster_load --render``)."""

from __future__ import annotations

GOALS = {"two_replicas_vs_one": 1.6, "vs_bare_rasa": 0.95, "ack_p99_ms": 100.0}
# The bare Rasa targets (bench.cluster_load): the cluster's Rasa server posted to directly (the goal's
# baseline), and a second one whose sentence encoder has two threads.
BARE = "Rasa REST, direct"
TWO_THREADS = "Rasa REST, direct, 2 encoder threads"


def _tput(run: dict, name: str) -> float | None:
    target = run["targets"].get(name)
    return target["throughput_per_s"] if target else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _faults(target: dict) -> dict:
    """Lost, duplicated and out of order over a target's main and in-a-row phases."""
    audits = [target["audit"], target["in_a_row"]["audit"]]
    order = target["in_a_row"]["order"]
    return {
        "lost": sum(a["lost_not_stored"] + a["inbound_unanswered"] for a in audits),
        "duplicated": sum(a["stored_twice"] + a["inbound_answered_twice"] for a in audits),
        "processed_twice_by_rasa": sum(a["rasa_processed_twice"] or 0 for a in audits),
        # Residents who wait for each answer: an answer after their next message is out of order.
        # Those sending three in a row send the next one first, by design: their order is checked
        # where each message was stored, seen by the bot and answered.
        "out_of_order": target["audit"]["answered_after_the_next_message"]
        + sum(order[k] or 0 for k in ("stored_out_of_order", "seen_by_the_bot_out_of_order", "answered_out_of_order")),
    }


def _sms_targets(run: dict) -> dict:
    return {name: t for name, t in run["targets"].items() if "in_a_row" in t}


def goals(result: dict) -> dict:
    out: dict = {}
    if "stand_in" in result:
        run = result["stand_in"]
        ratio = _ratio(_tput(run, "2 replicas"), _tput(run, "1 replica"))
        out["two_replicas_vs_one_when_rasa_is_not_the_bottleneck"] = {
            "ratio": ratio,
            "four_replicas_vs_one": _ratio(_tput(run, "4 replicas"), _tput(run, "1 replica")),
            "goal": f">= {GOALS['two_replicas_vs_one']}",
            "met": ratio is not None and ratio >= GOALS["two_replicas_vs_one"],
        }
    if "rasa" in result:
        run = result["rasa"]
        bare = _tput(run, BARE)
        sms = _sms_targets(run)
        ratios = {name: _ratio(t["throughput_per_s"], bare) for name, t in sms.items()}
        two = _tput(run, TWO_THREADS)
        out["vs_bare_rasa_when_rasa_is_the_bottleneck"] = {
            "ratios": ratios,
            # Not the goal's baseline (another server setting), but said beside it.
            "vs_two_encoder_threads": {name: _ratio(t["throughput_per_s"], two) for name, t in sms.items()},
            "goal": f">= {GOALS['vs_bare_rasa']}",
            "met": all(r is not None and r >= GOALS["vs_bare_rasa"] for r in ratios.values()),
        }
    acks, faults = {}, {}
    for kind in ("stand_in", "rasa"):
        for name, t in _sms_targets(result.get(kind, {"targets": {}})).items():
            acks[f"{kind}, {name}"] = max(t["ack"]["p99_ms"] or 0, t["in_a_row"]["ack"]["p99_ms"] or 0)
            faults[f"{kind}, {name}"] = _faults(t)
    out["ack_p99_under_100ms"] = {
        "worst_p99_ms": max(acks.values(), default=None),
        "per_target": acks,
        "met": bool(acks) and max(acks.values()) < GOALS["ack_p99_ms"],
    }
    total = {k: sum(f[k] for f in faults.values()) for k in ("lost", "duplicated", "out_of_order")}
    out["zero_lost_duplicated_out_of_order"] = {**total, "per_target": faults, "met": not any(total.values())}
    return out


def _table(run: dict, kind: str) -> list[str]:
    one = _tput(run, "1 replica")
    bare = _tput(run, BARE)
    lines = [
        "| target | answered | answered/s | vs 1 replica | vs bare Rasa | ack p50 ms | ack p99 ms | "
        "gateway's ack p99 ≤ ms ² | reply p50 ms | reply p95 ms | lost | duplicated | out of order | apologies |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in run["targets"].items():
        if "in_a_row" in t:
            f = _faults(t)
            acks = f"{t['ack']['p50_ms']} / {t['in_a_row']['ack']['p50_ms']}"
            p99 = f"{t['ack']['p99_ms']} / {t['in_a_row']['ack']['p99_ms']}"
            faults = f"{f['lost']} | {f['duplicated']} | {f['out_of_order']}"
            server = (
                f"{t.get('server_ack', {}).get('p99_le_ms')} / {t['in_a_row'].get('server_ack', {}).get('p99_le_ms')}"
            )
        else:
            acks, p99, server, faults = "¹", "¹", "", "| |"
        lines.append(
            f"| {name} | {t['answered']}/{t['messages']} | {t['throughput_per_s']} | "
            f"{_ratio(t['throughput_per_s'], one) or ''} | "
            f"{_ratio(t['throughput_per_s'], bare) if bare and kind == 'rasa' else ''} | {acks} | {p99} | {server} | "
            f"{t['reply']['p50_ms']} | {t['reply']['p95_ms']} | {faults} | {t['apologies']} |"
        )
    return lines


def _cpu(run: dict) -> list[str]:
    targets = run["targets"]
    names = [k for k in next(iter(targets.values()))["cpu_ms_per_message"] if "system part" not in k]
    return [
        "| process | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
        *(
            f"| {p} | " + " | ".join(str(t["cpu_ms_per_message"].get(p, "")) for t in targets.values()) + " |"
            for p in names
        ),
        # Every process's CPU (system part included) a second: how much of the machine a target
        # used. Where one replica's run already uses most of it, more replicas cannot scale here.
        "| **cores in use, every process** | " + " | ".join(f"{_cores(t)}" for t in targets.values()) + " |",
    ]


def _cores(target: dict) -> float:
    """The cores every measured process used together while ``target`` was measured."""
    return round(sum(target["cpu_ms_per_message"].values()) * target["throughput_per_s"] / 1000, 2)


def markdown(r: dict) -> str:
    c = r["config"]
    lines = [
        f"# Cluster SMS load, {r['when']}",
        "",
        f"Replicas {', '.join(map(str, c['replicas']))} behind HAProxy (the 1- and 2-replica targets: "
        "balancers of their own in front of the first replicas of one 4-replica cluster), PostgreSQL "
        f"and Redis from Debian's packages; {c['rounds']} rounds, the target that goes first rotating; "
        f"{c['cores']} cores shared with other work (load averages per run below: compare the ratios). "
        f"Model sha256 {c['model_sha256_16']}…; code at {c['code']['commit']}"
        + (f" with local changes ({'; '.join(c['code']['changed'])})" if c["code"]["changed"] else "")
        + f". Whole run {r.get('run_seconds')} s.",
        "",
    ]
    g = r.get("goals", {})
    yes = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines += ["## Goals", "", "| goal | measured | result |", "|---|---|---|"]
    if "two_replicas_vs_one_when_rasa_is_not_the_bottleneck" in g:
        x = g["two_replicas_vs_one_when_rasa_is_not_the_bottleneck"]
        lines.append(
            f"| 2 replicas ≥ 1.6 × 1 replica, Rasa not the bottleneck (stand-in bot) | {x['ratio']} "
            f"(4 replicas: {x['four_replicas_vs_one']}; cores in use, 1 / 2 replicas: "
            + " / ".join(str(_cores(r["stand_in"]["targets"][n])) for n in ("1 replica", "2 replicas"))
            + f" of {c['cores']}) | {yes(x['met'])} |"
        )
    if "vs_bare_rasa_when_rasa_is_the_bottleneck" in g:
        x = g["vs_bare_rasa_when_rasa_is_the_bottleneck"]
        lines.append(
            "| ≥ 95% of bare Rasa's throughput, Rasa the bottleneck | "
            + ", ".join(f"{k} {v}" for k, v in x["ratios"].items())
            + (
                " (against bare Rasa with the encoder on two threads: "
                + ", ".join(f"{k} {v}" for k, v in x["vs_two_encoder_threads"].items())
                + ")"
                if any(x.get("vs_two_encoder_threads", {}).values())
                else ""
            )
            + f" | {yes(x['met'])} |"
        )
    x = g.get("ack_p99_under_100ms", {})
    lines.append(
        f"| acknowledgement p99 < 100 ms, every target | worst {x.get('worst_p99_ms')} ms | {yes(x.get('met'))} |"
    )
    x = g.get("zero_lost_duplicated_out_of_order", {})
    lines.append(
        f"| nothing lost, duplicated or out of order | lost {x.get('lost')}, duplicated {x.get('duplicated')}, "
        f"out of order {x.get('out_of_order')} | {yes(x.get('met'))} |"
    )
    for kind, title in (("stand_in", "Rasa not the bottleneck: the stand-in bot"), ("rasa", "Rasa the bottleneck")):
        if kind not in r:
            continue
        run = r[kind]
        lines += [
            "",
            f"## {title}",
            "",
            f"{run['conversations']} concurrent conversations per target (each sends its next message once the "
            "previous reply is sent"
            + (f", then 0-{run['pause_seconds']} s later, at random" if run.get("pause_seconds") else "")
            + f"), {run['messages_per_target']} messages per target"
            + (f"; each turn of the stand-in takes {c['stand_in_ms']} ms" if kind == "stand_in" else "")
            + f". Load average {run['load_average'][0]} before, {run['load_average'][1]} after. "
            "Acknowledgements: the conversations / the residents sending three in a row.",
            "",
            *_table(run, kind),
            "",
            "¹ Rasa's REST channel answers only after the whole turn. ² The replicas' own histogram "
            "(`hubguide_sms_ack_seconds`, read from each replica's /metrics before and after): the bucket "
            "bound 99% of the acknowledgements fall under, without the load balancer, uvicorn and this "
            "process.",
            "",
            "CPU per answered message, ms (every process with its children, psutil):",
            "",
            *_cpu(run),
            "",
            f"Reply poll lag after `sent_at`: p50 {run['poll_lag_after_sent_at']['p50_ms']} ms, p99 "
            f"{run['poll_lag_after_sent_at']['p99_ms']} ms.",
        ]
    return "\n".join(lines) + "\n"
