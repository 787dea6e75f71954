"""Words without an id read through their pretrained vectors: the featurizer's third tensor (the ids stay the
exercise's), the fixed table the models add, checkpoints without it, and the errors that name the fix."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_seq_features import CORPUS, _Data

from engine.config.run_config import make_config
from engine.features import featurizer_from_state, make_featurizer
from engine.features.sequence import TokenIds
from engine.models import MODELS
from engine.models.embedding import embed_words
from engine.training.batching import make_batches

# word2vec text format: a header, then a word and its vector per line (row = line number - 2)
WORDS = {"zebra": [1.0, 0.0, 0.0], "apple": [0.0, 2.0, 0.0], "stocks": [0.0, 0.0, 3.0], "canada": [4.0, 4.0, 4.0]}


@pytest.fixture
def source(home, tmp_path) -> str:
    path = tmp_path / "tiny.txt"
    path.write_text(f"{len(WORDS)} 3\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in WORDS.items()))
    return f"word2vec:{path}"


def _fitted(source: str) -> TokenIds:
    f = TokenIds(vectors=source)
    f.fit(_Data(CORPUS))
    return f


def test_ids_stay_the_exercises_and_words_without_one_get_their_vector_row(source):
    f, plain = _fitted(source), TokenIds()
    plain.fit(_Data(CORPUS))
    ids, lengths, rows = f.transform(["Zebra stocks apple", "Canada's unseen oil", ""])
    want_ids, want_lengths = plain.transform(["Zebra stocks apple", "Canada's unseen oil", ""])
    assert torch.equal(ids, want_ids) and torch.equal(lengths, want_lengths)
    # zebra (id 0) -> row 0 + 1; stocks has an id -> 0; apple -> 2; canada's -> its part canada, row 3 + 1;
    # unseen: no vector -> 0; padding -> 0
    assert rows.tolist() == [[1, 0, 2], [4, 0, 0], [0, 0, 0]]
    assert f.explain("Zebra unseen stocks").tokens == [("zebra", True), ("unseen", False), ("stocks", True)]
    assert f.explain("Zebra unseen stocks").unknown == ["unseen"]
    again = featurizer_from_state(f.state())
    assert again.vectors == source and all(torch.equal(a, b) for a, b in zip(again.transform(["zebra oil"]),
                                                                             f.transform(["zebra oil"]), strict=True))
    assert f.cache_key() != plain.cache_key()


def test_the_option_picks_the_featurizer_and_batches_keep_the_rows_with_their_ids(source):
    cfg = make_config(dataset="news", model="rnn", model_args={"init_vectors": source, "unknown_vectors": True})
    assert make_featurizer(cfg, "text", "ids").vectors == source
    def vectors(model: str, **args) -> str:
        return make_featurizer(make_config(dataset="news", model=model, model_args=args), "text", "ids").vectors

    # on by default for the rnn, off for the textcnn; nothing to read without pretrained vectors
    assert (vectors("rnn"), vectors("textcnn"), vectors("rnn", init_vectors="none")) == ("glove", "", "")
    f = _fitted(source)
    x = f.transform(["zebra", "apple oil zebra stocks", "oil"])
    (xb, _), = list(make_batches(x, torch.arange(3), 8))
    assert len(xb) == 3 and xb[0].shape == xb[2].shape == (3, 4)  # bucketed and trimmed together


def _model(name: str, source: str, **args):
    f = _fitted(source)
    full = {**make_config(dataset="news", model=name).model_args, "init_vectors": source, "unknown_vectors": True,
            "dropout": 0.0, "word_dropout": 0.0, "emb_size": 5, **args}
    spec = {**f.spec(), "num_outputs": 4}
    torch.manual_seed(0)
    return MODELS[name].build(full, spec), f, full, spec


@pytest.mark.parametrize("name", ["rnn", "textcnn"])
def test_a_word_without_an_id_is_read_as_its_fixed_vector_left_out_of_checkpoints(name, source):
    model, f, args, spec = _model(name, source)
    ids, lengths, rows = x = f.transform(["zebra oil", "apple stocks"])
    e = model.embedding
    assert ids[0, 0] == 0 and rows[0, 0] == 1
    got = embed_words(model, x)
    torch.testing.assert_close(got[0, 0], torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))  # zebra: its vector, padded to 5
    torch.testing.assert_close(got[0, 1], e.weight[ids[0, 1]])  # oil: its trained row
    table = model.unknown.table.clone()
    out = model.train()(x)
    F.cross_entropy(out, torch.tensor([0, 1])).backward()
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0).step()
    assert torch.equal(model.unknown.table, table)  # fixed: not a parameter, never trained
    assert not any(k.startswith("unknown.") for k in model.state_dict())  # rebuilt from the vectors, not saved
    again = MODELS[name].build(args, spec)
    again.load_state_dict(model.state_dict())
    torch.testing.assert_close(again.eval()(x), model.eval()(x))


def test_word_dropout_blanks_a_word_without_an_id_too(source):
    model, f, _, _ = _model("rnn", source, word_dropout=0.999)
    x = f.transform(["zebra apple zebra"])
    assert model.train().embed(x).abs().sum() == 0
    assert model.eval().embed(x).abs().sum() > 0


def test_a_model_can_take_its_own_defaults_of_the_shared_embedding_options():
    from engine.models import embedding

    mine = {o.name: o.default for o in embedding.options(unknown_vectors=True)}
    shared = {o.name: o.default for o in embedding.OPTIONS}
    assert mine == {**shared, "unknown_vectors": True} and shared["unknown_vectors"] is False
    with pytest.raises(ValueError, match="no embedding option named unknown_vector"):
        embedding.options(unknown_vector=True)


def test_without_pretrained_vectors_there_is_no_table_and_a_missing_input_names_the_fix(source):
    assert _model("rnn", source, init_vectors="none")[0].unknown is None  # nothing to read: the plain embedding
    model, f, _, _ = _model("rnn", source)
    ids, lengths, _ = f.transform(["zebra"])
    with pytest.raises(ValueError, match=r"\(ids, lengths, rows\)"):
        model((ids, lengths))
