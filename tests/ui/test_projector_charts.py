"""Pure chart builders of ui/projector_charts.py."""

from __future__ import annotations

import numpy as np

from ui import projector_charts


def test_projector_figure_colours_by_true_class_and_marks_mistakes():
    rows = [{"index": 4, "x": 0.0, "y": 1.0, "true": "business", "pred": "business", "text": "Fed raises rates"},
            {"index": 9, "x": 1.0, "y": 0.0, "true": "business", "pred": "health", "text": "Drug maker shares fall"},
            {"index": 2, "x": 2.0, "y": 2.0, "true": "health", "pred": "health", "text": "Flu season"}]
    out = {"method": "pca", "layer_dim": 12, "explained": [0.5, 0.25], "classes": ["business", "health"],
           "rows": rows}
    fig = projector_charts.projector_figure(out)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"business", "business (mistakes)", "health"}
    wrong = by_name["business (mistakes)"]
    assert wrong.marker.symbol == "x" and [list(c) for c in wrong.customdata] == [[9]]
    assert "predicted health" in wrong.hovertext[0] and "Drug maker shares fall" in wrong.hovertext[0]
    assert by_name["business"].marker.color == by_name["business (mistakes)"].marker.color != by_name["health"].marker.color
    assert fig.layout.xaxis.title.text == "PC1 (50% of the variance)"
    tsne = projector_charts.projector_figure({**out, "method": "tsne", "explained": None})
    assert tsne.layout.xaxis.title.text == "t-SNE 1"


def test_pictures_are_scaled_each_on_its_own():
    pics = projector_charts.scaled_pictures([[[-2.0, 0.0], [2.0, 1.0]], [[3.0, 3.0], [3.0, 3.0]]])
    assert np.allclose(pics[0], [[0.0, 0.5], [1.0, 0.75]]) and np.allclose(pics[1], 0.0)
