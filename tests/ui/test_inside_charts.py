"""Pure chart builders of ui/inside_charts.py on summaries made by the engine (meta device, no weights)."""

from __future__ import annotations

from engine.config.run_config import make_config
from engine.models.summary import summarize
from ui import inside_charts

IMAGE = {"input_dim": 64, "num_outputs": 10, "image_shape": (8, 8), "task": "classification", "kind": "image"}


def cnn_summary(batch=4):
    return summarize("cnn", make_config(model="cnn").model_args, IMAGE, batch=batch)


def test_summary_table_has_a_row_per_layer_with_readable_shapes():
    summary = cnn_summary()
    table = inside_charts.summary_table(summary)
    assert len(table) == len(summary["layers"])
    assert table["Parameters"].sum() == summary["total_params"]
    assert table["Output shape"].iloc[0] == "4 x 16 x 8 x 8" and table["Trainable"].iloc[0] == "yes"
    assert table[table["Type"] == "ReLU"]["Trainable"].eq("").all()


def test_architecture_figure_draws_the_input_and_each_layer_that_counts():
    summary = cnn_summary()
    fig = inside_charts.architecture_figure(summary)
    kept = inside_charts.diagram_rows(summary)
    # convs, batch norms, pools, the flatten and the two linear layers; not the ReLUs and the dropout
    assert [r["type"] for r in kept] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "Conv2d", "BatchNorm2d", "MaxPool2d",
                                         "Flatten", "Linear", "Linear"]
    assert len(fig.layout.shapes) == len(kept) + 1 and fig.layout.meta == inside_charts.ARCH_META
    labels = list(fig.data[0].text)
    assert labels[0] == "input  4 x 1 x 8 x 8" and labels[-1] == "Linear  4 x 10  (1,290)"
    widths = [s.x1 - s.x0 for s in fig.layout.shapes]
    assert widths[1] > widths[-1]  # 16x8x8 outputs draw wider than 10


def test_frozen_and_parameterless_boxes_are_told_apart():
    summary = {"input_shape": [2, 3], "layers": [
        {"name": "a", "type": "Embedding", "output_shape": [2, 3, 5], "params": 50, "trainable": False},
        {"name": "b", "type": "Dropout", "output_shape": [2, 3, 5], "params": 0, "trainable": None},
        {"name": "c", "type": "Linear", "output_shape": None, "params": 12, "trainable": True}]}
    fig = inside_charts.architecture_figure(summary)
    colors = [s.fillcolor for s in fig.layout.shapes[1:]]
    assert colors == [inside_charts.BOX_COLORS["frozen"], inside_charts.BOX_COLORS["params"]]
    assert inside_charts.summary_table(summary)["Output shape"].tolist() == ["2 x 3 x 5", "2 x 3 x 5", "?"]
