"""Quote collections (store and CLI) and the exporters, one test per format."""
import csv
import io
import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest

from podkb import KnowledgeBase
from podkb.knowledgebase import open_store
from podkb.ui.exports import FORMATS, export, file_name, md
from podkb.quotes import Collections, Quote, quote_at

from .conftest import FAKE_MODEL, TRANSCRIPTS, built, points_of, run, silent_wav
from .fake_embedder import HashEmbedder

HOSTILE = Quote(
    text="Rest <script>alert(1)</script> and [click](javascript:alert(2)) *now*, #1 tip: $5 & more",
    episode_id="ep", episode_title="Sleep [and] <b>focus</b>", show="Show", speaker="Ana", date="2026-11-02",
    start=83.4, end=95.0, link="https://example.org/ep#t=83", note="see <img src=x onerror=alert(3)>",
    tags=["rest", "deep work"], added_at="2026-11-23T10:00:00+00:00",
)
PLAIN = Quote(text="Sleep, then study.", episode_id="ep2", episode_title="Plain", start=None, added_at="2026-11-23T11:00:00+00:00")
QUOTES = [HOSTILE, PLAIN]


def test_markdown_is_a_blockquote_with_a_timestamped_citation_and_no_live_markup():
    text = export("Burnout", QUOTES, "markdown")
    lines = text.splitlines()
    assert lines[0] == "# Burnout"
    assert lines[2].startswith("> Rest \\<script\\>alert(1)\\</script\\> and \\[click\\](javascript\\:alert(2))")
    assert "> — Show — Sleep \\[and\\] \\<b\\>focus\\</b\\> — Ana — [01:23](<https://example.org/ep#t=83>)" in lines
    assert "see \\<img src\\=x onerror\\=alert(3)\\>" in text
    assert not re.search(r"(?<!\\)<(script|img|b)", text)  # every tag escaped
    assert not re.search(r"(?<!\\)\]\(javascript", text)  # no live link


def test_md_escapes_what_would_start_a_list_or_heading():
    assert md("1. first") == "1\\. first"
    assert md("- item") == "\\- item"
    assert md("# title") == "\\# title"
    assert md("a\n\nb") == "a b"


def test_csv_has_one_row_per_quote_with_times():
    rows = list(csv.DictReader(io.StringIO(export("c", QUOTES, "csv"))))
    assert [r["text"] for r in rows] == [HOSTILE.text, PLAIN.text]
    assert rows[0]["start"] == "83.4" and rows[0]["timestamp"] == "01:23" and rows[0]["tags"] == "rest deep-work"
    assert rows[1]["start"] == "" and rows[1]["link"] == ""


def test_json_round_trips_every_field():
    data = json.loads(export("c", QUOTES, "json"))
    assert data["collection"] == "c"
    assert Quote(**data["quotes"][0]) == HOSTILE


def test_readwise_csv_has_its_header_and_location_in_seconds():
    text = export("c", QUOTES, "readwise")
    assert text.splitlines()[0] == "Highlight,Title,Author,URL,Note,Location,Date"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["Highlight"] == HOSTILE.text and rows[0]["Title"] == HOSTILE.episode_title
    assert rows[0]["Author"] == "Ana" and rows[0]["URL"] == HOSTILE.link
    assert rows[0]["Location"] == "83" and rows[0]["Date"] == "2026-11-23 10:00:00"
    assert rows[0]["Note"].startswith(".rest .deep-work see")
    assert rows[1]["Location"] == ""


def test_anki_csv_has_header_lines_then_front_back_tags():
    text = export("c", QUOTES, "anki")
    lines = text.splitlines()
    assert lines[:4] == ["#separator:Comma", "#html:false", "#columns:Front,Back,Tags", "#tags column:3"]
    rows = list(csv.reader(io.StringIO("\n".join(lines[4:]))))
    assert len(rows) == 2 and all(len(row) == 3 for row in rows)
    assert rows[0][0] == HOSTILE.text and "01:23" in rows[0][1] and HOSTILE.link in rows[0][1]
    assert rows[0][2] == "podkb rest deep-work"


