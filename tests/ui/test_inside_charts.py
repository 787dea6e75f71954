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


def health_rows(epochs=3, layers=(("emb", "Embedding"), ("rnn", "RNN"), ("fc", "Linear"))):
    rows = []
    for e in range(1, epochs + 1):
        for i, (name, kind) in enumerate(layers):
            rows.append({"epoch": e, "layer": name, "type": kind, "params": 10, "weight_norm": 1.0 + e,
                         "grad_norm": 10.0 ** (i - 3), "update_ratio": 1e-3, "act_mean": 0.0, "act_std": 1.0,
                         "dead": None, "saturated": 0.1 * e if kind == "RNN" else None,
                         "weight_hist": {"lo": -1.0, "hi": 1.0, "counts": [1, 4, 4, 1]},
                         "grad_hist": {"lo": -0.5, "hi": 0.5, "counts": [0, 5, 5, 0]}})
    return rows


def test_layer_heatmap_is_layers_by_epochs_with_log_norms():
    frame = inside_charts.layer_frame(health_rows())
    fig = inside_charts.layer_heatmap(frame, "grad_norm")
    heat = fig.data[0]
    assert list(heat.y) == ["emb (Embedding)", "rnn (RNN)", "fc (Linear)"] and list(heat.x) == [1, 2, 3]
    assert [row[0] for row in heat.z] == [-3.0, -2.0, -1.0]  # log10 of 1e-3, 1e-2, 1e-1
    assert heat.customdata[0][0] == 1e-3 and fig.layout.meta == inside_charts.HEALTH_META
    sat = inside_charts.layer_heatmap(frame, "saturated").data[0]
    assert [round(v, 2) for v in sat.z[1]] == [0.1, 0.2, 0.3]  # shares stay linear; layers without one are blank
    assert all(v != v for v in sat.z[0])


def test_small_multiples_and_histograms_have_a_panel_per_layer():
    frame = inside_charts.layer_frame(health_rows())
    fig = inside_charts.layer_multiples(frame, "weight_norm")
    assert len(fig.data) == 3 and list(fig.data[0].y) == [2.0, 3.0, 4.0]
    assert fig.layout.yaxis.type == "log"
    rows = [r for r in health_rows() if r["epoch"] == 2]
    hist = inside_charts.histogram_figure(rows, "grad")
    assert len(hist.data) == 3 and list(hist.data[0].y) == [0, 5, 5, 0]
    assert list(hist.data[0].x) == [-0.375, -0.125, 0.125, 0.375]
    assert inside_charts.layer_frame([]).empty


def test_attribution_bars_keep_reading_order_and_sign_colours():
    from ui.explain_view import coloured_words

    attrs = [{"token": "fed", "score": 1.5}, {"token": "as", "score": -0.1}, {"token": "rates", "score": 0.8}]
    fig = inside_charts.attribution_figure(attrs, "business")
    assert list(fig.data[0].y) == ["1. fed", "2. as", "3. rates"] and list(fig.data[0].x) == [1.5, -0.1, 0.8]
    assert list(fig.data[0].marker.color) == ["#16a34a", "#dc2626", "#16a34a"]
    assert coloured_words(attrs) == "**:green-background[fed]** :red-background[as] **:green-background[rates]**"
    assert coloured_words([{"token": "a]b", "score": 1.0}]) == "**:green-background[a\\]b]**"  # escaped


def test_saliency_figure_is_the_map_as_given():
    fig = inside_charts.saliency_figure([[0.0, 1.0], [2.0, 3.0]])
    assert [list(r) for r in fig.data[0].z] == [[0.0, 1.0], [2.0, 3.0]] and fig.layout.meta == "explain"


def test_position_gradient_figure_draws_both_directions_on_a_log_axis():
    row = {"epoch": 2, "grad_from_last": [1e-2, 4e-3, 1e-3], "grad_by_position": [1e-4, 1e-3, 5e-3]}
    fig = inside_charts.position_grad_figure(row)
    assert [list(t.y) for t in fig.data] == [row["grad_from_last"], row["grad_by_position"]]
    assert list(fig.data[0].x) == [0, 1, 2] and fig.layout.yaxis.type == "log"
    assert "epoch 2" in fig.layout.title.text


def test_attention_heatmap_numbers_repeated_tokens_and_keeps_query_rows():
    fig = inside_charts.attention_figure([[0.9, 0.1], [0.4, 0.6]], ["the", "the"], "Layer 1, head 2")
    assert list(fig.data[0].y) == ["0. the", "1. the"] and fig.layout.title.text == "Layer 1, head 2"
    assert [list(r) for r in fig.data[0].z] == [[0.9, 0.1], [0.4, 0.6]]


def test_contribution_bars_put_the_largest_push_first_and_name_a_missing_value():
    fig = inside_charts.contribution_figure([{"feature": "HP", "value": 60, "score": 0.2},
                                             {"feature": "Attack", "value": None, "score": -0.5}], "t")
    assert list(fig.data[0].y) == ["Attack = (mean)", "HP = 60"] and list(fig.data[0].x) == [-0.5, 0.2]
    assert list(fig.data[0].marker.color) == ["#dc2626", "#16a34a"]
