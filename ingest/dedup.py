"""Near-duplicate episodes: the same talk transcribed twice, or cut differently.

A MinHash signature of each episode's 5-word shingles finds candidates cheaply;
the exact share of shingles then decides. Containment (shared shingles over the
smaller episode's) rather than Jaccard, so a clip of a longer episode still matches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

SHINGLE_WORDS = 5
NUM_PERM = 128
THRESHOLD = 0.5  # measured: the two Karpathy transcriptions share 0.81, unrelated samples ≤ 0.004
_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class Fingerprint:
    shingles: set[str]
    minhash: MinHash

    @property
    def signature(self) -> bytes:
        return self.minhash.hashvalues.astype(np.uint64).tobytes()


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The runs of ``size`` consecutive words in ``text`` (the whole text when shorter)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def fingerprint(text: str) -> Fingerprint:
    found = shingles(text)
    minhash = MinHash(num_perm=NUM_PERM)
    minhash.update_batch([s.encode() for s in found])
    return Fingerprint(found, minhash)


def candidates(fp: Fingerprint, stored: list[tuple[str, bytes, int]]) -> list[str]:
    """Episode ids whose estimated containment with ``fp`` might pass the threshold."""
    if not stored or not fp.shingles:
        return []
    ids = [row[0] for row in stored]
    matrix = np.frombuffer(b"".join(row[1] for row in stored), dtype=np.uint64).reshape(len(stored), NUM_PERM)
    sizes = np.array([row[2] for row in stored], dtype=float)
    jaccard = (matrix == fp.minhash.hashvalues.astype(np.uint64)).mean(axis=1)
    n = len(fp.shingles)
    shared = jaccard * (sizes + n) / (1 + jaccard)
    containment = shared / np.maximum(np.minimum(sizes, n), 1)
    # Generous margin: MinHash is an estimate, the exact check below is not.
    ranked = [ids[i] for i in np.argsort(-containment) if containment[i] >= THRESHOLD / 3 or jaccard[i] > 0]
    return ranked[:5]


def containment(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
