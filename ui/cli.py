"""The podkb command line: a thin click layer over the ingest and index libraries."""
from __future__ import annotations

import json
import sys

import click

from ingest import EpisodeInfo, Library, add_paths, format_timestamp
from ingest.store import AddResult

from .terminal import safe

APP_NAME = "podkb"


def kb_option(fn):
    return click.option(
        "--kb",
        "kb",
        envvar="PODKB_HOME",
        type=click.Path(file_okay=False),
        default=lambda: click.get_app_dir(APP_NAME),
        show_default="$PODKB_HOME, else the user's app folder",
        help="Knowledge base folder (also $PODKB_HOME).",
    )(fn)


def open_library(kb: str) -> Library:
    try:
        return Library(kb)
    except Exception as error:  # sqlite3.DatabaseError, OSError: say which store and why
        raise click.ClickException(f"cannot open the knowledge base in {kb}: {error}") from None


def find_episode(library: Library, ref: str):
    try:
        return library.episode(ref)
    except LookupError as error:
        raise click.ClickException(f"{error}. Try 'podkb episodes' to list them.") from None


@click.group()
@click.version_option(package_name="podkb")
def cli():
    """podkb: a knowledge base of podcast and lecture transcripts.

    Add transcripts with 'podkb add', then list and read them.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--title", help="Episode title (default: the manifest's, else the file name).")
@click.option("--show", help="Show or course the episode belongs to.")
@click.option("--speaker", "speakers", multiple=True, help="A speaker's name; repeat for several. "
              "With one name and no speakers in the file, every segment is theirs.")
@click.option("--url", help="Source URL of the episode.")
@click.option("--date", help="Publication date, YYYY-MM-DD.")
@click.option("--replace", is_flag=True, help="Update an episode already added from the same file.")
@kb_option
def add(paths, title, show, speakers, url, date, replace, kb):
    """Add transcripts: files, folders or globs.

    Reads plain text, Whisper chunk dumps, Otter-style text, Whisper console
    output, SRT, WebVTT, Whisper JSON and Podcasting 2.0 JSON, detected from the
    content. A folder's manifest.toml supplies titles, shows and speakers.
    """
    info = EpisodeInfo(title=title, show=show, date=date, source=url, speakers=list(speakers))
    counts = {"added": 0, "replaced": 0, "unchanged": 0, "changed": 0, "failed": 0}
    with open_library(kb) as library:
        for outcome in add_paths(library, paths, info, replace=replace):
            for warning in outcome.warnings:
                click.echo(f"warning: {safe(outcome.path)}: {warning}", err=True)
            if outcome.error:
                counts["failed"] += 1
                click.echo(f"error: {safe(outcome.path)}: {outcome.error}", err=True)
                continue
            counts[outcome.result.status] += 1
            click.echo(describe(outcome.path, outcome.result))
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    click.echo(summary or "nothing to add", err=True)
    if counts["failed"]:
        sys.exit(1)


def describe(path: str, result: AddResult) -> str:
    e = result.episode
    if result.status == "unchanged":
        return f"unchanged {safe(path)}: already in the library as {e.id}"
    if result.status == "changed":
        return f"skipped {safe(path)}: changed since it was added as {e.id}; use --replace to update it"
    line = f"{result.status} {e.id}: {safe(e.title)} ({plural(e.segment_count, 'segment')}, {duration(e.duration)}, {e.format})"
    if result.duplicate_of:
        line += (f"\n  near-duplicate of {result.duplicate_of.id} "
                 f"({e.similarity:.0%} of the text is shared); linked to it")
    return line


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def duration(seconds: float | None) -> str:
    return "untimed" if seconds is None else format_timestamp(seconds)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON: a list of episode objects.")
@kb_option
def episodes(as_json, kb):
    """List the episodes in the knowledge base."""
    with open_library(kb) as library:
        found = library.episodes()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("No episodes yet. Add some with: podkb add PATH", err=True)
        return
    width = max(len(e.id) for e in found)
    for e in found:
        show = f" [{safe(e.show)}]" if e.show else ""
        click.echo(f"{e.id:<{width}}  {duration(e.duration):>8}  {e.segment_count:>5} seg  {safe(e.title)}{show}")
        if e.duplicate_of:
            click.echo(f"{'':<{width}}  near-duplicate of {e.duplicate_of} ({e.similarity:.0%} shared)")


@cli.command()
@click.argument("episode")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: {episode, segments}.")
@kb_option
def show(episode, as_json, kb):
    """Show one episode's segments with their times and speakers.

    EPISODE is an episode id, or the start of one.
    """
    with open_library(kb) as library:
        found = find_episode(library, episode)
        segments = library.segments(found.id)
    if as_json:
        payload = {"episode": found.to_dict(), "segments": [s.to_dict() for s in segments]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"{safe(found.title)}" + (f" — {safe(found.show)}" if found.show else ""))
    if found.duplicate_of:
        click.echo(f"near-duplicate of {found.duplicate_of} ({found.similarity:.0%} shared)")
    for segment in segments:
        when = f"[{format_timestamp(segment.start, millis=True)}]" if segment.start is not None else f"[¶{segment.offset}]"
        speaker = f" {safe(segment.speaker)}:" if segment.speaker else ""
        click.echo(f"{when}{speaker} {safe(segment.text)}")


@cli.command()
@click.argument("episode")
@kb_option
def remove(episode, kb):
    """Remove an episode and its segments.

    EPISODE is an episode id, or the start of one.
    """
    with open_library(kb) as library:
        found = find_episode(library, episode)
        library.remove(found.id)
    click.echo(f"removed {found.id}: {safe(found.title)}")


def main():
    cli()
