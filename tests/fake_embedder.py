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


class WatchedHashEmbedder(HashEmbedder):
    """HashEmbedder for tests in other processes: logs every text it embeds to $PODKB_TEST_LOG, one
    line per call, and from call $PODKB_TEST_HOLD_AT on, waits until the file $PODKB_TEST_GATE exists.

    A test reads the log to know indexing is under way (a state, not a guessed time), acts on the
    knowledge base while the indexer is held, then opens the gate.
    """

    calls = 0

    def encode(self, texts, progress=False):
        import json
        import os
        import time
        from pathlib import Path

        WatchedHashEmbedder.calls += 1
        log, gate = os.environ.get("PODKB_TEST_LOG"), os.environ.get("PODKB_TEST_GATE")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(list(texts)) + "\n")
        hold_at = int(os.environ.get("PODKB_TEST_HOLD_AT", "0") or 0)
        if gate and hold_at and WatchedHashEmbedder.calls >= hold_at:
            while not Path(gate).exists():
                time.sleep(0.01)
        return super().encode(texts, progress)


class NarrowHashEmbedder(HashEmbedder):
    """Another 'model' (fewer dimensions), for tests that change the model under a running reader."""

    name = "narrow-hash"
    dim = 32


class BarHashEmbedder(HashEmbedder):
    """HashEmbedder that draws tqdm's bar when asked to, as sentence-transformers' encode does."""

    def encode(self, texts, progress=False):
        if progress:
            from tqdm import tqdm

            for _ in tqdm(range(len(texts)), desc="Batches"):
                pass
        return super().encode(texts, progress)
