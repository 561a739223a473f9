"""A progress bar in seconds of audio, for transcriptions."""
from __future__ import annotations

import sys

import click

from .terminal import safe


class AudioProgress:
    """Called with (seconds done, total seconds); draws one bar per file on stderr."""

    def __init__(self, path: str):
        self.path = path
        self.bar = None
        self.done = 0

    def __call__(self, done: float, total: float) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(1, int(total)), label=f"transcribing {safe(self.path)}",
                                         file=sys.stderr, show_pos=True, item_show_func=None)
            self.bar.__enter__()
        step = int(done) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step
        if done >= total:
            self.bar.__exit__(None, None, None)
