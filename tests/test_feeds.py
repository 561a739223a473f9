"""`podkb feed` against a real HTTP server on 127.0.0.1; audio is transcribed by the real tiny.en."""
import json
from pathlib import Path

import pytest

from podkb.knowledgebase import open_store
from podkb.ingest.feeds import parse_feed

from .feedserver import FeedServer, rss
from .speech import needs_speech, speak

VTT = """WEBVTT

00:00:01.000 --> 00:00:06.000
<v Ana>Sleep eight hours before an exam; cramming all night makes you forget.

00:00:06.500 --> 00:00:12.000
<v Ben>And review your notes the next morning, spaced repetition beats rereading.
"""
SPOKEN = "Practice a little every day and write down one thing you learned."
SRT = """1
00:00:02,000 --> 00:00:05,000
Start with the smallest project that could possibly work.
"""


@pytest.fixture
def server():
    with FeedServer() as server:
        yield server


def episodes(podkb):
    return {e["guid"]: e for e in json.loads(podkb("episodes", "--json").stdout)}


def first_feed(server, wav_bytes):
    ep1 = {"title": "Sleep and exams", "guid": "ep-1", "date": "Mon, 02 Nov 2026 08:00:00 GMT", "duration": "12:34",
           "link": "https://example.org/ep1", "persons": ["Ana", "Ben"],
           "enclosure": (server.url + "/ep1.mp3", "audio/mpeg", 123456),
           "transcripts": [(server.url + "/ep1.html", "text/html"), (server.url + "/ep1.vtt", "text/vtt")]}
    ep2 = {"title": "Daily practice", "guid": "ep-2", "date": "Mon, 09 Nov 2026 08:00:00 GMT", "duration": "01:00",
           "enclosure": (server.url + "/ep2.wav", "audio/wav", len(wav_bytes))}
    return ep1, ep2


@needs_speech
@pytest.mark.slow
def test_feed_uses_the_publishers_transcript_transcribes_the_rest_and_then_adds_only_what_is_new(
        server, podkb, kb, tmp_path):
    wav = speak(SPOKEN, tmp_path / "ep2.wav").read_bytes()
    server.serve("/ep1.vtt", VTT, content_type="text/vtt")
    server.serve("/ep1.html", "<html><p>not read</p></html>", content_type="text/html")
    server.serve("/ep2.wav", wav, content_type="audio/wav")
    ep1, ep2 = first_feed(server, wav)
    feed_url = server.serve("/feed.xml", rss("Study Habits", [ep1, ep2]), content_type="application/rss+xml")

    out = podkb("feed", feed_url)
    assert out.stdout.count("added ") == 2, out.stdout
    found = episodes(podkb)
    assert set(found) == {"ep-1", "ep-2"}
    one, two = found["ep-1"], found["ep-2"]
    # The publisher's VTT was used: its speakers and times, and the audio was never fetched.
    assert one["format"] == "vtt" and one["speakers"] == ["Ana", "Ben"]
    assert server.fetched("/ep1.mp3") == 0 and server.fetched("/ep1.html") == 0
    assert one["show"] == "Study Habits" and one["title"] == "Sleep and exams"
    assert one["date"] == "2026-11-02" and one["source"] == "https://example.org/ep1"
    assert one["duration"] == 754  # the feed's, not the last cue's 12 s
    assert one["media"] == server.url + "/ep1.mp3"  # played from the publisher
    # The audio-only item was downloaded into the knowledge base and transcribed by tiny.en.
    assert two["format"] == "whisper-audio" and two["date"] == "2026-11-09"
    assert 2 < two["duration"] < 5  # measured from the audio, not the feed's "01:00"
    media = Path(two["media"])
    assert media.parent == (kb / "media").resolve() and media.read_bytes() == wav
    assert not list((kb / "media").glob("*.part"))
    shown = json.loads(podkb("show", two["id"], "--json").stdout)
    text = " ".join(s["text"] for s in shown["segments"]).lower()
    assert "practice" in text and "learned" in text

    hits = json.loads(podkb("search", "spaced repetition", "--mode", "keyword", "--json").stdout)
    assert hits[0]["episode_id"] == one["id"] and hits[0]["start"] == pytest.approx(6.5)

    # The feed grows by one episode; `podkb feed` with no argument checks the feeds followed.
    server.serve("/ep3.srt", SRT, content_type="application/x-subrip")
    ep3 = {"title": "Small projects", "guid": "ep-3", "date": "Mon, 16 Nov 2026 08:00:00 GMT",
           "enclosure": (server.url + "/ep3.mp3", "audio/mpeg", 1000),
           "transcripts": [(server.url + "/ep3.srt", "application/x-subrip")]}
    server.serve("/feed.xml", rss("Study Habits", [ep1, ep2, ep3]), content_type="application/rss+xml")
    out = podkb("feed")
    assert out.stdout.count("added ") == 1 and "Small projects" in out.stdout
    assert set(episodes(podkb)) == {"ep-1", "ep-2", "ep-3"}
    assert server.fetched("/ep2.wav") == 1 and server.fetched("/ep1.vtt") == 1  # nothing fetched twice
    assert "nothing new" in podkb("feed").stderr


def dated(server, n):
    """Transcript-only items, one a week, newest last."""
    items = []
    for i in range(1, n + 1):
        server.serve(f"/t{i}.srt", SRT.replace("smallest", f"number {i} smallest"))
        items.append({"title": f"Week {i}", "guid": f"w{i}", "date": f"Mon, {i + 1:02d} Nov 2026 08:00:00 GMT",
                      "transcripts": [(server.url + f"/t{i}.srt", "application/srt")]})
    return items