def test_obsidian_has_yaml_front_matter_and_quote_callouts():
    text = export('Name: "tricky"\nline', QUOTES, "obsidian")
    lines = text.splitlines()
    assert lines[0] == "---" and lines[5] == "---"
    front = dict(line.split(": ", 1) for line in lines[1:5])
    assert json.loads(front["title"]) == 'Name: "tricky"\nline'  # quoted, so YAML can't be broken out of
    assert json.loads(front["tags"]) == ["deep-work", "rest"]  # "deep work" as an Obsidian tag: no space
    assert "> [!quote] Show — Sleep \\[and\\]" in text
    assert "> #rest #deep-work" in text


LIVE = ("Rest %%a comment hides the rest ==highlighted== ^block-id, mail me@evil.org or www.evil.com, "
        "[sound:evil.mp3] [anki:tts lang=en_US]x[/anki:tts] [[Wiki]] ![[embed]] #tag $x^2$ ~~gone~~ | a | b |")
FORMULA = "=HYPERLINK(\"http://evil\",\"x\")"


def rendered_text(markdown: str) -> tuple[str, set[str]]:
    """What CommonMark (markdown-it-py) shows of ``markdown``: its text, and the HTML tags it makes."""
    from html import unescape

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(markdown)
    return unescape(re.sub(r"<[^>]+>", "", html)), set(re.findall(r"<([a-z0-9]+)", html))


@pytest.mark.parametrize("format", ["markdown", "obsidian"])
def test_markdown_targets_show_live_syntax_as_written(format):
    """Issue 38: an unclosed %% hid every later quote in Obsidian, ==x== highlighted, bare www. and e-mail
    addresses autolinked. Each quote renders as its own words, with no element made from them."""
    quotes = [Quote(text=LIVE, episode_id="ep", episode_title="T", start=1.0), PLAIN]
    text = export("c", quotes, format)
    shown, tags = rendered_text(text)
    assert LIVE in shown and PLAIN.text in shown  # every word shown, the later quote too
    assert tags <= {"h1", "blockquote", "p", "hr", "h2"}, tags
    # What CommonMark alone does not parse (GFM autolinks, Obsidian's own syntax) is escaped in the source.
    [said] = [line for line in text.splitlines() if "Rest" in line]
    for live in ("%%", "==", "^", "@", "www.", "[[", "~~", "$", "|"):
        assert not re.search(r"(?<!\\)" + re.escape(live[0]) + re.escape(live[1:]), said), live


def test_anki_never_plays_or_speaks_what_a_quote_says_and_shows_no_guard():
    quotes = [Quote(text=LIVE, episode_id="ep", episode_title="T [sound:x.mp3]", start=1.0),
              Quote(text=FORMULA, episode_id="ep", episode_title="T", start=2.0)]
    rows = list(csv.reader(io.StringIO(export("c", quotes, "anki").split("\n", 4)[4])))
    assert not any(re.search(r"(?i)\[(sound|anki):", field) for row in rows for field in row[:2])
    assert rows[0][0].replace("\u200b", "") == LIVE and "[sound:x.mp3]" in rows[0][1].replace("\u200b", "")
    assert rows[1][0] == "\u200b" + FORMULA  # text to a spreadsheet, and no ' in Anki
    with_clip = export("c", quotes[:1], "anki", clips=["clips/podkb-q1-ep-1.0s.m4a"])
    assert with_clip.count("[sound:") == 1 and "[sound:podkb-q1-ep-1.0s.m4a]" in with_clip


