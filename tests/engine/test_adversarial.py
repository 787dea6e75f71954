"""Adversarial training on the word vectors: the step's size and direction, the rnn's loss with it on and off."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.config.run_config import make_config
from engine.models import MODELS
from engine.models.adversarial import adversarial_loss, perturbation

SPEC = {"vocab_size": 20, "vocab": [f"w{i}" for i in range(1, 20)], "num_outputs": 4}


def _rnn(**args):
    full = {**make_config(dataset="news", model="rnn").model_args, "init_vectors": "none", "emb_size": 8,
            "hidden": 6, "bidirectional": True, "dropout": 0.0, "word_dropout": 0.0, **args}
    torch.manual_seed(0)
    return MODELS["rnn"].build(full, dict(SPEC)).train()


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(1, 20, (4, 5))
    ids[1, 3:] = 0  # a padded title
    return (ids, torch.tensor([5, 3, 5, 5])), torch.tensor([0, 1, 2, 3])


def test_perturbation_has_norm_eps_per_title_along_the_gradient():
    g = torch.randn(3, 4, 5)
    g[2] *= 1e3  # a title's step does not depend on the scale of its gradient
    r = perturbation(g, 0.5)
    torch.testing.assert_close(r.flatten(1).norm(dim=1), torch.full((3,), 0.5))
    cos = F.cosine_similarity(r.flatten(1), g.flatten(1), dim=1)
    torch.testing.assert_close(cos, torch.ones(3))
    assert torch.equal(perturbation(torch.zeros(2, 3, 4), 1.0), torch.zeros(2, 3, 4))  # no NaN on a zero gradient


def test_rnn_adversarial_is_on_by_default_and_off_the_loss_is_the_plain_one():
    assert make_config(dataset="news", model="rnn").model_args["adversarial"] == 2.0
    exercise, = MODELS["rnn"].presets.values()
    assert exercise["model_args"]["adversarial"] == 0.0  # the exercise's setting has none
    model = _rnn(adversarial=0.0)
    x, y = _batch()
    out, loss = model.training_loss(x, y, F.cross_entropy)
    torch.testing.assert_close(out, model(x))
    torch.testing.assert_close(loss, F.cross_entropy(out, y))


def test_rnn_adversarial_adds_the_loss_at_the_moved_vectors_which_is_higher():
    model = _rnn(adversarial=0.3)
    x, y = _batch()
    out, loss = model.training_loss(x, y, F.cross_entropy)
    e = model.embedding(x[0]).detach().requires_grad_()  # by hand: the gradient at the embedded titles
    clean = F.cross_entropy(model.head(e, x), y)
    (grad,) = torch.autograd.grad(clean, e)
    moved = e.detach() + 0.3 * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
    adv = F.cross_entropy(model.head(moved, x), y)
    torch.testing.assert_close(out, model(x))  # the outputs reported are the clean ones
    torch.testing.assert_close(loss, clean + adv)
    assert float(adv.detach()) > float(clean.detach())  # the step goes uphill
    assert torch.all(grad[1, 3:] == 0)  # the padding gets no gradient, so it is not moved
    loss.backward()
    assert model.embedding.weight.grad is not None and model.embedding.weight.grad.abs().sum() > 0


def test_adversarial_works_with_frozen_embeddings():
    model = _rnn(adversarial=0.3, freeze_embeddings=True)
    x, y = _batch()
    _, loss = adversarial_loss(model, x, y, F.cross_entropy, 0.3)
    loss.backward()
    assert model.embedding.weight.grad is None and model.fc.weight.grad is not None
