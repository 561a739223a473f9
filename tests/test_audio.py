"""Audio with the real tiny.en model on real speech (espeak-ng), no mocks of Whisper."""
import json
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from podkb import KnowledgeBase
from podkb.ingest.audio import WhisperTranscriber
from podkb.ingest.audio import word_error_rate as wer
from podkb.ui.cli import cli

from .conftest import one_error_each
from .fake_embedder import HashEmbedder
from .speech import length, needs_speech, speak

pytestmark = [needs_speech, pytest.mark.slow]

TEXT = (
    "Most people who start an online course stop after the first two lessons. "
    "The ones who finish set aside a fixed time every day and protect it. "
    "They write down what they learned each week, even when it feels small. "
    "They share their work on the forums and ask questions early. "
    "And when they fall behind, they do not start over, they simply continue."
)
PHRASE = "Remember to take a walk outside when you feel tired of the screen."


@pytest.fixture(scope="module")
def transcriber():
    return WhisperTranscriber()


def test_spoken_text_comes_back_within_15_percent_wer_with_monotonic_times(tmp_path, transcriber):
    wav = speak(TEXT, tmp_path / "talk.wav")
    transcript = transcriber.transcribe(str(wav))
    hypothesis = " ".join(s.text for s in transcript.segments)
    assert wer(TEXT, hypothesis) <= 0.15, hypothesis
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and all(s.start <= s.end for s in transcript.segments)
    word_times = [w.start for s in transcript.segments for w in s.words]
    assert word_times == sorted(word_times)
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(length(wav), abs=0.05)


def test_a_phrase_after_speech_and_silence_is_cited_at_its_moment(tmp_path, monkeypatch):
    monkeypatch.delenv("PODKB_MODEL", raising=False)
    first = speak(TEXT, tmp_path / "first.wav")
    second = speak(PHRASE, tmp_path / "second.wav")
    joined = tmp_path / "episode.wav"
    subprocess.run(f"sox {first} -p pad 0 6 | sox - {second} {joined}", shell=True, check=True)
    spoken_at = length(first) + 6.0
    kb = tmp_path / "kb"
    added = CliRunner().invoke(cli, ["add", str(joined), "--kb", str(kb), "--title", "Walks"])
    assert added.exit_code == 0, added.output
    result = CliRunner().invoke(cli, ["search", "go for a walk when tired of screens", "--kb", str(kb), "--json"])
    hit = json.loads(result.stdout)[0]
    assert "walk" in hit["highlight"].lower()
    assert abs(hit["start"] - spoken_at) <= 2.0, (hit["start"], spoken_at)
    episode = json.loads(CliRunner().invoke(cli, ["episodes", "--json", "--kb", str(kb)]).stdout)[0]
    assert episode["media"] == str(joined) and episode["format"] == "whisper-audio"
    # A recording on this machine is where the hit plays from, never a link (links are http(s) only).
    assert hit["link"] is None and hit["media"] == str(joined)


def test_bad_audio_gets_one_line_each_and_good_audio_still_imports(tmp_path, podkb, write):
    good = speak("A short good recording about learning.", tmp_path / "good.wav")
    data = good.read_bytes()
    bad = {
        "empty.mp3": (b"", "empty file"),
        "notes.mp3": (b"These are my notes, not audio at all.\n" * 20, "cannot decode audio"),
        "truncated.wav": (data[:30], "cannot decode audio"),
        "corrupt.flac": (b"fLaC" + bytes(range(256)) * 8, "cannot decode audio"),
    }
    paths = {name: write(name, content) for name, (content, _) in bad.items()}
    silence = tmp_path / "in" / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", "4"], check=True)
    result = podkb("add", *paths.values(), silence, good, expect=1)
    errors = one_error_each(result.stderr, {paths[name]: reason for name, (_, reason) in bad.items()})
    assert len(errors) == len(bad) + 1
    assert f"error: {silence}: no speech found in 4.0 s of audio" in errors
    assert "added good" in result.stdout


def test_a_killed_transcription_leaves_no_episode_and_a_rerun_is_clean(tmp_path):
    long_wav = speak(" ".join([TEXT] * 6), tmp_path / "long.wav")
    kb = tmp_path / "kb"
    command = [sys.executable, "-c", "from podkb.ui.cli import main; main()", "add", str(long_wav), "--kb", str(kb), "--no-index"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The progress bar's first line says the transcription has begun; no episode can exist before it ends.
    line = process.stderr.readline()
    assert line.startswith("transcribing"), line
    assert process.poll() is None, "the transcription ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait()
    with KnowledgeBase(kb) as base:  # (no model loads to list episodes)
        assert base.episodes() == []
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with KnowledgeBase(kb) as base:
        [episode] = base.episodes()
        said = sum(len(s.text.split()) for s in base.segments(episode.id))
        assert said >= 0.8 * len(TEXT.split()) * 6  # the whole recording, not what was done before the kill
        assert episode.duration == pytest.approx(length(long_wav), abs=0.05)


def test_the_same_audio_is_not_transcribed_twice(tmp_path):
    wav = speak("Once is enough.", tmp_path / "once.wav")

    class Counting(WhisperTranscriber):
        calls = 0

        def transcribing(self, path, name=None):
            Counting.calls += 1
            return super().transcribing(path, name)

    with KnowledgeBase(tmp_path / "kb", embedder=HashEmbedder()) as kb:
        transcriber = Counting()
        kb.add([wav], transcriber=transcriber, index=False)
        [outcome] = kb.add([wav], transcriber=transcriber, index=False)
    assert outcome.result.status == "unchanged" and Counting.calls == 1