def test_csv_guards_formulas_with_a_quote_and_readwise_invisibly():
    quotes = [Quote(text=FORMULA, episode_id="ep", episode_title="@SUM(1)", start=2.0, note="-1+1")]
    [row] = list(csv.DictReader(io.StringIO(export("c", quotes, "csv"))))
    assert row["text"] == "'" + FORMULA and row["episode_title"] == "'@SUM(1)" and row["note"] == "'-1+1"
    [row] = list(csv.DictReader(io.StringIO(export("c", quotes, "readwise"))))
    assert row["Highlight"] == "\u200b" + FORMULA and row["Title"] == "\u200b@SUM(1)"
    assert not any(value.startswith("'") for value in row.values())


def test_every_format_has_a_file_name():
    assert {file_name("Burnout & rest!", f) for f in FORMATS} == {
        "burnout-rest.md", "burnout-rest.csv", "burnout-rest.json", "burnout-rest.readwise.csv",
        "burnout-rest.anki.csv", "burnout-rest.obsidian.md"}


def test_collections_keep_order_survive_reopen_and_outlive_their_episode(podkb, kb):
    podkb("add", *sorted(TRANSCRIPTS.glob("chai*")), "--no-index")
    with open_store(kb) as library:
        store = Collections(library)
        first = store.add("Focus", quote_at(library, "chai-time-learning-to-learn", 60))
        second = store.add("focus", quote_at(library, "chai-time-learning-to-learn", 200, 210, note="n"))
        assert [name for name, _ in store.names()] == ["Focus"]  # names are case-insensitive
        store.move(second.id, -1)
    podkb("remove", "chai")
    with open_store(kb) as library:
        quotes = Collections(library).quotes("FOCUS")
    assert [q.id for q in quotes] == [second.id, first.id]
    assert quotes[0].start >= 199 and quotes[0].end <= 211 and quotes[0].note == "n"
    assert quotes[0].speaker in ("Sanyam Bhutani", "Rob Bracco")


def test_quote_add_list_export_and_remove_from_the_cli(podkb, kb, tmp_path):
    podkb("add", TRANSCRIPTS / "fastbook-reading-session-jeremy-howard.txt", "--no-index")
    out = podkb("quote", "add", "Study", "--episode", "fastbook", "--start", "1:00", "--end", "1:10",
                "--note", "intro", "--tag", "start")
    assert out.stdout.startswith("saved quote 1 to Study:")
    assert re.search(r"— (00:59|01:00)\n$", out.stdout)  # the first word said at or across 1:00
    podkb("quote", "add", "Study", "--episode", "fastbook", "--start", "300")
    assert "Study  (2 quotes)" in podkb("collections").stdout
    target = tmp_path / "study.md"
    podkb("export", "Study", "--format", "markdown", "-o", target)
    text = target.read_text()
    assert text.startswith("# Study\n\n> ") and text.count("\n> — ") == 2 and "intro" in text
    rows = list(csv.DictReader(io.StringIO(podkb("export", "Study", "--format", "readwise").stdout)))
    assert len(rows) == 2 and rows[0]["Location"] in ("59", "60")
    result = podkb("export", "Study", "-o", tmp_path / "no-such-folder" / "study.md", expect=1)
    assert f"cannot write {tmp_path / 'no-such-folder' / 'study.md'}: No such file or directory" in result.stderr
    podkb("quote", "remove", "1")
    assert "Study  (1 quote)" in podkb("collections").stdout
    assert "no collection 'Nope'" in podkb("export", "Nope", expect=1).stderr
    assert "ends before" in podkb("quote", "add", "X", "--episode", "fastbook", "--start", "99999", expect=1).stderr
    assert "not seconds" in podkb("quote", "add", "X", "--episode", "fastbook", "--start", "soon", expect=2).stderr


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_collection_names_are_checked(kb, name):
    with open_store(kb) as library, pytest.raises(ValueError):
        Collections(library).create(name)


