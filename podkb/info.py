"""What ``podkb info`` says of a knowledge base: ``Info``, and how it is gathered."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .index import engine
from .index.config import Config
from .index.store import FAISS_NAME
from .index.vectors import stamp_file
from .ingest import feed_items
from .ingest.migrations import applied

FILES = ("podkb.db", "podkb.db-wal", FAISS_NAME, "media", "uploads")


@dataclass
class Info:
    path: Path
    episodes: int
    passages: int
    stale: int                  # episodes stored but not indexed yet
    collections: int
    feeds: int
    model: str
    dim: int | None
    index_kind: str             # "Flat", "IVF…,SQ8 (nprobe N)", or "none" before the first indexing
    config: Config
    schema: dict[str, int]      # migrations applied, per stage
    files: dict[str, int]       # bytes on disk
    unfinished_reindex: str | None = None  # the model of a reindex that was killed midway (run it again)
    engine: str | None = None   # how the model runs on this machine (index/engine.py), once it has loaded here

    def to_dict(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


def gather(path: Path, library, index, collections: int, stages) -> Info:
    """The Info of the knowledge base in ``path``, read on its ``library`` (and ``index``) connection;
    ``stages``: its migrations, to count per stage."""
    episodes, passages = library.count(), index.passage_count()
    done = applied(library.db)
    dim = index.meta("dim")
    pending = index.pending_reindex()
    stale = len(index.stale_episodes())
    feeds = len(feed_items.followed(library.db))
    choice = engine.cached(index.model)
    return Info(path=path.resolve(), episodes=episodes, passages=passages, stale=stale, collections=collections,
                feeds=feeds, model=index.model, dim=int(dim) if dim else None,
                index_kind=_kind(path, passages, index.config), config=index.config,
                schema={m.name: sum(1 for name in done if name.startswith(m.name + ":")) for m in stages},
                files=_sizes(path), unfinished_reindex=pending[0] if pending else None,
                engine=choice.describe() if choice else None)


def _kind(path: Path, passages: int, config: Config) -> str:
    try:
        stamp = json.loads(stamp_file(path / FAISS_NAME).read_text())
        return stamp.get("kind") or ("IVF,SQ8" if stamp.get("count", 0) >= config.switch_size else "Flat")
    except (OSError, ValueError, AttributeError):
        return "none" if not passages else "not built yet (built at the next search)"


def _sizes(path: Path) -> dict[str, int]:
    files = {}
    for name in FILES:
        target = path / name
        if target.is_file():
            files[name] = target.stat().st_size
        elif target.is_dir():
            files[name] = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    return files
