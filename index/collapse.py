"""One hit per stretch of talk: near-identical passages collapse, neighbours join.

Two transcriptions of one talk give near-identical passages in two episodes: the best stays,
and notes where else it is. Neighbouring passages of one episode are one stretch of talk: they
join the best one's hit (within MERGE_WORDS), so an answer that runs on into the next passage
is not cut off; a passage of the same stretch that is not a neighbour is dropped as before.
"""
from __future__ import annotations

from functools import lru_cache

from ..ingest.dedup import containment
from ..ingest.dedup import word_shingles

from .hits import Candidate, Elsewhere

SAME_PASSAGE = 0.5  # share of 3-word shingles that makes two passages one quote
# Between episodes linked as near-duplicates, passages are cut at different places, so
# half-overlapping windows of the same talk share less: measured 0.2–0.45 on the samples.
SAME_PASSAGE_LINKED = 0.2
MERGE_WORDS = 220   # a joined stretch stays readable: about two passages


@lru_cache(maxsize=8192)  # searches compare the same top passages again and again
def shingles_of(text: str, size: int) -> frozenset[tuple[str, ...]]:
    return word_shingles(text, size)  # as tuples: the same shingles, not joined (6.9 -> 6.1 ms a search, issue 41)


def collapse(hits: list[Candidate], k: int, linked: set[tuple[str, str]] = frozenset()) -> list[Candidate]:
    """Keep the best of each group of near-identical passages; join neighbours; note where the others are."""
    kept: list[Candidate] = []
    for hit in hits:
        twin = next((other for other in kept if _same(hit, other, linked)), None)
        if twin is None:
            if len(kept) < k:
                kept.append(hit)
        elif twin.episode_id != hit.episode_id:
            twin.also_in.append(Elsewhere(hit.episode_id, hit.episode_title, hit.start, hit.passage_id))
        else:
            join(twin, hit)
    return kept


def _same(hit: Candidate, other: Candidate, linked) -> bool:
    if hit.episode_id == other.episode_id:
        # Passages cut from the same segment, or next to each other, are one stretch of talk.
        return (hit.first_segment <= other.last_segment and hit.last_segment >= other.first_segment) or \
            _touching(hit, other)
    share = containment(shingles_of(hit.text, 3), shingles_of(other.text, 3))  # only across episodes: cached
    return share >= SAME_PASSAGE or ((hit.episode_id, other.episode_id) in linked and share >= SAME_PASSAGE_LINKED)


def _touching(hit: Candidate, other: Candidate) -> bool:
    """Whether ``hit`` is the passage just before or after ``other``'s stretch, by the same speaker."""
    if not hit.parts or not other.parts or hit.speaker != other.speaker:
        return False
    return hit.parts[0].idx == other.parts[-1].idx + 1 or hit.parts[-1].idx == other.parts[0].idx - 1


def join(kept: Candidate, other: Candidate) -> None:
    """Add ``other``'s passages to ``kept`` when they are its neighbours and the stretch stays readable."""
    if not kept.parts or not other.parts or len((kept.text + " " + other.text).split()) > MERGE_WORDS:
        return
    if other.parts[-1].idx == kept.parts[0].idx - 1:
        kept.set_parts(other.parts + kept.parts)
    elif other.parts[0].idx == kept.parts[-1].idx + 1:
        kept.set_parts(kept.parts + other.parts)
