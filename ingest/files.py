"""Files podkb reads from, and writes into, places someone named.

Reading: a path a user or a feed named (a transcript, a recording, a sidecar, a model file) is read only
when it is a regular file. A FIFO, a device or a stalled socket would block ``open`` for ever, and a
folder is not a file; ``not_regular`` says which it is, in words, before anything opens it.

Writing: a file podkb writes into a folder (the knowledge base, an export's clips folder, the uploads)
is written under a unique temporary name beside its target, created exclusively (``O_EXCL``, never
through a link: ``tempfile.mkstemp``), and renamed over the target once whole. A link planted at a
guessable name is never followed, two writers never share a temporary file, and a failure leaves the
target as it was and no temporary file behind.
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
         (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def not_regular(path: str | Path) -> str | None:
    """Why ``path`` can't be read as a file ('No such file or directory', 'a named pipe (FIFO), not a regular
    file', ...), or None when it is a regular file (through links, as ``open`` would read it). Never opens it."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as error:  # missing, no permission, a name too long, a NUL, a loop of links
        return getattr(error, "strerror", None) or str(error)
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in KINDS if test(mode)), "not a regular file") + ", not a regular file"


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for a moment, in every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


@contextmanager
def replacing(target: str | Path, hidden: bool = True) -> Iterator[BinaryIO]:
    """A new file to write ``target``'s bytes into: created exclusively under a unique name beside it
    (``.NAME.XXXXXXXX.PID.part``; without the dot when not ``hidden``), renamed over ``target`` when the
    block ends without an error, removed when it raises. The file gets the mode a new file would
    (0666 less the umask); a link at ``target`` is replaced, never written through."""
    target = Path(target)
    prefix = f"{'.' if hidden else ''}{target.name}."
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=f".{os.getpid()}.part")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w+b") as out:
            os.fchmod(out.fileno(), 0o666 & ~_umask())
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
