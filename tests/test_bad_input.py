"""Bad input: one line naming the file and the reason; the rest of the batch still imports."""
import codecs
import json

import pytest

from podkb import KnowledgeBase
from podkb.ingest import BadInput
from podkb.ingest.decode import decode

from .conftest import BAD, FAKE_MODEL, one_error_each, run

GOOD = "[00:00:01.000 --> 00:00:02.500]  A good transcript line.\n"


def test_empty_file_is_refused():
    with pytest.raises(BadInput, match="empty file"):
        decode(b"")


@pytest.mark.parametrize("data, kind", [
    (bytes(range(256)) * 8, "binary"),
    (b"ID3\x04\x00" + b"\x00" * 100, "audio"),
    (b"%PDF-1.7\n" + b"\x00\x01" * 50, "PDF"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image"),
])
def test_binary_files_are_refused_with_their_kind(data, kind):
    with pytest.raises(BadInput, match=kind):
        decode(data)


def test_invalid_utf8_bytes_are_replaced_and_reported():
    decoded = decode("café naïve ".encode() + b"\xff\xfe broken" + " encore é".encode())
    assert decoded.encoding == "utf-8"
    assert "café naïve" in decoded.text and "\ufffd" in decoded.text
    assert decoded.warnings and "invalid UTF-8" in decoded.warnings[0]


def test_latin1_is_read_as_latin1():
    decoded = decode("Ça coûte très cher, à bientôt".encode("latin-1"))
    assert decoded.text == "Ça coûte très cher, à bientôt"
    assert "Latin-1" in decoded.warnings[0]


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf16_with_bom_decodes(encoding, bom):
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Zoë>Grüß dich\n"
    decoded = decode(bom + text.encode(encoding))
    assert decoded.text == text
    assert decoded.warnings == []


def test_utf16_without_bom_is_recognised():
    text = "Hello there, this is a plain transcript in UTF-16."
    decoded = decode(text.encode("utf-16-le"))
    assert decoded.text == text
    assert "no byte-order mark" in decoded.warnings[0]


def test_a_50mb_single_line_is_refused(write, podkb):
    big = write("huge.txt", b"word " * (10 * 1024 * 1024))
    good = write("good.txt", GOOD)
    result = podkb("add", big, good, expect=1)
    assert f"error: {big}: a single line of 52 million characters" in result.stderr
    assert "added good" in result.stdout


def test_every_bad_file_gets_one_line_and_the_good_ones_import(write, podkb, tmp_path):
    bad = {
        "empty.txt": (b"", "empty file"),
        "blank.txt": (b"  \n\n \t\n", "no transcript text"),
        "binary.srt": (bytes(range(256)) * 4, "not a transcript: looks like binary data"),
        "truncated.json": (b'{"segments": [{"start": 0, "end": 1.5, "te', "truncated JSON"),
        "shape.json": (json.dumps({"episodes": []}).encode(), "JSON of an unknown shape"),
        "noheader.vtt": (b"00:01.000 --> 00:02.000\nhello\n", "must start with a 'WEBVTT' header"),
        "garbage.srt": (b"this is not\na subtitle file\n", "not SRT"),
        "song.mp3": (b"ID3\x03\x00\x00\x00" + bytes(200), "cannot decode audio: Invalid data found"),
        "song.txt": (b"ID3\x03\x00\x00\x00" + bytes(200), "looks like audio (MP3)"),
    }
    paths = {name: write(name, content) for name, (content, _) in bad.items()}
    good = [write("a.txt", GOOD), write("b.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nhello\n")]
    latin = write("latin.txt", "Ça coûte très cher.".encode("latin-1"))
    missing = tmp_path / "nowhere.srt"
    result = podkb("add", *paths.values(), *good, latin, missing, expect=1)
    errors = one_error_each(result.stderr, {paths[name]: reason for name, (_, reason) in bad.items()})
    assert len(errors) == len(bad) + 1
    assert f"error: {missing}: no such file or folder" in errors
    assert f"warning: {latin}: not valid UTF-8; read as Latin-1" in result.stderr
    listed = podkb("episodes", "--json")
    assert sorted(e["id"] for e in json.loads(listed.output)) == ["a", "b", "latin"]
    assert "3 added" in result.stderr and f"{len(bad) + 1} failed" in result.stderr


def test_a_broken_manifest_is_reported_once_and_its_files_still_import(write, podkb):
    write("manifest.toml", "[[episode]\nfile = ")
    write("one.txt", GOOD)
    write("two.txt", GOOD.replace("good", "second"))
    result = podkb("add", write("three.txt", GOOD.replace("good", "third")).parent, expect=1)
    assert result.stderr.count("unreadable manifest") == 1
    assert result.stdout.count("added") == 3


def test_hostile_text_is_stored_as_written_and_shown_inert(write, podkb):
    path = write("evil.txt", "Click <script>alert(1)</script> [here](javascript:x) \x1b[31mred\x1b[0m")
    podkb("add", path)
    shown = podkb("show", "evil").output
    assert "<script>alert(1)</script>" in shown
    assert "\x1b" not in shown and "\\x1b[31m" in shown


# One lone-surrogate escape in one file (a speaker, a chapter title) never costs the other files

def test_a_folder_with_surrogate_escapes_adds_every_file(tmp_path, kb):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-whisper.json").write_text(
        '{"segments": [{"start": 0, "end": 5, "speaker": "Sp ' + BAD + '", "text": "Rest before you are tired."}]}')
    (folder / "b-podcasting.json").write_text(
        '{"segments": [{"speaker": "Host ' + BAD + '", "startTime": 0, "endTime": 4, "body": "Take whole days off."}]}')
    (folder / "c.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nSleep eight hours every night.\n")
    (folder / "c.chapters.json").write_text('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro '
                                            + BAD + '"}]}')
    (folder / "d.txt").write_text("Walk every day for an hour and you think better.")
    result = run(kb, "add", folder)
    assert "4 added" in result.output
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        speakers = {s for e in base.episodes() for s in e.speakers}
        assert {"Sp ?", "Host ?"} <= speakers
        assert [c.title for c in base.chapters("c")][0] == "Intro ?"


