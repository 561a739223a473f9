"""A quote's audio clip: its moment cut from the episode's recording with PyAV, re-encoded to AAC (.m4a),
else MP3, so any player (Anki, Obsidian, a browser) plays it.

Only a recording on this machine is cut: an episode whose recording is a URL has no local copy
(podkb keeps the audio it downloads from feeds as a file, and its ``media`` then names that file),
and an export never downloads. A clip appears under its name only once it is whole.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .ingest.files import not_regular, replacing

MARGIN = 0.5          # seconds of the recording kept before and after the quote
MAX_SECONDS = 600.0   # a clip is a moment: a longer quote is cut to its first ten minutes


class ClipError(Exception):
    """A clip that can't be cut: the recording is missing, unreadable, or ends before the quote."""


@dataclass(frozen=True)
class Encoding:
    codec: str       # the PyAV encoder
    suffix: str      # the clip file's suffix
    container: str   # the PyAV (FFmpeg) muxer
    mime: str


_ENCODINGS = (Encoding("aac", ".m4a", "ipod", "audio/mp4"), Encoding("libmp3lame", ".mp3", "mp3", "audio/mpeg"),
              Encoding("mp3", ".mp3", "mp3", "audio/mpeg"))


@functools.cache
def encoding() -> Encoding:
    """The first of AAC in .m4a, else MP3, that this PyAV (its FFmpeg build) can write."""
    import av

    for choice in _ENCODINGS:
        if choice.codec in av.codecs_available and choice.container in av.formats_available:
            try:
                av.codec.Codec(choice.codec, "w")
            except (av.FFmpegError, ValueError):
                continue
            return choice
    raise ClipError("this PyAV (FFmpeg) build encodes neither AAC nor MP3")


def is_url(media: str | None) -> bool:
    return bool(media) and re.match(r"(?i)https?://", media) is not None


def cut(recording: str | Path, start: float, end: float | None, out_path: str | Path,
        margin: float = MARGIN) -> Path:
    """Cut ``start``-``end`` seconds (``end`` None: the start only), ``margin`` seconds wider on each
    side and clamped to the recording, from ``recording`` into ``out_path`` (its suffix is the
    encoding's). Written under a unique temporary name beside it, created exclusively, then renamed
    (ingest/files.py). Raises ClipError; OSError when the clip can't be written where it goes."""
    out_path = Path(out_path)
    if not (start is not None and start >= 0 and (end is None or end >= start)):
        raise ClipError(f"no moment to cut (start {start}, end {end})")
    lo = max(0.0, start - margin)
    hi = min((end if end is not None else start) + margin, lo + MAX_SECONDS)
    why = not_regular(recording)
    if why:
        raise ClipError(why)  # a FIFO or a stalled device would block the open for ever
    with replacing(out_path) as out:  # an OSError from here is the clips folder's, not the recording's
        _cut(recording, start, lo, hi, out)
    return out_path


def _cut(recording, start: float, lo: float, hi: float, out) -> None:
    """Cut lo-hi seconds of ``recording`` into ``out`` (an open file); anything wrong with the recording is a
    ClipError."""
    import av

    try:
        with av.open(str(recording)) as source:
            if not source.streams.audio:
                raise ClipError("no audio stream in the file")
            length = source.duration / av.time_base if source.duration else None
            if length is not None and start >= length:
                raise ClipError(f"the recording ends at {length:.1f} s, before the quote starts at {start:.1f} s")
            kept, ends = _encode(source, source.streams.audio[0], lo, hi, out)
    except av.EOFError:
        raise ClipError("it ends early: cut short, or damaged") from None
    except av.FFmpegError as error:
        raise ClipError(_reason(error)) from None
    except OSError as error:
        raise ClipError(error.strerror or str(error)) from None
    if ends is None:
        raise ClipError("no audio could be decoded from it (damaged, or not audio)")
    if not kept:
        raise ClipError(f"the recording ends at {ends:.1f} s, before the quote starts at {start:.1f} s")


