"""Cue blocks of SRT and WebVTT, checked before the libraries read them.

`srt` merges a block whose timing it can't read into the cue before it (its number and
timing line become text), and webvtt-py drops such a block without a word. Both are
given only the blocks whose timing is sound; the others are counted and reported, each
kind with the line of its first instance.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import BadInput
from ..timecode import OutOfRange, parse_clock

_ARROW = "-->"
_INDEX = re.compile(r"^\s*\d+\s*$")


@dataclass
class Block:
    line: int  # 1-based number of its first line in the file
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Scan:
    kept: list[Block] = field(default_factory=list)
    bad_timing: list[tuple[int, str]] = field(default_factory=list)  # (line, the timing line)
    untimed: list[int] = field(default_factory=list)                 # lines of cue text with no timing
    backwards: list[int] = field(default_factory=list)               # lines of cues that end before they start

    def warnings(self) -> list[str]:
        out = []
        if self.bad_timing:
            line, timing = self.bad_timing[0]
            out.append(f"{len(self.bad_timing)} cue(s) with an unreadable timing skipped "
                       f"(first at line {line}: {timing.strip()[:60]!r})")
        if self.untimed:
            out.append(f"{len(self.untimed)} cue(s) without a timing line skipped (first at line {self.untimed[0]})")
        if self.backwards:
            out.append(f"{len(self.backwards)} cue(s) end before they start; their end was set to their start "
                       f"(first at line {self.backwards[0]})")
        return out

    def nothing_kept(self, kind: str) -> BadInput:
        """The error for a file none of whose cues could be read: why, in the file's own terms."""
        if self.bad_timing:
            line, timing = self.bad_timing[0]
            return BadInput(f"no {kind} cue has a readable timing: {len(self.bad_timing)} unreadable "
                            f"(first at line {line}: {timing.strip()[:60]!r})")
        if self.untimed:
            return BadInput(f"no {kind} cue has a timing line (first cue text at line {self.untimed[0]})")
        return BadInput(f"no {kind} cues with text found")


def blocks(text: str) -> list[Block]:
    """The file's runs of non-blank lines, with where each starts."""
    found: list[Block] = []
    current: Block | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if current is None:
                current = Block(number, [])
                found.append(current)
            current.lines.append(line.rstrip())
        else:
            current = None
    return found


def timing(line: str, stamp: re.Pattern) -> tuple[float, float] | None:
    """(start, end) of a timing line whose two stamps match ``stamp``; None if it can't be read.

    A time past 1000 hours is not skipped but refused (BadInput): the file is damaged.
    """
    start, arrow, rest = line.partition(_ARROW)
    end = rest.split()[0] if rest.split() else ""
    if not arrow or not stamp.fullmatch(start.strip()) or not stamp.fullmatch(end):
        return None
    try:
        return parse_clock(start.strip()), parse_clock(end)
    except OutOfRange:
        raise
    except BadInput:
        return None


def scan(found: list[Block], stamp: re.Pattern, continuation: bool) -> Scan:
    """Sort cue blocks into kept and bad. A block is [index line] timing line, text lines.

    ``continuation``: a block with neither index nor timing continues the cue before it (SRT,
    as `srt` reads it); otherwise (WebVTT) it is cue text without a timing.
    """
    result = Scan()
    for block in found:
        lines = block.lines
        at = 0 if _ARROW in lines[0] else 1 if len(lines) > 1 and _ARROW in lines[1] else None
        if at is None:
            arrows = [n for n, line in enumerate(lines) if _ARROW in line]
            if arrows:
                result.bad_timing.append((block.line + arrows[0], lines[arrows[0]]))
            elif continuation and result.kept and not _INDEX.match(lines[0]):
                result.kept[-1].lines += lines
            else:
                result.untimed.append(block.line)
            continue
        times = timing(block.lines[at], stamp)
        if times is None:
            result.bad_timing.append((block.line + at, block.lines[at]))
            continue
        if times[1] < times[0]:
            result.backwards.append(block.line + at)
        result.kept.append(block)
    return result
