"""rnn model: packing is exact, cells/directions/layers build and train, embeddings start from vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from steps import losses_after_steps

from engine.config.run_config import make_config
from engine.features.vectors import keyed_vectors_from
from engine.models import MODELS
from engine.models.embedding import init_matrix, make_embedding

SPEC = {"vocab_size": 20, "vocab": [f"w{i}" for i in range(1, 20)], "num_outputs": 4}


def _model(**args):
    full = {**make_config(dataset="news", model="rnn").model_args, "init_vectors": "none", "emb_size": 8,
            "hidden": 6, "dropout": 0.0, **args}
    torch.manual_seed(0)
    return MODELS["rnn"].build(full, dict(SPEC)).eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pool", ["last", "max", "maxmean", "attn"])
def test_packed_and_unpacked_agree_on_unpadded_input(cell, bidirectional, pool):
    model = _model(cell=cell, bidirectional=bidirectional, layers=2, pool=pool)
    ids = torch.randint(1, 20, (5, 7))
    lengths = torch.full((5,), 7)
    packed = model((ids, lengths))
    model.pack = False
    plain = model((ids, lengths))
    assert packed.shape == (5, 4)
    torch.testing.assert_close(packed, plain)


@pytest.mark.parametrize("pool", ["max", "maxmean", "attn"])
def test_padding_does_not_change_a_titles_output(pool):
    model = _model(bidirectional=True, pool=pool)
    ids = torch.tensor([[3, 4, 5]])
    alone = model((ids, torch.tensor([3])))
    padded = model((torch.tensor([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]]), torch.tensor([3, 5])))[:1]
    torch.testing.assert_close(alone, padded)


def test_embedding_init_from_vectors_and_freezing():
    kv = keyed_vectors_from(["w1", "w3", "new"], np.arange(9, dtype=np.float32).reshape(3, 3))
    matrix, found = init_matrix(["w1", "w2", "w3", "w3-new"], kv)
    assert found == 3  # w3-new gets the mean of its parts
    assert matrix[0].abs().sum() == 0 and matrix[1].tolist() == [0, 1, 2] and matrix[3].tolist() == [3, 4, 5]
    assert matrix[4].tolist() == [4.5, 5.5, 6.5]
    spec = dict(SPEC)
    emb = make_embedding({"init_vectors": "none", "emb_size": 5, "freeze_embeddings": True}, spec)
    assert emb.weight.shape == (20, 5) and not emb.weight.requires_grad and spec["embedding_dim"] == 5


@pytest.mark.slow
def test_glove_init_records_the_size_so_rebuilding_needs_no_vectors(home, monkeypatch):
    spec = dict(SPEC, vocab=["the", "stocks"] + [f"zzq{i}" for i in range(17)])
    # unknown_vectors off: with it (the rnn's default) a rebuild reads the vectors again, on purpose (test_unknown_vectors)
    args = {**make_config(dataset="news", model="rnn").model_args, "init_vectors": "glove", "unknown_vectors": False}
    model = MODELS["rnn"].build(args, spec)
    from engine.features.vectors import load_glove

    kv = load_glove()
    assert spec["embedding_dim"] == 50 and spec["vectors_found"] == 2
    torch.testing.assert_close(model.embedding.weight[1], torch.from_numpy(np.array(kv["the"])))
    from engine.models import embedding

    monkeypatch.setattr(embedding, "load_vectors", lambda *a: pytest.fail("vectors loaded again"))
    again = MODELS["rnn"].build(args, spec)  # prediction: same shapes, no vector file needed
    again.load_state_dict(model.state_dict())


def test_one_step_lowers_the_loss():
    model = _model(cell="gru", bidirectional=True).train()
    ids, lengths, y = torch.randint(1, 20, (8, 6)), torch.randint(1, 7, (8,)), torch.randint(0, 4, (8,))
    losses = losses_after_steps(model, (ids, lengths), y, steps=3)
    assert losses[-1] < losses[0]


def test_larger_embedding_keeps_vectors_in_first_dims(monkeypatch):
    from engine.models import embedding

    kv = keyed_vectors_from(["w1", "w2"], np.arange(6, dtype=np.float32).reshape(2, 3))
    monkeypatch.setattr(embedding, "load_vectors", lambda source, home=None: kv)
    spec = {"vocab_size": 3, "vocab": ["w1", "w2"]}
    emb = make_embedding({"init_vectors": "glove", "emb_size": 5}, spec)
    assert spec["embedding_dim"] == 5 and emb.weight.shape == (3, 5)
    assert emb.weight[1, :3].tolist() == [0, 1, 2] and emb.weight[0].abs().sum() == 0
    with pytest.raises(Exception, match="smaller"):
        make_embedding({"init_vectors": "glove", "emb_size": 2}, {"vocab_size": 3, "vocab": ["w1", "w2"]})


def test_word_dropout_only_while_training():
    model = _model(word_dropout=0.3)
    ids = torch.randint(1, 20, (200, 20))
    x = (ids, torch.full((200,), 20))
    full = model.embedding(ids)
    e = model.train().embed(x)
    dropped = (e == 0).all(-1)  # a dropped word reads as id 0, whose row is zero
    share = float(dropped.float().mean())
    assert 0.25 < share < 0.35 and torch.equal(e[~dropped], full[~dropped])
    assert torch.equal(model.eval().embed(x), full)
