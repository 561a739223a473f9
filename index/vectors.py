"""The FAISS index of passage vectors, persisted beside the SQLite file.

Ids are passage row ids. Exact inner-product search (flat) while the index is small;
from the config's switch_size (index/config.py) on, an IVF index with 8-bit scalar quantisation, which keeps
1M 384-d vectors in about 0.4 GB and, unlike HNSW, can remove ids without a rebuild.
SQLite holds every vector, so this file can always be rebuilt from it. Its stamp (the
.json beside it) holds a SHA-256 of the file, to catch damage, and of its sorted ids, to
catch an index that disagrees with SQLite however it came about.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from ..ingest.errors import StoreError, store_problem
from ..ingest.files import replacing
from ..ingest.settings import flag
from .config import Config


UPGRADED = "from an older podkb"


def nlist_for(n: int) -> int:
    return int(min(65536, max(256, 4 * np.sqrt(n))))


class VectorIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None, nprobe: int = Config.nprobe):
        self.dim = dim
        self.index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.nprobe = nprobe
        self._gpu = None

    @property
    def count(self) -> int:
        return self.index.ntotal

    def ids(self) -> np.ndarray:
        """Every id in the index, sorted."""
        index = faiss.downcast_index(self.index)
        if hasattr(index, "id_map"):
            return np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
        lists = index.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                 for n in range(index.nlist) if lists.list_size(n)]
        return np.sort(np.concatenate(parts).astype(np.int64)) if parts else np.zeros(0, dtype=np.int64)

    @property
    def approximate(self) -> bool:
        return isinstance(faiss.downcast_index(self.index), faiss.IndexIVF)

    @property
    def kind(self) -> str:
        """What sort of index this is, in FAISS's factory words: "Flat", or "IVF4000,SQ8" and its nprobe."""
        index = faiss.downcast_index(self.index)
        return f"IVF{index.nlist},SQ8 (nprobe {self.nprobe})" if self.approximate else "Flat"

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray, switch_size: int = Config.switch_size,
              nprobe: int = Config.nprobe) -> "VectorIndex":
        if len(ids) < switch_size:
            built = cls(dim, nprobe=nprobe)
        else:
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist_for(len(ids)), faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: 64 * ivf.nlist]]
            ivf.train(sample)
            built = cls(dim, ivf, nprobe=nprobe)
        built.add(ids, vectors)
        return built

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
            self._gpu = None

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self.index.remove_ids(ids)
            self._gpu = None

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest; ``allowed`` restricts to those ids before ranking."""
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)) if allowed is not None else None
        if self.approximate:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector else None
        index = self._search_index() if selector is None else self.index
        with one_thread():
            scores, ids = index.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def _search_index(self):
        """A GPU copy when faiss-gpu and a GPU are there (the `gpu` extra); else the CPU index."""
        if not flag("faiss_gpu") or not hasattr(faiss, "StandardGpuResources"):
            return self.index
        if faiss.get_num_gpus() < 1:
            return self.index
        if self._gpu is None:
            try:
                self._gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self.index)
            except RuntimeError:
                self._gpu = self.index
        return self._gpu

    def save(self, path: Path, stamp: dict) -> None:
        """Write atomically: the index, then its stamp (checksums of the file and of the ids) beside it.

        A failure (a full disk, a folder in the way) leaves the previous files and no temporary one.
        """
        data = faiss.serialize_index(self.index)
        stamp = {**stamp, "count": self.count, "kind": self.kind, "ids": ids_digest(self.ids()),
                 "sha256": hashlib.sha256(memoryview(data)).hexdigest()}
        # Unique names, created exclusively (ingest/files.py): two writers (two imports from the web app) never
        # share a temporary file, and a link planted beside the index is never written through.
        stamp_path = stamp_file(path)
        try:
            with replacing(stamp_path) as stamp_out:  # replaced second: the stamp follows its index
                stamp_out.write(json.dumps(stamp).encode())
                with replacing(path) as out:
                    out.write(memoryview(data))
        except OSError as error:
            if isinstance(error, IsADirectoryError) or path.is_dir():
                raise StoreError(f"{path.parent}: {path.name} is a folder, where podkb keeps its vector index; "
                                 "move it out of the way (the index is rebuilt from podkb.db)") from None
            raise StoreError(store_problem(path.parent, error)) from None

    @classmethod
    def load(cls, path: Path, dim: int, nprobe: int = Config.nprobe) -> tuple["VectorIndex", dict] | str:
        """The saved index and its stamp; else why not, in a few words ("missing", "damaged", ...)."""
        try:
            stamp = json.loads(stamp_file(path).read_text())
        except FileNotFoundError:
            return "missing" if not path.exists() else "without its stamp"
        except (OSError, ValueError):
            return "with an unreadable stamp"
        if isinstance(stamp, dict) and "sha256" not in stamp and isinstance(stamp.get("count"), int):
            return UPGRADED  # written by a podkb before checksums: rebuilt from SQLite, no fault to report
        if not isinstance(stamp, dict) or not isinstance(stamp.get("sha256"), str):
            return "with an unreadable stamp"
        try:
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return "unreadable"
        if digest != stamp["sha256"]:
            return "damaged (its checksum does not match)"
        try:
            index = faiss.read_index(str(path))
        except RuntimeError:
            return "unreadable"
        if index.d != dim or index.ntotal != stamp.get("count"):
            return "for another model or size"
        return cls(dim, index, nprobe=nprobe), stamp


@contextmanager
def one_thread():
    """FAISS on one OpenMP thread: one query gains nothing from more (a Flat search of 11,687 vectors took
    1.2 ms on one thread, 2.2 ms on two, on 2 cores: bench/RESULTS.md, issue 41)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def ids_digest(ids: np.ndarray) -> str:
    """A checksum of a sorted id set: equal digests, equal sets."""
    return hashlib.sha256(np.ascontiguousarray(ids, dtype="<i8").tobytes()).hexdigest()


def stamp_file(path: Path) -> Path:
    return path.with_name(path.name + ".json")