# A side file's broken date or huge title is a warning: dates are ASCII, titles are capped, the file still adds

def test_a_broken_date_or_a_huge_title_in_an_info_json_is_a_warning(tmp_path, kb):
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nRest before you are tired.\n")
    (tmp_path / "talk.info.json").write_text(json.dumps({"title": "T" * 100_000, "upload_date": "20211301"}))
    (tmp_path / "wide.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nSleep eight hours a night.\n")
    (tmp_path / "wide.info.json").write_text(json.dumps({"title": "Wide", "upload_date": "２０２１０３０４"}))
    result = run(kb, "add", tmp_path / "talk.vtt", tmp_path / "wide.vtt")
    assert "2 added" in result.output
    assert "date '2021-13-01' is not a date" in result.stderr and "cut to 300" in result.stderr
    with KnowledgeBase(kb, model=FAKE_MODEL) as base:
        episodes = {e.id: e for e in base.episodes()}
        assert episodes["talk"].date is None and len(episodes["talk"].title) == 300
        assert episodes["wide"].date is None


@pytest.mark.parametrize("model, reason", [
    ("/nowhere/whisper", "Whisper model /nowhere/whisper: No such file or directory"),
    ("two words", "Whisper model two words is not one: give a size"),
    ("bad\udcff", "Whisper model bad? is not one: give a size"),
    ("{folder}", "no model.bin in it (a faster-whisper model is a CTranslate2 folder)"),
    ("{folder}/broken", "Whisper model {folder}/broken can't be loaded: "),
    ("Org/not-here", "Whisper model Org/not-here can't be loaded: not on this machine"),
])
@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_whisper_model_that_is_not_one_is_one_line_and_the_rest_of_the_folder_is_added(
        tmp_path, kb, model, reason, how):
    """Issue 38: a missing path, a space or invalid UTF-8 in --whisper-model (or PODKB_WHISPER_MODEL) ended in a
    traceback and the rest of the folder was never added; an offline hub name blamed the knowledge base."""
    from .speech import needs_speech, speak

    if needs_speech.args[0]:
        pytest.skip(needs_speech.kwargs["reason"])
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken").mkdir()
    (folder / "broken" / "model.bin").write_bytes(b"not a model")
    speak("Rest before you are tired.", folder / "talk.wav")
    (folder / "talk.txt").unlink()  # speak's script: here the transcript is another file
    (folder / "notes.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nTake whole days off.\n")
    model, reason = model.format(folder=folder), reason.format(folder=folder)
    args, env = ["add", folder, "--no-index"], {"HF_HUB_OFFLINE": "1"}
    if how == "option":
        args += ["--whisper-model", model]
    else:
        env["PODKB_WHISPER_MODEL"] = model
    done = run(kb, *args, expect=1, env=env)
    [error] = one_error_each(done.stderr, {folder / "talk.wav": reason})
    assert "\n" not in error and str(kb) not in error
    assert "added notes" in done.output
