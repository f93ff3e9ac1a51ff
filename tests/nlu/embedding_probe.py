"""Run in the Rasa environment by tests/nlu/test_embedding.py: the sentence
embedding component on its own, with the real encoder. Prints JSON."""
import json
import os
import sys

from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import components as nlu


class Counting:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, featurizer):
        self.featurizer, self.calls = featurizer, 0
        self.embed = featurizer.embed

    def __call__(self, texts):
        self.calls += len(texts)
        return self.embed(texts)


os.chdir(sys.argv[1])  # the cache lives under .rasa/ of the working directory
config = {**nlu.SentenceEmbeddingFeaturizer.get_default_config(), "alias": None}
featurizer = nlu.SentenceEmbeddingFeaturizer(config, "probe")
texts = ["I am looking for work, can you help me?", "أبحث عن عمل، هل يمكنك مساعدتي؟",
         "ስራሕ እደሊ ኣለኹ፡ ክትሕግዙኒ ትኽእሉ ዶ?", "What is the weather like in Göteborg today?"]
counting = Counting(featurizer)
featurizer.embed = counting
first = TrainingData([Message({TEXT: t, "intent": "x"}) for t in texts])
featurizer.process_training_data(first)
again = TrainingData([Message({TEXT: t, "intent": "x"}) for t in texts])
featurizer.process_training_data(again)  # from the cache: no text embedded twice
embedded_in_training = counting.calls
live = featurizer.process([Message({TEXT: t}) for t in texts] + [Message({TEXT: ""})])
vectors = [m.get_dense_features(TEXT)[1] for m in live]
print(json.dumps({
    "dims": [None if v is None else list(v.features.shape) for v in vectors],
    "embedded_in_training": embedded_in_training,
    "similar": [float(vectors[0].features @ vectors[i].features.T) for i in (1, 2, 3)],
    "same_as_training": bool(abs(vectors[0].features - first.training_examples[0]
                                 .get_dense_features(TEXT)[1].features).max() < 1e-6),
}))
