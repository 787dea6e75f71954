"""MODEL_CARD.md: a pure function of the stored run, its results and the monitored metric per epoch."""

from __future__ import annotations

import pandas as pd

from engine.predict.export.model_card import model_card, monitored_history

CLASSES = ["business", "science/tech", "entertainment", "health"]
RUN = {"id": "r1", "name": "news · rnn · adamw", "status": "done",
       "config": {"dataset": "news", "model": "rnn", "optimizer": "adamw", "lr": 0.002, "batch_size": 64, "epochs": 20,
                  "early_stopping": True, "patience": 3, "monitor": "valid_loss", "seed": 1,
                  "model_args": {"cell": "gru", "bidirectional": True, "hidden": 128}}}
RESULT = {
    "test_acc": 0.9, "test_loss": 0.31, "n_test": 1336, "classes": CLASSES,
    "confusion_matrix": [[300, 40, 5, 2], [60, 270, 3, 1], [4, 2, 400, 3], [6, 1, 2, 237]],
    "report": {c: {"precision": 0.8 + i / 100, "recall": 0.7 + i / 100, "f1-score": 0.75, "support": 300 + i}
               for i, c in enumerate(CLASSES)} | {"macro avg": {"precision": 0.8, "recall": 0.8, "f1-score": 0.8,
                                                               "support": 1336}},
}


def test_the_card_names_task_data_settings_metrics_epoch_failures_and_use():
    card = model_card(RUN, RESULT, {1: 0.6, 2: 0.41, 3: 0.45, 4: 0.47, 5: 0.5})
    assert card.startswith("# Model card: news · rnn · adamw")
    for section in ("## Task", "## Data", "## Settings", "## Test results", "## The epoch kept",
                    "## Known failure modes", "## Intended use"):
        assert section in card
    assert "4 classes: `business`, `science/tech`, `entertainment`, `health`" in card
    assert "10,684 / 1,336 / 1,336" in card and "1,336 test examples" in card  # the split sizes
    assert "| model: cell | gru |" in card and "| lr | 0.002 |" in card
    assert "accuracy 0.9; loss 0.31." in card
    assert "| science/tech | 0.810 | 0.710 | 0.750 | 301 |" in card and "macro avg" not in card
    assert "Epoch 2 of the 5 trained (of at most 20): the one with the lowest valid loss, 0.41" in card
    assert "early stopping (patience 3) ended the run" in card
    failures = card.split("## Known failure modes")[1].split("##")[0]
    first, second = [line for line in failures.splitlines() if line.startswith("- confuses")][:2]
    assert first.startswith("- confuses `science/tech` with `business`: 60 of 334")  # the largest off-diagonal cell
    assert second.startswith("- confuses `business` with `science/tech`: 40 of 347")
    assert "not for production" in card.lower() or "not for\nproduction" in card.lower()


def test_highest_accuracy_monitor_and_a_run_without_results():
    run = {**RUN, "config": {**RUN["config"], "monitor": "valid_acc", "early_stopping": False}}
    card = model_card(run, RESULT, {1: 0.7, 2: 0.9, 3: 0.85})
    assert "Epoch 2 of the 3 trained" in card and "highest valid accuracy, 0.9" in card
    assert "early stopping" not in card.split("## The epoch kept")[1].split("##")[0]
    empty = model_card({"id": "r2", "config": {"dataset": "covid", "model": "mlp"}}, None)
    assert "Regression" in empty and "No test metrics were stored" in empty and "Not measured" in empty


def test_class_names_cannot_break_the_tables():
    result = {**RESULT, "classes": ["a|b", "c\nd", "e", "f"],
              "report": {"a|b": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1}}}
    card = model_card(RUN, result)
    assert "| a\\|b | 1.000 |" in card and "`c d`" in card


def test_the_monitored_history_comes_from_the_metrics_table():
    frame = pd.DataFrame([
        {"epoch": 0, "step": 0, "split": "valid", "name": "loss", "value": 2.3},
        {"epoch": 1, "step": 5, "split": "train", "name": "loss", "value": 1.0},
        {"epoch": 1, "step": 5, "split": "valid", "name": "loss", "value": 0.8},
        {"epoch": 2, "step": 9, "split": "valid", "name": "loss", "value": 0.7},
        {"epoch": 2, "step": 9, "split": "valid", "name": "acc", "value": 0.9},
    ])
    assert monitored_history(frame, "valid_loss") == {1: 0.8, 2: 0.7}
    assert monitored_history(frame, "valid_acc") == {2: 0.9}
    assert monitored_history(frame.iloc[:0]) == {}
