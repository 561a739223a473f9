"""What the web app needs besides Streamlit: escaped HTML for hits, points, transcripts and chapters,
links into the episode page, and safe upload names.

Everything that came from a transcript, a feed or a user goes through ``html.escape`` here, and
outside links are only ever http(s) URLs, so a transcript can't inject markup, script or a
javascript: link. Links inside the app are built here from ids and numbers, never from text.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from .. import Citation, Hit, Segment, format_timestamp, link, replacing, said_at

UPLOAD_DIR = "uploads"
MAX_UPLOAD_MB = 500
EXAMPLES = (  # for a knowledge base with no questions of its own to offer yet
    "how to avoid burnout",
    "how many hours to become an expert",
    "how to learn something new as a beginner",
    "why write about what you learn",
)

# Colours that read on Streamlit's light and dark themes alike: text inherits the theme's colour, and
# what is tinted is tinted with translucent colour. <mark> keeps dark text on its yellow.
STYLE = """<style>
.podkb-hit { line-height: 1.55; }
.st-key-examples button p { font-size: 0.85rem; }
@media (max-width: 640px) { .st-key-examples > :nth-child(n+3) { display: none; } }
.podkb-hit .cite { font-size: 0.9rem; opacity: 0.8; margin-bottom: 0.3rem; }
.podkb-hit .cite b { opacity: 1; }
.podkb-hit .cite a, .podkb-transcript a, .podkb-chapters a, .podkb-written a { color: inherit; text-decoration: none; }
.podkb-hit .cite a:hover, .podkb-transcript a:hover, .podkb-chapters a:hover { text-decoration: underline; }
.podkb-hit .ts, .podkb-transcript .ts, .podkb-chapters .ts, .podkb-written .ts {
  font-family: ui-monospace, monospace; background: rgba(90, 130, 255, 0.18); padding: 0 0.3rem; border-radius: 4px; }
.podkb-hit mark, .podkb-transcript mark { background: #ffe87a; color: #111; padding: 0 0.1rem; }
.podkb-hit .also { font-size: 0.8rem; opacity: 0.7; margin-top: 0.3rem; }
.podkb-hit .asked { font-size: 0.9rem; opacity: 0.75; font-style: italic; margin-bottom: 0.3rem; }
.podkb-hit .recurring { font-size: 0.75rem; opacity: 0.75; border: 1px solid currentColor; border-radius: 4px;
  padding: 0 0.3rem; margin-left: 0.3rem; }
.podkb-context p, .podkb-transcript p { margin: 0.2rem 0; }
.podkb-context .here, .podkb-transcript .here { background: rgba(255, 210, 0, 0.2); border-radius: 4px; }
.podkb-context .ts { font-family: ui-monospace, monospace; opacity: 0.7; }
.podkb-transcript .turn { margin-top: 0.7rem; }
.podkb-transcript .who { font-weight: 600; }
.podkb-chapters li { margin: 0.15rem 0; }
.podkb-transcript .playing { background: rgba(90, 200, 120, 0.25); border-radius: 4px; }
.podkb-written p { margin: 0 0 0.4rem 0; line-height: 1.6; }
.podkb-written a.cite-n { font-size: 0.8rem; vertical-align: super; color: rgb(70, 110, 230); }
.podkb-written .unverified { text-decoration: underline dotted rgba(220, 120, 0, 0.9); }
.podkb-written .flag { font-size: 0.8rem; color: rgb(200, 110, 0); }
.podkb-written ol { font-size: 0.85rem; opacity: 0.85; margin: 0.3rem 0 0 1.2rem; padding: 0; }
</style>"""

# On the episode page, with a recording: a line's or a chapter's time plays from there in the page's
# player (no reload), and the line being heard is marked (and kept in view when following). Our own
# code, run once a page; transcript text never reaches it except as escaped HTML with data-t times.
FOLLOW = """<script>
(() => {
  if (window.podkbFollow) return;
  window.podkbFollow = true;
  let last = null;
  document.addEventListener("timeupdate", (event) => {
    const audio = event.target;
    if (!(audio instanceof HTMLMediaElement)) return;
    let current = null;
    for (const line of document.querySelectorAll(".podkb-transcript p[data-t]")) {
      if (parseFloat(line.dataset.t) <= audio.currentTime + 0.25) current = line; else break;
    }
    if (current === last) return;
    if (last) last.classList.remove("playing");
    if (current) {
      current.classList.add("playing");
      if (!audio.paused && document.querySelector(".podkb-transcript[data-follow='1']"))
        current.scrollIntoView({block: "center", behavior: "smooth"});
    }
    last = current;
  }, true);
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".podkb-transcript a[data-t], .podkb-chapters a[data-t]");
    const audio = document.querySelector("audio");
    if (!link || !audio) return;
    event.preventDefault();
    audio.currentTime = parseFloat(link.dataset.t);
    audio.play().catch(() => {});
  }, true);
})();
</script>"""


def scroll_to(line: int, moment: str) -> str:
    """A script that brings transcript line ``line`` into view once per ``moment`` (episode and time),
    waiting for Streamlit to draw it; later runs of the same page (a search in it) leave the scroll be.
    Built from an int and an escaped JSON string only."""
    return ("<script>(() => {"
            f"const moment = {json.dumps(moment).replace('<', chr(92) + 'u003c')}, id = 's{int(line)}';"
            "if (window.podkbScrolled === moment) return; let tries = 0;"
            "const go = () => { const at = document.querySelector(`.podkb-transcript p#${id}`);"
            "if (at) { window.podkbScrolled = moment; at.scrollIntoView({block: 'center'}); return; }"
            "if (++tries < 100) setTimeout(go, 100); }; go(); })();</script>")


def e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def moment_url(episode_id: str, start: float | None = None, base: str = "") -> str:
    """The episode page at a moment: 'episode?episode=ID&t=SECONDS', relative to the app's pages (``base``:
    the app's own URL, ending in '/', for a link to send)."""
    query = {"episode": episode_id}
    if start is not None:
        query["t"] = str(int(start))
    return f"{base}episode?{urlencode(query)}"


