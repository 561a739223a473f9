"""Upgrades: a knowledge base written by an older podkb opens with today's code, with the same
episodes, segments, quotes and collections, and searches with no complaint.

Each older podkb is checked out from this repository's history into a git worktree and run with
the current virtual environment (it imports ingest/, index/ and ui/ from its own tree), on the
sample transcripts, with the fake embedder so no model is loaded.
"""
import json
import os
import subprocess
import sys

import pytest

from podkb import KnowledgeBase

from .conftest import FAKE_MODEL, ROOT

# What each older podkb could do: search came with e64af9f, quote collections by af31095.
OLDER = {"b154472": (), "e64af9f": ("search",), "8b3aeea": ("search", "quotes"), "af31095": ("search", "quotes")}
ENV = {**os.environ, "PODKB_MODEL": FAKE_MODEL, "HF_HUB_OFFLINE": "1"}


def git(*args, **kw):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def worktrees(tmp_path_factory):
    made = {}
    folder = tmp_path_factory.mktemp("older")
    for commit in OLDER:
        if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
            pytest.skip(f"this clone lacks the history with {commit} (a shallow clone): git fetch --unshallow")
        tree = folder / commit
        added = git("worktree", "add", "--detach", str(tree), commit)
        assert added.returncode == 0, added.stderr
        made[commit] = tree
    yield made
    for tree in made.values():
        git("worktree", "remove", "--force", str(tree))


# Runs several commands of an older podkb in one process (its CLI was ui.cli then, importing its own
# folders): their outputs, as a JSON list.
OLDER_DRIVER = """
import contextlib, io, json, sys
from ui.cli import cli
outputs = []
for args in json.loads(sys.argv[1]):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            cli.main(args, prog_name="podkb", standalone_mode=False)
        except SystemExit as exit:
            if exit.code:
                raise
    outputs.append(buffer.getvalue())
print(json.dumps(outputs))
"""


def older(tree, *commands):
    """Run commands (each a list of arguments) with the podkb of that commit: their outputs."""
    done = subprocess.run([sys.executable, "-c", OLDER_DRIVER, json.dumps([[*map(str, c)] for c in commands])],
                          cwd=tree, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def today(*args):
    """Run today's podkb on it, in this process (the old code runs in processes of its own)."""
    from click.testing import CliRunner

    from podkb.ui.cli import cli

    done = CliRunner().invoke(cli, [*map(str, args)], env={"PODKB_MODEL": FAKE_MODEL}, catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    return done


def common(old: dict, new: dict) -> tuple[dict, dict]:
    """The keys both versions print (today's adds some)."""
    keys = old.keys() & new.keys()
    return {k: old[k] for k in keys}, {k: new[k] for k in keys}


@pytest.mark.slow
@pytest.mark.parametrize("commit", list(OLDER))
def test_a_knowledge_base_written_by_an_older_podkb_opens_with_todays_code(commit, worktrees, tmp_path):
    tree, can, kb = worktrees[commit], OLDER[commit], tmp_path / "kb"
    writes = [["add", tree / "transcripts", "--kb", kb]]
    if "quotes" in can:
        writes += [["quote", "add", "Favourites", "--episode", "chai", "--start", "60", "--kb", kb],
                   ["quote", "add", "favourites", "--episode", "fastbook", "--start", "300", "--end", "310", "--kb", kb]]
    if "search" in can:
        writes.append(["search", "how to avoid burnout", "--kb", kb])
    episodes = json.loads(older(tree, *writes, ["episodes", "--json", "--kb", kb])[-1])
    reads = [["show", e["id"], "--json", "--kb", kb] for e in episodes]
    if "quotes" in can:
        reads.append(["collections", "--json", "--kb", kb])
    printed = [json.loads(out) for out in older(tree, *reads)]
    shows = {e["id"]: shown for e, shown in zip(episodes, printed)}
    collections = printed[-1] if "quotes" in can else {}

    now = json.loads(today("episodes", "--json", "--kb", kb).stdout)
    assert len(now) == len(episodes) == 5
    for old, new in zip(episodes, now):
        assert common(old, new)[0] == common(old, new)[1]
    for episode_id, old in shows.items():
        new = json.loads(today("show", episode_id, "--json", "--kb", kb).stdout)
        assert [common(a, b)[0] for a, b in zip(old["segments"], new["segments"])] == \
               [common(a, b)[1] for a, b in zip(old["segments"], new["segments"])]
        assert len(old["segments"]) == len(new["segments"])
    if collections:
        new = json.loads(today("collections", "--json", "--kb", kb).stdout)
        assert list(new) == list(collections) == ["Favourites"]
        assert [common(a, b)[0] for a, b in zip(collections["Favourites"], new["Favourites"])] == \
               [common(a, b)[1] for a, b in zip(collections["Favourites"], new["Favourites"])]
    # The fake embedder's vectors hash words, so only the keyword side ranks by meaning here: the
    # upgraded FTS index puts the burnout answer first, and hybrid search still finds it.
    keyword = today("search", "how to avoid burnout", "--mode", "keyword", "--json", "--kb", kb)
    assert json.loads(keyword.stdout)[0]["episode_id"] == "chai-time-learning-to-learn"
    searched = today("search", "how to avoid burnout", "--json", "--kb", kb)
    assert "chai-time-learning-to-learn" in [hit["episode_id"] for hit in json.loads(searched.stdout)[:5]]
    assert searched.stderr == keyword.stderr == ""  # no warning: an older FAISS stamp is an upgrade, not damage
    with KnowledgeBase(kb) as base:
        info = base.info()
        assert info.stale == 0 and info.passages > 0 and info.schema["index"] >= 6
