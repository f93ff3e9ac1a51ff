"""How the assistant understands real questions nobody on the team wrote
(eval/dev, see its README): right topic at the first reply, per language and
kind, the worst confusions, crisis messages caught, and the same questions on
Rasa's default pipeline (DIET, no ``pipeline:`` key) trained on the same
data/nlu in the same run.

    python -m bench.devset            # current model and DIET (DIET trains for minutes)
    python -m bench.devset --no-diet  # current model only
    python -m bench.devset --no-diet --no-speed --votes  # and the two voters combined in other ways
    python -m bench.devset --no-diet --no-speed --capacity  # and how far more real examples could go

The capacity probe trains the current pipeline on data/nlu and four fifths of
these questions, ranks the other fifth, five times over: a figure far below the
goals even then says the features (the encoder), not the number of examples,
hold the model back. Those models are thrown away; nothing trained on this set
is ever shipped.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from actions.conversation import choices, likely_topics, other_topics  # the "did you mean" rules
from bench import nlu_speed
from bench.common import write_report
from bench.nlu_cv import in_rasa
from common import crisis
from common.paths import ROOT
from common.topics import TOPICS
from gateway.channels import sms
from gateway.rasa_client import BotReply
from stack import model

DEV = ROOT / "eval" / "dev"
FIELDS = ("text", "intents", "kind", "context", "source", "licence", "note")
KINDS = ("service", "referral", "unrelated", "crisis", "social")
# What a question needs besides itself (eval/dev/README.md): nothing (""), the page it was read
# on ("page": "How do I apply?"), or it is the page asking its reader ("reader": "Are you a
# citizen of another country?"). The goals count every row; the split says how much of what is
# missed no model could get from the message alone.
CONTEXTS = {"": "stands alone", "page": "needs its page", "reader": "asks the reader"}
# Intents a row may name: the model's, and "crisis" (the gateway's, common/crisis.py).
LABELS = frozenset(i for intents in TOPICS.values() for i in intents) | {"crisis"}
# The service's own topics: a referral or unrelated question answered with one of them is wrong twice.
SERVICE = frozenset(i for topic in ("work", "studies", "business", "hub") for i in TOPICS[topic])
# Rasa's FallbackClassifier (config.yml): below its threshold, or with the top two this close, the
# resident is offered "did you mean" choices instead of an answer.
_FALLBACK = next(
    c
    for c in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    if c["name"] == "FallbackClassifier"
)
THRESHOLD, AMBIGUITY = _FALLBACK["threshold"], _FALLBACK["ambiguity_threshold"]


def _yaml(folder: str) -> list[dict]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ROOT / folder).glob("*.yml"))]


# After the answer to these intents the rules run action_offer_handoff, which offers the next
# likeliest topics when the model was unsure (actions.conversation.other_topics): the intent and
# the responses that answer it.
OFFERING = {
    rule["steps"][0]["intent"]: [s["action"] for s in rule["steps"][1:-1]]
    for rules in _yaml("data/rules")
    for rule in rules.get("rules", [])
    if "intent" in rule["steps"][0] and rule["steps"][-1].get("action") == "action_offer_handoff"
}
RESPONSES = {name: variants for domain in _yaml("domain") for name, variants in (domain.get("responses") or {}).items()}


def _sms_text(response: str, language: str) -> str:
    """The SMS variant of a response when the resident's municipality is not known."""
    slots = {"language": language, "channel": "sms"}
    return next(
        v["text"]
        for v in RESPONSES[response]
        if all(slots.get(c["name"]) == c["value"] for c in v.get("condition", []))
    )


def sms_offered(intent: str, language: str, topics: list[str]) -> list[str]:
    """The other topics the SMS that answers ``intent`` has room for: the gateway leaves out the
    last while they do not fit (gateway.channels.sms.render)."""
    said = [
        *(BotReply(_sms_text(r, language)) for r in OFFERING[intent]),
        BotReply(_sms_text("utter_other_topics", language), choices(topics, language), optional=True),
        BotReply(_sms_text("utter_offer_handoff", language)),
    ]
    return [button["payload"].removeprefix("/") for button in sms.render(said)[1]]


