"""nlu.embedding_cache with two writers at once (tests/nlu/cache_probe.py): bench.rasa_folds
trains folds in parallel processes, and each writes the cache when it finishes."""

from tests.nlu.probes import probe


def test_a_writer_interrupted_by_another_still_leaves_a_whole_file_and_no_temporary_one():
    found = probe("cache_probe")
    assert found["error"] is None
    assert found["texts"] == ["a", "bb"]  # the last rename wins, whole
    assert found["left"] == ["cache.npz"]
