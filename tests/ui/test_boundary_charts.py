"""Pure chart builders of ui/boundary_charts.py on records made by the engine's Boundary callback."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.data import playground
from engine.features.table import TableFeatures
from engine.training.boundary import GRID, Boundary, class1_share
from engine.training.trainer import TrainState
from ui import boundary_charts


def record_of(model, epoch=3):
    data = playground.load(points=120, shape="xor")
    feats = TableFeatures()
    feats.fit(data)
    out: list[dict] = []
    Boundary(out.append, feats, [], playground.EXTENT).record(model, TrainState(max_epochs=5, epoch=epoch))
    return out[0], boundary_charts.points_frame(data)


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 2))


def test_points_frame_holds_every_split_with_its_labels():
    data = playground.load(points=120, train_share=0.5)
    points = boundary_charts.points_frame(data)
    assert list(points.columns) == ["x1", "x2", "label", "split"]
    assert points["split"].value_counts().to_dict() == {"train": 60, "valid": 30, "test": 30}
    assert set(points["label"]) == {0, 1}


def test_boundary_figure_is_the_grid_with_train_and_test_points_on_top():
    record, points = record_of(small_net())
    fig = boundary_charts.boundary_figure(record, points, list(playground.CLASSES))
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z).shape == (GRID, GRID)
    assert heat.zmin == 0.0 and heat.zmax == 1.0 and fig.layout.meta == boundary_charts.BOUNDARY_META
    assert np.isfinite(np.asarray(heat.z)).all()
    scatters = {t.name: t for t in fig.data[1:]}
    assert set(scatters) == {f"{s}: {c}" for s in ("train", "test") for c in playground.CLASSES}
    assert {t.marker.symbol for n, t in scatters.items() if n.startswith("test")} == {"x"}
    assert sum(len(t.x) for n, t in scatters.items() if n.startswith("train")) == 60
    assert "epoch 3" in fig.layout.title.text


def test_unit_pictures_are_arranged_by_layer_and_absent_for_large_networks():
    record, _ = record_of(small_net())
    fig = boundary_charts.units_figure(record)
    assert fig.layout.meta == boundary_charts.UNITS_META
    names = [t.name for t in fig.data]
    assert names == [f"layer 1 unit {i}" for i in (1, 2, 3, 4)] + ["layer 2 unit 1", "layer 2 unit 2"]
    assert [a.text for a in fig.layout.annotations][:2] == ["layer 1", "layer 2"]
    torch.manual_seed(0)
    wide, _ = record_of(nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)))
    assert boundary_charts.units_figure(wide) is None


def test_class1_share_reads_the_stored_probabilities():
    sure = nn.Linear(2, 2)
    with torch.no_grad():
        sure.weight.zero_()
        sure.bias.copy_(torch.tensor([0.0, 5.0]))  # class 1 everywhere
    assert class1_share(record_of(sure)[0]) == 1.0
    with torch.no_grad():
        sure.weight[1, 0] = 5.0  # class 1 where x1 > -1 in standardised units (x1 spans about 3.4 of them)
    share = class1_share(record_of(sure)[0])
    assert 0.5 < share < 1.0
