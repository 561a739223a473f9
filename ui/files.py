"""Writing to a path the user named, as they mean it.

``podkb export -o PATH`` must not replace what PATH is: a symbolic link is written through to its
target, a file keeps its mode (and, where we may, its owner) and its other hard links, and a FIFO or a
device (``/dev/stdout``, ``/dev/full``) is written as a stream, whose errors are reported, not hidden
by a rename over it. A regular file is replaced atomically: a temporary file beside the target, renamed
over it once complete, so a failure leaves the old file whole and no temporary file behind.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_file(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, through links, keeping the target's mode; OSError on failure."""
    data = text.encode("utf-8")
    target = Path(os.path.realpath(path))
    try:
        found = os.stat(target)
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(21, "it is a folder", str(path))
    if found is not None and (not stat.S_ISREG(found.st_mode) or found.st_nlink > 1):
        _write_in_place(target, data)  # a FIFO, a device, or a file with other names: the same inode
        return
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.chmod(temporary, stat.S_IMODE(found.st_mode) if found else 0o666 & ~_umask())
        if found is not None:
            try:
                os.chown(temporary, found.st_uid, found.st_gid)
            except (PermissionError, AttributeError):
                pass  # not ours to give away: the file is the writer's now, as any editor's save makes it
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_in_place(target: Path, data: bytes) -> None:
    with open(target, "wb", buffering=0) as out:
        view = memoryview(data)
        while view:
            written = out.write(view)
            view = view[written:]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