def _encode(source, stream, lo: float, hi: float, temporary) -> tuple[int, float | None]:
    """Encode lo-hi seconds of ``stream`` into ``temporary`` (an open file): (samples kept, seconds decoded
    up to, None if nothing could be decoded)."""
    import av
    import numpy as np

    choice = encoding()
    rate = stream.rate or 44100
    rates = av.codec.Codec(choice.codec, "w").audio_rates
    if rates and rate not in rates:
        rate = 48000 if 48000 in rates else max(rates)
    layout = "mono" if (stream.channels or 1) == 1 else "stereo"
    # Decoded frames, as float planes at the recording's own rate (no resampling delay), trimmed to lo-hi.
    planes = av.AudioResampler(format="fltp", layout=layout, rate=stream.rate or rate)
    if lo > 0:
        try:
            source.seek(int(lo / stream.time_base), stream=stream, backward=True, any_frame=False)
        except av.FFmpegError:
            pass  # a file without an index to seek in (or a damaged one) is decoded from its start
    kept = 0
    with av.open(temporary, "w", format=choice.container) as out:
        encoder = out.add_stream(choice.codec, rate=rate, layout=layout)
        encoder.bit_rate = 64_000 if layout == "mono" else 128_000
        at = None  # seconds of the next resampled sample
        for frame in source.decode(stream):
            if at is None:
                at = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
            if at >= hi:
                break
            for piece in planes.resample(frame):
                samples = piece.to_ndarray()
                first = max(0, int(round((lo - at) * piece.sample_rate)))
                last = min(samples.shape[1], int(round((hi - at) * piece.sample_rate)))
                at += samples.shape[1] / piece.sample_rate
                if last > first:
                    chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, first:last]),
                                                       format="fltp", layout=layout)
                    # Timed from 0, so the muxer sees the encoder's priming (pts < 0) and tells players to skip it.
                    chunk.sample_rate, chunk.pts = piece.sample_rate, kept
                    chunk.time_base = Fraction(1, piece.sample_rate)
                    kept += last - first
                    for packet in encoder.encode(chunk):
                        out.mux(packet)
        for packet in encoder.encode(None):
            out.mux(packet)
    return kept, at


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return re.sub(r":\s*'[^']*'$", "", text)[:200]  # PyAV repeats the path; the warning names it already


def clip_name(quote, suffix: str | None = None) -> str:
    """A file name for ``quote``'s clip, from its id, episode id and start only: safe as a file name
    anywhere (no folders, no dots in front), and unique within a collection."""
    episode = re.sub(r"[^A-Za-z0-9]+", "-", quote.episode_id or "").strip("-").lower()[:40] or "episode"
    number = f"q{quote.id}-" if isinstance(quote.id, int) else ""
    return f"podkb-{number}{episode}-{quote.start or 0:.1f}s{suffix or encoding().suffix}"


def clips_for(quotes: list, media: dict[str, str | None], folder: str | Path,
              margin: float = MARGIN) -> tuple[list[Path | None], list[str]]:
    """Cut each timed quote's clip into ``folder`` from its episode's recording (``media``: episode id →
    Episode.media). Returns (files, warnings): one file or None per quote, in order, and one warning
    per recording that gave no clip (named, with the reason); the other quotes' clips are still cut."""
    folder = Path(folder)
    files: list[Path | None] = [None] * len(quotes)
    failed: dict[str, list] = {}  # recording → [reason, quotes it failed]
    used: set[str] = set()
    for n, quote in enumerate(quotes):
        recording = media.get(quote.episode_id)
        if quote.start is None or not recording:
            continue  # untimed, or the episode has no recording (or is no longer in the knowledge base)
        if recording in failed:
            failed[recording][1] += 1
            continue
        if is_url(recording):
            failed[recording] = ["it is on the web and podkb keeps no copy of it (export never downloads)", 1]
            continue
        name = clip_name(quote)
        while name in used:
            name = f"{Path(name).stem}-{n}{Path(name).suffix}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            files[n] = cut(recording, quote.start, quote.end, folder / name, margin)
            used.add(name)
        except ClipError as error:
            failed[recording] = [str(error), 1]
        except OSError as error:  # the clips folder itself
            raise ClipError(f"cannot write clips in {folder}: {error.strerror or error}") from None
    warnings = [f"no clip for {_quotes(count)} from {recording}: {reason}"
                for recording, (reason, count) in failed.items()]
    return files, warnings


def _quotes(n: int) -> str:
    return f"{n} quote" if n == 1 else f"{n} quotes"
