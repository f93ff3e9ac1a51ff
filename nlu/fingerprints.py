"""Tokens and features whose fingerprints cost less, for Rasa's training cache.

Rasa's training hooks fingerprint every component's input and output: all of
the ~11,000 training messages, with their tokens and features, before and
after each component. Rasa's ``Token`` hashes its fields again on every call,
and its ``Features`` writes a sparse matrix out as text, a line per value,
before hashing it. These give the same kind of fingerprint (stable, from the
content alone) from what is already there. Rasa has no setting for either, so
this is hand-written; ``tests/nlu/test_fingerprints.py`` checks that a change
of content still changes the fingerprint.
"""

import hashlib
from typing import Any

from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.features import Features


class SealedToken(Token):
    """A token that remembers its fingerprint while its fields stay as they
    were. Tokens with data of their own (none of our components add any) are
    hashed afresh each time, as Rasa does."""

    _fingerprint: tuple[tuple[Any, ...], str] | None = None

    def fingerprint(self) -> str:
        if self.data:
            return super().fingerprint()
        fields = (self.text, self.start, self.end, self.lemma)
        if self._fingerprint is None or self._fingerprint[0] != fields:
            self._fingerprint = (fields, super().fingerprint())
        return self._fingerprint[1]


class SparseFeatures(Features):
    """Sparse features fingerprinted by hashing the matrix's arrays as bytes
    (Rasa's writes every value out as text first: 4-5 s of a training)."""

    def fingerprint(self) -> str:
        if self._cached_fingerprint is None:
            matrix = self.features.tocoo()
            digest = hashlib.sha256(repr((self.type, self.origin, self.attribute, matrix.shape)).encode())
            for array in (matrix.row, matrix.col, matrix.data):
                digest.update(str(array.dtype).encode())
                digest.update(array.tobytes())
            self._cached_fingerprint = digest.hexdigest()
        return self._cached_fingerprint
