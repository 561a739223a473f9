"""`podkb add --ray` on a real two-node Ray cluster, inside a private network namespace that holds only
loopback (Ray binds to the machine's own address otherwise; no test traffic may leave loopback).

The scenarios run in one shell script under `unshare -n -p -f --mount-proc`: it starts a head node
and a second node (one CPU each) once, runs each scenario's commands against them in a subshell of
its own (its output, errors and exit status kept in its own folder), and stops the cluster on its
way out, failed or not; each test then checks its scenario. The private process namespace keeps
`ray stop` to this cluster's processes (it would stop every Ray process of the machine otherwise),
and the kernel ends whatever is left when it closes.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import TRANSCRIPTS
from .speech import length, needs_speech, speak

pytestmark = [pytest.mark.slow, needs_speech]
BIN = Path(sys.executable).parent
PORT = 26379
UNSHARE = ["unshare", "-n", "-p", "-f", "--mount-proc"]  # loopback only; processes of its own
TALKS = [
    "The best advice I can give a beginner is to write code every single day, even for ten minutes.",
    "Most people stop after two lessons. The ones who finish protect a fixed hour every day.",
    "When you feel stuck, explain the problem out loud to a friend, and the answer often appears.",
]
PHRASE = "Remember to take a walk outside when you feel tired of the screen."


def namespace_or_skip():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a loopback-only network namespace")
    probe = subprocess.run([*UNSHARE, "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n -p is not permitted here: {probe.stderr.strip()}")
    pytest.importorskip("ray")


def in_cluster(body: str, tmp_path: Path, timeout: float = 1500) -> subprocess.CompletedProcess:
    """Run ``body`` (sh) in a new network namespace with a two-node cluster at 127.0.0.1:PORT."""
    script = tmp_path / "cluster.sh"
    # Ray's sockets live under its temp folder, and AF_UNIX paths are short: a short folder of our own.
    temp = Path(tempfile.mkdtemp(prefix="podkb-ray-", dir="/tmp"))
    script.write_text(f"""
set -u
ip link set lo up
# A private namespace on one machine: no token to share between its nodes.
export PATH="{BIN}:$PATH" RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled HF_HUB_OFFLINE=1
unset PODKB_MODEL
trap 'ray stop --force >/dev/null 2>&1' EXIT
ray start --head --port {PORT} --node-ip-address 127.0.0.1 --num-cpus 1 --include-dashboard=false \\
    --disable-usage-stats --temp-dir {temp} >/dev/null 2>&1 || {{ echo "head failed" >&2; exit 90; }}
