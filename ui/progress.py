"""A job's progress events on the terminal: tqdm bars on stderr, for transcriptions and indexing.

On a terminal each bar redraws in place; on a file or a pipe (a log, ``podkb add x | head``)
there are no bars: a bar's label is written as one line when its work starts, then a line of its
counts as it moves (at most one each PIPED_EVERY seconds) and one when it ends.
"""
from __future__ import annotations

import os
import sys
import time

import click

from ..events import Indexing, Transcribing
from .terminal import safe

PIPED_EVERY = 10.0  # seconds between a piped bar's progress lines: a log that shows it is alive, not a flood


def _bar(label: str, total: float, unit: str, bar_format: str | None = None):
    """A tqdm bar on stderr; on a file or pipe, None after writing ``label`` once."""
    if not sys.stderr.isatty():
        click.echo(label, err=True)
        return None
    from tqdm import tqdm

    try:
        sized = os.get_terminal_size(sys.stderr.fileno()).columns > 0
    except OSError:
        sized = False
    # A terminal that reports no size (a pty nobody sized) would hide the bar: give it 80 x 24.
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=sized,
                ncols=None if sized else 80, nrows=None if sized else 24, bar_format=bar_format)


class Bars:
    """Renders ``Transcribing`` and ``Indexing`` events: a bar per file transcribed (or per run on a Ray
    cluster), in seconds of audio with the speed against real time, and one bar for the whole indexing
    job, in episodes, with passages per second. tqdm estimates the time left."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet  # no indexing bar (a search's own indexing, a reindex)
        self._open: dict[tuple, object] = {}  # what a bar follows → the bar (None on a file or pipe)
        self._piped: dict[tuple, list[float]] = {}  # on a file or pipe: when it started, when it last wrote

    def show(self, event) -> None:
        if isinstance(event, Transcribing):
            self.transcribing(event)
        elif isinstance(event, Indexing) and not self.quiet:
            self.indexing(event)

    def transcribing(self, event: Transcribing) -> None:
        name = safe(event.name)
        self._advance((event.stage, event.name), f"{event.stage} in {name}" if event.stage != "transcribing"
                      else f"transcribing {name}", "s", event.done, event.total,
                      lambda elapsed: f"{event.done / elapsed:.1f}x real time" if event.done else None,
                      "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]")

    def indexing(self, event: Indexing) -> None:
        if not event.total:
            return
        passages = event.passages
        self._advance(("indexing",), "indexing", "episodes", event.done, event.total,
                      lambda elapsed: f"{passages:,} passage{'s' if passages != 1 else ''}, {passages / elapsed:.1f}/s"
                      if passages else None)

    def _advance(self, key: tuple, label: str, unit: str, done: float, total: float, postfix,
                 bar_format: str | None = None) -> None:
        """Move the bar that follows ``key`` to ``done`` of ``total`` (opened at its first event, closed at
        its last), with ``postfix(seconds elapsed)`` after the counts."""
        if key not in self._open:
            self._open[key] = _bar(label, total, unit, bar_format)
            self._piped[key] = [time.monotonic()] * 2
        bar = self._open[key]
        if bar is None:
            self._line(key, label, unit, done, total, postfix)
        else:
            bar.n = min(done, bar.total)
            elapsed = bar.format_dict["elapsed"]
            after = postfix(elapsed) if elapsed > 0 else None
            if after:
                bar.set_postfix_str(after, refresh=False)
            bar.refresh()
        if done >= total:
            self._open.pop(key)
            self._piped.pop(key, None)
            if bar is not None:
                bar.close()

    def _line(self, key: tuple, label: str, unit: str, done: float, total: float, postfix) -> None:
        """A piped bar's counts as one line: when it ends, and as it moves at most each PIPED_EVERY s."""
        started, wrote = self._piped[key]
        now = time.monotonic()
        if done < total and now - wrote < PIPED_EVERY:
            return  # the label said it started; then a line at most each PIPED_EVERY s, and one at the end
        after = postfix(now - started) if now > started else None
        if not done and not after:
            return  # nothing done yet to tell
        self._piped[key][1] = now
        counts = f"{done:.0f}/{total:.0f} {unit}" + (f", {after}" if after else "")
        click.echo(f"{label}: {'done, ' if done >= total else ''}{counts} ({now - started:.0f} s)", err=True)

    def close(self) -> None:
        """Close any bar still open (a job that failed midway)."""
        for bar in self._open.values():
            if bar is not None:
                bar.close()
        self._open.clear()
        self._piped.clear()
