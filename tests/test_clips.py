"""Quotes you can hear (issue 28): a quote's clip cut from real speech, checked by decoding it again,
and the exports (CLI and web app) that carry the clips."""
import csv
import io
import json
import re
import zipfile

import numpy as np
import pytest

from podkb import clips
from podkb.clips import ClipError, clip_name, clips_for, cut
from podkb.quotes import Quote
from podkb.ui.exports import FORMATS, export, zip_with_clips

from .conftest import FAKE_MODEL, ROOT

SPEECH = ROOT / "tests" / "audio" / "librispeech" / "1089-134686-0000.flac"  # 10.44 s, 16 kHz: "HE HOPED THERE..."
OTHER = ROOT / "tests" / "audio" / "librispeech" / "1089-134686-0002.flac"   # 6.62 s
RATE = 16000
SRT = """1
00:00:00,500 --> 00:00:03,500
He hoped there would be stew for dinner,

2
00:00:03,500 --> 00:00:07,000
turnips and carrots and bruised potatoes and fat mutton pieces

3
00:00:07,000 --> 00:00:10,400
to be ladled out in thick peppered flour fattened sauce.
"""


def decoded(path) -> np.ndarray:
    """Mono float samples at 16 kHz, as a player would hear the file."""
    import av

    with av.open(str(path)) as container:
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        pieces = [f.to_ndarray().ravel() for frame in container.decode(audio=0) for f in to_mono.resample(frame)]
    return np.concatenate(pieces)


def match(clip: np.ndarray, source: np.ndarray, at: float, search: float = 0.05) -> float:
    """The best correlation of ``clip`` with ``source`` from ``at`` seconds, within ``search`` seconds either way
    (AAC's priming, should a player not skip it)."""
    best = -1.0
    for lag in range(-int(search * RATE), int(search * RATE) + 1, 4):
        begin = int(at * RATE) + lag
        n = min(len(clip), len(source) - begin) - RATE // 10  # not the encoder's padded last frame
        if begin < 0 or n < RATE // 4:
            continue
        best = max(best, float(np.corrcoef(clip[:n], source[begin:begin + n])[0, 1]))
    return best


@pytest.fixture(params=["default", "mp3"])
def encoded(request, monkeypatch):
    """Each encoding: the one this PyAV picks (AAC in .m4a here) and the MP3 it falls back to."""
    if request.param == "mp3":
        monkeypatch.setattr(clips, "encoding", lambda: clips._ENCODINGS[1])
    return clips.encoding()


def test_a_clip_is_the_quote_s_moment_with_its_margins_and_sounds_like_it(tmp_path, encoded):
    source = decoded(SPEECH)
    clip = cut(SPEECH, 3.0, 6.0, tmp_path / f"moment{encoded.suffix}")
    assert clip == tmp_path / f"moment{encoded.suffix}" and not list(tmp_path.glob(".*.part"))
    heard = decoded(clip)
    assert abs(len(heard) / RATE - 4.0) < 0.1  # 3.0-6.0 s and half a second either side
    assert match(heard, source, 2.5) > 0.95
    assert match(heard, source, 4.0) < 0.5  # the same speech a second and a half later is another moment
    assert np.sqrt(np.mean(heard ** 2)) > 0.01  # speech, not silence


def test_the_margins_stop_at_the_recording_s_ends(tmp_path):
    source = decoded(SPEECH)
    start = decoded(cut(SPEECH, 0.2, 1.5, tmp_path / "start.m4a"))
    assert abs(len(start) / RATE - 2.0) < 0.1 and match(start, source, 0.0) > 0.95
    end = decoded(cut(SPEECH, 9.0, 12.0, tmp_path / "end.m4a"))
    assert abs(len(end) / RATE - (len(source) / RATE - 8.5)) < 0.1 and match(end, source, 8.5) > 0.95


@pytest.mark.parametrize("kind, reason", [("missing", "No such file"), ("garbage", "no audio could be decoded"),
                                          ("truncated", "cut short"), ("short", "ends at")])
