"""The gradient reaching each word of a sequence model: the norm of d loss / d (embedding output) per position.

The whole embedding matrix's gradient hides what the vanishing gradient is about: in a plain RNN the last
words of a title get large gradients and the first ones almost none. LayerHealth arms these hooks on its
sampled training steps (no model changes): a forward pre-hook on the model reads the batch's lengths
(inputs `(ids, lengths, ...)`; otherwise a title ends after its last non-zero id), a forward hook on the
embedding puts a tensor hook on its output, and that hook keeps each title's gradient norm at each position.

Each position's figure is the median over the epoch's sampled titles, not their mean: the norms span orders of
magnitude (in a plain RNN that reads the padding, every first word of a batch is as far from the output as the
batch is long), and a mean would report the few largest rather than a typical title.
"""

from __future__ import annotations

import torch
from torch import nn

MAX_POSITIONS = 64  # the tokenizer's MAX_TOKENS: longer inputs are cut before they get here
TITLES_PER_STEP = 512  # titles kept of one sampled step: memory and the median's cost stay bounded at any batch size


def first_embedding(layers: list[tuple[str, nn.Module]]) -> tuple[str, nn.Module] | None:
    """(name, module) of the first trainable nn.Embedding: the word embedding of a sequence model."""
    return next(((n, m) for n, m in layers if isinstance(m, nn.Embedding)), None)


def _lengths_of(x) -> torch.Tensor | None:
    """Each title's length in a model input: (ids, lengths, ...) or {"input_ids", "attention_mask"}."""
    if isinstance(x, dict) and torch.is_tensor(x.get("attention_mask")):
        return x["attention_mask"].sum(1)
    if isinstance(x, (tuple, list)) and len(x) >= 2 and torch.is_tensor(x[1]) and x[1].dim() == 1 \
            and not x[1].is_floating_point():
        return x[1]
    return None


class PositionGrads:
    """The per-position gradient norms of one embedding's output on the sampled steps of an epoch."""

    def __init__(self, name: str, module: nn.Embedding):
        self.name, self.module = name, module
        self._lengths: torch.Tensor | None = None
        self.reset()

    def reset(self) -> None:
        self._by_position: list[torch.Tensor] = []  # (B, MAX_POSITIONS) per sampled step, NaN past a title's end
        self._from_last: list[torch.Tensor] = []

    def hooks(self, model: nn.Module) -> list:
        return [model.register_forward_pre_hook(self._model_pre_hook),
                self.module.register_forward_hook(self._embedding_hook)]

    def _model_pre_hook(self, _mod, args) -> None:
        self._lengths = _lengths_of(args[0]) if args else None

    def _embedding_hook(self, mod, inputs, out) -> None:
        if not mod.training or not torch.is_tensor(out) or out.dim() != 3 or not out.requires_grad:
            return
        ids, lengths, self._lengths = inputs[0], self._lengths, None  # the lengths serve one lookup
        if lengths is None:  # a model that embeds without its forward (adversarial training): after the last id
            pos = torch.arange(1, ids.shape[1] + 1, device=ids.device)
            lengths = ((ids != 0) * pos).amax(1).clamp_min(1)
        elif lengths.shape[0] != ids.shape[0]:  # not one row per title (a transformer's position embeddings)
            return
        lengths = lengths.to(ids.device).clamp(1, ids.shape[1])
        seen = []

        def once(grad: torch.Tensor) -> None:  # adversarial training takes the clean loss's gradient first
            if not seen:
                seen.append(True)
                self._add(grad.detach(), lengths)
        out.register_hook(once)

    def _add(self, grad: torch.Tensor, lengths: torch.Tensor) -> None:
        norms = torch.linalg.vector_norm(grad[:TITLES_PER_STEP].float(), dim=-1)[:, :MAX_POSITIONS]  # (B, L)
        width = norms.shape[1]
        lengths = lengths[:TITLES_PER_STEP].clamp_max(width)
        steps = torch.arange(width, device=norms.device)[None, :]
        mask = steps < lengths[:, None]
        back = (lengths[:, None] - 1 - steps).clamp_min(0)  # position of the word `step` words before the last
        nan = torch.full((norms.shape[0], MAX_POSITIONS), float("nan"))
        for kept, values in ((self._by_position, norms), (self._from_last, norms.gather(1, back))):
            row = nan.clone()
            row[:, :width] = values.where(mask, float("nan")).cpu()
            kept.append(row)

    def stats(self) -> dict:
        """grad_first / grad_last: the median gradient norm at a title's first / last word; grad_by_position:
        the median at word 0, 1, ... from the start, grad_from_last: at the last word, the one before it, ...
        (each over the sampled titles long enough to have it). Empty when nothing was seen."""
        if not self._by_position:
            return {}

        def medians(kept: list[torch.Tensor]) -> list[float]:
            values = torch.cat(kept)
            seen = ~values.isnan().all(0)
            return [float(v) for v in values[:, seen].nanquantile(0.5, dim=0)]  # two middle values: their mean

        by_position, from_last = medians(self._by_position), medians(self._from_last)
        return {"grad_first": by_position[0], "grad_last": from_last[0], "grad_by_position": by_position,
                "grad_from_last": from_last}
