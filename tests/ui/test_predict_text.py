"""Many headlines at once: reading a pasted list or an uploaded .txt/.csv, bounded, and the result table."""

from __future__ import annotations

import pytest

from engine.predict.predictor import InputError
from ui.predict_text import MAX_HEADLINES, batch_frame, read_headlines


def test_headlines_from_pasted_text_a_txt_and_a_csv():
    assert read_headlines("  a b \n\n c d\n", None) == ["a b", "c d"]
    assert read_headlines("ignored", b"x y\r\nz\n", "list.txt") == ["x y", "z"]
    csv_file = b'headline,source\n"Fed raises rates, again",Reuters\nNew phone,AP\n'
    assert read_headlines("", csv_file, "front.CSV") == ["Fed raises rates, again", "New phone"]


def test_bad_batches_are_refused_with_the_fix():
    with pytest.raises(InputError, match=f"at most {MAX_HEADLINES}"):
        read_headlines("\n".join(["h"] * (MAX_HEADLINES + 1)), None)
    with pytest.raises(InputError, match="UTF-8"):
        read_headlines("", b"\xff\xfe\x00bad", "x.txt")
    with pytest.raises(InputError, match="bytes"):
        read_headlines("", b"a\n" * 150_000, "big.txt")


def test_batch_table_has_label_confidence_and_runner_up():
    items = [{"probs": {"b": 0.7, "t": 0.2, "e": 0.1}}, {"probs": {"b": 0.4, "t": 0.45, "e": 0.15}}]
    frame = batch_frame(["one", "two"], items)
    assert frame.to_dict("records") == [
        {"headline": "one", "label": "b", "confidence": 0.7, "runner-up": "t", "runner-up probability": 0.2},
        {"headline": "two", "label": "t", "confidence": 0.45, "runner-up": "b", "runner-up probability": 0.4}]


def test_top_three_digits_and_the_best_mnist_run():
    from ui.predict_image import best_run, top_classes

    assert top_classes(range(10), [0.01, 0.6, 0.02, 0.03, 0.04, 0.05, 0.06, 0.09, 0.07, 0.03]) == [
        ("1", 0.6), ("7", 0.09), ("8", 0.07)]
    runs = [{"id": "a", "config": {"dataset": "mnist"}}, {"id": "b", "config": {"dataset": "mnist"}},
            {"id": "c", "config": {"dataset": "digits"}}]
    assert best_run(runs, {"a": {"test_acc": 0.97}, "b": {"test_acc": 0.99}, "c": {"test_acc": 1.0}}) == "b"
    assert best_run(runs[2:], {"c": {"test_acc": 1.0}}) is None
