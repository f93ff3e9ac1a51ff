"""Run in the Rasa environment by tests/nlu/test_fingerprints.py. Prints JSON:
nlu.fingerprints' tokens and features against Rasa's own, and nlu.importer as
Rasa loads it from config.yml."""

import json

import numpy as np
import scipy.sparse
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.core.domain import Domain
from rasa.shared.importers import utils as importer_utils
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features

from common.paths import ROOT
from nlu.components import one_row
from nlu.fingerprints import SealedToken, SparseFeatures


def tokens() -> dict:
    token = SealedToken("Jobb", 0, 4, lemma="jobb")
    first = token.fingerprint()
    token.lemma = "job"
    after_lemma = token.fingerprint()
    token.set("pattern", {"x": 1})
    return {
        "as_rasas": first == Token("Jobb", 0, 4, lemma="jobb").fingerprint(),
        "lemma_changes_it": after_lemma != first,
        "as_rasas_after_lemma": after_lemma == Token("Jobb", 0, 4, lemma="job").fingerprint(),
        "data_changes_it": token.fingerprint() != after_lemma,
    }


def features() -> dict:
    matrix = scipy.sparse.coo_matrix(np.array([[0, 1.0, 0, 2.0]]))
    same = scipy.sparse.coo_matrix(np.array([[0, 1.0, 0, 2.0]]))
    other_value = scipy.sparse.coo_matrix(np.array([[0, 1.0, 0, 3.0]]))
    other_place = scipy.sparse.coo_matrix(np.array([[1.0, 0, 0, 2.0]]))
    wider = scipy.sparse.coo_matrix(np.array([[0, 1.0, 0, 2.0, 0]]))

    def fingerprint(m, kind=FEATURE_TYPE_SENTENCE, origin="words"):
        return SparseFeatures(m, kind, TEXT, origin).fingerprint()

    base = fingerprint(matrix)
    return {
        "same_content_same": base == fingerprint(same),
        "differ": [
            base != fingerprint(other_value),
            base != fingerprint(other_place),
            base != fingerprint(wider),
            base != fingerprint(matrix, kind=FEATURE_TYPE_SEQUENCE),
            base != fingerprint(matrix, origin="skeleton"),
        ],
        "still_features": isinstance(SparseFeatures(matrix, FEATURE_TYPE_SENTENCE, TEXT, "w"), Features),
    }


def rows() -> list[bool]:
    """nlu.components.one_row against scipy's own row slicing, an empty row included."""
    matrix = scipy.sparse.csr_matrix(np.array([[0, 2.0, 0, 1.0], [0, 0, 0, 0], [3.0, 0, 0, 0]]))
    matrix.sort_indices()
    same = []
    for row in range(3):
        ours, scipys = one_row(matrix, row), matrix[row].tocoo()
        same.append(
            isinstance(ours, scipy.sparse.coo_matrix)
            and ours.shape == scipys.shape
            and all(np.array_equal(getattr(ours, a), getattr(scipys, a)) for a in ("row", "col", "data"))
            and SparseFeatures(ours, "s", TEXT, "o").fingerprint()
            == SparseFeatures(scipys, "s", TEXT, "o").fingerprint()
        )
    return same


def importer() -> dict:
    loads = []
    load = Domain.load

    def counting(*args, **kwargs):
        loads.append(args)
        return load(*args, **kwargs)

    reads = []
    read = importer_utils.training_data_from_paths

    def counting_reads(*args, **kwargs):
        reads.append(args)
        return read(*args, **kwargs)

    Domain.load = counting  # type: ignore[method-assign]
    importer_utils.training_data_from_paths = counting_reads
    data = [str(ROOT / "data" / name) for name in ("nlu", "rules", "stories")]
    combined = TrainingDataImporter.load_from_config(str(ROOT / "config.yml"), str(ROOT / "domain"), data)
    combined.get_domain()
    stories = combined.get_stories()
    # As `rasa train` asks: once with the default language to check the data, once with config.yml's.
    checked, trained = combined.get_nlu_data(), combined.get_nlu_data(language="xx")
    found = combined.importer._importer._importers  # E2EImporter > ResponsesSyncImporter > CombinedDataImporter
    return {
        "importers": [type(i).__name__ for i in found],
        "domain_loads": len(loads),
        "stories": len(stories.story_steps) > 0,
        "nlu_reads": len(reads),
        "same_examples": checked.fingerprint() == trained.fingerprint() and len(trained.intent_examples) > 1000,
    }


if __name__ == "__main__":
    print(json.dumps({"tokens": tokens(), "features": features(), "rows": rows(), "importer": importer()}))
