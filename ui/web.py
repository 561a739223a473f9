"""What the web app needs besides Streamlit: escaped HTML for hits and context, and safe upload names.

Everything that came from a transcript, a feed or a user goes through ``html.escape`` here, and
links are only ever http(s) URLs, so a transcript can't inject markup, script or a javascript: link.
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..index import Hit
from ..ingest import Segment, format_timestamp

from .quotes import web_link

UPLOAD_DIR = "uploads"
MAX_UPLOAD_MB = 500
EXAMPLES = (
    "how to avoid burnout",
    "how many hours to become an expert",
    "how to learn deep learning as a beginner",
    "why write a blog about what you learn",
)

STYLE = """<style>
.podkb-hit { line-height: 1.55; }
.podkb-hit .cite { font-size: 0.9rem; color: #555; margin-bottom: 0.3rem; }
.podkb-hit .cite b { color: #111; }
.podkb-hit .ts { font-family: ui-monospace, monospace; background: #eef3ff; padding: 0 0.3rem; border-radius: 4px; }
.podkb-hit mark { background: #fff2a8; padding: 0 0.1rem; }
.podkb-hit .also { font-size: 0.8rem; color: #777; margin-top: 0.3rem; }
.podkb-hit .asked { font-size: 0.9rem; color: #666; font-style: italic; margin-bottom: 0.3rem; }
.podkb-context p { margin: 0.2rem 0; }
.podkb-context .here { background: #fff8d6; }
.podkb-context .ts { font-family: ui-monospace, monospace; color: #666; }
</style>"""


def e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def clock(seconds: float | None) -> str:
    return format_timestamp(seconds) if seconds is not None else ""


def hit_html(n: int, hit: Hit) -> str:
    """A hit as HTML: its citation, the passage with the best sentence marked, and where else it is."""
    where = clock(hit.start) if hit.start is not None else (f"¶{hit.paragraph + 1}" if hit.paragraph is not None else "")
    parts = [f"<b>{n}. {e(hit.episode_title)}</b>"]
    parts += [e(part) for part in (hit.show, hit.speaker) if part]
    if where:
        parts.append(f'<span class="ts">{e(where)}</span>')
    text = " ".join(hit.text.split())
    highlight = " ".join((hit.highlight or "").split())
    at = text.find(highlight) if highlight else -1
    if at >= 0:
        body = f"{e(text[:at])}<mark>{e(highlight)}</mark>{e(text[at + len(highlight):])}"
    else:
        body = e(text)
    asked = f'<div class="asked">Asked: {e(" ".join(hit.question.split()))}</div>' if hit.question else ""
    also = ""
    if hit.also_in:
        others = ", ".join(f"{e(o.episode_title)}" + (f" at {e(clock(o.start))}" if o.start is not None else "")
                           for o in hit.also_in)
        also = f'<div class="also">Also in: {others}</div>'
    return f'<div class="podkb-hit"><div class="cite">{" · ".join(parts)}</div>{asked}<div>{body}</div>{also}</div>'


def point_html(n: int, point) -> str:
    """A key point: what was said, then who said it, where and when (a link to play it, when on the web)."""
    parts = [e(part) for part in (point.show, point.episode_title, point.speaker) if part]
    where = clock(point.start) if point.start is not None else (
        f"¶{point.paragraph + 1}" if point.paragraph is not None else "")
    if where:
        url = web_link(point.link, point.start) if point.link else None
        parts.append(f'<a class="ts" href="{e(url)}" target="_blank" rel="noopener noreferrer">{e(where)}</a>'
                     if url else f'<span class="ts">{e(where)}</span>')
    return (f'<div class="podkb-hit podkb-point"><div>{n}. “{e(" ".join(point.text.split()))}”</div>'
            f'<div class="cite">{" · ".join(parts)}</div></div>')


def context_html(segments: list[Segment], first: int, last: int, around: int = 3) -> str:
    """The hit's segments with ``around`` neighbours on each side; the hit's own segments marked."""
    lines = []
    for i in range(max(0, first - around), min(len(segments), last + around + 1)):
        s = segments[i]
        when = f'<span class="ts">[{e(clock(s.start))}]</span> ' if s.start is not None else ""
        who = f"<b>{e(s.speaker)}:</b> " if s.speaker else ""
        mark = ' class="here"' if first <= i <= last else ""
        lines.append(f"<p{mark}>{when}{who}{e(s.text)}</p>")
    return f'<div class="podkb-context">{"".join(lines)}</div>'


@dataclass
class Playback:
    """How a hit plays: ``audio`` (a local file or http(s) URL for st.audio) or a ``link`` to the source."""

    audio: str | None = None
    link: str | None = None
    start: int = 0


def playback(episode_media: str | None, episode_source: str | None, start: float | None) -> Playback:
    seconds = int(start or 0)
    if episode_media:
        if re.match(r"(?i)https?://", episode_media) or Path(episode_media).is_file():
            return Playback(audio=episode_media, start=seconds)
    return Playback(link=web_link(episode_source, start), start=seconds)


def safe_name(name: str, limit: int = 100) -> str:
    """An uploaded file's name reduced to a plain file name: no folders, no dots in front, no odd characters."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").split("/")[-1]
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[: limit - len(suffix) - 1].strip(" .") or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def save_upload(kb: Path, name: str, data: bytes) -> Path:
    """Keep an uploaded file inside the knowledge base's uploads folder (audio is played from there)."""
    if len(data) > MAX_UPLOAD_MB << 20:
        raise ValueError(f"too large (the limit is {MAX_UPLOAD_MB} MB)")
    folder = (Path(kb) / UPLOAD_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(name)
    if target.exists() and target.read_bytes() != data:
        digest = hashlib.sha256(data).hexdigest()[:8]
        target = folder / f"{target.stem}-{digest}{target.suffix}"
    if target.parent != folder:  # safe_name leaves no way out; this holds even under python -O
        raise ValueError("not a plain file name")
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)
    return target
