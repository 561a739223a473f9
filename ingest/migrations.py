"""Numbered schema migrations, recorded by name so a store opened by an older version upgrades itself.

Each stage of the pipeline keeps its own list (``ingest`` here, ``index`` for passages),
all recorded in one ``migrations`` table.
"""
from __future__ import annotations

import sqlite3
from typing import Callable

from .errors import StoreError
from .timecode import utc_now


class Migrations:
    def __init__(self, name: str):
        self.name = name
        self.steps: list[tuple[str, Callable[[sqlite3.Connection], None]]] = []

    def __call__(self, fn: Callable[[sqlite3.Connection], None]):
        self.steps.append((f"{self.name}:{fn.__name__}", fn))
        return fn

    def apply(self, db: sqlite3.Connection) -> list[str]:
        db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {row[0] for row in db.execute("SELECT name FROM migrations")}
        applied = []
        for name, fn in self.steps:
            if name in done:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                # Again, under the write lock: another process opening the same store may have applied it
                # since ``done`` was read.
                if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    db.execute("COMMIT")
                    continue
                fn(db)
                db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, utc_now()))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            applied.append(name)
        return applied

    def require(self, db: sqlite3.Connection, where) -> None:
        """Refuse a store that lacks some of these migrations: it was not opened through the knowledge base."""
        done = set(applied(db))
        missing = [name for name, _ in self.steps if name not in done]
        if missing:
            raise StoreError(f"{where}: the store lacks {', '.join(missing)}; open it with podkb.KnowledgeBase, "
                             "which applies every migration")


def applied(db: sqlite3.Connection) -> list[str]:
    """The names of the migrations applied to a store ('ingest:m001_...'), every stage's."""
    return [row[0] for row in db.execute("SELECT name FROM migrations")]


migration = Migrations("ingest")


@migration
def m001_create_episodes_and_segments(db):
    db.execute(
        """CREATE TABLE episodes (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            show TEXT,
            date TEXT,
            source TEXT,
            media TEXT,
            duration REAL,
            speakers TEXT NOT NULL DEFAULT '[]',
            format TEXT,
            language TEXT,
            content_hash TEXT NOT NULL UNIQUE,
            path TEXT,
            duplicate_of TEXT REFERENCES episodes(id) ON DELETE SET NULL,
            similarity REAL,
            minhash BLOB,
            shingles INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE segments (
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start_ms INTEGER,
            end_ms INTEGER,
            speaker TEXT,
            text TEXT NOT NULL,
            words TEXT,
            turn INTEGER NOT NULL DEFAULT 0,
            offset INTEGER,
            PRIMARY KEY (episode_id, idx)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX episodes_path ON episodes(path)")
    db.execute("CREATE INDEX episodes_duplicate_of ON episodes(duplicate_of)")


@migration
def m002_feeds_and_guids(db):
    """Episodes from a feed carry the feed's URL and the item's GUID, their stable key."""
    db.execute("ALTER TABLE episodes ADD COLUMN feed TEXT")
    db.execute("ALTER TABLE episodes ADD COLUMN guid TEXT")
    db.execute("CREATE UNIQUE INDEX episodes_feed_guid ON episodes(feed, guid) WHERE guid IS NOT NULL")
    db.execute(
        """CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            title TEXT,
            added_at TEXT NOT NULL,
            checked_at TEXT
        )"""
    )
    # Feed items whose episode the user removed: a later run must not bring them back.
    db.execute("CREATE TABLE removed_items (feed TEXT NOT NULL, guid TEXT NOT NULL, PRIMARY KEY (feed, guid))")


@migration
def m003_feed_items(db):
    """Every feed item podkb has taken in, under each feed URL and GUID it was seen with, and its enclosure
    and content: an item is recorded as soon as its content is known, so no later run fetches it again,
    whatever GUID or feed URL it comes back under."""
    db.execute(
        """CREATE TABLE feed_items (
            feed TEXT NOT NULL,
            guid TEXT NOT NULL,
            enclosure TEXT,
            content_hash TEXT,
            episode_id TEXT,
            PRIMARY KEY (feed, guid)
        )"""
    )
    db.execute("CREATE INDEX feed_items_enclosure ON feed_items(enclosure)")
    db.execute("INSERT INTO feed_items (feed, guid, enclosure, content_hash, episode_id) "
               "SELECT feed, guid, CASE WHEN media LIKE 'http%' THEN media END, content_hash, id "
               "FROM episodes WHERE guid IS NOT NULL")


@migration
def m004_chapters(db):
    """An episode's chapters: the publisher's (a feed's <podcast:chapters>, yt-dlp's info), kept as given,
    and those podkb finds where the talk changes subject (index/chapters.py)."""
    db.execute(
        """CREATE TABLE chapters (
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            source TEXT NOT NULL CHECK (source IN ('published', 'found')),
            idx INTEGER NOT NULL,
            start_ms INTEGER,
            paragraph INTEGER,
            title TEXT NOT NULL,
            PRIMARY KEY (episode_id, source, idx)
        ) WITHOUT ROWID"""
    )


@migration
def m005_voices(db):
    """A voice print per speaker per episode, for audio whose speakers podkb found (ingest/voices.py):
    ``speaker`` is the name its segments carry now; ``named_by`` says who gave it (NULL: the diarizer's
    label; 'user'; 'voice': matched to a known voice at ``score``); ``maybe`` is a name offered, not
    applied, at ``maybe_score``."""
    db.execute(
        """CREATE TABLE voices (
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            speaker TEXT NOT NULL,
            seconds REAL NOT NULL,
            print BLOB NOT NULL,
            named_by TEXT CHECK (named_by IN ('user', 'voice')),
            score REAL,
            maybe TEXT,
            maybe_score REAL
        )"""
    )
    db.execute("CREATE INDEX voices_by_episode ON voices (episode_id, speaker)")


@migration
def m006_found_chapters_titled_again(db):
    """Chapters podkb found are titled by a clause of their own words now, not a list of keyphrases
    (index/chapters.py): forget the found ones, which are found and titled again from the stored sentence
    vectors when an episode's chapters are next asked for. Published chapters, and the ones a user edited
    (stored as published), stay."""
    db.execute("DELETE FROM chapters WHERE source = 'found'")
