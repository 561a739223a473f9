"""The settings of one knowledge base's index, in one place, saved with it (as txtai keeps its config).

They live in the store's ``index_meta`` table as JSON, so a knowledge base searches the same
way wherever it is opened; ``podkb info`` shows them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

from .bundled import DEFAULT_MODEL


@dataclass(frozen=True)
class Config:
    model: str = DEFAULT_MODEL
    # Hybrid search's convex fusion: this much of the min-max normalised dense score, the rest BM25.
    dense_weight: float = 0.7
    # A passage's dense score: this much of its best sentence's similarity, the rest its own vector's. An
    # answer is often one sentence of a passage about something else (bench/RESULTS.md, issue 18).
    sentence_weight: float = 0.4
    # Taken off an interview host's passages (of a fused score between 0 and 1): the guests answer.
    host_penalty: float = 0.08
    # Exact (flat) FAISS search below this many passages; from here on IVF with 8-bit scalar quantisation.
    switch_size: int = 100_000
    # IVF lists visited per query: recall@10 against exact search stays >= 0.95 (bench/search.py).
    nprobe: int = 64
    # The language model that writes ask's answer in prose (podkb/written.py), as llm names it; "" for none.
    llm: str = ""

    def __post_init__(self):
        for name in ("dense_weight", "sentence_weight", "host_penalty"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        if self.switch_size < 1 or self.nprobe < 1:
            raise ValueError("switch_size and nprobe must be at least 1")

    def to_json(self) -> str:
        """The model and the settings changed from their defaults: a later podkb's better defaults then
        reach knowledge bases that never chose otherwise."""
        default = Config()
        return json.dumps({k: v for k, v in asdict(self).items() if k == "model" or v != getattr(default, k)},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None, **overrides) -> "Config":
        """A saved config (unknown keys, from a newer podkb, are ignored), with ``overrides`` that are not None."""
        known = {f.name for f in fields(cls)}
        try:
            saved = json.loads(text) if text else {}
        except ValueError:
            saved = {}
        values = {k: v for k, v in (saved if isinstance(saved, dict) else {}).items() if k in known}
        return replace(cls(**values), **{k: v for k, v in overrides.items() if v is not None})

    def changed(self, **changes) -> "Config":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"no setting {', '.join(sorted(unknown))}; settings: "
                             f"{', '.join(f.name for f in fields(self))}")
        return replace(self, **changes)
