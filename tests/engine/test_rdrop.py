"""R-Drop (the transformer's): the KL term, the stacked batch, the loss with and without it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.models.rdrop import rdrop_loss, stack_twice, symmetric_kl


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


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 4))


def test_rdrop_with_weight_zero_is_the_plain_loss():
    model, x, y = _net().train(), torch.randn(4, 6), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(3)
    out, loss = rdrop_loss(model, x, y, F.cross_entropy, 0.0)
    torch.manual_seed(3)
    assert torch.equal(out, model(x)) and torch.allclose(loss, F.cross_entropy(out, y))


def test_rdrop_passes_each_example_twice_with_two_masks_and_adds_their_kl():
    model, x, y = _net().train(), torch.randn(4, 6), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(3)
    out, loss = rdrop_loss(model, x, y, F.cross_entropy, 2.0)
    torch.manual_seed(3)
    with torch.no_grad():
        a, b = model(stack_twice(x)).chunk(2)
    assert not torch.allclose(a, b)  # dropout differs between the copies
    kl = symmetric_kl(a, b)
    assert float(kl) > 0 and torch.allclose(out, (a + b) / 2)
    assert torch.allclose(loss, (F.cross_entropy(a, y) + F.cross_entropy(b, y)) / 2 + 2.0 * kl)
    model.eval()
    assert torch.allclose(*model(stack_twice(x)).chunk(2))  # no dropout at evaluation: one answer