def test_limit_takes_the_newest_and_since_filters_by_date(server, podkb):
    feed_url = server.serve("/feed.xml", rss("Weekly", dated(server, 4)))
    podkb("feed", feed_url, "--limit", "1", "--no-index")
    assert set(episodes(podkb)) == {"w4"}
    podkb("feed", feed_url, "--since", "2026-11-03", "--no-index")
    assert set(episodes(podkb)) == {"w2", "w3", "w4"}


def test_a_removed_feed_episode_stays_removed_and_its_download_is_deleted(server, podkb, kb):
    feed_url = server.serve("/feed.xml", rss("Weekly", dated(server, 2)))
    podkb("feed", feed_url, "--no-index")
    week1 = episodes(podkb)["w1"]["id"]
    podkb("remove", week1)
    podkb("feed", feed_url, "--no-index")
    assert set(episodes(podkb)) == {"w2"}
    with open_store(kb) as library:
        assert library.was_removed(library.feeds()[0][0], "w1")


def test_feed_errors_are_one_line_each(server, podkb):
    missing = server.url + "/gone.xml"
    slow = server.serve("/slow.xml", rss("Slow", []), delay=3)
    broken = server.serve("/broken.xml", "<rss><channel><title>Half", content_type="application/rss+xml")
    html = server.serve("/page.html", "<html><body>hello</body></html>", content_type="text/html")
    result = podkb("feed", missing, slow, broken, html, "--timeout", "0.5", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, result.stderr
    assert f"error: {missing}: HTTP 404" in result.stderr
    assert f"error: {slow}: timed out after 0.5 s" in result.stderr
    assert f"error: {broken}: not a podcast feed" in result.stderr
    assert f"error: {html}: not a podcast feed" in result.stderr


def test_bad_items_fail_alone_and_leave_nothing_behind(server, podkb, kb, tmp_path):
    good = {"title": "Good one", "guid": "good", "transcripts": [(server.url + "/good.srt", "application/x-subrip")]}
    server.serve("/good.srt", SRT)
    server.serve("/liar.mp3", b"ID3" + b"\0" * 5000, content_type="audio/mpeg")
    server.serve("/empty.mp3", b"", content_type="audio/mpeg")
    server.serve("/text.mp3", "This is a text file, not audio at all.\n" * 50, content_type="audio/mpeg")
    server.serve("/cut.mp3", b"\xff\xfb" * 100, content_type="audio/mpeg", length=100000)
    server.serve("/big.mp3", b"\0" * (3 << 20), content_type="audio/mpeg")
    server.serve("/hop.mp3", status=302, headers={"Location": "file:///etc/passwd"})
    items = [
        good,
        {"title": "Wrong length", "guid": "b1", "enclosure": (server.url + "/liar.mp3", "audio/mpeg", 999999)},
        {"title": "Zero bytes", "guid": "b2", "enclosure": (server.url + "/empty.mp3", "audio/mpeg", 0)},
        {"title": "Text as mp3", "guid": "b3", "enclosure": (server.url + "/text.mp3", "audio/mpeg", 0)},
        {"title": "Cut short", "guid": "b4", "enclosure": (server.url + "/cut.mp3", "audio/mpeg", 0)},
        {"title": "Too big", "guid": "b5", "enclosure": (server.url + "/big.mp3", "audio/mpeg", 0)},
        {"title": "Local file", "guid": "b6", "enclosure": ("file:///etc/passwd", "audio/mpeg", 0)},
        {"title": "Redirect out", "guid": "b7", "enclosure": (server.url + "/hop.mp3", "audio/mpeg", 0)},
        {"title": "Gone transcript", "guid": "b8", "transcripts": [(server.url + "/nope.vtt", "text/vtt")]},
        {"title": "Not audio", "guid": "b9", "enclosure": (server.url + "/doc.pdf", "application/pdf", 10)},
    ]
    feed_url = server.serve("/feed.xml", rss("Mixed", items))
    result = podkb("feed", feed_url, "--max-size", "2", "--no-index", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    reasons = {
        "Wrong length": "enclosure length mismatch: the feed says 999,999 bytes, the server sent 5,003",
        "Zero bytes": "empty file",
        "Text as mp3": "cannot decode audio",
        "Cut short": "truncated",
        "Too big": "too large",
        "Local file": "only http and https",
        "Redirect out": "only http and https",
        "Gone transcript": "HTTP 404",
        "Not audio": "not audio or video",
    }
    assert len(errors) == len(reasons), result.stderr
    for title, reason in reasons.items():
        assert any(line.startswith(f"error: {title} <") and reason in line for line in errors), (title, result.stderr)
    assert set(episodes(podkb)) == {"good"}
    media = kb / "media"
    assert not media.exists() or list(media.iterdir()) == []  # no partial or rejected downloads left


def test_feed_parser_keeps_every_transcript_and_prefers_one_podkb_reads():
    xml = rss("Show", [{"title": "A", "guid": "a", "transcripts": [
        ("https://x.org/a.html", "text/html"), ("https://x.org/a.json", "application/json"),
        ("https://x.org/a.srt", "application/srt"), ("https://x.org/a.vtt", "text/vtt")]}])
    item = parse_feed(xml.encode(), "https://x.org/feed.xml").items[0]
    assert len(item.transcripts) == 4
    assert item.transcript() == ("https://x.org/a.vtt", ".vtt")


def test_hostile_feed_xml_is_refused_without_expanding_entities(tmp_path, podkb):
    laughs = tmp_path / "laughs.xml"
    entities = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    laughs.write_text(f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]>'
                      '<rss version="2.0"><channel><title>&l9;</title></channel></rss>')
    result = podkb("feed", laughs, expect=1)
    assert f"error: {laughs}: not a podcast feed" in result.stderr
