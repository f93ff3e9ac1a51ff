"""Intent rankings of a trained model, as Rasa's own processing gives them
(run with the Rasa environment's Python; used by ``bench.nlu_cv --quick``).

``python -m bench.rasa_rank MODEL IN OUT``: IN is a JSON list of texts, OUT
gets, for each, the classifier's five best intents and confidences (before the
FallbackClassifier, whose own entry is left out). With ``--votes`` after them,
each voter's confidences in every intent instead (``votes``).
"""

import asyncio
import json
import logging
import sys

import structlog
from rasa.core.agent import Agent

# Rasa logs each parsed message's text at DEBUG (and some at INFO): the texts are the held-out
# dev set (eval/dev), which whoever runs the bench to tune the model must not read. Only
# warnings and errors, which never quote a message, reach the terminal.
QUIET = logging.WARNING


async def rank(model: str, texts: list[str]) -> list[list[tuple[str, float]]]:
    agent = Agent.load(model)
    ranked = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = [(r["name"], r["confidence"]) for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback"]
        ranked.append(ranking[:5])
    return ranked


async def votes(model: str, texts: list[str]) -> list[dict[str, dict[str, float]]]:
    """For each text, each voter's confidences in every intent (nlu.components.IntentClassifier:
    "words", the SVM on the counts; "meaning", the logistic regression on the sentence
    embedding), before they are averaged: what bench.devset --votes combines in other ways."""
    from nlu.components import IntentClassifier

    seen: list[dict[str, dict[str, float]]] = []
    process = IntentClassifier.process

    def spy(self, messages):  # Rasa parses one message at a time: one entry each
        X, intents = self._create_X(messages), self.clf.classes_.tolist()
        for row in range(len(messages)):
            seen.append(
                {
                    name: dict(zip(intents, voter.predict_proba(X[row]).ravel().tolist(), strict=True))
                    for name, voter in self.clf.named_estimators_.items()
                }
            )
        return process(self, messages)

    IntentClassifier.process = spy  # this process only ranks
    agent = Agent.load(model)
    for text in texts:
        await agent.parse_message(text)
    return seen


def quiet() -> None:
    logging.disable(logging.INFO)  # every standard logger, Rasa's own handlers and levels included
    for name in ("rasa", "rasa_sdk", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(QUIET)
    # Rasa 3.6 writes "processor.message.parse ... parse_data_text=..." through structlog, which
    # the standard logging's level does not reach.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(QUIET))


if __name__ == "__main__":
    quiet()
    model, source, target = sys.argv[1:4]
    texts = json.loads(open(source, encoding="utf-8").read())
    how = votes if sys.argv[4:] == ["--votes"] else rank
    with open(target, "w", encoding="utf-8") as out:
        json.dump(asyncio.run(how(model, texts)), out)
