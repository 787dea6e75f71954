"""Which positions of a padded batch hold words: shared by the sequence models (rnn, textcnn)."""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """(B, size) bool, True where position t < lengths[b]: the real positions of each row."""
    return torch.arange(size, device=device)[None, :] < lengths.to(device)[:, None]
