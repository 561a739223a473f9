"""`podkb feed` against a real HTTP server on 127.0.0.1; audio is transcribed by the real tiny.en."""
import json
from pathlib import Path

import pytest

from podkb import KnowledgeBase
from podkb.knowledgebase import open_store
from podkb.ingest.transcriber import Transcriber
from podkb.ingest import feed_items
from podkb.ingest.feeds import parse_feed

from .conftest import BAD, FAKE_MODEL, one_error_each, run, silent_wav
from .fake_embedder import HashEmbedder
from .feedserver import FeedServer, Route, rss
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
def server(monkeypatch):
    monkeypatch.setenv("PODKB_ALLOW_PRIVATE", "1")  # its server is on 127.0.0.1, which feeds refuse by default
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
        assert feed_items.seen(library.db, feed_items.followed(library.db)[0][0], "w1")


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


# One bad item costs that item, not the feed: a lone-surrogate escape in a transcript, a malformed URL

def feed(base: str, items: list[tuple[str, str | None, str | None]], enclosures: dict | None = None) -> bytes:
    """An RSS feed whose items have a <podcast:transcript> (url, type), and an enclosure where given."""
    entries = []
    for guid, url, kind in items:
        transcript = f'<podcast:transcript url="{url}" type="{kind}"/>' if url else ""
        enclosure = (enclosures or {}).get(guid)
        enclosed = f'<enclosure url="{enclosure}" type="audio/mpeg" length="10"/>' if enclosure else ""
        entries.append(f"<item><guid>{guid}</guid><title>Item {guid}</title>{transcript}{enclosed}</item>")
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            f'<channel><title>Show</title><link>{base}</link>{"".join(entries)}</channel></rss>').encode()


def test_a_followed_feed_with_a_surrogate_in_a_transcript_adds_its_items(tmp_path, kb):
    with FeedServer() as server:
        bad = ('{"segments": [{"speaker": "Guest ' + BAD + '", "startTime": 0, "endTime": 5, '
               '"body": "Book two gym sessions each week."}]}').encode()
        good = b"WEBVTT\n\n00:00.000 --> 00:04.000\nStop work at six every evening.\n"
        server.routes["/a.json"] = Route(bad, content_type="application/json")
        server.routes["/b.vtt"] = Route(good, content_type="text/vtt")
        server.routes["/feed.xml"] = Route(feed(server.url, [("a", f"{server.url}/a.json", "application/json"),
                                                             ("b", f"{server.url}/b.vtt", "text/vtt")]),
                                           content_type="application/rss+xml")
        result = run(kb, "feed", f"{server.url}/feed.xml", "--allow-private")
        assert "2 added" in result.output
        assert "nothing new" in run(kb, "feed", "--allow-private").output  # and again, no crash


def test_a_feed_with_one_broken_url_adds_its_good_items(tmp_path, kb):
    with FeedServer() as server:
        server.routes["/good.vtt"] = Route(b"WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n",
                                           content_type="text/vtt")
        server.routes["/feed.xml"] = Route(feed(server.url, [("good", f"{server.url}/good.vtt", "text/vtt"),
                                                             ("broken", "http://[fe80::1/t.vtt", "text/vtt")],
                                                {"broken": "http://[fe80::1/x.mp3"}),
                                           content_type="application/rss+xml")
        result = run(kb, "feed", f"{server.url}/feed.xml", "--allow-private", expect=1)
        assert "1 added" in result.output and "Invalid IPv6 URL" in result.stderr
        with KnowledgeBase(kb, model=FAKE_MODEL) as base:
            assert [e.title for e in base.episodes()] == ["Item good"]
    result = run(kb, "feed", "http://[::1", expect=1)
    assert "not a URL" in result.stderr


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


# Issue 17: items recorded as soon as their content is known; public addresses only.

class CountingTranscriber(Transcriber):
    """Stands in for Whisper where what is tested is whether audio is transcribed at all, not how."""

    def __init__(self):
        self.files: list[str] = []

    def transcribe(self, path):
        from podkb.ingest import Segment, Transcript

        self.files.append(path)
        return Transcript("whisper-audio", [Segment(0.0, 2.0, None, "Rest before you are tired, every single day.")],
                          media_duration=2.0)


