"""The acceptance path with the real model: podkb add transcripts/ && podkb search "how to avoid burnout"."""
import json
import shutil

import pytest
from click.testing import CliRunner

from ui.cli import cli

pytestmark = pytest.mark.slow


def test_burnout_advice_comes_back_cited_from_chai_time(real_kb, tmp_path, monkeypatch):
    monkeypatch.delenv("PODKB_MODEL", raising=False)
    kb = tmp_path / "kb"
    shutil.copytree(real_kb, kb)
    result = CliRunner().invoke(cli, ["search", "how to avoid burnout", "--kb", str(kb), "--json", "-k", "5"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    top = hits[0]
    assert top["episode_id"] == "chai-time-learning-to-learn"
    assert top["citation"].startswith("Chai Time Data Science — Learning to learn, with Robert Bracco — ")
    assert top["speaker"] in ("Rob Bracco", "Sanyam Bhutani") and top["start"] is not None
    assert top["highlight"] in top["text"] and "burn" in top["text"].lower()
    text = CliRunner().invoke(cli, ["search", "how to avoid burnout", "--kb", str(kb), "-k", "2"]).stdout
    assert text.startswith("1. Chai Time Data Science — ") and "»" in text


def test_a_paraphrased_question_finds_the_karpathy_advice_once(real_kb):
    from ingest import Library
    from index import Index, search_index

    with Library(real_kb) as library:
        hits = search_index(Index(library), "how many hours until I am an expert", k=5)
    karpathy = [h for h in hits if h.episode_id.startswith("karpathy")]
    assert karpathy and "10,000 hours" in karpathy[0].text
    assert len(karpathy[0].also_in) == 1  # the other transcription, folded into the same hit
