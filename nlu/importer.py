"""Rasa's file importer, reading the domain and the NLU data once per training
instead of twice.

Rasa's own (``RasaFileImporter``) reads the domain folder when the training
asks for the domain and again when it reads the stories; each time it checks
every file against Rasa's schema with ruamel's pure-Python loader: 4.5 s of a
training on this machine. ``rasa train`` also reads the NLU data twice: once
with the default language "en" to check it, once with config.yml's "xx" to
train, and Rasa's cache keys on that argument: 7.5 s more. The YAML reader does
not use the language, so one read serves both (Rasa's importers above this one
copy what it returns before they change anything). config.yml names this
importer under ``importers:``, so ``rasa train``, ``rasa data validate`` and
``rasa test`` all use it. The domain's cache is Rasa's own decorator, the one
its other importers use.
"""

from rasa.shared.core.domain import Domain
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.common import cached_method


class DomainOnceImporter(RasaFileImporter):
    @cached_method
    def get_domain(self) -> Domain:
        return super().get_domain()

    def get_nlu_data(self, language: str | None = "en") -> TrainingData:
        if not hasattr(self, "_nlu_data"):
            self._nlu_data = super().get_nlu_data(language)
        return self._nlu_data
