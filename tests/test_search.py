"""Search over real SQLite, FTS5 and FAISS with the fake embedder: hostile queries, filters,
duplicates, model changes, and a crash between the SQLite and FAISS writes."""
import json

import pytest

from podkb import KnowledgeBase
from podkb.ingest import add_paths

from podkb.knowledgebase import open_store
from podkb.index import Filters, Index, ModelMismatch, search_index, sync
from podkb.index.vectors import VectorIndex

from .conftest import TRANSCRIPTS, built, index_of
from .fake_embedder import HashEmbedder


@pytest.fixture
def samples(kb):
    built(kb, [TRANSCRIPTS], embedder=HashEmbedder())
    index = index_of(kb, HashEmbedder())
    yield index
    index.library.close()


@pytest.fixture
def shared(shared_samples):
    return shared_samples


HOSTILE = ['"', '""', "burnout\"", "AND", "OR OR", "NEAR(burnout hours)", "burn*", "*", "(", ")", "((burnout",
           "hours)", "NOT burnout", "col:burnout", "text:hours", "^burnout", "burnout -hours", "'; DROP TABLE x;--",
           "\x00", "🔥", "a" * 5000, "", "   ", "the of and"]


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_hostile_queries_never_raise(shared, query, mode):
    hits = search_index(shared, query, k=5, mode=mode)
    assert isinstance(hits, list)


def test_operator_words_are_searched_as_words(shared):
    hits = search_index(shared, "NEAR(burnout", k=3, mode="keyword")
    assert hits and "burn" in f"{hits[0].question} {hits[0].text}".lower()


def test_keyword_search_cites_the_chai_time_burnout_advice(shared):
    hits = search_index(shared, "avoid burnout", k=3, mode="keyword")
    assert hits[0].episode_id == "chai-time-learning-to-learn"
    # The passage that matches asks how to avoid burnout; the hit cites the answer, the question with it.
    assert "burnout" in hits[0].question and "burnout" not in hits[0].highlight
    assert hits[0].start > hits[0].question_start
    assert hits[0].start is not None and hits[0].citation.startswith("Chai Time Data Science — ")


def test_filters_apply_before_ranking_so_k_hits_come_back(shared):
    filters = Filters(episode="fastai-lesson-8")
    hits = search_index(shared, "avoid burnout", k=7, mode="hybrid", filters=filters)
    assert len(hits) == 7 and {h.episode_id for h in hits} == {"fastai-lesson-8"}
    by_speaker = search_index(shared, "learning", k=6, filters=Filters(speaker="rob bracco"))
    assert len(by_speaker) == 6 and {h.speaker for h in by_speaker} == {"Rob Bracco"}
    by_show = search_index(shared, "hours of practice", k=4, filters=Filters(show="Lex Fridman Podcast"))
    assert by_show and {h.show for h in by_show} == {"Lex Fridman Podcast"}
    dated = search_index(shared, "learning", k=5, filters=Filters(date_from="2022-06", date_to="2022-12"))
    assert {h.episode_id for h in dated} <= {"karpathy-advice", "karpathy-advice-chunks"} and dated
    assert search_index(shared, "learning", filters=Filters(show="No Such Show")) == []


def test_the_two_karpathy_transcriptions_collapse_into_one_hit(shared):
    hits = search_index(shared, "10,000 hours deliberate effort expert", k=5, mode="keyword")
    karpathy = [h for h in hits if h.episode_id.startswith("karpathy")]
    assert karpathy, [h.episode_id for h in hits]
    top = karpathy[0]
    others = {e.episode_id for e in top.also_in}
    assert others == {"karpathy-advice", "karpathy-advice-chunks"} - {top.episode_id}
    texts = [h.text for h in hits]
    assert len(texts) == len(set(texts))


