"""The training examples' sentence embeddings, cached by text (nlu.components.SentenceEmbeddingFeaturizer)."""

import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


class EmbeddingCache:
    """Embeddings by text in an .npz file, read on entry (or, when it is
    missing, the ``shipped`` one), and written back on exit holding exactly
    the texts asked for when they differ from those read. Stored at half
    precision (8.5 MB for 11,000 examples instead of 17), and given out as
    stored, so training sees the same numbers whichever file they came from.
    A file that cannot be read is ignored."""

    def __init__(self, path: Path, shipped: Path | None = None) -> None:
        self.path, self.shipped, self.vectors, self.asked, self.added = path, shipped, {}, {}, False

    def __enter__(self) -> "EmbeddingCache":
        import numpy as np

        for path in (self.path, self.shipped):
            try:
                with np.load(path, allow_pickle=False) as stored:
                    vectors = stored["vectors"].astype(np.float16)
                    self.vectors = dict(zip(stored["texts"].tolist(), vectors, strict=True))
                break
            except (OSError, KeyError, TypeError, ValueError):
                continue
        return self

    def get(self, texts: list[str], embed):
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            logger.info(
                f"embedding the training examples not in {self.path}: {len(missing)} "
                f"(about {len(missing) * 0.0065:.0f} s on two cores)"
            )
            self.vectors.update(zip(missing, embed(missing).astype(np.float16), strict=True))
            self.added = True
        self.asked.update(dict.fromkeys(texts))
        return (
            np.vstack([self.vectors[t] for t in texts]).astype(np.float32)
            if texts
            else np.zeros((0, 0), dtype=np.float32)
        )

    def __exit__(self, *exc) -> None:
        import numpy as np

        if exc[0] is None and self.asked and (self.added or self.asked.keys() != self.vectors.keys()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.asked)
            # A temporary file of this writer's own, then an atomic rename: trainings that run at
            # once (bench.rasa_folds' folds) each leave a whole file, the last one wins.
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp.npz")
            try:
                with os.fdopen(handle, "wb") as out:
                    vectors = np.vstack([self.vectors[t] for t in texts])
                    np.savez_compressed(out, texts=np.array(texts), vectors=vectors)
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
