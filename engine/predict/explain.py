"""Why this answer: attributions of one prediction, computed with Captum.

- headlines read as the mean of their words' vectors (linear, mlp): integrated gradients over one weight per
  word (the model reads sum_i w_i v_i / n; all weights 1 is the headline, all 0 the empty one), so each word's
  score is its share of the logit's change from the empty headline, and the scores sum to that change
  (completeness; Captum's convergence delta says how far the numerical integral is from it);
- headlines read as word ids (rnn, textcnn): layer integrated gradients over the embedding's output, from
  the all-padding baseline, summed over the vector of each word;
- headlines read by the pretrained transformer: the same over its word-piece embeddings, one score per
  subword, and the attention weights of every layer and head (engine/predict/explain_subwords.py);
- digits: the saliency (|d logit / d pixel|) of the preprocessed image at the model's input size, and for a
  CNN the first convolution's feature maps of that image.

A headline with no word the model knows gets no percentage-looking story: `note` says the answer is the
model's bias.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.features.mean_vectors import MeanVectors
from engine.features.sequence import Subwords, TokenIds
from engine.predict import explain_subwords
from engine.predict.predictor import InputError, Predictor, check_headline

STEPS = 64  # integration steps: completeness within 1e-3 of the logit change on the news runs
NO_KNOWN_WORDS = "no known words: this is the model's bias"
TOP = 3


def _top(classes: list[str], probs: torch.Tensor) -> list[dict]:
    order = torch.argsort(probs, descending=True)[:TOP]
    return [{"label": classes[int(i)], "prob": round(float(probs[i]), 6)} for i in order]


class _WordWeights(nn.Module):
    """The mean-vector model as a function of one weight per word: model(w @ V / n)."""

    def __init__(self, model: nn.Module, vectors: torch.Tensor):
        super().__init__()
        self.model, self.vectors = model, vectors

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.model(w @ self.vectors / len(self.vectors))


def _mean_vector_scores(pred: Predictor, text: str, target: int) -> tuple[list[dict], float, float] | None:
    """(per-token scores, convergence delta, logit change) or None when no word is known."""
    from captum.attr import IntegratedGradients

    from engine.features import text as text_mod

    feat: MeanVectors = pred.featurizer
    kv, index = feat.kv, feat.kv.key_to_index
    tokens = text_mod.tokenize(text)
    parts = [text_mod.expand_unknown(tok, index) for tok in tokens]
    rows = [index[p] for ps in parts for p in ps]
    if not rows:
        return None
    owner = [i for i, ps in enumerate(parts) for _ in ps]  # the token each vector belongs to
    f = _WordWeights(pred.model, torch.from_numpy(np.asarray(kv.vectors[rows], dtype=np.float32)))
    ones = torch.ones(1, len(rows))
    attr, delta = IntegratedGradients(f).attribute(ones, baselines=torch.zeros_like(ones), target=target,
                                                   n_steps=STEPS, return_convergence_delta=True)
    with torch.no_grad():
        change = float(f(ones)[0, target] - f(torch.zeros_like(ones))[0, target])
    scores = [0.0] * len(tokens)
    for j, i in enumerate(owner):
        scores[i] += float(attr[0, j])
    return [{"token": t, "score": s} for t, s in zip(tokens, scores, strict=True)], float(delta[0]), change


def _id_scores(pred: Predictor, text: str, target: int) -> tuple[list[dict], float, float] | None:
    from captum.attr import LayerIntegratedGradients

    feat: TokenIds = pred.featurizer
    x = feat.transform([text])
    tokens = [t for t, _ in feat.explain(text).tokens]
    known = any(k for _, k in feat.explain(text).tokens)
    if not known:
        return None
    ids, rest = x[0], tuple(x[1:])
    model = pred.model

    def forward(i, *extra):
        return model((i, *extra))

    lig = LayerIntegratedGradients(forward, model.embedding)
    attr, delta = lig.attribute(ids, baselines=torch.zeros_like(ids), target=target, additional_forward_args=rest,
                                n_steps=STEPS, return_convergence_delta=True)
    with torch.no_grad():
        change = float(forward(ids, *rest)[0, target] - forward(torch.zeros_like(ids), *rest)[0, target])
    per_token = attr.sum(-1)[0].tolist()[:len(tokens)]
    return [{"token": t, "score": float(s)} for t, s in zip(tokens, per_token, strict=True)], float(delta[0]), change


def explain_text(pred: Predictor, text: str) -> dict:
    """{"label", "probs", "top", "attributions": [{"token", "score"}], "method", "delta", "logit_change"}, or
    with "note" (and no scores) when no word of the headline reaches the model; for the transformer also
    "attention" (explain_subwords.attention)."""
    text = check_headline(text)
    probs = pred.probabilities([text])[0]
    target = int(probs.argmax())
    out = {"label": pred.classes[target], "probs": {c: round(float(p), 6) for c, p in zip(pred.classes, probs,
                                                                                           strict=True)},
           "top": _top(pred.classes, probs)}
    if isinstance(pred.featurizer, MeanVectors):
        found, method = _mean_vector_scores(pred, text, target), "integrated gradients over word weights"
    elif isinstance(pred.featurizer, TokenIds):
        found, method = _id_scores(pred, text, target), "layer integrated gradients over the word embeddings"
    elif isinstance(pred.featurizer, Subwords) and explain_subwords.is_transformer(pred.model):
        found = explain_subwords.subword_scores(pred, text, target, STEPS)
        method = "layer integrated gradients over the word-piece embeddings"
        out["attention"] = explain_subwords.attention(pred, text)
    else:
        raise InputError(f"explanations are not available for {pred.model_name} yet")
    if found is None:
        return {**out, "attributions": [], "note": NO_KNOWN_WORDS}
    scores, delta, change = found
    return {**out, "attributions": scores, "method": method, "delta": delta, "logit_change": change}


def explain_image(pred: Predictor, image, paper: float | None = None) -> dict:
    """{"label", "probs", "top", "saliency": [[...]] (the model's input size), "image"} and, for a CNN,
    "feature_maps": the first convolution's outputs (channels x H x W). `paper`: the background grey when known
    (predictor.predict_images)."""
    from captum.attr import Saliency

    from engine.predict.images import prepare_digit

    try:
        prepared = prepare_digit(image, pred.image_shape, paper)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    x = pred.featurizer.transform(np.stack([prepared])).float()
    maps: list = []
    conv = next((m for m in pred.model.modules() if isinstance(m, nn.Conv2d)), None)
    hook = conv.register_forward_hook(lambda _m, _i, o: maps.append(o.detach())) if conv is not None else None
    try:
        with torch.no_grad():
            probs = torch.softmax(pred.model(x).float(), dim=1)[0]
    finally:
        if hook is not None:
            hook.remove()
    target = int(probs.argmax())
    sal = Saliency(pred.model).attribute(x.clone().requires_grad_(True), target=target, abs=True)
    name = pred.classes[target]
    out = {"label": int(name) if name.isdigit() else name, "probs": [round(float(p), 6) for p in probs],
           "top": _top(pred.classes, probs), "saliency": sal.reshape(pred.image_shape).tolist(),
           "image": np.asarray(prepared).tolist()}
    if maps:
        out["feature_maps"] = maps[0][0].tolist()
    return out


class _TableOutput(nn.Module):
    """A table model's log-probabilities (classification: bounded, where a generative model's logits are log
    densities that explode off the data), or its output times `scale` (a regression's target std)."""

    def __init__(self, model: nn.Module, regression: bool, scale: float = 1.0):
        super().__init__()
        self.model, self.regression, self.scale = model, regression, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x).float()
        return out * self.scale if self.regression else torch.log_softmax(out, dim=1)


def explain_row(pred: Predictor, row) -> dict:
    """Per-column contributions to one table row's answer: integrated gradients over the encoded features from the
    baseline row (every number at its training mean, no category), summed over each column's encoded features,
    of the answer's log-probability (classification) or of the predicted value (regression, in its units).
    {"label", "probs", "top"} or {"value"}; "contributions": [{"feature", "value", "score"}] in the run's
    column order; "baseline_output", "output_change", "delta"."""
    from captum.attr import IntegratedGradients

    from engine.predict.predictor import parse_row

    answer = pred.predict_rows([row])[0]  # checks the row (unknown columns, text in numbers)
    import pandas as pd

    given = parse_row(row)
    feat = pred.featurizer
    x = feat.transform(pd.DataFrame([given], columns=pred.columns))
    baseline = feat.transform(pd.DataFrame([{}], columns=pred.columns))
    regression = pred.spec.get("task") == "regression"
    shift, scale = (float(v) for v in (pred.spec.get("target_scale") or (0.0, 1.0))) if regression else (0.0, 1.0)
    target = 0 if regression else pred.classes.index(answer["label"])
    f = _TableOutput(pred.model, regression, scale)
    attr, delta = IntegratedGradients(f).attribute(x, baselines=baseline, target=target, n_steps=STEPS,
                                                   return_convergence_delta=True)
    with torch.no_grad():
        out_x, out_base = float(f(x)[0, target]) + shift, float(f(baseline)[0, target]) + shift
    owner = list(feat.numeric) + [c for c, cats in zip(feat.categorical, feat.categories, strict=True) for _ in cats]
    scores = dict.fromkeys(pred.columns, 0.0)
    for column, score in zip(owner, attr[0].tolist(), strict=True):
        scores[column] += score
    contributions = [{"feature": c, "value": given.get(c), "score": scores[c]} for c in pred.columns]
    out = dict(answer)
    if not regression:
        out["top"] = _top(pred.classes, torch.tensor(list(answer["probs"].values())))
    return {**out, "contributions": contributions, "method": "integrated gradients over the encoded features",
            "baseline_output": out_base, "output_change": out_x - out_base, "delta": float(delta[0])}
