"""Which files a command names: files, folders (searched recursively) and globs.

Folders and '**' patterns are walked following symlinks, but each real folder is entered
once and each real file is named once, so a link back up the tree (loop/self -> ../loop)
ends the walk instead of recursing until memory runs out, as glob's '**' does.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from .files import not_regular


def walk(root: Path) -> Iterator[Path]:
    """Every file under ``root``: hidden folders and files left out, each real one once, sorted by path."""
    folders, files = set(), {}
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in folders:
            subfolders[:] = []
            continue
        folders.add(real)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            path = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isfile(path):
                files.setdefault(os.path.realpath(path), path)
    return iter(sorted((Path(p) for p in files.values()), key=str))


def _matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether a relative path matches glob parts, '**' standing for any number of folders."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches(parts[i:], rest) for i in range(len(parts) + 1)
                   if not any(p.startswith(".") for p in parts[:i]))
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _matches(parts[1:], rest)


def match(pattern: str) -> list[str]:
    """The files a glob names. Without '**' this is glob's own (finite) answer."""
    parts = Path(pattern).parts
    if "**" not in parts:
        return sorted(m for m in glob.glob(pattern) if os.path.isfile(m))
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = Path(*parts[:fixed]) if fixed else Path(".")
    if not root.is_dir():
        return []
    return [str(p) for p in walk(root) if _matches(p.relative_to(root).parts, parts[fixed:])]


def _skipped(name: str, skip: set[str]) -> bool:
    """Whether a file in a folder is one of ``skip``: names, or '*.info.json'-style endings."""
    return name in skip or any(pattern.startswith("*") and name.endswith(pattern[1:]) for pattern in skip)


class Skipped(str):
    """Not an error: what a folder holds that is not taken (its notes, files of no transcript or audio
    suffix), said once as a warning."""


# A folder's own notes, by their stem: README.txt, LICENSE, SOURCE.txt, NOTES.md, CHANGELOG.json... are about the
# folder, not episodes. Named on the command line, such a file is still added.
NOTES = re.compile(r"(?i)(read[ _-]?me|licen[cs]e|copying|source|sources|notes?|changelog|changes|authors|contributors|"
                   r"credits|attribution|index|manifest|metadata|checksums?|sha256sums|md5sums|todo)")
NOTE_SUFFIXES = {".txt", ".md", ".json"}  # a subtitle file or a recording is never a note


def is_note(path: Path) -> bool:
    return path.suffix.lower() in NOTE_SUFFIXES and NOTES.fullmatch(path.name.split(".")[0]) is not None


def _some(paths: list[Path], root: Path, what: str) -> str:
    """'3 notes (README.md, SOURCE.txt, notes.json)': how many, and the first five by name."""
    names = ", ".join(str(p.relative_to(root)) for p in paths[:5]) + (" ..." if len(paths) > 5 else "")
    return f"{len(paths)} {what}{'s' if len(paths) > 1 else ''} ({names})"


def expand(paths: Iterable[str], suffixes: set[str], skip: set[str] = frozenset()
           ) -> Iterator[tuple[str, str | None]]:
    """(path, error) for every file named, found in a folder (with one of ``suffixes``), or matched by a glob.
    A folder's notes (README, LICENSE, SOURCE, ...: ``is_note``) and its files of other suffixes are left
    out, each kind said once as (folder, Skipped(...))."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            every = [p for p in walk(path) if not _skipped(p.name, skip)]
            found = [p for p in every if p.suffix.lower() in suffixes]
            notes = [p for p in found if is_note(p)]
            other = [p for p in every if p.suffix.lower() not in suffixes]
            found = [p for p in found if not is_note(p)]
            if notes:
                yield raw, Skipped(f"skipped {_some(notes, path, 'note')}: a folder's README, LICENSE, SOURCE and "
                                   "the like are not transcripts; name a file to add it anyway")
            if other:
                yield raw, Skipped(f"skipped {_some(other, path, 'file')} with no transcript or audio suffix "
                                   "(.txt, .srt, .vtt, .json, .mp3, .wav, ...); name a file to add it anyway")
            if not found:
                yield raw, "folder holds no transcript or audio files (.txt, .srt, .vtt, .json, .mp3, .wav, ...)"
            yield from ((str(p), None) for p in found)
        elif path.is_file():
            yield raw, None
        elif glob.has_magic(raw):
            matches = match(raw)
            if not matches:
                yield raw, "no files match this pattern"
            yield from ((m, None) for m in matches)
        elif path.exists():  # a FIFO, a device, a socket: never opened, an open may block for ever
            yield raw, not_regular(path) or "not a regular file"
        else:
            yield raw, "no such file or folder"