def cite_html(cited: Citation, episode_id: str) -> str:
    """A citation as HTML: every part escaped, the moment a link into the episode page."""
    def moment(when: str) -> str:
        return (f'<a class="ts" href="{e(moment_url(episode_id, cited.start))}" target="_self" '
                f'title="Open the episode here">{e(when)}</a>')
    return cited.format(e, moment, sep=" · ")


def hit_html(n: int, hit: Hit) -> str:
    """A hit as HTML: its citation (the moment links into the episode page), the passage with the cited
    sentence marked, the question it answers, and where else it is."""
    parts = [f"<b>{n}.</b> {cite_html(hit.cited(), hit.episode_id)}"]
    if hit.recurring:
        parts.append('<span class="recurring" title="Said in many episodes of this show">sponsor read or intro</span>')
    text = hit.shown_text()
    highlight = " ".join((hit.highlight or "").split())
    at = text.find(highlight) if highlight else -1
    if at >= 0:
        body = f"{e(text[:at])}<mark>{e(highlight)}</mark>{e(text[at + len(highlight):])}"
    else:
        body = e(text)
    asked = f'<div class="asked">Asked: {e(" ".join(hit.question.split()))}</div>' if hit.question else ""
    also = ""
    if hit.also_in:
        others = ", ".join(f"{e(o.episode_title)}" + (f" at {e(format_timestamp(o.start, missing=''))}" if o.start is not None else "")
                           for o in hit.also_in)
        also = f'<div class="also">Also in: {others}</div>'
    return f'<div class="podkb-hit"><div class="cite">{" · ".join(parts)}</div>{asked}<div>{body}</div>{also}</div>'


def point_html(n: int, point) -> str:
    """A key point: what was said, then who said it, where and when (the moment opens the episode page)."""
    parts = [cite_html(point.cited, point.episode_id)]
    if point.link:  # the source at that moment
        parts.append(f'<a href="{e(point.link)}" target="_blank" rel="noopener noreferrer" title="Play at the source">▶</a>')
    return (f'<div class="podkb-hit podkb-point"><div>{n}. “{e(" ".join(point.text.split()))}”</div>'
            f'<div class="cite">{" · ".join(parts)}</div></div>')


def context_html(segments: list[Segment], first: int, last: int, around: int = 3) -> str:
    """The hit's segments with ``around`` neighbours on each side; the hit's own segments marked."""
    lines = []
    for i in range(max(0, first - around), min(len(segments), last + around + 1)):
        s = segments[i]
        when = f'<span class="ts">[{e(format_timestamp(s.start, missing=""))}]</span> ' if s.start is not None else ""
        who = f"<b>{e(s.speaker)}:</b> " if s.speaker else ""
        mark = ' class="here"' if first <= i <= last else ""
        lines.append(f"<p{mark}>{when}{who}{e(s.text)}</p>")
    return f'<div class="podkb-context">{"".join(lines)}</div>'


