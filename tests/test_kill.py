"""A kill at any moment of an import leaves the store consistent: whole episodes or none."""
import signal
import sqlite3
import subprocess
import sys
import time

from ingest import Library

CUES = 3000
FILES = 12


def clock(seconds):
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_corpus(folder):
    folder.mkdir()
    for f in range(FILES):
        lines = []
        for i in range(CUES):
            lines.append(f"{i + 1}\n{clock(i * 2)} --> {clock(i * 2 + 1.5)}\n"
                         f"file {f} cue {i} says word{f * CUES + i} and more{i * 7 + f}\n")
        (folder / f"talk-{f:02d}.srt").write_text("\n".join(lines))


def run_import(folder, kb):
    return subprocess.Popen(
        [sys.executable, "-c", "from ui.cli import main; main()", "add", str(folder), "--kb", str(kb), "--no-index"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def check_consistent(kb):
    with sqlite3.connect(kb / "podkb.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with Library(kb) as library:
        episodes = library.episodes()
        assert all(e.segment_count == CUES for e in episodes), [e.segment_count for e in episodes]
        return len(episodes)


def test_killed_imports_leave_whole_episodes_and_a_rerun_finishes(tmp_path):
    folder, kb = tmp_path / "talks", tmp_path / "kb"
    make_corpus(folder)
    seen = []
    for delay in (0.8, 1.6, 2.4, 3.2, 4.0):
        process = run_import(folder, kb)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (kb / "podkb.db").exists():
            seen.append(check_consistent(kb))
    assert seen == sorted(seen)
    assert any(0 < n < FILES for n in seen), f"no kill landed mid-import: {seen}"
    process = run_import(folder, kb)
    assert process.wait(timeout=300) == 0
    assert check_consistent(kb) == FILES
