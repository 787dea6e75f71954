"""Final test metrics of a run: accuracy, confusion matrix, per-class report, mistakes."""

from __future__ import annotations

import numpy as np
import torch


def classification_results(logits: torch.Tensor, y: torch.Tensor, classes: list[str], raw_inputs=None,
                           max_examples: int = 200, n_predictions: int = 500) -> dict:
    from sklearn.metrics import classification_report, confusion_matrix

    probs = torch.softmax(logits.float(), dim=1).numpy()
    pred = probs.argmax(1)
    true = y.numpy()
    labels = list(range(len(classes)))
    report = classification_report(true, pred, labels=labels, target_names=classes, output_dict=True,
                                   zero_division=0)
    per_class_acc = {}
    for i, name in enumerate(classes):
        mask = true == i
        per_class_acc[name] = float((pred[mask] == i).mean()) if mask.any() else float("nan")
    wrong = np.flatnonzero(pred != true)
    examples = []
    for i in wrong[:max_examples]:
        item = {"index": int(i), "true": classes[true[i]], "pred": classes[pred[i]], "confidence": float(probs[i].max())}
        if raw_inputs is not None and isinstance(raw_inputs, list):
            item["input"] = str(raw_inputs[i])
        examples.append(item)
    return {
        "test_acc": float((pred == true).mean()),
        "confusion_matrix": confusion_matrix(true, pred, labels=labels).tolist(),
        "classes": list(classes),
        "report": {k: {m: float(v) for m, v in row.items()} if isinstance(row, dict) else float(row)
                   for k, row in report.items()},
        "per_class_acc": per_class_acc,
        "misclassified": examples,
        "n_misclassified": int(len(wrong)),
        "n_test": int(len(true)),
        # class ids predicted for the first test examples, in order (the Runs page's image grid)
        "test_predictions": pred[:n_predictions].astype(int).tolist(),
    }


def regression_results(out: torch.Tensor, y: torch.Tensor) -> dict:
    pred = out.reshape(-1).numpy().astype(float)
    true = y.reshape(-1).numpy().astype(float)
    mse = float(np.mean((pred - true) ** 2))
    denom = float(np.sum((true - true.mean()) ** 2)) or 1.0
    return {"test_mse": mse, "test_rmse": mse ** 0.5, "test_r2": 1.0 - float(np.sum((pred - true) ** 2)) / denom,
            "n_test": int(len(true))}
