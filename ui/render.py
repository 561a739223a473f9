"""Hits as terminal text: citation, passage with its best sentence marked, and the link."""
from __future__ import annotations

import click

from .. import Hit, format_timestamp

from .terminal import safe


def hit_text(n: int, hit: Hit, color: bool) -> str:
    text = safe(hit.shown_text())
    highlight = safe(hit.highlight)
    if highlight and highlight in text:
        marked = click.style(highlight, bold=True, underline=True) if color else f"»{highlight}«"
        text = text.replace(highlight, marked, 1)
    lines = [click.style(f"{n}. {safe(hit.citation)}", fg="cyan", bold=True) if color else f"{n}. {safe(hit.citation)}"]
    if hit.question:
        lines.append(f"   Asked: {safe(hit.question)}")
    lines.append(f"   {text}")
    if hit.link:
        lines.append(f"   ▶ {safe(hit.link)}")
    elif hit.media and hit.start is not None:
        lines.append(f"   ▶ {safe(hit.media)} at {format_timestamp(hit.start)}")
    for other in hit.also_in:
        where = f" at {format_timestamp(other.start)}" if other.start is not None else ""
        lines.append(f"   also in: {other.episode_id}{where}")
    return "\n".join(lines)


def point_text(n: int, point, color: bool) -> str:
    """A key point: what was said, then who said it where and when, and where to play it."""
    cite = click.style(safe(point.citation), fg="cyan") if color else safe(point.citation)
    lines = [f"{n}. “{safe(point.text)}”", f"   — {cite}"]
    if point.link:
        lines.append(f"   ▶ {safe(point.link)}")
    return "\n".join(lines)


def source_text(source, color: bool) -> str:
    """A span a language model was given: its number, who said it where and when, the words, and how to play
    or read it from that moment."""
    cite = click.style(safe(source.citation), fg="cyan") if color else safe(source.citation)
    lines = [f"[{source.number}] {cite}", f"    “{safe(source.text)}”"]
    if source.link:
        lines.append(f"    ▶ {safe(source.link)}")
    elif source.start is not None:
        lines.append(f"    ▶ podkb show {safe(source.episode_id)} --at {format_timestamp(source.start)}")
    return "\n".join(lines)
