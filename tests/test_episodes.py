"""A listener's library: episodes named from their side files, corrected afterwards (titles, dates,
shows, speakers) without embedding anything again, and chapters: published ones (yt-dlp's info, a
.chapters.json, a feed's <podcast:chapters> or Podlove chapters) preferred, else found from the talk."""
import json
import sqlite3

import pytest

from .conftest import TRANSCRIPTS
from .feedserver import FeedServer, rss

INTERVIEW = """WEBVTT

00:00:01.000 --> 00:00:20.000
<v Host>Welcome to the show. Today my guest explains why rent control fails, and what a city can do instead.

00:00:21.000 --> 00:00:40.000
<v Guest>Thanks. Rent control freezes the rent, so owners stop maintaining flats and stop building new ones.

00:00:41.000 --> 00:01:00.000
<v Host>So what should a city do about housing?

00:01:01.000 --> 00:01:20.000
<v Guest>Let builders build: allow taller buildings near transit, and the rents fall for everyone.
"""


def search(podkb, *args):
    return json.loads(podkb("search", *args, "--json").stdout)


def stored(kb):
    db = sqlite3.connect(kb / "podkb.db")
    try:
        return (db.execute("SELECT id, text, speaker FROM passages ORDER BY id").fetchall(),
                db.execute("SELECT passage_id, vector FROM vectors ORDER BY passage_id").fetchall())
    finally:
        db.close()


def test_edit_and_rename_change_hits_citations_and_filters_without_embedding_again(podkb, write, kb):
    podkb("add", write("E249.mp3.vtt", INTERVIEW))
    [episode] = json.loads(podkb("episodes", "--json").stdout)
    assert episode["id"] == "e249" and episode["title"] == "E249"  # the file name, without .mp3.vtt
    podkb("quote", "add", "Housing", "--episode", "e249", "--start", "21")
    passages, vectors = stored(kb)

    out = podkb("edit", "e249", "--title", "Rent control, with Amit Varma", "--date", "2021-03-04",
                "--show", "The Seen and the Unseen", "--rename", "Guest=Amit Varma")
    assert "e249: Rent control, with Amit Varma [The Seen and the Unseen], 2021-03-04" in out.stdout
    assert "renamed Guest to Amit Varma in 2 segments" in out.stdout
    [hit] = search(podkb, "rent control freezes the rent and owners stop maintaining flats", "-k", "1")
    assert hit["speaker"] == "Amit Varma" and hit["episode_title"] == "Rent control, with Amit Varma"
    assert hit["show"] == "The Seen and the Unseen"
    assert search(podkb, "rent control", "--speaker", "Amit Varma")
    assert search(podkb, "rent control", "--speaker", "Guest") == []
    assert search(podkb, "rent control", "--from", "2021", "--to", "2021-12")
    after, after_vectors = stored(kb)
    assert [p[0] for p in after] == [p[0] for p in passages] and after_vectors == vectors  # nothing re-embedded
    assert {p[2] for p in after} >= {"Amit Varma"} and "Guest" not in {p[2] for p in after}
    # A quote keeps the name it was saved with.
    assert "— Guest — 00:21" in podkb("quote", "list", "Housing").stdout
    assert "Amit Varma  (2 segments)" in podkb("speakers", "e249").stdout
    # Cleared, and refused with a reason.
    out = podkb("edit", "e249", "--date", "")
    assert json.loads(podkb("episodes", "--json").stdout)[0]["date"] is None
    assert "date" in podkb("edit", "e249", "--date", "next week", expect=1).stderr
    assert "say what to change" in podkb("edit", "e249", expect=2).stderr
    assert "give OLD=NEW" in podkb("edit", "e249", "--rename", "Guest", expect=2).stderr
    assert "Nobody" in podkb("edit", "e249", "--rename", "Nobody=X", expect=1).stderr
    assert "title" in podkb("edit", "e249", "--title", "  ", expect=1).stderr


