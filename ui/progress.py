"""A progress bar in seconds of audio, for transcriptions."""
from __future__ import annotations

import sys
import time

import click

from .terminal import safe


class AudioProgress:
    """Called with (seconds done, total seconds); draws one bar per file (or per cluster run) on
    stderr: seconds of audio done of the total, the rate against real time, and an estimate."""

    def __init__(self, path: str):
        self.path = path
        self.bar = None
        self.done = 0
        self.started = time.monotonic()

    def rate(self, _item=None) -> str | None:
        elapsed = time.monotonic() - self.started
        return f"{self.done / elapsed:.1f}x real time" if self.done and elapsed > 0 else None

    def __call__(self, done: float, total: float, stage: str = "transcribing") -> None:
        if stage != "transcribing":  # a stage with no steps to show (finding speakers): one line as it starts
            if done < total:
                click.echo(f"{stage} in {safe(self.path)}…", err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(1, int(total)), label=f"transcribing {safe(self.path)}",
                                         file=sys.stderr, show_pos=True, show_eta=True, item_show_func=self.rate)
            self.bar.__enter__()
        step = int(done) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step
        if done >= total:
            self.bar.__exit__(None, None, None)


class IndexProgress:
    """Called with (episodes done, episodes in all, passages done): one bar on stderr for the whole
    indexing job, with passages per second and click's estimate of the time left."""

    def __init__(self):
        self.bar = None
        self.done = 0
        self.passages = 0
        self.started = time.monotonic()

    def rate(self, _item=None) -> str | None:
        elapsed = time.monotonic() - self.started
        if not self.passages or elapsed <= 0:
            return None
        return f"{self.passages:,} passages, {self.passages / elapsed:.1f}/s"

    def __call__(self, done: int, total: int, passages: int) -> None:
        if self.bar is None:
            if not total:
                return
            self.bar = click.progressbar(length=total, label="indexing", file=sys.stderr, show_pos=True,
                                         show_eta=True, item_show_func=self.rate)
            self.bar.__enter__()
            self.started = time.monotonic()
        self.passages = passages
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done
        if done >= total:
            self.bar.__exit__(None, None, None)
