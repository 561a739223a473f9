"""Silero VAD once per recording: Whisper and the diarizer both ask where the speech is.

faster-whisper finds speech with its ONNX Silero model before transcribing, and the diarizer
(ingest/diarize.py ``speech``) asks the same model about the same samples, with its own thresholds.
The model's per-frame speech probabilities are what costs (1.3 s for 10 minutes on 2 cores); the
thresholds are cheap. ``shared`` makes faster-whisper's model keep the probabilities of the last few
recordings it heard, by their samples' digest, so the second ask is free. Nothing else changes: each
caller still applies its own thresholds to the same probabilities.
"""
from __future__ import annotations

import hashlib
import threading

import numpy as np

KEEP = 2  # recordings whose probabilities are kept


class _Once:
    """faster-whisper's SileroVADModel, answering the same samples once."""

    def __init__(self, model):
        self.model, self.lock, self.found = model, threading.Lock(), {}

    def __call__(self, audio: np.ndarray, *args, **kwargs):
        samples = np.ascontiguousarray(audio)
        key = (samples.shape, samples.dtype.str, hashlib.blake2b(samples.view(np.uint8), digest_size=16).digest(),
               args, tuple(sorted(kwargs.items())))
        with self.lock:  # a second caller with the same samples waits for the first's answer
            if key not in self.found:
                self.found[key] = self.model(audio, *args, **kwargs)
                while len(self.found) > KEEP:
                    del self.found[next(iter(self.found))]
            return self.found[key]

    def __getattr__(self, name):
        return getattr(self.model, name)


_installed = threading.Lock()


def shared() -> None:
    """From now on, faster-whisper's VAD model answers each recording once (idempotent)."""
    from faster_whisper import vad

    with _installed:
        if getattr(vad.get_vad_model, "podkb_shared", False):
            return
        model = _Once(vad.get_vad_model())

        def get_vad_model():
            return model

        get_vad_model.podkb_shared = True
        vad.get_vad_model = get_vad_model
