"""A job's progress events on the terminal: tqdm bars on stderr, for transcriptions and indexing.

On a terminal each bar redraws in place; on a file or a pipe (a log, ``podkb add x | head``)
there are no bars: a bar's label is written once, as one line, when its work starts.
"""
from __future__ import annotations

import os
import sys

import click

from ..events import Indexing, Transcribing
from .terminal import safe


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
        self._audio: dict[str, object] = {}   # file name → its open bar (None on a pipe)
        self._indexing = None
        self._indexing_open = False

    def show(self, event) -> None:
        if isinstance(event, Transcribing):
            self.transcribing(event)
        elif isinstance(event, Indexing) and not self.quiet:
            self.indexing(event)

    def transcribing(self, event: Transcribing) -> None:
        name = safe(event.name)
        if event.stage != "transcribing":  # a stage with no steps to show (finding speakers): one line as it starts
            if event.done < event.total:
                click.echo(f"{event.stage} in {name}…", err=True)
            return
        if event.name not in self._audio:
            self._audio[event.name] = _bar(f"transcribing {name}", event.total, "s",
                                           "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]")
        bar = self._audio[event.name]
        if bar is not None:
            bar.n = min(event.done, bar.total)
            elapsed = bar.format_dict["elapsed"]
            if event.done and elapsed > 0:
                bar.set_postfix_str(f"{event.done / elapsed:.1f}x real time", refresh=False)
            bar.refresh()
        if event.done >= event.total:
            self._audio.pop(event.name)
            if bar is not None:
                bar.close()

    def indexing(self, event: Indexing) -> None:
        if not self._indexing_open:
            if not event.total:
                return
            self._indexing_open = True
            self._indexing = _bar("indexing", event.total, "episode")
        bar = self._indexing
        if bar is not None:
            bar.n = event.done
            elapsed = bar.format_dict["elapsed"]
            if event.passages and elapsed > 0:
                bar.set_postfix_str(f"{event.passages:,} passage{'s' if event.passages != 1 else ''}, "
                                  f"{event.passages / elapsed:.1f}/s", refresh=False)
            bar.refresh()
        if event.done >= event.total:
            self.close()

    def close(self) -> None:
        """Close any bar still open (a job that failed midway)."""
        for bar in self._audio.values():
            if bar is not None:
                bar.close()
        self._audio.clear()
        if self._indexing is not None:
            self._indexing.close()
        self._indexing, self._indexing_open = None, False