def test_a_speaker_is_renamed_across_a_show_and_nowhere_else(podkb, write):
    for name, show in (("E1.vtt", "Founders"), ("E2.vtt", "Founders"), ("Other.vtt", "Elsewhere")):
        text = INTERVIEW.replace("<v Host>", "<v Speaker 1>").replace("Welcome", f"Welcome to {name}")
        podkb("add", write(name, text), "--show", show, "--no-index")
    out = podkb("speakers", "--show", "Founders", "--rename", "Speaker 1=Adam Stacoviak")
    assert "renamed Speaker 1 to Adam Stacoviak in 4 segments" in out.stdout
    # a label ("Guest") is a different person in each episode: never added up as one
    assert json.loads(podkb("speakers", "--show", "Founders", "--json").stdout) == {
        "Adam Stacoviak": 4, "Guest (e1)": 2, "Guest (e2)": 2}
    assert json.loads(podkb("speakers", "Other", "--json").stdout) == {"Speaker 1": 2, "Guest": 2}
    everyone = json.loads(podkb("speakers", "--json").stdout)
    assert everyone == {"Adam Stacoviak": 4, "Guest (e1)": 2, "Guest (e2)": 2, "Guest (other)": 2,
                        "Speaker 1 (other)": 2}
    assert "no show" in podkb("speakers", "--show", "Nope", expect=1).stderr.lower()


def info_json(title, chapters=(), **more):
    return json.dumps({"id": "abc", "title": title, "channel": "Founders Talk", "upload_date": "20210304",
                       "webpage_url": "https://example.org/e249",
                       "chapters": [{"start_time": s, "end_time": s + 60, "title": t} for s, t in chapters], **more})


def test_a_folder_takes_titles_dates_and_chapters_from_its_side_files(podkb, tmp_path):
    (tmp_path / "show").mkdir()

    def write(name, text):
        (tmp_path / name).write_text(text.replace("Welcome", f"Welcome to {name}") if name.endswith("vtt") else text)
    write("show/E249.mp3.vtt", INTERVIEW)
    write("show/E249.info.json", info_json("Rent control and housing", [(0, "Intro"), (40, "What cities can do")]))
    write("show/E250.mp3.vtt", INTERVIEW)
    write("show/E251 [xyz].en.vtt", INTERVIEW)
    write("show/E251 [xyz].chapters.json", json.dumps({"version": "1.2.0", "chapters": [
        {"startTime": 0, "title": "Start"}, {"startTime": 30, "title": "Hidden", "toc": False},
        {"startTime": 55.5, "title": "  Cities\nand  rents "}]}))
    write("show/E252.vtt", INTERVIEW)
    (tmp_path / "show" / "E252.info.json").write_bytes(b"\x00\x01 not json")
    write("show/metadata.json", json.dumps([{"file": "E250.mp3.vtt", "title": "Housing, part two",
                                              "date": "2021-03-11"}]))
    out = podkb("add", tmp_path / "show")
    assert "4 added" in out.output, out.output
    assert "E252.info.json" in out.stderr and "unreadable" in out.stderr  # a warning; the transcript went in
    found = {e["id"]: e for e in json.loads(podkb("episodes", "--json").stdout)}
    assert set(found) == {"e249", "e250", "e251-xyz", "e252"}  # side files are never episodes
    assert found["e249"]["title"] == "Rent control and housing" and found["e249"]["date"] == "2021-03-04"
    assert found["e249"]["show"] == "Founders Talk" and found["e249"]["source"] == "https://example.org/e249"
    assert found["e250"]["title"] == "Housing, part two" and found["e250"]["date"] == "2021-03-11"
    assert found["e251-xyz"]["title"] == "E251 [xyz]" and found["e252"]["title"] == "E252"
    out = podkb("chapters", "e249")
    assert "2 chapters, as published" in out.stdout and "00:40  What cities can do" in out.stdout
    chapters = json.loads(podkb("chapters", "e251", "--json").stdout)
    assert chapters == {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Start"},
                                                         {"startTime": 55.5, "title": "Cities and rents"}]}