ray start --address 127.0.0.1:{PORT} --num-cpus 1 --disable-usage-stats >/dev/null 2>&1 \\
    || {{ echo "second node failed" >&2; exit 91; }}
{body}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    try:
        return subprocess.run([*UNSHARE, "sh", str(script)], capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=tmp_path)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Four WAVs (one with a phrase at a known moment) and two transcripts."""
    folder = tmp_path_factory.mktemp("ray-in")
    for n, text in enumerate(TALKS):
        speak(text, folder / f"talk-{n}.wav")
    first, second = speak(TALKS[0] + " " + TALKS[1], folder / "a.wav"), speak(PHRASE, folder / "b.wav")
    subprocess.run(f"sox {first} -p pad 0 4 | sox - {second} {folder / 'walks.wav'}", shell=True, check=True)
    spoken_at = length(first) + 4.0
    for name in ("a.wav", "b.wav", "a.txt", "b.txt"):
        (folder / name).unlink(missing_ok=True)
    for n in range(3):
        (folder / f"talk-{n}.txt").unlink(missing_ok=True)
    shutil.copy(TRANSCRIPTS / "karpathy-advice-for-beginners.txt", folder)
    shutil.copy(TRANSCRIPTS / "karpathy-advice-for-beginners-whisper-chunks.txt", folder)
    return folder, spoken_at


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def episodes(kb: Path) -> dict:
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    listed = json.loads(CliRunner().invoke(cli, ["episodes", "--json", "--kb", str(kb)]).output)
    out = {}
    for episode in listed:
        shown = json.loads(CliRunner().invoke(cli, ["show", episode["id"], "--json", "--kb", str(kb)]).output)
        out[episode["id"]] = shown["segments"]
    return out


# The scenarios, in the order they run on the one cluster (the one that kills its command runs last:
# its actors go with it). Each gives the sh commands to run in its own folder ``work``.

def two_node(folder: Path, work: Path) -> str:
    kb = work / "kb"
    return (f'podkb add {folder} --kb {kb} --ray 127.0.0.1:{PORT}\n'
            f'podkb search "take a walk when tired of screens" --kb {kb} --json -k 1 > {work}/hit.json')


def feed(folder: Path, work: Path) -> str:
    """A feed's audio items, served over HTTP inside the namespace, go to the cluster's workers."""
    site = work / "site"
    site.mkdir()
    items = ""
    for n in range(2):
        size = Path(shutil.copy(folder / f"talk-{n}.wav", site)).stat().st_size
        items += (f"<item><title>Talk {n}</title><guid>talk-{n}</guid><pubDate>Mon, 0{n + 1} Jan 2024 10:00:00 +0000"
                  f"</pubDate><enclosure url=\"http://127.0.0.1:8123/talk-{n}.wav\" length=\"{size}\" "
                  "type=\"audio/wav\"/></item>")
    (site / "feed.xml").write_text(f"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Cluster cast</title>"
                                   f"<link>http://127.0.0.1:8123/</link><description>Talks</description>{items}"
                                   "</channel></rss>")
    return f"""
{sys.executable} -m http.server 8123 --bind 127.0.0.1 --directory {site} >/dev/null 2>&1 &
SERVER=$!
until {sys.executable} -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8123/feed.xml')" 2>/dev/null; do
    sleep 0.05
done
podkb feed http://127.0.0.1:8123/feed.xml --allow-private --kb {work / "kb"} --ray 127.0.0.1:{PORT}
STATUS=$?
kill $SERVER
exit $STATUS
"""


def worker_killed(folder: Path, work: Path) -> str:
    # Start the import, wait until an actor is transcribing (Ray names the process after the task it
    # runs), kill that process, and let the import finish.
    return f"""
podkb add {folder} --kb {work / "kb"} --ray 127.0.0.1:{PORT} --no-index 2> {work}/add.err &
ADD=$!
while ! pkill -9 -f 'ray::_Worker.transcribe'; do
    kill -0 $ADD 2>/dev/null || {{ echo "the import ended before a worker was transcribing" >&2; exit 92; }}
    sleep 0.05
done
echo killed >&2
wait $ADD
"""


def command_killed(folder: Path, work: Path) -> str:
    # Kill the command (the one writer) once its first episode is stored; then run it again.
    kb = work / "kb"
    count = (f"{sys.executable} -c \"import sys; from tests.conftest import count_rows; "
             f"print(count_rows(__import__('pathlib').Path(sys.argv[1]), 'episodes'))\" {kb}")
    return f"""
cd {Path(__file__).resolve().parent.parent}
podkb add {folder} --kb {kb} --ray 127.0.0.1:{PORT} --no-index 2> {work}/first.err &
ADD=$!
while [ "$({count})" -lt 1 ]; do
    kill -0 $ADD 2>/dev/null || {{ echo "the import ended first" >&2; exit 93; }}
    sleep 0.05
