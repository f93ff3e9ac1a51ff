"""Intent rankings of a trained model, as Rasa's own processing gives them
(run with the Rasa environment's Python; used by ``bench.nlu_cv --quick``).

``python -m bench.rasa_rank MODEL IN OUT``: IN is a JSON list of texts, OUT
gets, for each, the classifier's five best intents and confidences (before the
FallbackClassifier, whose own entry is left out).
"""

import asyncio
import json
import sys

from rasa.core.agent import Agent


async def rank(model: str, texts: list[str]) -> list[list[tuple[str, float]]]:
    agent = Agent.load(model)
    ranked = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = [(r["name"], r["confidence"]) for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback"]
        ranked.append(ranking[:5])
    return ranked


if __name__ == "__main__":
    model, source, target = sys.argv[1:4]
    texts = json.loads(open(source, encoding="utf-8").read())
    with open(target, "w", encoding="utf-8") as out:
        json.dump(asyncio.run(rank(model, texts)), out)
