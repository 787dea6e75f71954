"""A while_loop decomposition for aten.rnn_tanh.input (torch 2.13 ships ones for GRU and LSTM only, in the private
torch.export._patches; this mirrors them, and the pinned torch is what it is written against), so a plain tanh RNN keeps a dynamic sequence length under torch.export."""

import contextlib

import torch
from torch._decomp.decompositions import _rnn_helper, gather_params, rnn_cell
from torch._higher_order_ops.while_loop import while_loop
from torch.export._patches import (
    _clone_tensors_that_alias,
    _register_rnn_while_loop_decomposition,
    register_gru_while_loop_decomposition,
    register_lstm_while_loop_decomposition,
)

_tanh_cell = rnn_cell(torch.tanh)


def one_layer_while_loop_rnn_tanh(inp, hidden, params, has_biases, reverse=False):
    ih_weight, hh_weight = params[0], params[1]
    ih_bias = params[2] if has_biases else None
    hh_bias = params[3] if has_biases else None
    pre = torch.nn.functional.linear(inp, ih_weight, ih_bias)
    pre = pre.flip(0) if reverse else pre
    hh_weight, hh_bias = _clone_tensors_that_alias((hh_weight, hh_bias))
    cur = hidden.unsqueeze(0)
    out0 = torch.empty(pre.size(0), *tuple(cur.shape[1:]), dtype=cur.dtype, device=cur.device)

    def cond_fn(i, out, cur):
        return i < pre.size(0)

    def body_fn(idx, out, cur):
        i = idx.item()
        torch._check(i >= 0)
        torch._check(i <= pre.size(0) - 1)
        cur = _tanh_cell(pre[i], cur, None, None, hh_weight, hh_bias)
        out = out.clone()
        out[i] = cur.squeeze(0)
        return idx + 1, out, cur

    _, out, final = while_loop(cond_fn, body_fn, [torch.tensor(0, dtype=torch.int64), out0, cur])
    if reverse:
        out = out.flip(0)
    return out, final.squeeze(0)


def rnn_tanh_while_loop_impl(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    params = gather_params(params, has_biases, False)
    out, finals = _rnn_helper(input, list(hx.unbind(0)), params, has_biases, num_layers, dropout, train,
                              bidirectional, batch_first, one_layer_while_loop_rnn_tanh)
    return out, torch.stack(finals, 0)


@contextlib.contextmanager
def rnn_decomps():
    """While exporting: GRU, LSTM and tanh-RNN ops traced through while_loop decompositions (dynamic length)."""
    with register_gru_while_loop_decomposition(), register_lstm_while_loop_decomposition(), \
            _register_rnn_while_loop_decomposition(torch.ops.aten.rnn_tanh.input, rnn_tanh_while_loop_impl):
        yield


def onnx_rnn_tanh(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,
                  bidirectional: bool, batch_first: bool):
    """ONNX translation of aten.rnn_tanh.input (torchlib has GRU and LSTM, not this one) for the one-layer,
    one-direction, time-major calls of the packing-free forward: ONNX RNN (default activation Tanh)."""
    from onnxscript import opset18 as op

    if num_layers != 1 or bidirectional or batch_first:
        raise NotImplementedError("onnx_rnn_tanh covers one layer, one direction, time-major")
    W = op.Unsqueeze(params[0], [0])  # (1, H, D)
    R = op.Unsqueeze(params[1], [0])  # (1, H, H)
    hidden = hx.shape[2]
    if has_biases:
        B = op.Unsqueeze(op.Concat(params[2], params[3], axis=0), [0])  # (1, 2H): [Wb, Rb]
        Y, Y_h = op.RNN(input, W, R, B, initial_h=hx, hidden_size=hidden)
    else:
        Y, Y_h = op.RNN(input, W, R, initial_h=hx, hidden_size=hidden)
    return op.Squeeze(Y, [1]), Y_h  # Y (L, 1, B, H) -> (L, B, H); Y_h (1, B, H)


CUSTOM_TRANSLATIONS = {torch.ops.aten.rnn_tanh.input: onnx_rnn_tanh}