def test_searching_with_another_model_points_to_reindex(samples):
    class Other(HashEmbedder):
        name = "other-model"
        dim = 32

    with pytest.raises(ModelMismatch, match="podkb reindex --model other-model"):
        Index(samples.library, embedder=Other())
    index = Index(samples.library, embedder=Other(), check_model=False)
    report = sync.reindex(index)
    assert report.episodes == 5 and index.meta("model") == "other-model" and index.vectors().dim == 32
    assert search_index(index, "burnout", k=2)


def test_adding_and_removing_an_episode_updates_faiss_without_a_rebuild(samples, write, monkeypatch):
    before = samples.vectors().count
    monkeypatch.setattr(Index, "_rebuild", lambda self: pytest.fail("rebuilt everything"))
    list(add_paths(samples.library, [str(write("extra.txt", "A new talk about burnout and rest. " * 20))]))
    report = sync.sync(samples)
    assert report.episodes == 1 and samples.vectors().count == before + report.passages
    removed = sync.remove(samples, "extra")
    assert removed == report.passages and samples.vectors().count == before


def test_a_crash_between_the_sqlite_and_faiss_writes_heals_on_next_open(samples, write, monkeypatch, kb):
    before = samples.vectors().count
    list(add_paths(samples.library, [str(write("late.txt", "Zebras teach patience to the herd. " * 30))]))

    def crash(self, path, stamp):
        raise KeyboardInterrupt("killed before the FAISS file was written")

    monkeypatch.setattr(VectorIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        sync.sync(samples)
    monkeypatch.undo()
    stale = VectorIndex.load(kb / "passages.faiss", 64)[0]
    assert stale.count == before  # the file on disk missed the new passages
    with open_store(kb) as library:
        fresh = Index(library, embedder=HashEmbedder())
        assert fresh.stale_episodes() == []
        hits = search_index(fresh, "zebras patience herd", k=1, mode="dense")
        assert hits[0].episode_id == "late"
        assert fresh.vectors().count == library.db.execute("SELECT count(*) FROM vectors").fetchone()[0]


def test_a_missing_or_corrupt_faiss_file_is_rebuilt_from_sqlite(samples, kb):
    count = samples.vectors().count
    for damage in (lambda p: p.unlink(), lambda p: p.write_bytes(b"garbage")):
        damage(kb / "passages.faiss")
        with open_store(kb) as library:
            index = Index(library, embedder=HashEmbedder())
            assert index.vectors().count == count
            assert search_index(index, "burnout", k=1)


def test_fts_rows_follow_removed_episodes(samples):
    sync.remove(samples, "chai-time-learning-to-learn")
    hits = search_index(samples, "burnout", k=10, mode="keyword")
    assert all(h.episode_id != "chai-time-learning-to-learn" for h in hits)
    db = samples.db
    assert db.execute("SELECT count(*) FROM passages_fts").fetchone() == db.execute("SELECT count(*) FROM passages").fetchone()


def test_search_json_has_the_documented_fields(podkb):
    podkb("add", TRANSCRIPTS)
    hits = json.loads(podkb("search", "how to avoid burnout", "--json", "-k", "3").stdout)
    assert len(hits) == 3
    for key in ("episode_id", "episode_title", "show", "speaker", "start", "end", "text", "highlight",
                "score", "citation", "link"):
        assert key in hits[0]
    assert hits[0]["highlight"] in hits[0]["text"]


def test_batch_search_prints_one_json_line_per_query(podkb, write):
    podkb("add", TRANSCRIPTS)
    queries = write("queries.txt", "how to avoid burnout\n\n10,000 hours\nNEAR(\n")
    lines = podkb("search", "--batch", queries, "-k", "2").stdout.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["query"] for p in parsed] == ["how to avoid burnout", "10,000 hours", "NEAR("]
    assert len(parsed[0]["hits"]) == 2


