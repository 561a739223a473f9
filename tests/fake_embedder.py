"""A deterministic embedder for tests that need no weights: each word hashes to a dimension."""
import hashlib

import numpy as np


class HashEmbedder:
    name = "hash"
    dim = 64

    def encode(self, texts, progress=False):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                word = word.strip(".,!?;:'()\"")
                if word:
                    out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