def test_the_same_audio_under_two_guids_or_two_feed_urls_is_fetched_once_and_transcribed_once(server, kb):
    from podkb import KnowledgeBase

    wav = silent_wav(2.0)
    server.serve("/a.wav", wav, content_type="audio/wav")
    server.serve("/b.wav", wav, content_type="audio/wav")  # the same bytes at another URL, under another GUID
    items = [{"title": "Rest", "guid": "g1", "date": "Mon, 02 Nov 2026 08:00:00 GMT",
              "enclosure": (server.url + "/a.wav", "audio/wav", len(wav))},
             {"title": "Rest (again)", "guid": "g2", "date": "Mon, 09 Nov 2026 08:00:00 GMT",
              "enclosure": (server.url + "/b.wav", "audio/wav", len(wav))}]
    first = server.serve("/feed.xml", rss("Rest", items))
    second = server.serve("/mirror.xml", rss("Rest", items))  # the same feed followed under a second URL
    whisper = CountingTranscriber()
    with KnowledgeBase(kb, embedder=HashEmbedder()) as base:
        outcomes = base.follow(first, transcriber=whisper)
        assert sorted(o.result.status for o in outcomes) == ["added", "unchanged"]
        assert len(whisper.files) == 1
        assert len(list((kb / "media").iterdir())) == 1  # no orphan copy of the duplicate
        fetched = (server.fetched("/a.wav"), server.fetched("/b.wav"))
        assert base.follow(first, transcriber=whisper) == []  # nothing downloaded again, nothing to report
        outcomes = base.follow(second, transcriber=whisper)
        assert [o.result.status for o in outcomes] == ["unchanged", "unchanged"]
        assert base.follow(second, transcriber=whisper) == []
        assert (server.fetched("/a.wav"), server.fetched("/b.wav")) == fetched
        assert len(whisper.files) == 1 and len(base.episodes()) == 1
        assert len(list((kb / "media").iterdir())) == 1


def test_a_transcript_already_added_by_hand_is_recorded_for_its_feed_item_and_not_fetched_again(server, podkb, write):
    podkb("add", write("week1.srt", SRT), "--no-index")
    server.serve("/t1.srt", SRT)
    feed_url = server.serve("/feed.xml", rss("Weekly", [
        {"title": "Week 1", "guid": "w1", "transcripts": [(server.url + "/t1.srt", "application/srt")]}]))
    assert "unchanged" in podkb("feed", feed_url, "--no-index").stdout
    podkb("feed", feed_url, "--no-index")
    assert server.fetched("/t1.srt") == 1


@pytest.fixture
def local_only(monkeypatch):
    monkeypatch.delenv("PODKB_ALLOW_PRIVATE", raising=False)


def test_feeds_refuse_loopback_private_and_link_local_addresses_by_default(server, podkb, local_only):
    feed_url = server.serve("/feed.xml", rss("Local", dated(server, 1)))
    by_name = feed_url.replace("127.0.0.1", "localhost")
    result = podkb("feed", feed_url, by_name, "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/feed.xml",
                   "--timeout", "2", expect=1)
    one_error_each(result.stderr, {
        feed_url: "refused: 127.0.0.1 is a loopback address",
        by_name: "refused: localhost resolves to 127.0.0.1, a loopback address",
        "http://169.254.169.254/latest/meta-data/": "a link-local address",
        "http://10.1.2.3/feed.xml": "a private address",
    })
    assert server.requests == []  # refused before a byte was sent
    assert "added" in podkb("feed", feed_url, "--allow-private", "--no-index").stdout


def test_a_feeds_transcript_pointing_at_a_local_service_is_refused_and_never_stored(server, podkb, tmp_path,
                                                                                   local_only):
    secret = server.serve("/secret", "1\n00:00:01,000 --> 00:00:02,000\nadmin password is hunter2\n")
    feed = tmp_path / "feed.xml"  # a file: read without a request, so only the transcript's URL is fetched
    feed.write_text(rss("Show", [{"title": "Leaky", "guid": "x1", "transcripts": [(secret, "application/srt")]}]))
    result = podkb("feed", feed, expect=1)
    assert "refused: 127.0.0.1 is a loopback address" in result.stderr
    assert server.fetched("/secret") == 0
    assert "hunter2" not in podkb("episodes", "--json").stdout