done
kill -9 $ADD
wait $ADD
podkb add {folder} --kb {kb} --ray 127.0.0.1:{PORT} --no-index 2> {work}/again.err > {work}/again.out
"""


SCENARIOS = (two_node, feed, worker_killed, command_killed)


@dataclass
class Run:
    work: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def runs(inputs, tmp_path_factory) -> dict[str, Run]:
    """Every scenario, run once on one two-node cluster: its folder, exit status, output and errors."""
    namespace_or_skip()
    folder, _ = inputs
    root = tmp_path_factory.mktemp("ray-runs")
    parts = []
    for scenario in SCENARIOS:
        work = root / scenario.__name__
        work.mkdir()
        parts.append(f"( cd {work} && {{\n{scenario(folder, work)}\n}} ) > {work}/stdout 2> {work}/stderr\n"
                     f"echo $? > {work}/rc")
    ran = in_cluster("\n".join(parts), root, timeout=2400)
    assert ran.returncode == 0, ran.stderr[-3000:]  # the cluster started
    done = {}
    for scenario in SCENARIOS:
        work = root / scenario.__name__
        done[scenario.__name__] = Run(work, int((work / "rc").read_text()), (work / "stdout").read_text(),
                                      (work / "stderr").read_text())
    return done


def test_a_two_node_cluster_transcribes_and_indexes_as_this_process_does(inputs, runs, tmp_path):
    folder, spoken_at = inputs
    ran = runs["two_node"]
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "6 added" in ran.stderr and "on the Ray cluster" in ran.stderr

    local = tmp_path / "local"
    done = subprocess.run([str(BIN / "podkb"), "add", str(folder), "--kb", str(local)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PODKB_MODEL"})
    assert done.returncode == 0, done.stderr
    remote, here = episodes(ran.work / "kb"), episodes(local)
    assert sorted(remote) == sorted(here) and len(remote) == 6
    for episode_id, segments in here.items():
        # The same words; a comma may differ (one int8 thread per actor, every core here: on an AVX2 CPU
        # the two decode "a friend and" and "a friend, and").
        assert [words(s["text"]) for s in remote[episode_id]] == [words(s["text"]) for s in segments]
        for theirs, ours in zip(remote[episode_id], segments):
            for key in ("start", "end"):
                if ours[key] is not None:
                    assert abs(theirs[key] - ours[key]) <= 0.1, (episode_id, theirs, ours)
    [hit] = json.loads((ran.work / "hit.json").read_text())
    assert hit["episode_id"] == "walks" and abs(hit["start"] - spoken_at) <= 2.0, (hit, spoken_at)


def test_a_worker_killed_mid_transcription_is_retried_and_each_episode_is_stored_once(runs):
    ran = runs["worker_killed"]
    err = (ran.work / "add.err").read_text() if (ran.work / "add.err").exists() else ""
    assert ran.returncode == 0 and "killed" in ran.stderr, ran.stderr[-3000:] + err[-3000:]
    assert "6 added" in err, err
    found = episodes(ran.work / "kb")
    assert len(found) == 6 and all(found.values())
    import sqlite3

    with sqlite3.connect(ran.work / "kb" / "podkb.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT content_hash) FROM episodes").fetchone() == (6, 6)


def test_a_cluster_that_cannot_be_reached_is_one_line_before_any_work(tmp_path):
    namespace_or_skip()
    kb = tmp_path / "kb"
    wav = speak(TALKS[0], tmp_path / "talk.wav")
    ran = subprocess.run([*UNSHARE, "sh", "-c",
                          f"ip link set lo up; {BIN / 'podkb'} add {wav} --kb {kb} --ray 127.0.0.1:1"],
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 1
    errors = [line for line in ran.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in errors[0], ran.stderr
    assert episodes(kb) == {}  # nothing was transcribed or stored


def test_a_killed_command_run_again_keeps_what_was_stored_and_does_the_rest(runs):
    ran = runs["command_killed"]
    assert ran.returncode == 0, ran.stderr[-3000:]
    again = (ran.work / "again.out").read_text()
    assert again.count("unchanged ") >= 1 and "added" in again, again
    import sqlite3

    with sqlite3.connect(ran.work / "kb" / "podkb.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT content_hash) FROM episodes").fetchone() == (6, 6)


def test_a_feed_is_transcribed_on_the_cluster(runs):
    ran = runs["feed"]
    assert ran.returncode == 0 and "2 added" in ran.stderr, ran.stderr[-3000:]
    kb = ran.work / "kb"
    found = episodes(kb)
    assert len(found) == 2
    spoken = " ".join(s["text"] for segments in found.values() for s in segments).lower()
    assert "write code every single day" in spoken and "protect a fixed hour" in spoken
    # The workers fetched the items by URL: the episodes play from it, and this machine downloaded nothing.
    from podkb import KnowledgeBase

    with KnowledgeBase(kb) as opened:
        assert sorted(e.media for e in opened.episodes()) == [f"http://127.0.0.1:8123/talk-{n}.wav" for n in range(2)]
    assert not any((kb / "media").glob("*")) if (kb / "media").exists() else True
