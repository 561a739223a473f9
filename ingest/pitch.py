"""How high a voice is: the fundamental frequency (F0) of speech, frame by frame, and per stretch.

Speaker embeddings (CAM++) can hear two people as one: a man and a woman talking in turns through one
microphone, or two synthetic voices. Pitch tells a low voice from a high one where the embeddings do
not, so ingest/diarize.py checks each speaker's windows with it (``Apart``).

F0 comes from the normalised autocorrelation of 40 ms frames every 20 ms, on the audio taken down to
8 kHz: the shortest lag whose peak is within 90% of the highest (so a voice is not heard an octave
low), kept where the peak says the frame is voiced. About 0.05 s of CPU per audio minute.
"""
from __future__ import annotations

import numpy as np

HOP = 0.02          # seconds between frames
FRAME = 0.04        # seconds a frame spans
LOW, HIGH = 60, 400  # Hz: the range of speaking voices
VOICED = 0.45       # normalised autocorrelation peak above which a frame is voiced
CHUNK = 4096        # frames per FFT batch (bounds memory on hour-long recordings)


def track(samples, sample_rate: int = 16000) -> np.ndarray:
    """F0 in Hz of each HOP frame of ``samples`` (float mono), 0 where the frame is unvoiced or quiet."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    step = max(1, sample_rate // 8000)
    if step > 1:  # 16 kHz (or 48): average to about 8 kHz, enough below 400 Hz
        x = x[: len(x) // step * step].reshape(-1, step).mean(1)
    rate = sample_rate / step
    n, hop = int(FRAME * rate), int(round(HOP * rate))
    if len(x) < n or hop < 1:
        return np.zeros(0, dtype=np.float32)
    count = (len(x) - n) // hop + 1
    low, high = int(rate / HIGH), int(rate / LOW)
    window = np.hanning(n).astype(np.float32)
    f0 = np.zeros(count, dtype=np.float32)
    energy = np.zeros(count, dtype=np.float32)
    for first in range(0, count, CHUNK):
        rows = np.arange(first, min(count, first + CHUNK))
        frames = x[rows[:, None] * hop + np.arange(n)[None, :]] * window
        frames -= frames.mean(1, keepdims=True)
        spectrum = np.fft.rfft(frames, 2 * n)
        correlation = np.fft.irfft(np.abs(spectrum) ** 2)[:, :high + 2]
        power = correlation[:, 0] + 1e-9
        lags = correlation[:, low:high + 1] / power[:, None]
        peak = lags.max(1)
        local = np.zeros_like(lags, dtype=bool)
        local[:, 1:-1] = (lags[:, 1:-1] >= lags[:, :-2]) & (lags[:, 1:-1] >= lags[:, 2:])
        near = local & (lags >= 0.9 * peak[:, None])
        lag = np.where(near.any(1), near.argmax(1), lags.argmax(1)) + low
        f0[rows] = np.where(peak > VOICED, rate / lag, 0.0)
        energy[rows] = power
    quiet = energy < np.percentile(energy, 90) * 0.01
    f0[quiet] = 0.0
    return f0


def of(f0: np.ndarray, start: float, end: float, least: float = 0.3) -> float | None:
    """The median F0 from ``start`` to ``end`` seconds, or None when under ``least`` of its frames are voiced."""
    frames = f0[max(0, int(start / HOP)):max(0, int(end / HOP))]
    voiced = frames[frames > 0]
    if not len(frames) or len(voiced) < least * len(frames):
        return None
    return float(np.median(voiced))
