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
- ``IntentClassifier`` is Rasa's logistic-regression classifier with another
  model inside: TF-IDF weighting of the featurizers' counts, then a linear SVM
  with calibrated confidences (see config.yml for the measurements).
"""
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import langid
from bot.languages import DEFAULT_LANGUAGE, fold, is_supported, skeleton

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


class UntrustedModelError(Exception):
    """The stored intent model holds object types it should not."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentClassifier(LogisticRegressionClassifier):
    """Training, prediction, ranking and persistence are Rasa's; only the model differs."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 3.0, "calibration_folds": 5}

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
               "sklearn.calibration._SigmoidCalibration")

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

    def _create_training_matrix(self, training_data: TrainingData) -> tuple[Any, Any]:
        import numpy as np

        features, intents = super()._create_training_matrix(training_data)
        # An array, not Rasa's list: scikit-learn 1.1's calibration counts each
        # intent's examples with ``y == intent``.
        return features, np.asarray(intents)
