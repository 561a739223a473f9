"""What a folder says about the files in it: a manifest.toml, a metadata.json, or the .info.json file
yt-dlp writes beside each download (--write-info-json): titles, shows, speakers, dates, sources and
published chapters. In that order of precedence; options given on the command line come first.
A Podcasting 2.0 chapters file beside a transcript ('E249.chapters.json') gives its chapters.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInput
from .formats import SUBTITLES
from .timecode import check_date

NAME = "manifest.toml"
METADATA = "metadata.json"
INFO_SUFFIX = ".info.json"
CHAPTERS_SUFFIX = ".chapters.json"
SIDECARS = {NAME, METADATA, "*" + INFO_SUFFIX, "*" + CHAPTERS_SUFFIX}  # read for what they say, never imported as transcripts
MAX_SIDECAR_BYTES = 20 << 20  # yt-dlp's info files list every format: a few MB
FIELDS = ("id", "title", "show", "date", "source", "media")
MAX_TITLE = 300  # characters of a title or show name, as `podkb edit` allows


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
    chapters: list[tuple[float, str]] = field(default_factory=list)  # published: (start seconds, title)
    problems: list[str] = field(default_factory=list)  # what a side file got wrong: warnings, never errors

    def over(self, other: "EpisodeInfo") -> "EpisodeInfo":
        """These values where set, else ``other``'s."""
        return EpisodeInfo(
            problems=self.problems + other.problems,
            id=self.id or other.id,
            title=self.title or other.title,
            show=self.show or other.show,
            date=self.date or other.date,
            source=self.source or other.source,
            speakers=self.speakers or other.speakers,
            media=self.media or other.media,
            chapters=self.chapters or other.chapters,
        )


def load(folder: Path) -> dict[str, EpisodeInfo]:
    """File name → EpisodeInfo from the folder's manifest.toml, over its metadata.json; {} without either."""
    found = _metadata(folder / METADATA)
    for name, info in _manifest(folder / NAME).items():
        found[name] = info.over(found.get(name, EpisodeInfo()))
    return found


def beside(path: Path) -> EpisodeInfo:
    """What yt-dlp's .info.json beside a transcript says: for 'Talk [abc].en.vtt' (or 'E249.mp3.vtt'),
    'Talk [abc].info.json'. An unreadable one is BadInput."""
    found = EpisodeInfo()
    stems = list(dict.fromkeys([base_name(path), path.stem, path.name]))
    for stem in stems:
        info = path.with_name(stem + INFO_SUFFIX)
        if info.is_file():
            found = _info_json(info)
            break
    for stem in stems:
        chapters = path.with_name(stem + CHAPTERS_SUFFIX)
        if chapters.is_file():
            found.chapters = chapters_json(_read_json(chapters), chapters.name)
            break
    return found


MAX_CHAPTERS = 2000


def chapters_json(data, where: str = "") -> list[tuple[float, str]]:
    """(start seconds, title) of a Podcasting 2.0 chapters file ({"version", "chapters": [{"startTime",
    "title", "toc"}]}), in time order; chapters marked "toc": false are left out, as players do."""
    where = f"{where}: " if where else ""
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), list):
        raise BadInput(f"{where}not a chapters file (expected {{\"chapters\": [...]}})")
    found = []
    for chapter in data["chapters"][:MAX_CHAPTERS]:
        if not isinstance(chapter, dict) or chapter.get("toc") is False:
            continue
        start, title = chapter.get("startTime"), chapter.get("title")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0 <= start < 1e7:
            continue
        title = " ".join(title.split())[:200] if isinstance(title, str) else ""
        found.append((float(start), title or "Untitled"))
    if data["chapters"] and not found:
        raise BadInput(f"{where}no chapter has a startTime")
    return sorted(found)


_MEDIA = re.compile(r"\.(?:mp3|m4a|mp4|wav|ogg|oga|opus|flac|webm|mkv|aac|m4v)$", re.IGNORECASE)
_LANGUAGE = re.compile(r"\.[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")


