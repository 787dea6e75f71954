"""MiniLM's self-attention with the attention-weight dropout drawn by engine.models.fast_dropout.

With dropout on (training), PyTorch's scaled_dot_product_attention takes its math path on CPU and draws
the (B, heads, L, L) dropout mask one Bernoulli sample per weight. This attention function computes the
same thing (scaled scores, the padding mask, softmax, dropout, weighted sum of the values) with the mask
from `keep_mask`. Without dropout (evaluation, prediction), or off the CPU, it is transformers' own sdpa
function, so a trained model's outputs are what they were.

It is registered with transformers' public AttentionInterface under NAME, and the sdpa mask builder under
the same name (without it transformers would build no padding mask at all for an unknown name).
"""

from __future__ import annotations

import torch

from engine.models.fast_dropout import keep_mask, lanes_serve

NAME = "nnlab_sdpa"


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
              **kwargs):
    """transformers' attention-function signature: query, key, value (B, heads, L, d) -> ((B, L, heads, d), None)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    causal = kwargs.get("is_causal") or getattr(module, "is_causal", False)  # BERT's encoder is not: leave it to sdpa
    if dropout == 0.0 or causal or not lanes_serve(dropout, query.device):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, heads, L, L)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:  # True where a key may be attended to
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:  # additive
            scores = scores + attention_mask
    weights = torch.softmax(scores, dim=-1)
    weights = weights * keep_mask(weights.shape, dropout, weights.dtype)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), None


def use_fast_attention(encoder) -> None:
    """Register NAME (attention and mask functions; idempotent) and switch `encoder` to it."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    encoder.set_attn_implementation(NAME)
