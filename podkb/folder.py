"""The knowledge base folder: where it is, and its store opened with every stage's migrations applied."""
from __future__ import annotations

from pathlib import Path

from .index.schema import migration as index_migration
from .ingest import Library
from .ingest.errors import StoreError
from .ingest.migrations import migration as ingest_migration
from .ingest.settings import setting
from .quotes import migration as quotes_migration

APP_NAME = "podkb"
MIGRATIONS = (ingest_migration, index_migration, quotes_migration)  # in the order they build on each other


def home(option: str | Path | None = None) -> Path:
    """The knowledge base folder: ``option`` (the CLI's --kb), else $PODKB_HOME, else the user's app folder."""
    given = setting("home", str(option) if option else None)
    if given:
        return Path(given).expanduser()
    import click

    return Path(click.get_app_dir(APP_NAME))


def open_store(path: str | Path) -> Library:
    """A connection to the store in ``path`` (created if need be) with every migration applied."""
    library = Library(path)
    try:
        for migration in MIGRATIONS[1:]:
            migration.apply(library.db)
    except BaseException:
        library.close()
        raise
    return library


class NoKnowledgeBase(StoreError):
    """A command that only reads was pointed at a folder with no knowledge base in it (a mistyped --kb)."""

    def __init__(self, path: Path):
        super().__init__(f"no knowledge base at {path} (podkb add FILES creates one)")
        self.path = path


class NotIndexed(StoreError):
    """The episodes were stored but indexing them failed (they are indexed at the next search)."""

    def __init__(self, message: str, outcomes: list):
        super().__init__(message)
        self.outcomes = outcomes