def test_a_recording_that_cannot_give_the_clip_is_a_clear_error_and_leaves_no_file(tmp_path, kind, reason):
    recording = tmp_path / f"{kind}.flac"
    if kind == "garbage":
        recording.write_bytes(b"\x00\x01 not audio at all " * 500)
    elif kind == "truncated":
        recording.write_bytes(SPEECH.read_bytes()[:4000])
    elif kind == "short":
        recording = SPEECH
    with pytest.raises(ClipError, match=reason):
        cut(recording, 30.0 if kind == "short" else 5.0, 7.0 if kind != "short" else 31.0, tmp_path / "out.m4a")
    assert not (tmp_path / "out.m4a").exists() and not list(tmp_path.glob(".*.part"))


def test_clip_names_come_from_ids_and_times_only(tmp_path):
    hostile = Quote(text="x", episode_id="../../etc/.passwd <b>", episode_title="../../../escape", start=3.0,
                    end=4.0, id=7)
    name = clip_name(hostile)
    assert re.fullmatch(r"podkb-q7-[a-z0-9-]+-3\.0s\.(m4a|mp3)", name), name
    [path], warnings = clips_for([hostile], {hostile.episode_id: str(SPEECH)}, tmp_path / "clips")
    assert not warnings and path.parent == tmp_path / "clips" and path.is_file()