def test_an_episode_talking_about_several_things_gets_chapters_where_the_subject_changes(podkb, kb):
    podkb("add", TRANSCRIPTS)
    out = podkb("chapters", "fastbook")
    assert "found from the talk" in out.stdout
    data = json.loads(podkb("chapters", "fastbook", "--json").stdout)
    starts = [c["startTime"] for c in data["chapters"]]
    assert len(starts) >= 5 and starts == sorted(starts) and starts[0] < 60
    assert all(b - a >= 240 for a, b in zip(starts, starts[1:]))  # none shorter than 4 minutes
    assert all(c["title"].strip() for c in data["chapters"])
    # titled by a clause of the chapter's own words, not a list of keywords (issue 39)
    said = " ".join(s["text"] for s in json.loads(podkb("show", "fastbook", "--json").stdout)["segments"]).lower()
    for chapter in data["chapters"]:
        title = chapter["title"]
        assert title.count(",") < 2 and 2 <= len(title.split()) <= 9, title
        assert " ".join(title.lower().rstrip("…").split()[:3]) in " ".join(said.split()), title
    # a knowledge base made before: its found chapters' keyword titles are found and titled again
    import sqlite3

    with sqlite3.connect(kb / "podkb.db") as db:
        db.execute("UPDATE chapters SET title = 'Jeremy Howard, FAST Book, Weights' WHERE source = 'found'")
        db.execute("DELETE FROM migrations WHERE name = 'ingest:m006_found_chapters_titled_again'")
    again = json.loads(podkb("chapters", "fastbook", "--json").stdout)
    assert [c["title"] for c in again["chapters"]] == [c["title"] for c in data["chapters"]]
    untimed = podkb("chapters", "fastai-lesson-8").stdout.splitlines()[1:]
    assert untimed and all(line.strip().startswith("¶") for line in untimed)
    assert json.loads(podkb("chapters", "fastai-lesson-8", "--json").stdout)["chapters"] == []  # no times to give


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("PODKB_ALLOW_PRIVATE", "1")
    with FeedServer() as server:
        yield server


def test_a_feeds_published_chapters_are_imported_and_preferred(server, podkb):
    server.serve("/e1.vtt", INTERVIEW, content_type="text/vtt")
    server.serve("/e1.chapters.json", json.dumps({"version": "1.2.0", "chapters": [
        {"startTime": 0, "title": "Welcome"}, {"startTime": 41, "title": "Housing"}]}),
        content_type="application/json+chapters")
    server.serve("/broken.json", "{not json", content_type="application/json+chapters")
    items = [
        {"title": "With a chapters file", "guid": "e1", "transcripts": [(server.url + "/e1.vtt", "text/vtt")],
         "chapters": server.url + "/e1.chapters.json"},
        {"title": "With Podlove chapters", "guid": "e2", "transcripts": [(server.url + "/e1.vtt?2", "text/vtt")],
         "psc": [("00:00:00.000", "Hello"), ("00:01:01.000", "Build more")]},
        {"title": "With a broken chapters file", "guid": "e3",
         "transcripts": [(server.url + "/e1.vtt?3", "text/vtt")], "chapters": server.url + "/broken.json"},
    ]
    for n in (2, 3):
        server.serve(f"/e1.vtt?{n}", INTERVIEW.replace("Welcome", f"Welcome {n}"), content_type="text/vtt")
    out = podkb("feed", server.serve("/feed.xml", rss("Housing Radio", items), content_type="application/rss+xml"))
    assert out.stdout.count("added ") == 3, out.stdout + out.stderr
    assert "broken.json: not JSON" in out.stderr and "finding chapters from the talk instead" in out.stderr
    ids = {e["guid"]: e["id"] for e in json.loads(podkb("episodes", "--json").stdout)}
    assert json.loads(podkb("chapters", ids["e1"], "--json").stdout)["chapters"] == [
        {"startTime": 0, "title": "Welcome"}, {"startTime": 41, "title": "Housing"}]
    assert json.loads(podkb("chapters", ids["e2"], "--json").stdout)["chapters"] == [
        {"startTime": 0, "title": "Hello"}, {"startTime": 61, "title": "Build more"}]
    assert "found from the talk" in podkb("chapters", ids["e3"]).stdout