def load() -> list[dict]:
    rows = []
    for path in sorted(DEV.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                row["language"] = path.stem
                row["labels"] = [i.strip() for i in row["intents"].split(",") if i.strip()]
                rows.append(row)
    return rows


def rank(model_path: Path, texts: list[str]) -> list[list[tuple[str, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "in.json"), Path(tmp, "out.json")
        source.write_text(json.dumps(texts), encoding="utf-8")
        in_rasa("bench.rasa_rank", str(model_path), str(source), str(target))
        return json.loads(target.read_text(encoding="utf-8"))


CAPACITY = "capacity probe: the current pipeline trained on data/nlu and 4/5 of these questions, on the other 1/5"


def capacity(rows: list[dict], folds: int = 5) -> list[list[tuple[str, float]]]:
    """Each row's ranking by the current pipeline trained on data/nlu and the
    other folds' rows, each with its first acceptable intent (a crisis row is
    ranked but never trained on: the gateway, not the model, catches those)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "rows.json"), Path(tmp, "out.json")
        held = [{"text": r["text"], "intent": None if r["kind"] == "crisis" else r["labels"][0]} for r in rows]
        source.write_text(json.dumps(held, ensure_ascii=False), encoding="utf-8")
        config, nlu = str(ROOT / "config.yml"), str(ROOT / "data" / "nlu")
        in_rasa("bench.rasa_folds", config, nlu, str(target), "--held-in", str(source), "--folds", str(folds))
        return [[tuple(pair) for pair in ranking] for ranking in json.loads(target.read_text(encoding="utf-8"))]


def train_diet(out: Path) -> Path:
    config = out / "config.yml"
    config.write_text("recipe: default.v1\nlanguage: xx\nassistant_id: devset-diet\n", encoding="utf-8")
    subprocess.run(
        [
            str(model.RASA),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(ROOT / "data" / "nlu"),
            "--out",
            str(out),
            "--fixed-model-name",
            "diet",
            "--quiet",
        ],
        cwd=ROOT,
        check=True,
    )
    return out / "diet.tar.gz"


PLACES = ("1", "2", "3", "4", "5", "lower")


def score(rows: list[dict], ranked: list[list[tuple[str, float]]]) -> dict:
    """Right at the first reply: the top intent is acceptable and confident
    enough to be answered; a crisis row is right when the crisis reply comes
    (the gateway checks that before the model). Right within two turns: that,
    or an acceptable topic is among the choices the resident is offered
    (actions/conversation.py's rules): "did you mean" when the model was unsure,
    or the other topics after an answer it was not sure of. Over SMS, as many of
    those other topics as fit the answer's segment budget. Places: where the
    first acceptable topic stands in the ranking ("1" to "5", or "lower"), which
    bounds what any way of offering choices could get within two turns."""
    by_language, by_kind, by_context = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    alone, confusions = defaultdict(Counter), Counter()  # alone: by language, the rows with no context
    places: Counter = Counter({place: 0 for place in PLACES})
    for row, ranking in zip(rows, ranked, strict=True):
        top = ranking[0] if ranking else ("nlu_fallback", 0.0)
        second = ranking[1] if len(ranking) > 1 else ("", 0.0)
        fallback = top[1] < THRESHOLD or top[1] - second[1] < AMBIGUITY
        message = {
            "intent": {"name": "nlu_fallback" if fallback else top[0], "confidence": top[1]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
        offered, after_answer = [], False
        if row["kind"] == "crisis":
            first = crisis.detect(row["text"]) is not None
        else:
            first = top[0] in row["labels"] and not fallback and crisis.detect(row["text"]) is None
            if fallback:
                offered = likely_topics(message)
            elif top[0] in OFFERING:
                offered = other_topics(message)
                after_answer = bool(offered)
            if not first:
                confusions[(row["labels"][0], "fallback" if fallback else top[0])] += 1
            place = next((i for i, (name, _) in enumerate(ranking, 1) if name in row["labels"]), None)
            places[str(place) if place in range(1, len(PLACES)) else "lower"] += 1
        # Over SMS, of the other topics after an answer, those the answer has room for.
        offered_sms = sms_offered(top[0], row["language"], offered) if after_answer else offered
        chosen = not first and any(name in row["labels"] for name in offered)
        chosen_sms = not first and any(name in row["labels"] for name in offered_sms)
        groups = [by_language[row["language"]], by_kind[row["kind"]], by_context[CONTEXTS[row["context"]]]]
        groups += [by_language["all"]] + ([] if row["context"] else [alone[row["language"]], alone["all"]])
        for counter in groups:
            counter["n"] += 1
            counter["first"] += first
            counter["two"] += first or chosen
            counter["two_sms"] += first or chosen_sms
            counter["other_topics"] += after_answer  # an answer that carries other topics
            counter["service_answer"] += row["kind"] in ("referral", "unrelated") and not fallback and top[0] in SERVICE
    return {
        "by_language": by_language,
        "by_kind": by_kind,
        "by_context": by_context,
        "alone": alone,
        "confusions": confusions.most_common(15),
        "places": places,
    }


def voter_ranks(model_path: Path, texts: list[str]) -> list[dict[str, dict[str, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "in.json"), Path(tmp, "out.json")
        source.write_text(json.dumps(texts), encoding="utf-8")
        in_rasa("bench.rasa_rank", str(model_path), str(source), str(target), "--votes")
        return json.loads(target.read_text(encoding="utf-8"))


# Other ways to combine the two voters (config.yml: their confidences averaged, the embedding's
# weighted by embedding_weight), each scored as the model is: is the combination the limit?
def _mean(weight: float):
    return lambda words, meaning: {i: (words[i] + weight * meaning[i]) / (1 + weight) for i in words}


def _geometric(words: dict[str, float], meaning: dict[str, float]) -> dict[str, float]:
    product = {i: (words[i] * meaning[i]) ** 0.5 for i in words}
    total = sum(product.values()) or 1.0
    return {i: p / total for i, p in product.items()}


WEIGHT = next(
    c
    for c in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    if c["name"].endswith("IntentClassifier")
).get("embedding_weight", 2.0)  # the component's default
CONFIGURED = f"mean, embedding weight {WEIGHT:g} (config.yml)"
COMBINATIONS = {
    "words only (the SVM on counts)": lambda words, meaning: words,
    "meaning only (the embedding's logistic regression)": lambda words, meaning: meaning,
    f"mean, embedding weight {WEIGHT / 2:g}": _mean(WEIGHT / 2),
    CONFIGURED: _mean(WEIGHT),
    f"mean, embedding weight {WEIGHT * 2:g}": _mean(WEIGHT * 2),
    "geometric mean": _geometric,
}


def combinations(rows: list[dict], votes: list[dict[str, dict[str, float]]]) -> dict:
    scored = {}
    for name, combine in COMBINATIONS.items():
        ranked = []
        for vote in votes:
            confidences = combine(vote["words"], vote["meaning"])
            ranked.append(sorted(confidences.items(), key=lambda item: -item[1])[:10])
        scored[name] = score(rows, ranked)
    return scored


def render_combinations(scored: dict) -> list[str]:
    languages = sorted(k for k in next(iter(scored.values()))["by_language"] if k != "all")
    lines = [
        "## The two voters combined in other ways (`--votes`; same model, same fallback thresholds)",
        "",
        "Right at first reply / within two turns, and referral/unrelated questions answered as a service topic.",
        "",
        "| combination | all | " + " | ".join(languages) + " | service answers |",
        "|---|---|" + "---|" * len(languages) + "---|",
    ]
    for name, figures in scored.items():
        by = figures["by_language"]
        cells = [f"{by[k]['first'] / by[k]['n']:.1%} / {by[k]['two'] / by[k]['n']:.1%}" for k in ("all", *languages)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {by['all']['service_answer']} |")
    return [*lines, ""]


def crisis_figures(rows: list[dict]) -> dict:
    crises = [r for r in rows if r["kind"] == "crisis"]
    ordinary = [r for r in rows if r["kind"] != "crisis"]
    return {
        "crisis_rows": len(crises),
        "caught": sum(crisis.detect(r["text"]) is not None for r in crises),
        "ordinary_rows": len(ordinary),
        "false_alarms": [r["text"] for r in ordinary if crisis.detect(r["text"])],
    }


TABLE_HEAD = [
    "| | n | right at first reply | right within two turns (choices: web) | within two turns, SMS | "
    "answers with other topics | referral/unrelated answered as a service topic |",
    "|---|---|---|---|---|---|---|",
]


def _rows(group: dict) -> list[str]:
    lines = []
    for key, c in sorted(group.items()):
        n = c["n"] or 1
        lines.append(
            f"| {key} | {c['n']} | {c['first'] / n:.1%} | {c['two'] / n:.1%} | {c['two_sms'] / n:.1%} | "
            f"{c['other_topics']} | {c['service_answer']} |"
        )
    return lines


def _places(places: dict) -> list[str]:
    ranked = sum(places.values())
    top_five = ranked - places["lower"]
    counts = ", ".join(f"{place}: {places[place]}" for place in PLACES)
    return [
        f"Where the first acceptable topic stands in the ranking ({ranked} questions, crisis aside): {counts}.",
        f"No way of offering choices gets more of them within two turns than offering the first five to every "
        f"question would: {top_five} ({top_five / (ranked or 1):.1%}).",
    ]


def render(result: dict) -> str:
    lines = [f"# Real-question development set ({result['rows']} questions, eval/dev)", ""]
    for name, figures in result["models"].items():
        lines += [f"## {name}", "", *TABLE_HEAD]
        for group in ("by_language", "by_kind", "by_context"):
            lines += _rows(figures[group])
        lines += ["", "The same on the questions that stand alone (no context):", "", *TABLE_HEAD]
        lines += _rows(figures["alone"])
        lines += ["", "Worst confusions (acceptable intent → given):", ""]
        lines += [f"- {want} → {got}: {count}" for (want, got), count in figures["confusions"]]
        lines += ["", *_places(figures["places"])]
        lines.append("")
    c = result["crisis"]
    lines += [
        "## Crisis messages (common/crisis.py)",
        "",
        f"- caught: {c['caught']} of {c['crisis_rows']}",
        f"- false alarms on the other {c['ordinary_rows']} questions: {len(c['false_alarms'])}",
        *(f"  - {t}" for t in c["false_alarms"]),
        "",
    ]
    if "combinations" in result:
        lines += render_combinations(result["combinations"])
    if "speed" in result:
        lines += nlu_speed.render(result["speed"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-diet", action="store_true", help="skip Rasa's default pipeline (it trains for minutes)")
    parser.add_argument("--no-speed", action="store_true", help="skip timing a full training and /model/parse")
    parser.add_argument("--votes", action="store_true", help="also score other ways to combine the two voters")
    parser.add_argument("--capacity", action="store_true", help="also train on 4/5 of the set, score the rest")
    args = parser.parse_args()
    rows = load()
    texts = [r["text"] for r in rows]
    models = {"current pipeline (config.yml)": model.MODEL}
    with tempfile.TemporaryDirectory(prefix="devset-") as tmp:
        if not args.no_diet:
            print("== training Rasa's default pipeline (DIET) on data/nlu", flush=True)
            models["Rasa default pipeline (DIET)"] = train_diet(Path(tmp))
        result = {
            "rows": len(rows),
            "crisis": crisis_figures(rows),
            "models": {name: score(rows, rank(path, texts)) for name, path in models.items()},
        }
    if args.capacity:
        print("== capacity probe: training on data/nlu and 4/5 of the dev set, five times", flush=True)
        result["models"][CAPACITY] = score(rows, capacity(rows))
    if args.votes:
        result["combinations"] = combinations(rows, voter_ranks(model.MODEL, texts))
    if not args.no_speed:
        result["speed"] = nlu_speed.measure(model.MODEL)
    write_report("devset", result, render)


if __name__ == "__main__":
    main()
