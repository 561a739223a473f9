r"""A collection's quotes as files: one function per format, each returning the file's text.

Transcript text is data, shown as said in every target. What each target would make live of it, and how
it is kept inert (each tested in tests/test_exports.py):

- Markdown (CommonMark + GFM): links, images, HTML, emphasis, code, math, headings, lists, tables,
  strikethrough; GFM's bare ``www.`` and e-mail autolinks. Every such character is backslash-escaped
  (``md``), ``www.`` as ``www\.``, ``@`` as ``\@``.
- Obsidian: all of Markdown's, and its own: ``%%comments%%``, ``==highlights==``, ``[[links]]``,
  ``![[embeds]]``, ``#tags``, ``^block-ids``, ``$math$``: ``%``, ``=``, ``^`` are escaped too.
- Anki (``#html:false``, so no HTML): its media tags ``[sound:NAME]`` and ``[anki:tts]`` play or speak
  from the user's collection; a quote's ``[sound:`` is broken with a zero-width space.
- CSV: a spreadsheet runs a cell that starts with ``= + - @`` as a formula; such a cell gets a leading
  ``'`` (OWASP). Readwise and Anki import their CSV into an app, where a ``'`` would show: there a
  zero-width space guards the cell instead, invisible in the app, still text to a spreadsheet.
- JSON: data, not markup.

``clips`` (optional, one per quote, None where a quote has none) are the quotes' audio clips
(podkb/clips.py) by their path relative to the exported file, ``clips/NAME.m4a``: Markdown links
them, Obsidian embeds them, Anki plays them (``[sound:NAME.m4a]``), CSV and JSON name them.
"""
from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence


from .. import Quote, clips_for

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$:&@%=^])")
_WWW = re.compile(r"(?i)\b(www)\.")   # GFM links a bare www.example.com
ZWSP = "\u200b"  # a zero-width space: breaks a tag or guards a cell without showing
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), @SUM, ...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=])")
CLIPS_DIR = "clips"  # beside the exported file
Clips = Sequence["str | None"]


def md(text: str | None) -> str:
    """Text that Markdown (and Obsidian) shows as written: lines joined, every character that could
    start a link, an image, HTML, emphasis, code, math, a tag or a list escaped."""
    escaped = _WWW.sub(r"\1\\.", _MD_SPECIAL.sub(r"\\\1", " ".join((text or "").split())))
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", escaped)


def _cite_md(quote: Quote) -> str:
    return quote.cited.format(md, (lambda when: f"[{when}](<{_url(quote.link)}>)") if quote.link else str)


def _url(link: str) -> str:
    """A link that can't break out of Markdown's <...> destination."""
    return re.sub(r"[<>\s]", lambda m: f"%{ord(m.group()):02X}", link)


def _each(quotes: list[Quote], clips: Clips | None):
    return zip(quotes, clips if clips is not None else [None] * len(quotes))


