"""Sponsor reads, intros and outros: what a show says nearly word for word from episode to episode.

Such passages match many queries well ("how to become a better writer" matches the host's ad for
his writing course, read in seven episodes) and answer none. They stay searchable, but a hit made
of them ranks below the others (``DEMOTED``), says so (``Hit.recurring``) and is never a key point.

A passage recurs when most of its word shingles are heard in at least two other episodes of the same
show (episodes without a show count as one show; two transcriptions of one talk, linked as
near-duplicates, count once). Only a sample of each
passage's shingles is kept (one in SAMPLE, chosen by hash, so every episode keeps the same ones):
enough to recognise a read of some sixty words, at a few rows per passage.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from functools import lru_cache

WORDS = 5             # words per shingle
SAMPLE = 8            # one shingle in SAMPLE is kept
OTHER_EPISODES = 2    # heard in this many other episodes of the show: recurring
SHARE = 0.5           # of a passage's kept shingles that must recur
MIN_SHINGLES = 2      # a passage with fewer kept shingles is too short to tell
DEMOTED = 0.5         # a recurring hit's score is multiplied by this

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=8192)  # searches check the same top passages again and again
def fingerprints(text: str) -> tuple[int, ...]:
    """The kept shingle hashes of a text (signed 64-bit, as SQLite stores integers)."""
    words = [w.lower() for w in _WORD.findall(text)]
    found = []
    for gram in map(" ".join, zip(*(words[i:] for i in range(WORDS)))):
        value = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little", signed=True)
        if value % SAMPLE == 0:
            found.append(value)
    return tuple(dict.fromkeys(found))


def kept(texts: list[str]) -> list[int]:
    """The kept shingle hashes of an episode's passages, as the shingles table holds them (tables.write_shingles)."""
    return [value for text in texts for value in fingerprints(text)]


def wanted(passages: list[tuple[int, str, tuple[int, ...]]]) -> list[int]:
    """The shingle hashes to look up (tables.heard_in) for these (passage id, episode id, fingerprints), sorted."""
    return sorted({value for _, _, values in passages for value in values})


def recurring(passages: list[tuple[int, str, tuple[int, ...]]], heard: dict[int, set[str]],
              rows: list[tuple]) -> set[int]:
    """Of these (passage id, episode id, fingerprints), the ids of those the show repeats in other episodes,
    from the episodes each of their shingles is ``heard`` in and the (id, show, duplicate_of) ``rows`` of
    those episodes and theirs."""
    prints = {pid: values for pid, _, values in passages}
    heard = defaultdict(set, heard)
    show = {episode_id: name for episode_id, name, _ in rows}
    twins = defaultdict(set)
    for episode_id, _, duplicate_of in rows:
        if duplicate_of:
            twins[episode_id].add(duplicate_of)
            twins[duplicate_of].add(episode_id)
    found = set()
    for pid, episode_id, _ in passages:
        values = prints[pid]
        if len(values) < MIN_SHINGLES:
            continue
        mine = {episode_id} | twins[episode_id]
        again = sum(1 for value in values
                    if len({e for e in heard[value] - mine if show.get(e) == show[episode_id]}) >= OTHER_EPISODES)
        if again >= SHARE * len(values):
            found.add(pid)
    return found
