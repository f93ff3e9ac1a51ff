"""bench.devset --capacity's folds (bench.rasa_folds.held_in, tests/nlu/held_in_probe.py): a
row is ranked by a model trained on the other folds' rows and never on itself."""

import pytest

from tests.nlu.probes import probe


@pytest.fixture(scope="module")
def found() -> dict:
    return probe("held_in_probe")


def test_every_row_is_ranked_and_never_by_a_model_that_saw_it(found):
    assert len(found["ranked"]) == len(found["rows"])
    for row, ranking in zip(found["rows"], found["ranked"], strict=True):
        names = {name for name, _ in ranking}
        assert {"greet", "goodbye"} <= names
        assert row["intent"] not in names


def test_the_rows_of_the_other_folds_are_trained_on(found):
    # Seven rows in three folds (3, 2, 2): a row's model saw the four or five rows outside its
    # fold, all but at most one (the row with no intent) with an intent.
    for ranking in found["ranked"]:
        assert len({name for name, _ in ranking if name.startswith("row_")}) >= 3
    seen = {name for ranking in found["ranked"] for name, _ in ranking}
    assert seen == {"greet", "goodbye"} | {row["intent"] for row in found["rows"] if row["intent"]}
