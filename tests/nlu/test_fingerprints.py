"""nlu.fingerprints and nlu.importer in the Rasa environment (tests/nlu/fingerprint_probe.py):
the cheaper fingerprints still change whenever what they describe changes, and Rasa
loads the importer config.yml names and reads the domain and the NLU data once."""

import pytest

from tests.nlu.probes import probe


@pytest.fixture(scope="module")
def found() -> dict:
    return probe("fingerprint_probe")


def test_a_token_remembers_rasas_fingerprint_only_while_its_fields_stay(found):
    assert found["tokens"] == {
        "as_rasas": True,
        "lemma_changes_it": True,
        "as_rasas_after_lemma": True,
        "data_changes_it": True,
    }


def test_sparse_features_with_the_same_content_share_a_fingerprint_and_any_change_changes_it(found):
    assert found["features"]["same_content_same"]
    assert found["features"]["differ"] == [True] * 5  # a value, a place, the width, the type, the origin
    assert found["features"]["still_features"]


def test_a_count_row_is_the_same_matrix_as_scipys_own_slice(found):
    assert found["rows"] == [True, True, True]


def test_rasa_loads_the_importer_config_yml_names_and_it_reads_the_domain_once(found):
    assert found["importer"]["importers"] == ["DomainOnceImporter"]
    assert found["importer"]["domain_loads"] == 1  # Rasa's own importer: 2
    assert found["importer"]["stories"]


def test_the_importer_reads_the_nlu_data_once_for_both_languages_rasa_train_asks_for(found):
    assert found["importer"]["nlu_reads"] == 1  # Rasa's own importer: 2
    assert found["importer"]["same_examples"]
