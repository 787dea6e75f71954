"""R-Drop, shared by the rnn and the transformer: the KL term, the stacked batch, the rnn's loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.config.run_config import make_config
from engine.models import MODELS
from engine.models.rdrop import rdrop_loss, stack_twice, symmetric_kl

SPEC = {"vocab_size": 20, "vocab": [f"w{i}" for i in range(1, 20)], "num_outputs": 4}


def test_symmetric_kl_matches_the_definition():
    a, b = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]), torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.4, 0.1]])
    p, q = a.softmax(1), b.softmax(1)
    by_hand = ((p * (p / q).log()).sum(1) + (q * (q / p).log()).sum(1)).mean() / 2
    assert torch.allclose(symmetric_kl(a, b), by_hand) and float(symmetric_kl(a, a)) == 0.0


def test_stack_twice_keeps_the_batch_shape_of_tensors_tuples_and_dicts():
    t = torch.arange(6).view(3, 2)
    assert torch.equal(stack_twice(t), torch.cat([t, t]))
    ids, lengths = stack_twice((t, torch.tensor([2, 1, 2])))
    assert ids.shape == (6, 2) and lengths.tolist() == [2, 1, 2, 2, 1, 2]
    d = stack_twice({"input_ids": t, "attention_mask": t > 0})
    assert set(d) == {"input_ids", "attention_mask"} and d["attention_mask"].shape == (6, 2)


def _rnn(rdrop: float):
    args = {**make_config(dataset="news", model="rnn").model_args, "init_vectors": "none", "emb_size": 8,
            "hidden": 6, "bidirectional": True, "pool": "max", "rdrop": rdrop, "adversarial": 0.0}
    torch.manual_seed(0)
    return MODELS["rnn"].build(args, dict(SPEC))


def test_rnn_rdrop_is_off_by_default_and_then_the_loss_is_the_plain_one():
    assert make_config(dataset="news", model="rnn").model_args["rdrop"] == 0.0
    model = _rnn(0.0).train()
    x, y = (torch.randint(1, 20, (4, 5)), torch.tensor([5, 3, 4, 1])), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(3)
    out, loss = model.training_loss(x, y, F.cross_entropy)
    torch.manual_seed(3)
    assert torch.equal(out, model(x)) and torch.allclose(loss, F.cross_entropy(out, y))


def test_rnn_rdrop_passes_each_title_twice_with_two_masks_and_adds_their_kl():
    model = _rnn(2.0).train()
    ids = torch.randint(1, 20, (4, 5))
    ids[1, 3:] = 0  # padded titles go through the packed path in both copies
    x, y = (ids, torch.tensor([5, 3, 4, 1])), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(3)
    out, loss = model.training_loss(x, y, F.cross_entropy)
    torch.manual_seed(3)
    with torch.no_grad():
        a, b = model(stack_twice(x)).chunk(2)
    assert not torch.allclose(a, b)  # dropout differs between the copies
    kl = symmetric_kl(a, b)
    assert float(kl) > 0 and torch.allclose(out, (a + b) / 2)
    assert torch.allclose(loss, (F.cross_entropy(a, y) + F.cross_entropy(b, y)) / 2 + 2.0 * kl)
    model.eval()
    assert torch.allclose(*model(stack_twice(x)).chunk(2))  # no dropout at evaluation: one answer
    torch.manual_seed(3)
    assert torch.allclose(rdrop_loss(model.train(), x, y, F.cross_entropy, 2.0)[1], loss)