def test_one_warning_per_recording_that_gives_no_clip_and_the_others_still_cut(tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\xff" * 5000)
    quotes = [Quote(text="a", episode_id="good", episode_title="Good", start=1.0, end=2.0, id=1),
              Quote(text="b", episode_id="bad", episode_title="Bad", start=1.0, end=2.0, id=2),
              Quote(text="c", episode_id="bad", episode_title="Bad", start=3.0, end=4.0, id=3),
              Quote(text="d", episode_id="web", episode_title="Web", start=3.0, end=4.0, id=4),
              Quote(text="e", episode_id="good", episode_title="Good", start=None, id=5),
              Quote(text="f", episode_id="gone", episode_title="Removed", start=1.0, id=6)]
    media = {"good": str(SPEECH), "bad": str(broken), "web": "https://example.org/e.mp3"}
    files, warnings = clips_for(quotes, media, tmp_path / "clips")
    assert [f is not None for f in files] == [True, False, False, False, False, False]
    [bad, web] = warnings
    assert bad.startswith(f"no clip for 2 quotes from {broken}: ") and len(bad) > len(str(broken)) + 25
    assert web.startswith("no clip for 1 quote from https://example.org/e.mp3: ") and "never downloads" in web
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [files[0].name]


def test_exports_refer_to_their_clips_and_are_unchanged_without(tmp_path):
    quote = Quote(text="Stew for dinner.", episode_id="e1", episode_title="Stew", start=1.0, end=2.5, id=3)
    plain = {f: export("Food", [quote], f) for f in FORMATS}
    assert plain == {f: export("Food", [quote], f, None) for f in FORMATS}
    assert "clip" not in plain["markdown"] and "sound:" not in plain["anki"] and "![[" not in plain["obsidian"]
    assert list(csv.DictReader(io.StringIO(plain["csv"])))[0].keys() == {
        "text", "episode_id", "episode_title", "show", "speaker", "date", "start", "end", "timestamp", "link",
        "note", "tags", "added_at"}
    name = "clips/podkb-q3-e1-1.0s.m4a"
    assert "> [▶ clip](<clips/podkb-q3-e1-1.0s.m4a>)" in export("Food", [quote], "markdown", [name])
    assert "> ![[podkb-q3-e1-1.0s.m4a]]" in export("Food", [quote], "obsidian", [name])
    assert "[sound:podkb-q3-e1-1.0s.m4a]" in export("Food", [quote], "anki", [name])
    assert list(csv.DictReader(io.StringIO(export("Food", [quote], "csv", [name]))))[0]["clip"] == name
    assert json.loads(export("Food", [quote], "json", [name]))["quotes"][0]["clip"] == name
    assert export("Food", [quote], "anki", [None]) == plain["anki"]


@pytest.fixture
def heard(podkb, write, tmp_path):
    """A knowledge base with two quotes of real speech, one of a second episode whose recording then breaks."""
    podkb("add", write("stew.srt", SRT), "--media", SPEECH)
    other = write("lamps.flac", OTHER.read_bytes())
    podkb("add", write("lamps.srt", SRT.replace("stew", "lamps")), "--media", other)
    podkb("quote", "add", "Food", "--episode", "stew", "--start", "3.5", "--end", "7")
    podkb("quote", "add", "Food", "--episode", "stew", "--start", "0.5", "--end", "3.5")
    podkb("quote", "add", "Food", "--episode", "lamps", "--start", "1", "--end", "3")
    podkb("quote", "add", "Food", "--episode", "lamps", "--start", "4", "--end", "6")
    return other


def _quotes(podkb):
    return json.loads(podkb("export", "Food", "--format", "json").stdout)["quotes"]


def test_podkb_export_clips_for_anki_obsidian_and_markdown(podkb, heard, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = podkb("export", "Food", "--format", "anki", "--clips", "-o", out / "food.anki.csv")
    assert "and 4 clips to" in result.stderr and "collection.media" in result.stderr
    rows = list(csv.reader(io.StringIO("\n".join((out / "food.anki.csv").read_text().splitlines()[4:]))))
    sounds = [re.search(r"\[sound:([^\]]+)\]", back).group(1) for _, back, _ in rows]
    assert all((out / "clips" / name).is_file() for name in sounds) and len(set(sounds)) == 4
    quote = _quotes(podkb)[0]
    heard_clip = decoded(out / "clips" / sounds[0])
    assert abs(len(heard_clip) / RATE - (quote["end"] - quote["start"] + 1.0)) < 0.1
    assert match(heard_clip, decoded(SPEECH), quote["start"] - 0.5) > 0.95

    obsidian = podkb("export", "Food", "--format", "obsidian", "--clips", "-o", out / "food.obsidian.md")
    embeds = re.findall(r"^> !\[\[([^\]]+)\]\]$", (out / "food.obsidian.md").read_text(), re.M)
    assert embeds == sounds and "warning" not in obsidian.stderr
    podkb("export", "Food", "--format", "markdown", "--clips", "-o", out / "food.md")
    links = re.findall(r"\[▶ clip\]\(<([^>]+)>\)", (out / "food.md").read_text())
    assert links == [f"clips/{name}" for name in sounds] and all((out / link).is_file() for link in links)


def test_podkb_export_without_clips_writes_no_audio_and_clips_needs_a_file(podkb, heard, tmp_path):
    podkb("export", "Food", "--format", "anki", "-o", tmp_path / "food.anki.csv")
    assert "sound:" not in (tmp_path / "food.anki.csv").read_text() and not (tmp_path / "clips").exists()
    assert "-o FILE" in podkb("export", "Food", "--clips", expect=2).stderr
    assert "can't carry clips" in podkb("export", "Food", "--format", "readwise", "--clips", "-o",
                                        tmp_path / "r.csv", expect=2).stderr


def test_a_broken_recording_is_one_warning_and_the_export_still_goes_through(podkb, heard, tmp_path):
    heard.write_bytes(heard.read_bytes()[:3000])  # the second episode's recording, truncated after it was added
    result = podkb("export", "Food", "--format", "obsidian", "--clips", "-o", tmp_path / "food.obsidian.md")
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith(f"warning: no clip for 2 quotes from {heard}: ") and "cut short" in warning
    assert "and 2 clips to" in result.stderr
    text = (tmp_path / "food.obsidian.md").read_text()
    assert text.count("![[") == 2 and text.count("> [!quote]") == 4
    assert len(list((tmp_path / "clips").iterdir())) == 2  # and no half-written .part file
    heard.unlink()
    result = podkb("export", "Food", "--format", "markdown", "--clips", "-o", tmp_path / "food.md")
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert f"from {heard}: No such file" in warning


def test_the_zip_holds_the_export_and_its_clips(podkb, heard, kb):
    from podkb import KnowledgeBase

    with KnowledgeBase(kb) as base:
        quotes = base.collections.quotes("Food")
        media = {e.id: e.media for e in base.episodes()}
    data, warnings = zip_with_clips("Food", quotes, "anki", media)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names[0] == "food.anki.csv" and len(names) == 5 and not warnings
    sounds = re.findall(r"\[sound:([^\]]+)\]", archive.read("food.anki.csv").decode())
    assert sorted(f"clips/{s}" for s in sounds) == sorted(names[1:])


def test_the_collections_page_plays_each_quote_and_offers_the_zip(podkb, heard, kb, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PODKB_HOME", str(kb))
    monkeypatch.setenv("PODKB_MODEL", FAKE_MODEL)
    heard.unlink()  # one episode's recording gone: its quotes say so, the others play
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120).run()
    at.switch_page("pages/collections.py").run()
    assert not at.exception, at.exception
    players = at.get("audio")
    assert len(players) == 2
    assert sum("No clip from" in c.value and "lamps" in c.value for c in at.caption) == 2  # escaped Markdown
    at.selectbox(key="clips-format").set_value("markdown").run()
    at.button(key="cut-clips").click().run()
    assert not at.exception, at.exception
    [download] = [b for b in at.get("download_button") if b.proto.label == "Markdown with clips"]
    [warning] = [w.value for w in at.warning]
    assert "no clip for 2 quotes from" in warning and "lamps" in warning and "No such file" in warning


def test_a_clip_never_writes_through_a_planted_link(tmp_path):
    """Issue 38: the clip was cut into a fixed, guessable temporary name, followed if someone planted a link there.
    Now a unique name is created exclusively beside it: links at the old name and at the clip's own name are
    left alone, and so are their targets."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "clips"
    folder.mkdir()
    out = folder / "podkb-q1-talk-3.0s.m4a"
    (folder / f".{out.name}.part").symlink_to(victim)  # the old fixed temporary name
    out.symlink_to(victim)                              # and the clip's own name
    cut(SPEECH, 3.0, 6.0, out)
    assert victim.read_text() == "precious"
    assert out.is_file() and not out.is_symlink() and len(decoded(out)) > RATE
    assert sorted(p.name for p in folder.iterdir()) == sorted([out.name, f".{out.name}.part"])


def test_two_clips_cut_at_once_into_one_name_both_finish(tmp_path):
    """Issue 38: two exports into one folder shared one temporary name; one failed with 'No such file'."""
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "same.m4a"
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: cut(SPEECH, 1.0, 4.0, out), range(2)))
    assert done == [out, out] and abs(len(decoded(out)) / RATE - 4.0) < 0.1
    assert list(tmp_path.iterdir()) == [out]


def test_a_recording_that_is_not_a_regular_file_is_refused_without_opening_it(tmp_path):
    """Issue 38: a FIFO where the recording was blocked the open for ever (export and the Collections page)."""
    import os
    import subprocess
    import sys

    fifo = tmp_path / "talk.flac"
    os.mkfifo(fifo)
    script = ("import sys; from podkb.clips import cut, ClipError\n"
              "try:\n    cut(sys.argv[1], 1.0, 2.0, sys.argv[2])\nexcept ClipError as e:\n    print('ClipError:', e)")
    # A bound on a hang, not a wait: the answer comes at once.
    done = subprocess.run([sys.executable, "-c", script, str(fifo), str(tmp_path / "out.m4a")],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ClipError: a named pipe (FIFO), not a regular file", done.stderr
    with pytest.raises(ClipError, match="a folder, not a regular file"):
        cut(tmp_path, 1.0, 2.0, tmp_path / "out.m4a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.flac"]


def test_a_recording_shorter_than_the_quote_says_where_it_ends(tmp_path):
    """Issue 38: a WAV shorter than the quote was called 'damaged, or not audio'."""
    import wave

    samples = (decoded(OTHER) * 32767).astype("<i2")
    recording = tmp_path / "short.wav"
    with wave.open(str(recording), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    with pytest.raises(ClipError, match=r"^the recording ends at 6\.\d s, before the quote starts at 8\.0 s$"):
        cut(recording, 8.0, 9.0, tmp_path / "out.m4a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.wav"]
