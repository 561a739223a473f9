"""A kill at any moment of an import leaves the store consistent: whole episodes or none."""
import signal
import sqlite3
import subprocess
import sys

from podkb.knowledgebase import open_store

from .conftest import count_rows, wait_for

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
        [sys.executable, "-c", "from podkb.ui.cli import main; main()", "add", str(folder), "--kb", str(kb), "--no-index"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def check_consistent(kb):
    with sqlite3.connect(kb / "podkb.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with open_store(kb) as library:
        episodes = library.episodes()
        assert all(e.segment_count == CUES for e in episodes), [e.segment_count for e in episodes]
        return len(episodes)


def test_killed_imports_leave_whole_episodes_and_a_rerun_finishes(tmp_path):
    folder, kb = tmp_path / "talks", tmp_path / "kb"
    make_corpus(folder)
    seen = [0]
    for _ in range(4):
        process = run_import(folder, kb)
        # Kill as soon as one more episode has landed: the next one is then being read or written.
        wait_for(lambda: count_rows(kb, "episodes") > seen[-1] or process.poll() is not None,
                 "another episode to be stored")
        assert process.poll() is None, "the import finished before the kill"
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen.append(check_consistent(kb))
    assert seen == sorted(seen) and 0 < seen[-1] < FILES, seen
    process = run_import(folder, kb)
    assert process.wait(timeout=300) == 0
    assert check_consistent(kb) == FILES
