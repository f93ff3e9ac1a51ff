"""Rasa NLU component: tags each message with the resident's language.

Runs inside the Rasa server's environment. The gateway decides the language
and sends it as message metadata; without metadata (``rasa shell``,
``rasa test``) the component detects it. The result is the message property
``language``, which the ``action_read_language`` slot mapping copies into the
``language`` slot that picks every response's variant.
"""
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import langid
from bot.languages import DEFAULT_LANGUAGE, is_supported

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