def to_markdown(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    """A heading, then each quote as a blockquote followed by its citation with a timestamped link."""
    out = [f"# {md(name)}", ""]
    for quote, clip in _each(quotes, clips):
        out.append(f"> {md(quote.text)}")
        out.append(">")
        out.append(f"> — {_cite_md(quote)}")
        if clip:
            out += [">", f"> [▶ clip](<{_url(clip)}>)"]
        if quote.note:
            out += ["", md(quote.note)]
        tags = _tags(quote.tags)
        if tags:
            out += ["", " ".join(f"\\#{md(tag)}" for tag in tags)]
        out.append("")
    return "\n".join(out)


def to_obsidian(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    """Obsidian Markdown: YAML front matter, then each quote as a quote callout."""
    tags = sorted({tag for quote in quotes for tag in _tags(quote.tags)})
    front = ["---", f"title: {json.dumps(name, ensure_ascii=False)}", f"tags: {json.dumps(tags, ensure_ascii=False)}",
             f"quotes: {len(quotes)}", "source: podkb", "---", ""]
    out = front + [f"# {md(name)}", ""]
    for quote, clip in _each(quotes, clips):
        out.append(f"> [!quote] {_cite_md(quote)}")
        out.append(f"> {md(quote.text)}")
        if clip:
            out.append(f"> ![[{PurePosixPath(clip).name}]]")  # Obsidian finds an embed by its name in the vault
        if quote.note:
            out.append(f"> *{md(quote.note)}*")
        tags = _tags(quote.tags)
        if tags:
            out.append("> " + " ".join(f"#{tag}" for tag in tags))
        out.append("")
    return "\n".join(out)


def _tag(tag: str) -> str:
    """A tag as every format writes it, the same in each: its leading '#'s off, spaces made '-', and only
    letters, digits, '_', '-' and '/' kept ("deep work" and "#deep work" are deep-work everywhere)."""
    return re.sub(r"[^\w/-]", "", re.sub(r"\s+", "-", tag.strip().lstrip("#").strip()))


def _tags(tags: list[str]) -> list[str]:
    return [t for t in dict.fromkeys(_tag(tag) for tag in tags) if t]


def cell(value, guard: str = "'"):
    """A CSV cell that a spreadsheet shows as text: ``guard`` (a ', OWASP's) before a formula's first character."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return guard + value
    return value


def _csv(rows: list[dict], columns: list[str], header: bool = True, guard: str = "'") -> str:
    """Rows as CSV, every text cell neutralised; numbers stay numbers."""
    safe_rows = [{key: cell(value, guard) for key, value in row.items()} for row in rows]
    import pandas as pd  # on export only: it costs a command's start 0.2 s

    return pd.DataFrame(safe_rows, columns=columns).to_csv(index=False, header=header)


def _rows(quotes: list[Quote], clips: Clips | None = None) -> list[dict]:
    return [{
        "text": q.text, "episode_id": q.episode_id, "episode_title": q.episode_title, "show": q.show or "",
        "speaker": q.speaker or "", "date": q.date or "", "start": q.start, "end": q.end,
        "timestamp": q.cited.moment, "link": q.link or "", "note": q.note, "tags": " ".join(_tags(q.tags)),
        "added_at": q.added_at or "", "clip": clip or "",
    } for q, clip in _each(quotes, clips)]


def to_csv(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    columns = ["text", "episode_id", "episode_title", "show", "speaker", "date", "start", "end", "timestamp",
               "link", "note", "tags", "added_at"] + (["clip"] if clips is not None else [])
    return _csv(_rows(quotes, clips), columns)


def to_json(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    rows = [q.to_dict() | ({"clip": clip} if clips is not None else {}) for q, clip in _each(quotes, clips)]
    return json.dumps({"collection": name, "quotes": rows}, indent=2, ensure_ascii=False)


def to_readwise(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    """Readwise's CSV import: Highlight,Title,Author,URL,Note,Location,Date; the location is in seconds."""
    rows = [{
        "Highlight": q.text,
        "Title": q.episode_title,
        "Author": q.speaker or q.show or "",
        "URL": q.link or "",
        # Readwise reads ".tag" at the start of a note as a tag.
        "Note": " ".join([*(f".{tag}" for tag in _tags(q.tags)), q.note]).strip(),
        "Location": int(q.start) if q.start is not None else "",
        "Date": (q.added_at or "").replace("T", " ")[:19],
    } for q in quotes]
    columns = ["Highlight", "Title", "Author", "URL", "Note", "Location", "Date"]
    return _csv(rows, columns, guard=ZWSP)  # imported into Readwise, where a ' would show


def to_anki(name: str, quotes: list[Quote], clips: Clips | None = None) -> str:
    """Anki's text import: header lines, then Front (the quote), Back (citation, link, note, and the clip
    as Anki's ``[sound:NAME]``, played from the collection.media folder), Tags."""
    rows = [{
        "Front": _anki(q.text),
        "Back": _anki(" — ".join(part for part in (q.citation, q.link or "", q.note) if part))
                + (f" [sound:{PurePosixPath(clip).name}]" if clip else ""),
        "Tags": " ".join(_tags(["podkb", *q.tags])),
    } for q, clip in _each(quotes, clips)]
    header = "#separator:Comma\n#html:false\n#columns:Front,Back,Tags\n#tags column:3\n"
    body = _csv(rows, ["Front", "Back", "Tags"], header=False, guard=ZWSP)  # imported into Anki, where a ' would show
    return header + body


def _anki(text: str) -> str:
    """Text with Anki's media tags ([sound:NAME] plays a file of the collection, [anki:tts] speaks) broken."""
    return re.sub(r"(?i)\[(?=(sound|anki):)", "[" + ZWSP, text)


@dataclass(frozen=True)
class Format:
    name: str
    write: Callable[..., str]   # (name, quotes, clips=None) -> the file's text
    suffix: str
    mime: str
    label: str
    clips: bool = True          # whether the format can carry the quotes' audio clips


FORMATS = {f.name: f for f in (
    Format("markdown", to_markdown, ".md", "text/markdown", "Markdown"),
    Format("csv", to_csv, ".csv", "text/csv", "CSV"),
    Format("json", to_json, ".json", "application/json", "JSON"),
    Format("readwise", to_readwise, ".readwise.csv", "text/csv", "Readwise CSV", clips=False),
    Format("anki", to_anki, ".anki.csv", "text/csv", "Anki CSV"),
    Format("obsidian", to_obsidian, ".obsidian.md", "text/markdown", "Obsidian Markdown"),
)}
WITH_CLIPS = [name for name, f in FORMATS.items() if f.clips]


def export(name: str, quotes: list[Quote], format: str, clips: Clips | None = None) -> str:
    return FORMATS[format].write(name, quotes, clips)


@dataclass
class ClipsExport:
    """An export with its clips: the file's text, the clip files written, and a warning per recording
    that gave none."""
    text: str
    files: list[Path]
    warnings: list[str]


def export_with_clips(name: str, quotes: list[Quote], format: str, media: dict[str, str | None],
                      folder: str | Path) -> ClipsExport:
    """Cut the quotes' clips into ``folder``/clips (``media``: episode id → its recording) and export
    ``quotes`` referring to them; the export file itself is the caller's to write, in ``folder``."""
    if not FORMATS[format].clips:
        raise ValueError(f"{FORMATS[format].label} can't carry clips; try one of {', '.join(WITH_CLIPS)}")
    files, warnings = clips_for(quotes, media, Path(folder) / CLIPS_DIR)
    names = [f"{CLIPS_DIR}/{path.name}" if path else None for path in files]
    return ClipsExport(export(name, quotes, format, names), [path for path in files if path], warnings)


def zip_with_clips(name: str, quotes: list[Quote], format: str,
                   media: dict[str, str | None]) -> tuple[bytes, list[str]]:
    """The export and its clips/ folder as one zip (the web app's download): (its bytes, warnings)."""
    with tempfile.TemporaryDirectory(prefix="podkb-clips-") as folder:
        done = export_with_clips(name, quotes, format, media, folder)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(file_name(name, format), done.text)
            for path in done.files:
                archive.write(path, f"{CLIPS_DIR}/{path.name}", compress_type=zipfile.ZIP_STORED)  # compressed already
    return out.getvalue(), done.warnings


def file_name(name: str, format: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "collection"
    return stem[:60] + FORMATS[format].suffix


def zip_name(name: str, format: str) -> str:
    return file_name(name, format) + ".zip"


__all__ = ["CLIPS_DIR", "FORMATS", "WITH_CLIPS", "export", "export_with_clips", "file_name", "md", "zip_name",
           "zip_with_clips"]
