"""A packing-free, exact recurrent forward for engine.models.rnn.RNNClassifier, for exports (pack_padded_sequence
does not export with a dynamic length).

Each layer and direction runs as a one-layer, one-direction recurrence over the padded, time-major batch, with
the model's own nn.RNN/GRU/LSTM weights (so the state_dict is untouched):
  * forward direction: run over the padded batch as it is; outputs at t < len are exactly the packed ones
    (the recurrence is causal: the padding after a sequence never reaches its real positions);
  * backward direction: reverse each sequence within its own length (a gather with
    rev[t, b] = len_b - 1 - t for t < len_b, else t), run forward in time, and reverse back (the same gather:
    the permutation is its own inverse). Padding stays at the end, so again it never reaches real positions;
  * the next layer reads the concatenated outputs (real positions exact, padding positions garbage that never
    reaches a real position);
  * pool "last": the forward state at t = len - 1 (gather), the backward state at t = 0 (= the end of the
    reversed run); "max"/"maxmean"/"attn": exactly the model's masked pooling (garbage at padding is masked).
Only tensor ops (arange, where, gather, cat) plus the 1-layer aten RNN ops, whose lengths are symbolic.
"""

from __future__ import annotations

import torch
from torch import nn


def run_direction(cell: str, x: torch.Tensor, params: list[torch.Tensor], has_bias: bool) -> torch.Tensor:
    """One layer, one direction, time-major: x (L, B, D) -> outputs (L, B, H), from a zero state."""
    h0 = x.new_zeros(1, x.shape[1], params[1].shape[1])  # weight_hh is (gates*H, H)
    if cell == "lstm":
        out, _, _ = torch.lstm(x, (h0, h0), params, has_bias, 1, 0.0, False, False, False)
    elif cell == "gru":
        out, _ = torch.gru(x, h0, params, has_bias, 1, 0.0, False, False, False)
    else:  # the lab's plain RNN is tanh
        out, _ = torch.rnn_tanh(x, h0, params, has_bias, 1, 0.0, False, False, False)
    return out


def reverse_within_lengths(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(L, B) time indices that reverse each column's first lengths[b] steps and keep its padding in place."""
    t = torch.arange(size, device=lengths.device)[:, None]
    lens = lengths.to(t.device)[None, :]
    return torch.where(t < lens, lens - 1 - t, t)


def take_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (L, B, H) gathered along time with index (L', B) -> (L', B, H)."""
    return x.gather(0, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


def padded_rnn(rnn: nn.RNNBase, cell: str, e: torch.Tensor, lengths: torch.Tensor, training: bool = False):
    """e (B, L, D) batch-first, lengths (B,) -> (outputs (B, L, dirs*H) exact at t < len, last states (B, dirs*H)):
    what rnn(pack_padded_sequence(e, lengths)) gives, padded back; the last states are the final layer's."""
    dirs = 2 if rnn.bidirectional else 1
    x = e.transpose(0, 1)  # (L, B, D)
    size = x.shape[0]
    rev = reverse_within_lengths(lengths, size) if dirs == 2 else None
    last_idx = (lengths.to(x.device) - 1).clamp(min=0)[None, :]  # (1, B)
    lasts: list[torch.Tensor] = []
    for layer in range(rnn.num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            params = [getattr(rnn, f"weight_ih{sfx}"), getattr(rnn, f"weight_hh{sfx}")]
            if rnn.bias:
                params += [getattr(rnn, f"bias_ih{sfx}"), getattr(rnn, f"bias_hh{sfx}")]
            if d == 0:
                out = run_direction(cell, x, params, rnn.bias)
                last = take_time(out, last_idx)[0]  # state after the last real step
            else:
                out_rev = run_direction(cell, take_time(x, rev), params, rnn.bias)
                last = take_time(out_rev, last_idx)[0]  # the backward run ends at t = 0
                out = take_time(out_rev, rev)
            outs.append(out)
            lasts.append(last)
        x = torch.cat(outs, dim=2) if dirs == 2 else outs[0]
        if training and rnn.dropout > 0 and layer < rnn.num_layers - 1:
            x = nn.functional.dropout(x, rnn.dropout, True)
    return x.transpose(0, 1), torch.cat(lasts[-dirs:], dim=1)


def padded_head(model, e: torch.Tensor, x) -> torch.Tensor:
    """RNNClassifier.head without packing: the same logits, exact for every mix of lengths."""
    ids, lengths = x[0], x[1]
    e = model.dropout(e)
    steps = lengths if model.pack else torch.full_like(lengths, e.shape[1])  # pack off: it reads the padding too
    out, last = padded_rnn(model.rnn, model.cell, e, steps, model.training)
    feat = last if model.pool == "last" else model.pool_outputs(out, ids, lengths)
    return model.fc(model.dropout(feat))