def test_a_useless_query_says_so(podkb):
    podkb("add", TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt")
    result = podkb("search", "?!")
    assert "No passages found" in result.stderr


def test_term_counts_agree_with_fts5_after_adds_and_removes(samples, write):
    list(add_paths(samples.library, [str(write("more.txt", "Naïve learners café schedule burnout rest. " * 12))]))
    sync.sync(samples)
    sync.remove(samples, "chai-time-learning-to-learn")
    ours = dict(samples.db.execute("SELECT stem, df FROM term_df WHERE df > 0"))
    theirs = dict(samples.db.execute("SELECT term, doc FROM passages_vocab"))
    wrong = {term for term, doc in theirs.items() if ours.get(term) != doc}
    assert not wrong, sorted(wrong)[:20]


def test_a_store_counted_by_an_older_stemmer_is_recounted_exactly(tmp_path):
    import sqlite3

    from podkb.knowledgebase import open_store
    from podkb.index import Index

    from .fake_embedder import HashEmbedder

    built(tmp_path / "kb", [TRANSCRIPTS / "chai-time-robert-bracco-learning-to-learn.txt"], embedder=HashEmbedder())
    with sqlite3.connect(tmp_path / "kb" / "podkb.db") as db:  # as an older version left it
        db.execute("UPDATE term_df SET df = df + 7 WHERE stem = 'burnout'")
        db.execute("DELETE FROM migrations WHERE name = 'index:m005_term_frequencies_by_the_index_own_stems'")
    with open_store(tmp_path / "kb") as library:
        Index(library, embedder=HashEmbedder())
        ours = dict(library.db.execute("SELECT stem, df FROM term_df WHERE df > 0"))
        theirs = dict(library.db.execute("SELECT term, doc FROM passages_vocab"))
    assert ours == theirs


def test_an_untimed_moment_is_the_same_paragraph_in_search_show_and_the_mcp_transcript(podkb, tmp_path):
    """One formatter (index.hits.said_at) writes ¶N everywhere: podkb show used to print a character offset."""
    import json

    paragraphs = [f"Paragraph {n} is about ordinary things like {'walks' if n == 3 else 'tea'} and weather." * 3
                  for n in range(1, 6)]
    lecture = tmp_path / "lecture.txt"
    lecture.write_text("\n\n".join(paragraphs))
    podkb("add", lecture)
    [hit] = json.loads(podkb("search", "walks", "--mode", "keyword", "-k", "1", "--json").stdout)
    cited = hit["citation"].rsplit(" — ", 1)[-1]
    assert cited == f"¶{hit['paragraph'] + 1}"
    shown = [line for line in podkb("show", "lecture").stdout.splitlines() if "walks" in line]
    assert shown and all(line.startswith(f"[{cited}]") for line in shown), (cited, hit["citation"])


# An approximate (IVF) index's candidates are re-scored with the exact vectors

def test_an_ivf_index_scores_its_candidates_as_the_exact_index_does(tmp_path):
    """IVF/SQ8 codes round every vector (by up to 6e-4 in a score here); the dense candidates are re-scored
    with SQLite's float16 copy, so with every list probed the dense hits and their scores are the exact
    index's, to float16's rounding."""
    queries = ["how to avoid burnout", "what should I learn first", "how many hours a week do you practise"]
    with KnowledgeBase(tmp_path / "exact", embedder=HashEmbedder()) as exact:
        exact.add([TRANSCRIPTS])
        want = [{h.passage_id: h.score for h in exact.search(q, k=10, mode="dense")} for q in queries]
    with KnowledgeBase(tmp_path / "ivf", embedder=HashEmbedder()) as ivf:
        ivf.configure(switch_size=300, nprobe=256)  # IVF256,SQ8, every list probed: only the codes differ
        ivf.add([TRANSCRIPTS])
        assert ivf.info().index_kind.startswith("IVF")
        got = [{h.passage_id: h.score for h in ivf.search(q, k=10, mode="dense")} for q in queries]
    assert [set(g) for g in got] == [set(w) for w in want]
    assert max(abs(g[p] - w[p]) for g, w in zip(got, want) for p in g) < 1.5e-4
