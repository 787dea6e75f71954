"""textcnn model: several widths, padding never changes a title's output, one-word titles work."""

from __future__ import annotations

import pytest
import torch
from steps import losses_after_steps

from engine.config.options import ConfigError
from engine.config.run_config import make_config
from engine.models import MODELS

SPEC = {"vocab_size": 30, "vocab": [f"w{i}" for i in range(1, 30)], "num_outputs": 4}


def _model(**args):
    full = {**make_config(dataset="news", model="textcnn").model_args, "init_vectors": "none", "emb_size": 8,
            "channels": 5, **args}
    torch.manual_seed(0)
    return MODELS["textcnn"].build(full, dict(SPEC)).eval()


def test_default_width_is_the_exercises_and_several_widths_parse():
    assert make_config(dataset="news", model="textcnn").model_args["widths"] == (3,)
    assert make_config(dataset="news", model="textcnn", model_args={"widths": "2,3,4"}).model_args["widths"] == (2, 3, 4)
    with pytest.raises(ConfigError):
        make_config(dataset="news", model="textcnn", model_args={"widths": "0"})


@pytest.mark.parametrize("widths", [(3,), (2, 3, 5)])
def test_padding_and_batch_company_do_not_change_outputs(widths):
    model = _model(widths=widths)
    short = torch.tensor([[4]])  # one word: shorter than every filter
    mid = torch.tensor([[5, 6, 7, 8]])
    alone = torch.cat([model((short, torch.tensor([1]))), model((mid, torch.tensor([4])))])
    batch = torch.tensor([[4, 0, 0, 0, 0, 0], [5, 6, 7, 8, 0, 0]])
    together = model((batch, torch.tensor([1, 4])))
    assert together.shape == (2, 4)
    torch.testing.assert_close(alone, together)


def test_trains_a_few_steps():
    model = _model(widths=(2, 3), dropout=0.0).train()
    ids, lengths, y = torch.randint(1, 30, (16, 7)), torch.randint(1, 8, (16,)), torch.randint(0, 4, (16,))
    losses = losses_after_steps(model, (ids, lengths), y, steps=5)
    assert losses[-1] < losses[0]
