"""The store and the CLI over it: the samples, duplicates, re-adding, replacing, removing, JSON."""
import json
import shutil
import sqlite3

from podkb import KnowledgeBase
from podkb.ingest import feed_items
from podkb.knowledgebase import open_store
from podkb.ingest.migrations import migration

from .conftest import FAKE_MODEL, TRANSCRIPTS, run
from .fake_embedder import HashEmbedder

EPISODE_KEYS = {
    "id", "title", "show", "date", "source", "media", "duration", "speakers", "format", "language",
    "content_hash", "path", "segments", "duplicate_of", "similarity", "added_at", "feed", "guid",
}


def test_samples_import_as_five_episodes_with_the_duplicate_pair_flagged(podkb):
    result = podkb("add", TRANSCRIPTS)
    assert result.stdout.count("added ") == 5
    episodes = {e["id"]: e for e in json.loads(podkb("episodes", "--json").output)}
    assert set(episodes) == {
        "karpathy-advice", "karpathy-advice-chunks", "chai-time-learning-to-learn",
        "fastbook-reading-session", "fastai-lesson-8",
    }
    pair = {episodes["karpathy-advice"]["duplicate_of"], episodes["karpathy-advice-chunks"]["duplicate_of"]}
    assert pair == {None, "karpathy-advice"} or pair == {None, "karpathy-advice-chunks"}
    flagged = [e for e in episodes.values() if e["duplicate_of"]]
    assert len(flagged) == 1 and flagged[0]["similarity"] > 0.7
    chai = episodes["chai-time-learning-to-learn"]
    assert chai["show"] == "Chai Time Data Science"
    assert chai["format"] == "otter" and chai["duration"] == 7072.0 and chai["segments"] == 149
    assert chai["speakers"][:2] == ["Sanyam Bhutani", "Rob Bracco"]
    assert episodes["fastbook-reading-session"]["format"] == "whisper-console"
    listing = podkb("episodes").output
    assert "near-duplicate of" in listing


def test_episodes_json_shape_is_stable(podkb):
    podkb("add", TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt")
    [episode] = json.loads(podkb("episodes", "--json").output)
    assert set(episode) == EPISODE_KEYS
    assert episode["speakers"] == ["Jeremy Howard"]
    assert episode["date"] == "2022" and episode["source"].startswith("https://course.fast.ai/")


def test_show_prints_times_to_the_millisecond_and_speakers(podkb, write):
    path = write("talk.srt", "1\n01:02:03,456 --> 01:02:04,000\nHello there.\n\n2\n01:02:04,000 --> 01:02:05,500\nAgain.\n")
    podkb("add", path, "--speaker", "Ada Lovelace", "--show", "Engines", "--title", "On engines")
    shown = podkb("show", "talk").output.splitlines()
    assert shown[0] == "On engines — Engines"
    assert shown[1:] == ["[1:02:03.456] Ada Lovelace: Hello there.", "[1:02:04.000] Ada Lovelace: Again."]
    data = json.loads(podkb("show", "talk", "--json").output)
    assert data["segments"][0] == {"start": 3723.456, "end": 3724.0, "speaker": "Ada Lovelace",
                                   "text": "Hello there.", "turn": 0, "offset": None}


def test_readding_the_same_file_is_a_no_op(podkb, write, kb):
    path = write("a.txt", "Some words spoken once.")
    podkb("add", path)
    copy = path.parent / "copy-of-a.txt"
    shutil.copy(path, copy)
    again = podkb("add", path, copy)
    assert again.stdout.count("unchanged") == 2 and "already in the library as a" in again.output
    assert len(json.loads(podkb("episodes", "--json").output)) == 1


def test_a_changed_file_needs_replace_which_keeps_the_id(podkb, write):
    path = write("talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>First version.\n")
    podkb("add", path)
    path.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Second version.\n\n00:03.000 --> 00:04.000\n<v Bo>More.\n")
    skipped = podkb("add", path)
    assert "changed since it was added as talk; use --replace" in skipped.output
    replaced = podkb("add", path, "--replace")
    assert "replaced talk" in replaced.output
    [episode] = json.loads(podkb("episodes", "--json").output)
    assert episode["id"] == "talk" and episode["segments"] == 2 and episode["speakers"] == ["Ann", "Bo"]
    assert json.loads(podkb("show", "talk", "--json").output)["segments"][0]["text"] == "Second version."


def test_add_replace_takes_in_a_fixed_sidecar_of_an_unchanged_transcript(tmp_path, kb):
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "Tlak with a typo"}))
    run(kb, "add", tmp_path / "talk.vtt")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "Talk", "upload_date": "20210304"}))
    assert "unchanged" in run(kb, "add", tmp_path / "talk.vtt").output
    assert "1 replaced" in run(kb, "add", tmp_path / "talk.vtt", "--replace").output
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        [episode] = base.episodes()
        assert (episode.title, episode.date) == ("Talk", "2021-03-04")