def base_name(path: Path) -> str:
    """A transcript's name without its own suffix, a media suffix or a subtitle language: 'E249.mp3.vtt'
    → 'E249', 'Talk [abc].en.vtt' → 'Talk [abc]'."""
    stem = path.stem
    if path.suffix.lower() in SUBTITLES:
        stem = _LANGUAGE.sub("", stem) if _MEDIA.search(_LANGUAGE.sub("", stem)) or "." in stem else stem
    return _MEDIA.sub("", stem) or path.stem


def _read_json(path: Path):
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise BadInput(f"{path.name}: too large for metadata (over {MAX_SIDECAR_BYTES >> 20} MB)")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadInput(f"{path.name}: unreadable: {str(error)[:200]}") from None


def _info_json(path: Path) -> EpisodeInfo:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise BadInput(f"{path.name}: not yt-dlp info (expected an object)")
    text = lambda key: data[key].strip() if isinstance(data.get(key), str) and data[key].strip() else None  # noqa: E731
    day = text("upload_date") or text("release_date")
    date = f"{day[:4]}-{day[4:6]}-{day[6:8]}" if day and re.fullmatch(r"[0-9]{8}", day) else None
    chapters = [(float(c["start_time"]), " ".join(str(c["title"]).split())[:200]) for c in data.get("chapters") or []
                if isinstance(c, dict) and isinstance(c.get("start_time"), (int, float))
                and not isinstance(c["start_time"], bool) and 0 <= c["start_time"] < 1e7 and c.get("title")]
    return checked(EpisodeInfo(title=text("title"), show=text("series") or text("channel") or text("uploader"),
                               date=date, source=text("webpage_url"), chapters=chapters), path.name)


def checked(info: EpisodeInfo, where: str) -> EpisodeInfo:
    """A side file's info with what can't be stored left out, each with a warning: a date that is not a
    real one (``20211301``), a title or show longer than MAX_TITLE (cut, with an ellipsis)."""
    if info.date:
        try:
            check_date(info.date)
        except ValueError as error:
            info.problems.append(f"{where}: date {error}; the episode is stored without it")
            info.date = None
    for name in ("title", "show"):
        value = getattr(info, name)
        if value and len(value) > MAX_TITLE:
            setattr(info, name, value[:MAX_TITLE - 1].rstrip() + "…")
            info.problems.append(f"{where}: the {name} has {len(value):,} characters; cut to {MAX_TITLE}")
    return info


def _metadata(path: Path) -> dict[str, EpisodeInfo]:
    """A metadata.json: a list of {"file", "title", ...}, {"episodes": [...]}, or {file: {...}}."""
    if not path.is_file():
        return {}
    data = _read_json(path)
    entries = data.get("episodes", data) if isinstance(data, dict) else data
    if isinstance(entries, dict):
        entries = [{"file": name, **value} for name, value in entries.items() if isinstance(value, dict)]
    if not isinstance(entries, list):
        raise BadInput(f"{METADATA}: expected a list of episodes, each with a 'file'")
    return _entries(entries, METADATA)


def _manifest(path: Path) -> dict[str, EpisodeInfo]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadInput(f"unreadable manifest: {error}") from None
    entries = data.get("episode", [])
    if not isinstance(entries, list):
        raise BadInput("manifest: 'episode' must be an array of tables ([[episode]])")
    return _entries(entries, "manifest")


def _entries(entries: list, where: str) -> dict[str, EpisodeInfo]:
    found = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise BadInput(f"{where}: episode {n} has no 'file'")
        speakers = entry.get("speakers", [])
        if not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers):
            raise BadInput(f"{where}: episode {n}: 'speakers' must be a list of names")
        values = {key: entry.get(key) for key in FIELDS}
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise BadInput(f"{where}: episode {n}: '{key}' must be a string")
        found[entry["file"]] = checked(EpisodeInfo(speakers=speakers, **values), f"{where}: episode {n}")
    return found