def test_every_redirect_is_checked_too(server, monkeypatch, local_only):
    """A public address that redirects to a private one: the second connection is refused. (127.0.0.1 plays
    the public server here, by letting the check pass it; the redirect goes to 127.0.0.2.)"""
    from podkb.ingest import BadInput, fetch

    passed = fetch.refused
    monkeypatch.setattr(fetch, "refused", lambda address: None if address == "127.0.0.1" else passed(address))
    port = server.url.rsplit(":", 1)[1]
    hop = server.serve("/hop", status=302, headers={"Location": f"http://127.0.0.2:{port}/secret"})
    server.serve("/secret", "admin password is hunter2")
    with pytest.raises(BadInput, match="refused: 127.0.0.2 is a loopback address"):
        fetch.fetch(hop, 1000, 5)
    assert server.fetched("/hop") == 1 and server.fetched("/secret") == 0


def test_a_feed_items_javascript_link_never_becomes_a_link(server, podkb, local_only):
    feed_url = server.serve("/feed.xml", rss("Links", [
        {"title": "Scripted", "guid": "j1", "link": "javascript:alert(2)",
         "transcripts": [(server.url + "/t.srt", "application/srt")]}]))
    server.serve("/t.srt", SRT)
    podkb("feed", feed_url, "--allow-private")
    [episode] = json.loads(podkb("episodes", "--json").stdout)
    assert episode["source"] is None
    hits = json.loads(podkb("search", "smallest project", "--json").stdout)
    assert hits and all(h["link"] is None for h in hits)


class TwoVoices(Transcriber):
    """Stands in for Whisper and the diarizer: two voices found in the recording, as ingest/diarize.py names them."""

    def transcribe(self, path):
        from podkb.ingest import Segment, Transcript

        said = [Segment(0.0, 2.0, "Speaker 1", "Welcome to the show, tell us about rest.", turn=0),
                Segment(2.0, 5.0, "Speaker 2", "Rest before you are tired, every single day.", turn=1)]
        return Transcript("whisper-audio", said, media_duration=5.0, diarized=True)


def test_a_feeds_podcast_person_cast_names_the_voices_found_host_first_unless_two_hosts_make_it_unclear(server, kb):
    from podkb import KnowledgeBase

    wav = silent_wav(2.0)
    server.serve("/a.wav", wav, content_type="audio/wav")
    server.serve("/b.wav", silent_wav(3.0), content_type="audio/wav")
    feed = server.serve("/feed.xml", rss("Rest", [
        {"title": "One host", "guid": "g1", "persons": [("Gina Guest", "guest"), ("Hal Host", "host")],
         "enclosure": (server.url + "/a.wav", "audio/wav", len(wav))},
        {"title": "Two hosts", "guid": "g2", "persons": [("Hal Host", "host"), ("Hanna Host", "host")],
         "enclosure": (server.url + "/b.wav", "audio/wav", 0)}]))
    with KnowledgeBase(kb, embedder=HashEmbedder()) as base:
        outcomes = {o.result.episode.title: o.result.episode for o in base.follow(feed, transcriber=TwoVoices())}
        assert [s.speaker for s in base.segments(outcomes["One host"].id)] == ["Hal Host", "Gina Guest"]
        assert [s.speaker for s in base.segments(outcomes["Two hosts"].id)] == ["Speaker 1", "Speaker 2"]
        assert [h.speaker for h in base.search("rest before you are tired", speaker="Gina Guest")] == ["Gina Guest"]


def test_a_transcriber_that_fetches_elsewhere_is_chosen_by_its_interface_not_by_its_attributes(server, kb):
    """The Ray cluster's transcriber and this machine's share one interface (the Transcriber protocol, ingest/transcriber.py);
    one that fetches and transcribes a feed item elsewhere is used as such, and nothing is downloaded here."""
    from podkb import KnowledgeBase
    from podkb.ingest import Segment, Transcript

    class Elsewhere(Transcriber):
        asked = []

        def transcribe_url(self, url, suffix, options, length):
            self.asked.append(url)
            return Transcript("whisper-audio", [Segment(0.0, 2.0, None, "Rest before you are tired.")],
                              media_duration=2.0), "ab" * 32

    server.serve("/far.wav", silent_wav(2.0), content_type="audio/wav")
    feed = server.serve("/feed.xml", rss("Far", [{"title": "Far", "guid": "f1",
                                                   "enclosure": (server.url + "/far.wav", "audio/wav", 0)}]))
    with KnowledgeBase(kb, embedder=HashEmbedder()) as base:
        [outcome] = base.follow(feed, transcriber=Elsewhere())
        assert outcome.result.status == "added" and Elsewhere.asked == [server.url + "/far.wav"]
        assert server.fetched("/far.wav") == 0 and not (kb / "media").exists()
