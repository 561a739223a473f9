"""The knowledge base's SQLite store: episodes and their segments.

WAL mode, so searches read while an import writes; each episode is written in one
transaction, so a kill at any moment leaves either the whole episode or none of it.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from . import dedup, voices
from . import feed_items, voice_prints
from .decode import one_line, text, typed_name, well_formed  # noqa: F401 (names of this module too)
from .migrations import migration
from .models import Episode, Segment, Transcript, Word
from .timecode import milliseconds as _ms
from .timecode import utc_now as _now

T = TypeVar("T")
DB_NAME = "podkb.db"
BUSY_SECONDS = 30  # how long a write waits for another process's
MEDIA_DIR = "media"  # audio downloaded from feeds lives here, inside the knowledge base folder
EPISODE_COLUMNS = (
    "id, title, show, date, source, media, duration, speakers, format, language, content_hash, path, "
    "duplicate_of, similarity, added_at, feed, guid, (SELECT count(*) FROM segments WHERE episode_id = episodes.id)"
)


@dataclass
class AddResult:
    status: str  # "added", "replaced", "unchanged" or "changed" (same file, new content, no --replace)
    episode: Episode
    duplicate_of: Episode | None = None
    voices: list = field(default_factory=list)  # voices.Match: known voices recognised (sure) or offered


def _well_formed(episode: Episode, transcript: Transcript, chapters) -> list | None:
    for name in ("id", "title", "show", "date", "source", "media", "format", "language", "path", "feed", "guid"):
        setattr(episode, name, text(getattr(episode, name)))
    episode.speakers = [text(name) for name in episode.speakers]
    for segment in transcript.segments:
        segment.text, segment.speaker = text(segment.text), text(segment.speaker)
        for word in segment.words or ():
            word.text = text(word.text)
    return None if chapters is None else [(c[0], text(str(c[1])), *c[2:]) for c in chapters]


class Library:
    def __init__(self, kb_dir: str | Path):
        self.dir = Path(kb_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / DB_NAME
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_SECONDS, check_same_thread=False)
        _use_wal(self.db)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-65536")  # up to 64 MB of pages kept: a search rereads the same ones
        migration.apply(self.db)

    @property
    def media_dir(self) -> Path:
        return (self.dir / MEDIA_DIR).resolve()

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back itself (a full disk at COMMIT)
                self.db.execute("ROLLBACK")
            raise

    # Reading

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM episodes").fetchone()[0]

    def episodes(self) -> list[Episode]:
        rows = self.db.execute(f"SELECT {EPISODE_COLUMNS} FROM episodes ORDER BY added_at, rowid")
        return [_episode(row) for row in rows]

    def get(self, episode_id: str) -> Episode | None:
        """An episode by its id; None if there is none."""
        row = self.db.execute(f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return _episode(row) if row else None

    def episode(self, ref: str) -> Episode:
        """An episode by id, or by a prefix of its id that names only one."""
        ref = text(ref)
        row = self.db.execute(f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE id = ?", (ref,)).fetchone()
        if row:
            return _episode(row)
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE id LIKE ? ESCAPE '\\' LIMIT 6", (pattern,)
        ).fetchall()
        if len(rows) == 1:
            return _episode(rows[0])
        if rows:
            names = ", ".join(row[0] for row in rows[:5])
            raise LookupError(f"'{ref}' names more than one episode: {names}")
        raise LookupError(f"no episode '{ref}'")

    def segments(self, episode_id: str) -> list[Segment]:
        rows = self.db.execute(
            "SELECT start_ms, end_ms, speaker, text, words, turn, offset FROM segments "
            "WHERE episode_id = ? ORDER BY idx",
            (episode_id,),
        )
        return [_segment(row) for row in rows]

    def by_hash(self, content_hash: str) -> Episode | None:
        row = self.db.execute(f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE content_hash = ?", (content_hash,))
        row = row.fetchone()
        return _episode(row) if row else None

    def by_path(self, path: str) -> Episode | None:
        row = self.db.execute(
            f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE path = ? ORDER BY added_at DESC", (path,)
        ).fetchone()
        return _episode(row) if row else None

    def content_hash(self, episode_id: str) -> str | None:
        """The hash of an episode's content as stored now; None if it is gone."""
        row = self.db.execute("SELECT content_hash FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return row[0] if row else None

    def segment_speakers(self, episode_id: str) -> dict[int, str | None]:
        """Segment number → who speaks it now."""
        return dict(self.db.execute("SELECT idx, speaker FROM segments WHERE episode_id = ?", (episode_id,)).fetchall())

    def paragraph_at(self, episode_id: str, first: int, last: int, offset: int) -> int | None:
        """Of segments ``first`` to ``last`` of an untimed transcript, the one (paragraph) holding the
        character at ``offset`` of the source."""
        row = self.db.execute("SELECT max(idx) FROM segments WHERE episode_id = ? AND idx BETWEEN ? AND ? "
                              "AND offset <= ?", (episode_id, first, last, offset)).fetchone()
        return row[0] if row else None

    def shows(self, episode_ids: list[str]) -> list[tuple[str, str | None, str | None]]:
        """(id, show, the episode it is a near-duplicate of) of these episodes."""
        return self.db.execute(f"SELECT id, show, duplicate_of FROM episodes WHERE id IN "
                               f"({','.join('?' * len(episode_ids))})", episode_ids).fetchall()

    def linked(self) -> set[tuple[str, str]]:
        """Every pair of episodes linked as near-duplicates, both ways round."""
        rows = self.db.execute("SELECT id, duplicate_of FROM episodes WHERE duplicate_of IS NOT NULL").fetchall()
        return {pair for a, b in rows for pair in ((a, b), (b, a))}

    def chapter_titles(self, limit: int) -> list[tuple[str, str]]:
        """(source, title) of up to ``limit`` chapters, published ones first, by episode and order."""
        return self.db.execute("SELECT source, title FROM chapters ORDER BY source DESC, episode_id, idx LIMIT ?",
                               (limit,)).fetchall()

    # Writing

    def edit(self, episode_id: str, title: str | None = None, date: str | None = None, show: str | None = None) -> None:
        """Set an episode's title, date or show (None: leave it; '' for date or show: clear it)."""
        changes = {k: (text(v) or None) for k, v in (("title", title), ("date", date), ("show", show)) if v is not None}
        if "title" in changes and not changes["title"]:
            raise ValueError("an episode needs a title")
        if not changes:
            return
        assignments = ", ".join(f"{k} = :{k}" for k in changes)
        if self.db.execute(f"UPDATE episodes SET {assignments} WHERE id = :id", {**changes, "id": episode_id}).rowcount == 0:
            raise LookupError(f"no episode '{episode_id}'")

    def update_info(self, episode_id: str, info) -> Episode | None:
        """Take in what ``info`` (a manifest.EpisodeInfo) says of a stored episode's title, show, date,
        source and published chapters where it differs; the episode as it is then, or None if nothing
        changed. Its segments, and so its passages, stay as they are."""
        episode = self.episode(episode_id)
        wanted = {name: text(getattr(info, name)) for name in ("title", "show", "date", "source")}
        changes = {name: value for name, value in wanted.items() if value and value != getattr(episode, name)}
        published = [(start, title) for _, start, title, _ in self.chapters(episode_id, "published")]
        chapters = [(float(start), text(str(title))) for start, title in info.chapters] if info.chapters else None
        new_chapters = chapters is not None and [(round(a or 0, 3), b) for a, b in chapters] != \
            [(round(a or 0, 3), b) for a, b in published]
        if not changes and not new_chapters:
            return None
        with self.transaction():
            if changes:
                assignments = ", ".join(f"{k} = :{k}" for k in changes)
                self.db.execute(f"UPDATE episodes SET {assignments} WHERE id = :id", {**changes, "id": episode_id})
            if new_chapters:
                self.set_chapters(episode_id, chapters, "published")
        return self.episode(episode_id)

    def rename_speaker(self, old: str, new: str, episodes: list[str], by: str = "user",
                       score: float | None = None) -> int:
        """Call ``old`` ``new`` in these episodes' segments, speaker lists and voices; how many segments
        changed. Renaming to a name already there merges the two. ``by`` says who named the voice: "user",
        or "voice" (matched at ``score``)."""
        changed, old, new = 0, text(old), text(new)
        named_by = None if voices.generic(new) else by
        for episode_id in episodes:
            changed += self.db.execute("UPDATE segments SET speaker = ? WHERE episode_id = ? AND speaker = ?",
                                       (new, episode_id, old)).rowcount
            voice_prints.rename(self.db, episode_id, old, new, named_by, score)
            row = self.db.execute("SELECT speakers FROM episodes WHERE id = ?", (episode_id,)).fetchone()
            if row:
                names = list(dict.fromkeys(new if name == old else name for name in json.loads(row[0])))
                self.db.execute("UPDATE episodes SET speakers = ? WHERE id = ?", (json.dumps(names), episode_id))
        return changed

    def set_chapters(self, episode_id: str, chapters: list[tuple], source: str) -> None:
        """Replace an episode's chapters of one source ('published' or 'found'): (start seconds, title) or
        (start seconds or None, title, paragraph) for an untimed transcript."""
        self.db.execute("DELETE FROM chapters WHERE episode_id = ? AND source = ?", (episode_id, source))
        rows = [(None if c[0] is None else max(0.0, float(c[0])), " ".join(text(str(c[1])).split())[:200],
                 c[2] if len(c) > 2 else None) for c in chapters]
        rows.sort(key=lambda r: (r[0] if r[0] is not None else -1, r[2] if r[2] is not None else -1))
        self.db.executemany(
            "INSERT INTO chapters (episode_id, source, idx, start_ms, paragraph, title) VALUES (?, ?, ?, ?, ?, ?)",
            [(episode_id, source, n, _ms(start), paragraph, title or f"Chapter {n + 1}")
             for n, (start, title, paragraph) in enumerate(rows)])

    def chapters(self, episode_id: str, source: str | None = None) -> list[tuple[str, float | None, str, int | None]]:
        """(source, start seconds, title, paragraph) of an episode's chapters, published ones first."""
        rows = self.db.execute("SELECT source, start_ms, title, paragraph FROM chapters WHERE episode_id = ? AND "
                               "(? IS NULL OR source = ?) ORDER BY source = 'found', idx", (episode_id, source, source))
        return [(kind, _seconds(start), title, paragraph) for kind, start, title, paragraph in rows]

    def speaker_counts(self, episodes: list[str]) -> dict[str, int]:
        """Named speaker → segments, over these episodes. A label ("Speaker 1", "Guest") is a different
        person in each episode, so over several it is counted per episode, as "Guest (E249)"."""
        if not episodes:
            return {}
        rows = self.db.execute(f"SELECT speaker, episode_id, count(*) FROM segments WHERE speaker IS NOT NULL AND "
                               f"episode_id IN ({','.join('?' * len(episodes))}) GROUP BY speaker, episode_id "
                               "ORDER BY min(idx)", episodes)
        counts: dict[str, int] = {}
        for speaker, episode_id, n in rows:
            key = f"{speaker} ({episode_id})" if len(episodes) > 1 and voices.generic(speaker) else speaker
            counts[key] = counts.get(key, 0) + n
        return counts

    def scope(self, episode: str | None = None, show: str | None = None) -> list[str]:
        """The ids of one episode (by id or the start of one), of a show's episodes, or (neither) of all."""
        if episode is not None and not episode.strip() or show is not None and not show.strip():
            raise ValueError("an empty --episode or --show names nothing: leave it out to mean everywhere")
        if episode:
            return [self.episode(episode).id]
        if show:
            found = self.episodes_of_show(show)
            if not found:
                raise LookupError(f"no show {show!r}")
            return found
        return [e.id for e in self.episodes()]

    def episodes_of_show(self, show: str) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT id FROM episodes WHERE show = ? COLLATE NOCASE ORDER BY added_at",
                                                  (show,))]

    def set_media(self, episode_id: str, media: str | None) -> None:
        """Name the audio an episode plays from (a path or an http(s) URL)."""
        if self.db.execute("UPDATE episodes SET media = ? WHERE id = ?", (media, episode_id)).rowcount == 0:
            raise LookupError(f"no episode '{episode_id}'")

    def add(self, episode: Episode, transcript: Transcript, replace: bool = False,
            chapters: list[tuple[float, str]] | None = None) -> AddResult:
        """Store ``episode`` with the transcript's segments (and its published ``chapters``: start seconds
        and title), unless it is already here.

        ``episode.content_hash`` must be set; ``episode.id`` is a wish and is made unique.
        """
        chapters = _well_formed(episode, transcript, chapters)
        fp = dedup.fingerprint(" ".join(s.text for s in transcript.segments))
        with self.transaction():
            same = self.by_hash(episode.content_hash)
            if same:
                return AddResult("unchanged", same)
            previous = self.by_path(episode.path) if episode.path else None
            if previous and not replace:
                return AddResult("changed", previous)
            if previous:
                episode.id = previous.id
                self.db.execute("DELETE FROM segments WHERE episode_id = ?", (previous.id,))
            else:
                episode.id = self._unique_id(episode.id)
            duplicate, similarity = self._near_duplicate(fp, exclude=episode.id)
            episode.duplicate_of = duplicate.id if duplicate else None
            episode.similarity = round(similarity, 3) if duplicate else None
            episode.added_at = _now()
            found = voice_prints.recognise(self.db, episode, transcript)
            self._write_episode(episode, fp, update=bool(previous))
            self._write_segments(episode.id, transcript.segments)
            voice_prints.write(self.db, episode.id, transcript, found)
            if chapters is not None or previous:
                self.set_chapters(episode.id, chapters or [], "published")
            episode.segment_count = len(transcript.segments)
        return AddResult("replaced" if previous else "added", episode, duplicate, found)

    def remove(self, episode_id: str, also: Callable[[], T] | None = None) -> T | None:
        """Delete an episode; one from a feed is remembered as removed, and its downloaded media deleted.

        ``also()`` runs inside the same transaction (the index forgets the episode's passages there);
        its result is returned.
        """
        result = None
        with self.transaction():
            if also:
                result = also()
            row = self.db.execute("SELECT feed, guid, media FROM episodes WHERE id = ?", (episode_id,)).fetchone()
            self.db.execute("DELETE FROM episodes WHERE id = ?", (episode_id,))
            if row and row[1]:
                feed_items.removed(self.db, *row[:2])
        media = Path(row[2]) if row and row[2] else None
        if media and media.parent == self.media_dir:
            media.unlink(missing_ok=True)
        return result

    def _unique_id(self, wish: str) -> str:
        base = slugify(wish) or "episode"
        taken = {row[0] for row in self.db.execute("SELECT id FROM episodes WHERE id = ? OR id LIKE ?", (base, base + "-%"))}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _near_duplicate(self, fp: dedup.Fingerprint, exclude: str) -> tuple[Episode | None, float]:
        stored = self.db.execute(
            "SELECT id, minhash, shingles FROM episodes WHERE id != ? AND minhash IS NOT NULL", (exclude,)
        ).fetchall()
        best, best_score = None, 0.0
        for candidate in dedup.candidates(fp, stored):
            text = " ".join(s.text for s in self.segments(candidate))
            score = dedup.containment(fp.shingles, dedup.shingle_hashes(text))
            if score > best_score:
                best, best_score = candidate, score
        if best and best_score >= dedup.THRESHOLD:
            return self.episode(best), best_score
        return None, best_score

    def _write_episode(self, e: Episode, fp: dedup.Fingerprint, update: bool) -> None:
        values = {
            "id": e.id, "title": e.title, "show": e.show, "date": e.date, "source": e.source,
            "media": e.media, "duration": e.duration, "speakers": json.dumps(e.speakers),
            "format": e.format, "language": e.language, "content_hash": e.content_hash, "path": e.path,
            "duplicate_of": e.duplicate_of, "similarity": e.similarity, "minhash": fp.signature,
            "shingles": len(fp.shingles), "added_at": e.added_at, "feed": e.feed, "guid": e.guid,
        }
        if update:
            assignments = ", ".join(f"{k} = :{k}" for k in values if k != "id")
            self.db.execute(f"UPDATE episodes SET {assignments} WHERE id = :id", values)
        else:
            names = ", ".join(values)
            self.db.execute(f"INSERT INTO episodes ({names}) VALUES ({', '.join(':' + k for k in values)})", values)

    def _write_segments(self, episode_id: str, segments: list[Segment]) -> None:
        self.db.executemany(
            "INSERT INTO segments (episode_id, idx, start_ms, end_ms, speaker, text, words, turn, offset) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (episode_id, i, _ms(s.start), _ms(s.end), s.speaker, s.text, _words_json(s.words), s.turn, s.offset)
                for i, s in enumerate(segments)
            ),
        )


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch a store to WAL. Processes opening a new store at once contend for the switch, and SQLite
    can answer "database is locked" there without waiting: try again, within the usual busy time."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def _seconds(value: int | None) -> float | None:
    return None if value is None else value / 1000


def _words_json(words: list[Word] | None) -> str | None:
    if not words:
        return None
    return json.dumps([[_ms(w.start), _ms(w.end), w.text, w.probability] for w in words])


def _segment(row) -> Segment:
    start, end, speaker, text, words, turn, offset = row
    parsed = None
    if words:
        parsed = [Word(_seconds(a), _seconds(b), t, p) for a, b, t, p in json.loads(words)]
    return Segment(_seconds(start), _seconds(end), speaker, text, parsed, turn, offset)


def _episode(row) -> Episode:
    (id_, title, show, date, source, media, duration, speakers, fmt, language,
     content_hash, path, duplicate_of, similarity, added_at, feed, guid, count) = row
    return Episode(
        id=id_, title=title, show=show, date=date, source=source, media=media, duration=duration,
        speakers=json.loads(speakers), format=fmt, language=language, content_hash=content_hash,
        path=path, segment_count=count, duplicate_of=duplicate_of, similarity=similarity, added_at=added_at,
        feed=feed, guid=guid,
    )