def test_remove_deletes_the_episode_and_its_segments(podkb, kb):
    podkb("add", TRANSCRIPTS)
    podkb("remove", "karpathy-advice-chunks")
    ids = [e["id"] for e in json.loads(podkb("episodes", "--json").output)]
    assert "karpathy-advice-chunks" not in ids and len(ids) == 4
    with sqlite3.connect(kb / "podkb.db") as db:
        assert db.execute("SELECT count(*) FROM segments WHERE episode_id = 'karpathy-advice-chunks'").fetchone() == (0,)
        assert db.execute("SELECT duplicate_of FROM episodes WHERE duplicate_of IS NOT NULL").fetchall() == []
    missing = podkb("remove", "karpathy-advice-chunks", expect=1)
    assert "no episode 'karpathy-advice-chunks'" in missing.output


def test_episode_prefixes_resolve_when_unambiguous(podkb):
    podkb("add", TRANSCRIPTS)
    assert "Chai Time" in podkb("show", "chai").output
    ambiguous = podkb("show", "karpathy", expect=1)
    assert "names more than one episode" in ambiguous.output


def test_near_duplicate_of_a_clip_inside_a_longer_episode(kb, write):
    from podkb import KnowledgeBase

    text = (TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt").read_text()
    blocks = text.split("\n\n")
    clip = write("clip.txt", "\n\n".join(blocks[40:52]).replace("Bracco", "Braco"))
    with KnowledgeBase(kb, embedder=HashEmbedder()) as base:
        base.add([TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt"], index=False)
        [outcome] = base.add([clip], index=False)
    assert outcome.result.duplicate_of.id == "chai-time-learning-to-learn"


def test_unrelated_episodes_are_not_duplicates(podkb):
    podkb("add", TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt", TRANSCRIPTS / "fastbook-reading-session-jeremy-howard.txt")
    assert all(e["duplicate_of"] is None for e in json.loads(podkb("episodes", "--json").output))


def test_store_is_wal_and_every_migration_is_applied_at_open_once(kb):
    from podkb.knowledgebase import MIGRATIONS

    KnowledgeBase(kb).close()  # opening alone builds every table: ingest's, the index's and the quotes'
    with KnowledgeBase(kb) as opened:
        assert opened.collections.names() == [] and opened.episodes() == [] and opened.stale() == []
    with open_store(kb) as library:
        assert library.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = [row[0] for row in library.db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [name for family in MIGRATIONS for name, _ in family.steps]


def test_an_older_store_upgrades_itself(kb):
    kb.mkdir()
    with sqlite3.connect(kb / "podkb.db") as db:  # a store made by the first version: m001 only
        name, first = migration.steps[0]
        first(db)
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (name,))
        db.execute("INSERT INTO episodes (id, title, content_hash, added_at) VALUES ('old', 'Old', 'h', 'x')")
    extra_ran = []

    @migration
    def m999_probe(db):
        extra_ran.append(True)
        db.execute("CREATE TABLE probe (x)")

    try:
        with open_store(kb) as library:
            assert library.db.execute("SELECT count(*) FROM probe").fetchone() == (0,)
            [old] = library.episodes()  # m002 added the feed columns to the existing rows
            assert old.id == "old" and old.feed is None and old.guid is None and feed_items.followed(library.db) == []
        assert extra_ran == [True]
    finally:
        migration.steps.pop()


def test_podkb_home_selects_the_knowledge_base(tmp_path, monkeypatch, write):
    from click.testing import CliRunner

    from podkb.ui.cli import cli
    monkeypatch.setenv("PODKB_HOME", str(tmp_path / "home-kb"))
    runner = CliRunner()
    assert runner.invoke(cli, ["add", str(write("x.txt", "hello world"))]).exit_code == 0
    assert (tmp_path / "home-kb" / "podkb.db").exists()
    listed = runner.invoke(cli, ["episodes", "--json"])
    assert [e["id"] for e in json.loads(listed.output)] == ["x"]


def test_add_replace_drops_the_old_voice_prints_when_the_new_transcript_has_none(tmp_path):
    """Issue 38: a replaced episode kept its old voices when the new transcript had none, so `podkb speakers`
    listed them and later episodes were matched against voices that no longer existed."""
    from podkb.ingest import voice_prints
    from podkb.ingest.models import Episode, Segment, Transcript

    def transcript(voiced: bool) -> Transcript:
        found = Transcript("vtt", [Segment(0.0, 2.0, "Ann" if voiced else None, "Rest before you are tired.")])
        if voiced:
            found.voices = {"Ann": [1.0] + [0.0] * 191}
        return found

    (tmp_path / "kb").mkdir()
    with open_store(tmp_path / "kb") as library:
        first = Episode(id="talk", title="Talk", path=str(tmp_path / "talk.wav"), content_hash="one")
        assert library.add(first, transcript(True)).status == "added"
        assert [v.speaker for v in voice_prints.of(library.db)] == ["Ann"] and voice_prints.people(library.db)
        again = Episode(id="talk", title="Talk", path=str(tmp_path / "talk.wav"), content_hash="two")
        assert library.add(again, transcript(False), replace=True).status == "replaced"
        assert voice_prints.of(library.db) == [] and voice_prints.people(library.db) == {}


def test_add_says_which_knowledge_base_and_a_mistyped_one_is_not_left_behind(tmp_path):
    """Issue 38: `add` never said which knowledge base it wrote to, and a mistyped --kb kept an empty store
    even when every file failed: easy to fill the wrong library without noticing."""
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    talk = tmp_path / "talk.srt"
    talk.write_text("1\n00:00:01,000 --> 00:00:03,000\nRest before you are tired.\n")
    env = {"PODKB_MODEL": FAKE_MODEL}
    typo = tmp_path / "libary"
    failed = CliRunner().invoke(cli, ["add", str(tmp_path / "missing.srt"), "--kb", str(typo), "--no-index"], env=env)
    assert failed.exit_code == 1
    assert failed.stderr.splitlines()[-1] == f"1 failed (no knowledge base made at {typo}: nothing was added to it)"
    assert not typo.exists()
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("my own file")
    failed = CliRunner().invoke(cli, ["add", str(tmp_path / "missing.srt"), "--kb", str(folder), "--no-index"], env=env)
    assert failed.exit_code == 1 and sorted(p.name for p in folder.iterdir()) == ["notes.md"]
    kb = tmp_path / "kb"
    added = CliRunner().invoke(cli, ["add", str(talk), str(tmp_path / "missing.srt"), "--kb", str(kb), "--no-index"],
                               env=env)
    assert added.stderr.splitlines()[-1] == f"1 added, 1 failed (in the knowledge base at {kb})"
    again = CliRunner().invoke(cli, ["add", str(tmp_path / "missing.srt"), "--kb", str(kb), "--no-index"], env=env)
    assert again.exit_code == 1 and (kb / "podkb.db").is_file()  # an existing one is never removed
    assert again.stderr.splitlines()[-1] == f"1 failed (in the knowledge base at {kb})"


def test_a_folder_s_notes_are_skipped_and_said_and_a_named_note_is_added(tmp_path):
    """Issue 38: a folder add took every .txt in it: a SOURCE.txt note became an episode, a JSON note an error."""
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "E249.mp3.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nRest before you are tired.\n")
    (folder / "SOURCE.txt").write_text("Community transcripts from the forum, 2024.")
    (folder / "README.md").write_text("# About these files")
    (folder / "LICENSE").write_text("CC BY 4.0")
    (folder / "notes.json").write_text('{"todo": "check E250"}')
    env, kb = {"PODKB_MODEL": FAKE_MODEL}, tmp_path / "kb"
    done = CliRunner().invoke(cli, ["add", str(folder), "--kb", str(kb), "--no-index"], env=env)
    assert done.exit_code == 0, done.output
    assert [line for line in done.stderr.splitlines() if line.startswith("warning:")] == [
        f"warning: {folder}: skipped 3 notes (README.md, SOURCE.txt, notes.json): a folder's README, LICENSE, SOURCE and the "
        "like are not transcripts; name a file to add it anyway",
        f"warning: {folder}: skipped 1 file (LICENSE) with no transcript or audio suffix (.txt, .srt, .vtt, .json, "
        ".mp3, .wav, ...); name a file to add it anyway"]
    assert "added e249: E249" in done.stdout and done.stderr.splitlines()[-1].startswith("1 added (")
    named = CliRunner().invoke(cli, ["add", str(folder / "SOURCE.txt"), "--kb", str(kb), "--no-index"], env=env)
    assert named.exit_code == 0 and "added source" in named.stdout


def test_messages_show_a_name_as_it_is_stored(tmp_path):
    """Issue 38: a rename to a name with terminal escapes stored a cleaned name but echoed the raw escapes;
    'Coll\\udcff' was printed as an escape where 'Coll?' is what is stored."""
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    talk = tmp_path / "talk.vtt"
    talk.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Ann>Rest before you are tired.\n\n"
                    "00:00:05.000 --> 00:00:09.000\n<v Bo>Take whole days off.\n")
    env, kb = {"PODKB_MODEL": FAKE_MODEL}, str(tmp_path / "kb")

    def podkb(*args, code=0):
        done = CliRunner().invoke(cli, [*args, "--kb", kb], env=env)
        assert done.exit_code == code, done.output
        return done.output

    podkb("add", str(talk), "--no-index")
    renamed = podkb("speakers", "--rename", "Ann=A\x1b[31mnn\x1b[0m")
    [stored] = [line.split("  (")[0] for line in podkb("speakers").splitlines() if "nn" in line]
    assert "\x1b" not in stored and renamed == f"renamed Ann to {stored} in 1 segment\n"
    assert podkb("quote", "add", "Coll\udcff", "--episode", "talk", "--start", "1").startswith("saved quote 1 to Coll?: ")
    assert podkb("collections") == "Coll?  (1 quote)\n"
    for command in (["quote", "list", "Dif\udcff"], ["export", "Dif\udcff"]):
        assert "no collection 'Dif?'" in podkb(*command, code=1)
