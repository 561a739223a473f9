"""The feeds a knowledge base follows and the items it has taken from them: the ``feeds``, ``feed_items``
and ``removed_items`` tables, and every statement on them.

An item is known by its feed and GUID, by its enclosure URL (the same audio under another GUID), and by
the content of what it brought; an episode from a feed that the user removes is remembered as removed,
so following the feed again does not bring it back (feeds.py decides; this module keeps the rows).
Functions take the store's ``sqlite3.Connection``, as ingest/store.py's ``Library`` holds it.
"""
from __future__ import annotations

import sqlite3

from .decode import text
from .timecode import utc_now


def follow(db: sqlite3.Connection, url: str, title: str | None) -> None:
    """Remember a feed (or note that it was checked again)."""
    now = utc_now()
    db.execute(
        "INSERT INTO feeds (url, title, added_at, checked_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(url) DO UPDATE SET title = coalesce(excluded.title, title), checked_at = excluded.checked_at",
        (text(url), text(title), now, now),
    )


def followed(db: sqlite3.Connection) -> list[tuple[str, str | None, str | None]]:
    """(url, title, last checked) of every feed followed, oldest first."""
    return db.execute("SELECT url, title, checked_at FROM feeds ORDER BY added_at, rowid").fetchall()


def unfollow(db: sqlite3.Connection, url: str) -> bool:
    return db.execute("DELETE FROM feeds WHERE url = ?", (text(url),)).rowcount > 0


def record(db: sqlite3.Connection, feed: str, guid: str, enclosure: str | None, content_hash: str | None,
           episode_id: str | None) -> None:
    """Remember a feed item whose content is known (stored as ``episode_id``, or already there)."""
    db.execute("INSERT OR REPLACE INTO feed_items (feed, guid, enclosure, content_hash, episode_id) "
               "VALUES (?, ?, ?, ?, ?)", (text(feed), text(guid), text(enclosure), content_hash, episode_id))


def seen(db: sqlite3.Connection, feed: str, guid: str) -> bool:
    """Whether this feed item was taken in before (stored, already there, or removed by the user)."""
    return db.execute(
        "SELECT 1 FROM feed_items WHERE feed = ?1 AND guid = ?2 UNION ALL "
        "SELECT 1 FROM episodes WHERE feed = ?1 AND guid = ?2 UNION ALL "
        "SELECT 1 FROM removed_items WHERE feed = ?1 AND guid = ?2 LIMIT 1", (text(feed), text(guid))).fetchone() \
        is not None


def by_enclosure(db: sqlite3.Connection, url: str) -> tuple[str | None, str | None] | None:
    """A feed item seen before with this enclosure URL, under any feed or GUID: (its episode's id, or None
    if the user removed it; its content hash), or None if no item had it."""
    row = db.execute("SELECT episode_id, content_hash FROM feed_items WHERE enclosure = ? "
                     "ORDER BY episode_id IS NULL LIMIT 1", (text(url),)).fetchone()
    if row is None:
        row = db.execute("SELECT id, content_hash FROM episodes WHERE media = ? LIMIT 1", (text(url),)).fetchone()
    return None if row is None else (row[0], row[1])


def removed(db: sqlite3.Connection, feed: str, guid: str) -> None:
    """Remember that the user removed the episode of this feed item: following the feed again skips it."""
    db.execute("INSERT OR IGNORE INTO removed_items (feed, guid) VALUES (?, ?)", (feed, guid))
