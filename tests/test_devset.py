"""The real-question development set (eval/dev) is well formed and kept
apart from the training data: a dev question copied into data/nlu would make
the benchmark flatter the model again."""

import json
import os
import re
import subprocess

import pytest
import yaml

from bench.devset import CONTEXTS, DEV, FIELDS, KINDS, LABELS, load
from common.hubs import normalise  # the fold the duplicate-example test uses too
from common.languages import LANGUAGES
from common.paths import ROOT

ROWS = load()


def training_examples() -> set[str]:
    return {
        normalise(line[2:])
        for path in (ROOT / "data" / "nlu").glob("*/*.yml")
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    }


def test_every_language_has_a_file_with_the_right_columns():
    for language in LANGUAGES:
        path = DEV / f"{language}.tsv"
        assert path.is_file(), f"no real questions for {language}"
        header = path.read_text(encoding="utf-8").splitlines()[0].split("\t")
        assert tuple(header) == FIELDS, path.name


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['language']}:{r['text'][:30]}")
def test_every_question_is_labelled_and_sourced(row):
    assert row["text"].strip() and row["labels"], row
    assert set(row["labels"]) <= LABELS, set(row["labels"]) - LABELS
    assert row["kind"] in KINDS
    assert row["context"] in CONTEXTS
    assert re.match(r"https?://\S+$", row["source"]), row["source"]
    assert row["licence"].strip()


def test_no_dev_question_is_in_the_training_data():
    examples = training_examples()
    copied = [row["text"] for row in ROWS if normalise(row["text"]) in examples]
    assert not copied, copied


def test_the_check_would_catch_a_copy_however_it_is_spelt():
    assert normalise("Hur söker jag CSN?") == normalise("hur soker jag csn")


def _rank(tmp_path, *extra: str):
    """bench.rasa_rank on one question, Rasa at DEBUG; what it wrote, and what it printed."""
    from stack import model

    if not model.is_fresh():
        pytest.skip("no up-to-date model; `make test` trains one first")
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text('["Qwxyz, hur söker jag jobb?"]', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "DEBUG"}
    python = str(model.RASA.with_name("python"))
    ran = subprocess.run(
        [python, "-m", "bench.rasa_rank", str(model.MODEL), str(source), str(target), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(target.read_text(encoding="utf-8")), ran.stdout + ran.stderr


def test_ranking_the_dev_questions_prints_none_of_them(tmp_path):
    """bench.devset ranks the questions in the Rasa environment (bench/rasa_rank.py); Rasa's debug
    log quotes each parsed text, and whoever tunes the model on the bench must not read them."""
    ranked, printed = _rank(tmp_path)
    assert "Qwxyz" not in printed
    assert len(ranked) == 1  # and it still ranked the question


def test_the_two_voters_averaged_as_configured_give_the_models_ranking(tmp_path):
    """``--votes`` (bench.devset's other combinations) reads what each voter said before the
    average: with config.yml's embedding weight, the average is the model's own ranking."""
    from bench.devset import COMBINATIONS, CONFIGURED

    (ranking,), _ = _rank(tmp_path)
    (votes,), printed = _rank(tmp_path, "--votes")
    assert "Qwxyz" not in printed
    assert set(votes) == {"words", "meaning"} and votes["words"].keys() == votes["meaning"].keys()
    assert all(abs(sum(v.values()) - 1) < 1e-6 for v in votes.values())
    averaged = COMBINATIONS[CONFIGURED](votes["words"], votes["meaning"])
    best = sorted(averaged.items(), key=lambda item: -item[1])[: len(ranking)]
    assert [name for name, _ in best] == [name for name, _ in ranking]
    assert [round(c, 6) for _, c in best] == [round(c, 6) for _, c in ranking]


def test_a_wrong_answer_counts_within_two_turns_when_the_right_topic_is_among_the_other_topics():
    """The score credits the choices the resident is really offered (actions.conversation): after
    an unsure answer the next likeliest topics, over SMS as many as fit the answer's SMS."""
    from bench.devset import score

    rows = [
        {"text": "Hur mycket får jag låna?", "labels": ["study_finance"], "kind": "service", "language": "sv"},
        {"text": "När betalas pengarna ut?", "labels": ["benefits"], "kind": "service", "language": "sv"},
    ]
    rows = [{**row, "context": context} for row, context in zip(rows, ("", "page"), strict=True)]
    ranked = [
        [("debt", 0.46), ("study_finance", 0.17), ("benefits", 0.1)],  # unsure: other topics follow
        [("debt", 0.8), ("benefits", 0.1)],  # sure: none follow
    ]
    scored = score(rows, ranked)
    figures = scored["by_language"]["sv"]
    assert (figures["first"], figures["two"], figures["other_topics"]) == (0, 1, 1)
    alone, page = scored["by_context"]["stands alone"], scored["by_context"]["needs its page"]
    assert (alone["n"], alone["two"], page["n"], page["two"]) == (1, 1, 1, 0)
    assert (scored["alone"]["sv"]["n"], scored["alone"]["sv"]["two"]) == (1, 1)  # the page-bound one left out
    assert figures["two_sms"] == 1  # Swedish debt answer, the offer and two short titles fit
    arabic = score([{**rows[0], "language": "ar"}], ranked[:1])["by_language"]["ar"]
    assert arabic["two"] == 1 and arabic["two_sms"] == 1  # Arabic's answer has room for the first
    second = [("debt", 0.46), ("benefits", 0.17), ("study_finance", 0.1)]
    arabic = score([{**rows[0], "language": "ar"}], [second])["by_language"]["ar"]
    assert arabic["two"] == 1 and arabic["two_sms"] == 0  # no room for a longer first title