def transcript_html(episode_id: str, segments: list[Segment], first: int = 0, last: int | None = None,
                    here: int | None = None, words: list[str] = (), follow: bool = False) -> str:
    """Segments ``first``..``last`` as a transcript: each speaker's name once per turn, each line's time a
    link that plays the episode from there; segment ``here`` marked, ``words`` highlighted."""
    last = len(segments) - 1 if last is None else min(last, len(segments) - 1)
    out, turn = [], None
    pattern = re.compile("|".join(re.escape(w) for w in words if w), re.IGNORECASE) if any(words) else None
    for i in range(max(0, first), last + 1):
        s = segments[i]
        if s.turn != turn or i == first:
            turn = s.turn
            if s.speaker:
                out.append(f'<div class="turn"><span class="who">{e(s.speaker)}</span></div>')
        when = (f'<a class="ts" href="{e(moment_url(episode_id, s.start))}" target="_self" data-t="{s.start:g}">'
                f'{e(format_timestamp(s.start, missing=""))}</a> ' if s.start is not None else f'<span class="ts">{e(said_at(None, i))}</span> ')
        text = e(s.text)
        if pattern:
            text = pattern.sub(lambda m: f"<mark>{m.group()}</mark>", text)
        mark = ' class="here"' if i == here else ""
        at = f' data-t="{s.start:g}"' if s.start is not None else ""
        out.append(f'<p id="s{i}"{mark}{at}>{when}{text}</p>')
    return f'<div class="podkb-transcript" data-follow="{int(follow)}">{"".join(out)}</div>'


def chapters_html(episode_id: str, chapters) -> str:
    """An episode's chapters as a list; each one's time opens the episode page there."""
    items = []
    for chapter in chapters:
        if chapter.start is not None:
            when = (f'<a class="ts" href="{e(moment_url(episode_id, chapter.start))}" target="_self" '
                    f'data-t="{chapter.start:g}">{e(format_timestamp(chapter.start, missing=""))}</a>')
        else:
            when = f'<span class="ts">{e(said_at(None, chapter.paragraph or 0))}</span>'
        items.append(f"<li>{when} {e(chapter.title)}</li>")
    return f'<ol class="podkb-chapters">{"".join(items)}</ol>'


@dataclass
class Playback:
    """How a moment plays: ``audio`` (a local file or http(s) URL for st.audio) or a ``link`` to the source."""

    audio: str | None = None
    link: str | None = None
    start: int = 0


def playback(episode_media: str | None, episode_source: str | None, start: float | None) -> Playback:
    seconds = int(start or 0)
    if episode_media:
        if re.match(r"(?i)https?://", episode_media) or Path(episode_media).is_file():
            return Playback(audio=episode_media, start=seconds)
    return Playback(link=link(episode_source, start), start=seconds)


def segment_at(segments: list[Segment], seconds: float | None) -> int | None:
    """The segment being said at ``seconds`` (the last one starting by then)."""
    if seconds is None:
        return None
    found = None
    for i, s in enumerate(segments):
        if s.start is not None and s.start <= seconds + 0.5:
            found = i
    return found


def natural(text: str) -> list:
    """A sort key that puts E9 before E10 before E100."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text or "")]


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
    with replacing(target) as out:
        out.write(data)
    return target


_SECONDS = re.compile(r"[0-9]{1,7}(?:\.[0-9]{1,3})?", re.ASCII)
MAX_SECONDS = 1000 * 3600  # as far as any transcript may run


def seconds_of(value: str | None) -> float | None:
    """A moment from a URL's ``t=``: plain ASCII seconds ("75", "75.5") up to 1000 hours, else None (so
    ``t=²``, ``t=1e999`` or 400 nines show the episode from its start instead of crashing the page)."""
    if not value or not _SECONDS.fullmatch(value):
        return None
    seconds = float(value)
    return seconds if seconds <= MAX_SECONDS else None


_CITE_GROUP = re.compile(r"\[(\d+(?:\s*[,;-]\s*\d+)*)\]")


def written_html(written) -> str:
    """A language model's answer (``podkb.Written``): every sentence escaped, each citation a link that opens
    the episode at its span's moment; a sentence that failed its check marked, with why; the spans listed."""
    by_number = {s.number: s for s in written.sources}

    def cite(match: re.Match) -> str:
        links = []
        for number in re.findall(r"\d+", match.group(1)):
            source = by_number.get(int(number))
            if source is None:
                links.append(f'<span class="flag" title="No span has this number">[{e(number)}?]</span>')
            else:
                links.append(f'<a class="cite-n" href="{e(moment_url(source.episode_id, source.start))}" target="_self" '
                             f'title="{e(source.citation)}">[{source.number}]</a>')
        return "".join(links)

    sentences = []
    for sentence in written.sentences:
        text = _CITE_GROUP.sub(cite, e(sentence.text))
        if not sentence.verified:
            text = (f'<span class="unverified" title="{e("; ".join(sentence.problems))}">{text}</span>'
                    f' <span class="flag">(unverified: {e("; ".join(sentence.problems))})</span>')
        sentences.append(text)
    listed = "".join(f'<li value="{s.number}">{cite_html(s.cited, s.episode_id)}</li>' for s in written.sources)
    return f'<div class="podkb-written"><p>{" ".join(sentences)}</p><ol>{listed}</ol></div>'
