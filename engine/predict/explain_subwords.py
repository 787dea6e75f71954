"""Why the pretrained transformer answered as it did: per-subword attributions (Captum's layer integrated
gradients over the word-piece embeddings, from a title of padding between the same [CLS] and [SEP]) and the
attention weights of every layer and head for one headline.

Transformers' default attention (PyTorch's scaled-dot-product kernel) does not return its weights, so the
attention call switches the encoder to the "eager" implementation for that one forward pass and back; both
compute the same states, so a prediction that runs meanwhile on the shared model is unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

MAX_ATTENTION_TOKENS = 64  # with [CLS] and [SEP]: 6 layers x 12 heads x 64 x 64 weights at most
DIGITS = 4  # attention weights are rounded to this many decimals (a heatmap needs no more)


def is_transformer(model: nn.Module) -> bool:
    encoder = getattr(model, "encoder", None)
    return encoder is not None and hasattr(encoder, "set_attn_implementation") and hasattr(encoder, "embeddings")


def _inputs(pred, text: str) -> dict[str, torch.Tensor]:
    x = pred.featurizer.transform([text])
    return {k: v[:, :MAX_ATTENTION_TOKENS] for k, v in x.items()}


def _tokens(pred, ids: torch.Tensor) -> list[str]:
    return pred.featurizer.tokenizer.convert_ids_to_tokens(ids[0].tolist())


def subword_scores(pred, text: str, target: int, steps: int) -> tuple[list[dict], float, float]:
    """(per-subword scores without [CLS]/[SEP], convergence delta, logit change from the all-padding title)."""
    from captum.attr import LayerIntegratedGradients

    x = _inputs(pred, text)
    ids, mask = x["input_ids"], x["attention_mask"]
    tok = pred.featurizer.tokenizer
    special = torch.tensor([i in tok.all_special_ids for i in ids[0].tolist()])[None, :]
    baseline = ids.masked_fill(~special, tok.pad_token_id)
    model = pred.model

    def forward(i, m):
        return model({"input_ids": i, "attention_mask": m})

    lig = LayerIntegratedGradients(forward, model.encoder.embeddings.word_embeddings)
    attr, delta = lig.attribute(ids, baselines=baseline, target=target, additional_forward_args=(mask,),
                                n_steps=steps, return_convergence_delta=True)
    with torch.no_grad():
        change = float(forward(ids, mask)[0, target] - forward(baseline, mask)[0, target])
    per_token = attr.sum(-1)[0].tolist()
    scores = [{"token": t, "score": float(s)} for t, s, sp in zip(_tokens(pred, ids), per_token, special[0].tolist(),
                                                                  strict=True) if not sp]
    return scores, float(delta[0]), change


@torch.no_grad()
def attention(pred, text: str) -> dict:
    """{"tokens", "layers", "heads", "weights": [layer][head][query token][key token]} of one headline (each
    query's weights over the keys sum to 1)."""
    x = _inputs(pred, text)
    encoder = pred.model.encoder
    before = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        out = encoder(input_ids=x["input_ids"], attention_mask=x["attention_mask"], output_attentions=True)
    finally:
        encoder.set_attn_implementation(before)
    weights = torch.stack(out.attentions)[:, 0].float()  # (layers, heads, T, T)
    return {"tokens": _tokens(pred, x["input_ids"]), "layers": int(weights.shape[0]), "heads": int(weights.shape[1]),
            "weights": torch.round(weights, decimals=DIGITS).tolist()}
