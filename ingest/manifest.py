"""A folder's manifest.toml: title, show, speakers, date and source for the files beside it."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInput

NAME = "manifest.toml"


@dataclass
class EpisodeInfo:
    """What a user or a manifest says about an episode; None means 'not said'."""

    id: str | None = None
    title: str | None = None
    show: str | None = None
    date: str | None = None
    source: str | None = None
    speakers: list[str] = field(default_factory=list)
    media: str | None = None  # the episode's audio (a path or URL), for playback from a transcript

    def over(self, other: "EpisodeInfo") -> "EpisodeInfo":
        """These values where set, else ``other``'s."""
        return EpisodeInfo(
            id=self.id or other.id,
            title=self.title or other.title,
            show=self.show or other.show,
            date=self.date or other.date,
            source=self.source or other.source,
            speakers=self.speakers or other.speakers,
            media=self.media or other.media,
        )


def load(folder: Path) -> dict[str, EpisodeInfo]:
    """File name → EpisodeInfo for the manifest in ``folder``; {} when there is none."""
    path = folder / NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadInput(f"unreadable manifest: {error}") from None
    entries = data.get("episode", [])
    if not isinstance(entries, list):
        raise BadInput("manifest: 'episode' must be an array of tables ([[episode]])")
    found = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise BadInput(f"manifest: episode {n} has no 'file'")
        speakers = entry.get("speakers", [])
        if not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers):
            raise BadInput(f"manifest: episode {n}: 'speakers' must be a list of names")
        values = {key: entry.get(key) for key in ("id", "title", "show", "date", "source", "media")}
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise BadInput(f"manifest: episode {n}: '{key}' must be a string")
        found[entry["file"]] = EpisodeInfo(speakers=speakers, **values)
    return found