def test_upload_names_cannot_leave_the_uploads_folder(tmp_path):
    from podkb.ui.web import safe_name, save_upload

    assert safe_name("../../x.srt") == "x.srt"
    assert safe_name("..\\..\\evil.VTT") == "evil.vtt"
    assert safe_name(".hidden") == "hidden"
    assert safe_name("/etc/passwd") == "passwd"
    assert safe_name("a<script>.txt") == "a_script_.txt"
    assert safe_name("") == "upload" and safe_name("..") == "upload"
    saved = save_upload(tmp_path / "kb", "../../../escape.srt", b"data")
    assert saved == (tmp_path / "kb" / "uploads" / "escape.srt").resolve()
    other = save_upload(tmp_path / "kb", "escape.srt", b"other data")
    assert other != saved and other.read_bytes() == b"other data" and saved.read_bytes() == b"data"


def test_a_transcript_can_name_its_audio_for_playback(podkb, kb, write, tmp_path):
    srt = write("talk.srt", "1\n00:00:01,000 --> 00:00:03,000\nHello there.\n")
    audio = write("talk.wav", silent_wav())
    podkb("add", srt, "--media", audio, "--no-index")
    [episode] = json.loads(podkb("episodes", "--json").stdout)
    assert episode["media"] == str(audio.resolve())
    other = write("other.srt", "1\n00:00:01,000 --> 00:00:03,000\nAnother.\n")
    result = podkb("add", other, "--media", tmp_path / "missing.mp3", "--no-index", expect=1)
    assert f"error: {other}: media" in result.stderr and "no such file" in result.stderr
    fake = write("fake.mp3", "text, not audio\n" * 20)
    result = podkb("add", other, "--media", fake, "--no-index", expect=1)
    assert f"error: {other}: media" in result.stderr and "not audio podkb can play" in result.stderr


INTERVIEW_VTT = """WEBVTT

00:00:01.000 --> 00:00:58.000
<v Host>Welcome back to the show. My guest today needs no introduction, and I have a long question for him.

00:00:59.000 --> 00:01:10.000
<v Amit Varma>Thank you for having me. The short answer is that incentives matter more than intentions.

00:01:10.000 --> 00:01:20.000
<v Host>Say more about that.
"""


def test_a_quote_is_credited_to_whoever_speaks_at_its_start_and_is_the_sentences_at_that_moment(podkb, write):
    podkb("add", write("e01.vtt", INTERVIEW_VTT), "--no-index")
    out = podkb("quote", "add", "Q", "--episode", "e01", "--start", "59")
    assert '"Thank you for having me. The short answer is that incentives matter more than intentions." — ' \
        in out.stdout and "— Amit Varma — 00:59" in out.stdout, out.stdout
    again = podkb("quote", "add", "Q", "--episode", "e01", "--start", "65", expect=1)  # the same moment
    assert "already in Q as quote 1" in again.stderr and "--again" in again.stderr
    out = podkb("quote", "add", "Q", "--episode", "e01", "--start", "65", "--again", "keep")  # from its sentence
    assert '"The short answer is that incentives matter more than intentions." — ' in out.stdout
    assert "Say more" not in out.stdout and "— Amit Varma — 01:02" in out.stdout  # never into the next turn
    out = podkb("quote", "add", "Q", "--episode", "e01", "--start", "72", "--end", "75")
    assert "— Host — 01:1" in out.stdout


def test_a_quote_without_an_end_in_a_long_otter_segment_is_two_sentences(podkb, write):
    """Issue 38: without --end a quote was the whole segment, three minutes of an Otter transcript, where the
    point at that moment is two sentences."""
    said = " ".join(f"Sentence number {n} says one thing about rest and work and sleep." for n in range(1, 61))
    otter = write("long.txt", f"Rob Bracco  0:00\n{said}\n\nSanyam Bhutani  3:00\nThanks.\n")
    podkb("add", otter, "--no-index")
    out = podkb("quote", "add", "Q", "--episode", "long", "--start", "61")
    [line] = out.stdout.splitlines()
    text = line.split('"')[1]
    assert text.startswith("Sentence number") and text.count(".") == 2 and len(text.split()) <= 80, text
    assert line.endswith("— Rob Bracco — 01:00")  # the sentence spoken at 61 s, from its first word
