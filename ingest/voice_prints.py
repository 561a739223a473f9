"""The voice prints of a knowledge base's episodes: the ``voices`` table, and every statement on it.

Each speaker found in a recording keeps a voice print (ingest/voices.py says how they are compared); a
speaker the user named is a known voice, matched against the voices of the episodes added after.
Functions take the store's ``sqlite3.Connection``, as ingest/store.py's ``Library`` holds it.
"""
from __future__ import annotations

import sqlite3

from . import voices
from .models import Transcript, Voice
from .decode import text


def recognise(db: sqlite3.Connection, episode, transcript: Transcript) -> list[voices.Match]:
    """Name the transcript's unnamed voices that match a known one surely (in its segments, voices and the
    episode's speakers); the rest may be offered. The matches. A replaced episode's old voice prints go
    first, whether or not the new transcript has voices."""
    db.execute("DELETE FROM voices WHERE episode_id = ?", (episode.id,))
    if not transcript.voices:
        return []
    known = people(db, exclude=episode.id)
    taken = {name for name in transcript.voices if not voices.generic(name)}
    found = voices.matches({label: v for label, v in transcript.voices.items() if voices.generic(label)}, known, taken)
    names = {m.label: m.name for m in found if m.sure}
    if names:
        for segment in transcript.segments:
            segment.speaker = names.get(segment.speaker, segment.speaker)
        merged: dict[str, list] = {}
        for label, vector in transcript.voices.items():
            merged.setdefault(names.get(label, label), []).append(voices.unit(vector))
        transcript.voices = {name: voices.unit(sum(found)) for name, found in merged.items()}
        episode.speakers = list(dict.fromkeys(names.get(name, name) for name in episode.speakers))
    return found


def write(db: sqlite3.Connection, episode_id: str, transcript: Transcript, found: list[voices.Match]) -> None:
    """An episode's voice prints, each with how it got its name (and the name offered for it)."""
    seconds: dict[str, float] = {}
    for s in transcript.segments:
        if s.speaker and s.start is not None and s.end is not None:
            seconds[s.speaker] = seconds.get(s.speaker, 0.0) + max(0.0, s.end - s.start)
    sure = {m.name: m for m in found if m.sure}
    offered = {m.label: m for m in found if not m.sure}
    rows = []
    for name, vector in transcript.voices.items():
        matched, maybe = sure.get(name), offered.get(name)
        rows.append((episode_id, text(name), round(seconds.get(name, 0.0), 2), voices.to_blob(voices.unit(vector)),
                     "voice" if matched else None if voices.generic(name) else "user",
                     matched.score if matched else None, maybe.name if maybe else None,
                     maybe.score if maybe else None))
    db.executemany("INSERT INTO voices (episode_id, speaker, seconds, print, named_by, score, maybe, "
                   "maybe_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def of(db: sqlite3.Connection, episodes: list[str] | None = None) -> list[Voice]:
    """The voice prints of these episodes (of every episode when None), in the order they were added."""
    where, args = "", []
    if episodes is not None:
        if not episodes:
            return []
        where, args = f"WHERE v.episode_id IN ({','.join('?' * len(episodes))})", episodes
    rows = db.execute(
        "SELECT v.episode_id, v.speaker, v.seconds, v.print, v.named_by, v.score, v.maybe, v.maybe_score FROM voices v "
        f"JOIN episodes e ON e.id = v.episode_id {where} ORDER BY e.added_at, e.rowid, v.rowid", args)
    return [Voice(r[0], r[1], r[2], voices.from_blob(r[3]), *r[4:]) for r in rows]


def people(db: sqlite3.Connection, exclude: str | None = None) -> dict:
    """Every named voice, as one print per person (voices.people), leaving out episode ``exclude``."""
    rows = db.execute("SELECT speaker, print FROM voices WHERE episode_id != ? AND named_by IS NOT NULL",
                      (exclude or "",))
    return voices.people([(name, voices.from_blob(blob)) for name, blob in rows])


def rename(db: sqlite3.Connection, episode_id: str, old: str, new: str, by: str | None,
           score: float | None = None) -> None:
    """Call voice ``old`` of an episode ``new``, named ``by`` "user", "voice" (at ``score``) or None (a label)."""
    db.execute("UPDATE voices SET speaker = ?, named_by = ?, score = ?, maybe = NULL, maybe_score = NULL "
               "WHERE episode_id = ? AND speaker = ?", (new, by, score, episode_id, old))


def offer(db: sqlite3.Connection, episode_id: str, speaker: str, name: str | None, score: float | None) -> None:
    """Offer ``name`` for a voice (None: withdraw the offer)."""
    db.execute("UPDATE voices SET maybe = ?, maybe_score = ? WHERE episode_id = ? AND speaker = ?",
               (text(name), score, episode_id, text(speaker)))
