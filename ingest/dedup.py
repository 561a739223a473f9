"""Near-duplicate episodes: the same talk transcribed twice, or cut differently.

A MinHash signature of each episode's 5-word shingles finds candidates cheaply;
the exact share of shingles then decides. Containment (shared shingles over the
smaller episode's) rather than Jaccard, so a clip of a longer episode still matches.

An episode's shingles are kept as a sorted array of 64-bit hashes, made as the words
stream by: a million-segment transcript would otherwise hold millions of shingle strings.
The low 32 bits are datasketch's own sha1_hash32 of the shingle, so signatures stored
by earlier versions still compare.
"""
from __future__ import annotations

import hashlib
import re
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
THRESHOLD = 0.5  # measured: the two Karpathy transcriptions share 0.81, unrelated samples ≤ 0.004
_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class Fingerprint:
    shingles: np.ndarray  # sorted unique uint64 hashes
    minhash: "MinHash"  # datasketch's, imported when an episode is added (it pulls in scipy)

    @property
    def signature(self) -> bytes:
        return self.minhash.hashvalues.astype(np.uint64).tobytes()


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The runs of ``size`` consecutive words in ``text`` (the whole text when shorter)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def word_shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """``shingles(text, size)`` as tuples of words, not joined into strings (words hold no spaces: the same
    shingles), which is quicker to make where they are only compared."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset([tuple(words)] if words else [])
    return frozenset(zip(*(words[i:] for i in range(size))))


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The hashes of ``shingles(text, size)``, sorted and unique, without holding the strings."""
    window: deque[str] = deque(maxlen=size)
    found = array("Q")
    for match in _WORD.finditer(text.lower()):
        window.append(match.group())
        if len(window) == size:
            found.append(_hash(" ".join(window)))
    if not found and window:
        found.append(_hash(" ".join(window)))
    return _unique(np.frombuffer(found, dtype=np.uint64).copy())


def _unique(values: np.ndarray) -> np.ndarray:
    """np.unique in place: np.unique itself took 6x the array's size (numpy 2.x)."""
    values.sort()
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.sha1(shingle.encode()).digest()[:8], "little")


def fingerprint(text: str) -> Fingerprint:
    found = shingle_hashes(text)
    # The hashes are given as they are (sha1_hash32 is their low half). update_batch makes a few
    # (values x NUM_PERM) uint64 temporaries, so small batches: a million at once would take GBs.
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, hashfunc=int)
    low = _unique(found & np.uint64(0xFFFFFFFF))
    for start in range(0, len(low), 2048):
        minhash.update_batch(low[start:start + 2048].tolist())
    return Fingerprint(found, minhash)


def candidates(fp: Fingerprint, stored: list[tuple[str, bytes, int]]) -> list[str]:
    """Episode ids whose estimated containment with ``fp`` might pass the threshold."""
    if not stored or not len(fp.shingles):
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


def containment(a: set[str] | np.ndarray, b: set[str] | np.ndarray) -> float:
    """Shared shingles over the smaller side's: sets of shingles, or arrays of their hashes."""
    if not len(a) or not len(b):
        return 0.0
    if isinstance(a, np.ndarray):
        return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b))
    return len(a & b) / min(len(a), len(b))