def test_a_quote_on_the_samples_names_the_speaker_of_its_moment(kb):
    from podkb import KnowledgeBase

    with KnowledgeBase(kb, embedder=HashEmbedder()) as base:
        base.add([TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt"], index=False)
        quote = base.quote("Burnout", "chai", 2938)  # 48:58, Rob Bracco's answer after Sanyam's question
        assert quote.speaker == "Rob Bracco" and quote.start == 2938
        for end in (float("nan"), float("inf"), -1.0):
            with pytest.raises(ValueError, match="end must be a number of seconds"):
                base.quote("Burnout", "chai", 2938, end)
        with pytest.raises(ValueError, match="start must be"):
            base.quote("Burnout", "chai", float("nan"))
        assert len(base.collections.quotes("Burnout")) == 1


def test_an_export_is_named_as_the_collection_is_stored_not_as_typed(podkb, write, tmp_path):
    podkb("add", write("e01.vtt", INTERVIEW_VTT), "--no-index")
    podkb("quote", "add", "Burnout Ideas", "--episode", "e01", "--start", "59")
    assert podkb("export", "burnout ideas").stdout.startswith("# Burnout Ideas\n")
    assert json.loads(podkb("export", "BURNOUT IDEAS", "--format", "json").stdout)["collection"] == "Burnout Ideas"


# export -o writes through a symlink and keeps its target's mode, streams into a FIFO, and a full device is an error

def test_export_onto_a_symlink_writes_its_target_and_keeps_its_mode(quoted, tmp_path):
    target = tmp_path / "real.md"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    run(quoted, "export", "Rest", "--format", "markdown", "-o", link)
    assert link.is_symlink() and target.read_text().startswith("# Rest")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_export_into_a_fifo_streams_and_a_full_device_is_an_error(quoted, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    run(quoted, "export", "Rest", "--format", "json", "-o", fifo)
    reader.join(30)
    assert json.loads(got[0])["collection"] == "Rest" and stat.S_ISFIFO(fifo.stat().st_mode)
    if Path("/dev/full").exists():
        result = run(quoted, "export", "Rest", "--format", "json", "-o", "/dev/full", expect=1)
        assert "cannot write /dev/full: No space left on device" in result.stderr
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


# A quote from an untimed transcript keeps its paragraph

def test_a_quote_from_an_untimed_transcript_is_cited_by_its_paragraph(kb):
    built(kb, [TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt"], model=FAKE_MODEL)
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        hit = base.search("embedding matrix for movies", k=1)[0]
        assert hit.start is None and hit.citation.endswith(f"¶{hit.paragraph + 1}")
        quote = base.save_hit("Lesson", hit)
        assert quote.citation == hit.citation
        assert base.collections.quotes("Lesson")[0].citation == hit.citation
    exported = run(kb, "export", "Lesson", "--format", "markdown").stdout
    assert f"¶{hit.paragraph + 1}" in exported


# A quote of sentences inside one cue ends after it starts

def test_a_quote_of_sentences_inside_one_cue_ends_after_it_starts(tmp_path):
    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:09,000\nRest before you are tired, every single day. Sleep eight "
                   "hours every night without fail.\n\n2\n00:00:09,000 --> 00:00:15,000\nTake whole days off "
                   "from work each week.\n")
    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        kb.add([srt])
        hit = kb.search("rest before you are tired", k=1, mode="keyword")[0]
        one = kb.save_hit("rest", hit)
        two = kb.save_hit("rest, longer", hit, after=1)
        [point] = points_of(kb.path, HashEmbedder(), "rest before you are tired", 1)
    assert (one.start, one.end) == (1.0, 9.0)
    assert (two.start, two.end) == (1.0, 9.0) and "Sleep eight hours" in two.text
    assert point.end is None or point.end > point.start


def test_an_untimed_episode_is_quoted_from_the_cli_by_its_paragraph(podkb):
    """Issue 38: untimed episodes could not be quoted from the CLI at all, though the web app saves their key
    points. `--paragraph N` (¶N, as cited) quotes two sentences of it, from `--sentence K`."""
    podkb("add", TRANSCRIPTS / "karpathy-advice-for-beginners-whisper-chunks.txt", "--no-index")
    out = podkb("quote", "add", "K", "--episode", "karpathy", "--paragraph", "2", "--sentence", "3").stdout
    assert out.startswith('saved quote 1 to K: "And then the result doesn\'t look like it. And I\'m like, okay, '
                          'I thought I understood this." — ') and out.rstrip().endswith("— ¶2")
    assert "¶1 to ¶2, not ¶9" in podkb("quote", "add", "K", "--episode", "karpathy", "--paragraph", "9",
                                        expect=1).stderr
    assert "--paragraph N" in podkb("quote", "add", "K", "--episode", "karpathy", "--start", "3", expect=1).stderr
    assert "give --start" in podkb("quote", "add", "K", "--episode", "karpathy", expect=2).stderr
    exported = podkb("export", "K", "--format", "json").stdout
    [quote] = json.loads(exported)["quotes"]
    assert quote["paragraph"] == 1 and quote["start"] is None  # ¶2, 0-based as stored


def test_the_time_a_citation_shows_quotes_the_sentence_it_cites(podkb, write):
    """From a new user's trial: a hit cited "Just start teaching yourself to code" at 17:26 (it begins at
    1046.9 s); `quote add --start 17:26` saved the sentence before it. A citation's time is whole seconds:
    a sentence that begins within that second is the one meant."""
    podkb("add", write("talk.vtt", "WEBVTT\n\n00:10.000 --> 00:11.500\n<v Abbey>Like if I didn't have that, okay.\n\n"
                                   "00:11.900 --> 00:15.000\n<v Abbey>Just start teaching yourself to code.\n"), "--no-index")
    out = podkb("quote", "add", "Q", "--episode", "talk", "--start", "00:11").stdout
    assert '"Just start teaching yourself to code." — ' in out and out.rstrip().endswith("— Abbey — 00:11")
    out = podkb("quote", "add", "R", "--episode", "talk", "--start", "10.5").stdout  # inside a sentence: from its start
    assert "\"Like if I didn't have that, okay. Just start teaching yourself to code.\"" in out


def test_a_tag_is_written_the_same_in_every_format():
    """From a new user's trial: `--tag "evil tag" --tag "#hash"` came out as '\\#evil tag \\#\\#hash' (Markdown),
    '.evil tag .#hash' (Readwise), 'evil_tag #hash' (Anki) and '#eviltag #hash' (Obsidian)."""
    quote = Quote(text="Rest.", episode_id="e", episode_title="T", start=1.0, tags=["evil tag", "#hash", "##"])
    assert "\\#evil-tag \\#hash" in export("c", [quote], "markdown")
    assert "> #evil-tag #hash" in export("c", [quote], "obsidian")
    assert list(csv.DictReader(io.StringIO(export("c", [quote], "readwise"))))[0]["Note"] == ".evil-tag .hash"
    assert list(csv.reader(io.StringIO(export("c", [quote], "anki").split("\n", 4)[4])))[0][2] == "podkb evil-tag hash"
    assert list(csv.DictReader(io.StringIO(export("c", [quote], "csv"))))[0]["tags"] == "evil-tag hash"
    assert json.loads(export("c", [quote], "json"))["quotes"][0]["tags"] == ["evil tag", "#hash", "##"]  # data
