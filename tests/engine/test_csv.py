"""The `csv` dataset: adding a user's table, bad files refused with a fix (and nothing stored lost),
task inference, splits, and a run on a real table (Pokemon.csv from ../shared/data)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import shared

from engine.config.options import ConfigError
from engine.data import csvdata, load_dataset
from engine.data.download import DataMissingError

GOOD = "height,weight,colour,label\n" + "".join(
    f"{150 + i},{50 + (i * 7) % 30},{'red' if i % 3 else 'blue'},{'a' if i % 2 else 'b'}\n" for i in range(30))


def pokemon_csv():
    return shared("pokemon") / "Pokemon.csv"


@pytest.fixture
def stored(home, tmp_path):
    """A data home holding one good table; returns its stored bytes for the nothing-lost checks."""
    src = tmp_path / "people.csv"
    src.write_text(GOOD)
    csvdata.fetch(home, from_dir=src)
    return (csvdata.folder(home) / "people.csv").read_bytes()


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


BAD_FILES = {
    "empty": (b"", "is empty"),
    "whitespace": ("\n  \n\n", "is empty"),
    "latin1": ("name,price\n" + "".join(f"caf\xe9 {i},{i}\n" for i in range(20)), "is not UTF-8"),
    "one_column": ("value\n" + "".join(f"{i}\n" for i in range(20)), "has one column"),
    "no_numbers": ("a,b\n" + "".join(f"x{i},y{i}\n" for i in range(20)), "has no numeric column"),
    "all_nan": ("x,empty,y\n" + "".join(f"{i},,{i % 2}\n" for i in range(20)), "'empty' hold no values"),
    "few_rows": ("x,y\n1,2\n3,4\n", "has 2 data row(s)"),
    "ragged": ("x,y\n1,2\n" + "1,2,3,4,5\n" * 20, "not a readable CSV"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_fix_and_nothing_stored_is_lost(home, tmp_path, stored, case):
    data, fragment = BAD_FILES[case]
    if case == "latin1":
        data = data.encode("latin-1")
    bad = write(tmp_path, f"{case}.csv", data)
    with pytest.raises(ValueError) as err:
        csvdata.fetch(home, from_dir=bad)
    assert fragment in str(err.value) and "Fix:" in str(err.value)
    assert csvdata.tables(home) == ["people"]
    assert (csvdata.folder(home) / "people.csv").read_bytes() == stored
    assert load_dataset("csv", home).task == "classification"  # the stored table still trains


def test_random_bytes_and_an_oversized_file_are_refused(home, tmp_path, stored):
    noise = write(tmp_path, "noise.csv", np.random.default_rng(0).bytes(10 * 2**20))
    with pytest.raises(ValueError, match="is not UTF-8.*Fix:|NUL bytes.*Fix:"):
        csvdata.fetch(home, from_dir=noise)
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # sparse: over the limit without writing 50 MB
        fh.truncate(csvdata.MAX_BYTES + 1)
    with pytest.raises(ValueError, match=r"over the 50 MB limit\. Fix: keep a sample"):
        csvdata.fetch(home, from_dir=big)
    assert csvdata.tables(home) == ["people"]


def test_one_bad_file_in_a_folder_stores_none_of_them(home, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    write(folder, "good.csv", GOOD)
    write(folder, "worse.csv", b"")
    with pytest.raises(ValueError, match="worse.csv is empty"):
        csvdata.fetch(home, from_dir=folder)
    assert csvdata.tables(home) == []
    with pytest.raises(DataMissingError, match="Fix: upload one on the Home page"):
        load_dataset("csv", home)


def test_names_stay_inside_the_data_home_and_never_overwrite_another_table(home, tmp_path, stored):
    assert csvdata.table_name("../../etc/passwd.csv") == "passwd"
    assert csvdata.table_name("/abs/path/My Table (1).csv") == "My_Table_1"
    assert csvdata.table_name("...csv") == "table"
    (tmp_path / "other").mkdir()
    changed = write(tmp_path / "other", "people.csv", GOOD.replace("150", "151"))
    csvdata.fetch(home, from_dir=changed)
    csvdata.fetch(home, from_dir=changed)  # the same contents again: no third copy
    assert csvdata.tables(home) == ["people", "people_2"]
    assert (csvdata.folder(home) / "people.csv").read_bytes() == stored
    assert sorted(p.name for p in home.rglob("*.csv")) == ["people.csv", "people_2.csv"]


def test_semicolon_separated_files_and_a_byte_order_mark_are_read(home, tmp_path):
    text = "\ufeff" + GOOD.replace(",", ";")
    csvdata.fetch(home, from_dir=write(tmp_path, "semi.csv", text.encode("utf-8")))
    ds = load_dataset("csv", home)
    assert list(ds.train.x.columns) == ["height", "weight", "colour"] and ds.classes == ["a", "b"]


@pytest.mark.parametrize("values, task", [
    (["x", "y", "x"], "classification"),
    ([True, False, True], "classification"),
    ([0, 1, 2, 1, 0], "classification"),
    ([0.5, 1.25, 3.0], "regression"),
    (list(range(50)), "regression"),
])
def test_the_task_is_inferred_from_the_target(values, task):
    assert csvdata.infer_task(pd.Series(values)) == task


def test_pokemon_as_a_csv_table(home):
    csvdata.fetch(home, from_dir=pokemon_csv())
    ds = load_dataset("csv", home, target="Legendary")
    assert ds.task == "classification" and ds.classes == ["False", "True"]
    assert ds.meta["ignored"] == ["Name"]  # 800 distinct names: an identifier, not a feature
    assert sum(ds.sizes()) == 800 and ds.sizes() == (480, 160, 160)
    for split in (ds.valid, ds.test):  # stratified: each split keeps the share of legendaries (65 of 800)
        assert abs(split.y.mean() - 65 / 800) < 0.02
    total = load_dataset("csv", home, target="Total")
    assert total.task == "regression" and total.classes == ["Total"] and total.train.y.dtype == np.float32
    again = load_dataset("csv", home, target="Total")
    assert total.test.x.equals(again.test.x)  # split_seed fixes the splits
    moved = load_dataset("csv", home, target="Total", split_seed=1)
    assert not total.test.x.equals(moved.test.x)


@pytest.mark.parametrize("args, fragment", [
    ({"target": "Nope"}, "has no column 'Nope'; its columns are #, Name"),
    ({"target": "Name", "task": "regression"}, "holds text, so it cannot be regressed. Fix: --task classification"),
    ({"target": "Total", "task": "classification"}, "distinct values, too many classes. Fix: --task regression"),
    ({"table": "missing"}, "no table 'missing' is added. Fix: --table one of Pokemon"),
])
def test_bad_run_settings_name_the_fix(home, args, fragment):
    csvdata.fetch(home, from_dir=pokemon_csv())
    with pytest.raises(ConfigError, match="Fix:") as err:
        load_dataset("csv", home, **args)
    assert fragment in str(err.value)


def test_a_regression_target_refuses_a_classifier_and_trains_and_predicts_in_its_own_units(home, tmp_path, capsys):
    import json

    from engine.cli import main
    from engine.jobs.store import RunStore
    from engine.predict.predictor import InputError, Predictor

    csvdata.fetch(home, from_dir=pokemon_csv())
    flags = ["--home", str(home), "train", "--dataset", "csv", "--target", "Total", "--json", "--seed", "1"]
    assert main([*flags, "--model", "generative"]) == 1  # the run is recorded as failed, with the reason
    failed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert failed["status"] == "failed"
    assert "'generative' does only classification" in failed["error"] and "Fix: choose linear or mlp" in failed["error"]
    assert main([*flags, "--model", "mlp", "--monitor", "valid_acc"]) == 1  # no accuracy to pick a checkpoint by
    failed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "monitor valid_acc needs a classification task; this run is regression. Fix: monitor valid_loss" in \
        failed["error"]
    # Total is the sum of the six stats: the default MLP (Adam, lr 1e-3) fits the standardised target
    assert main([*flags, "--model", "mlp", "--epochs", "40"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["status"] == "done" and result["valid_mse"] < 0.05, result  # > 95 % of the variance explained

    predictor = Predictor.from_run(RunStore(home), result["run_id"])
    table = pd.read_csv(pokemon_csv())
    rows = table.drop(columns=["Total", "Name"]).head(40)
    values = [r["value"] for r in predictor.predict_rows(rows.to_dict("records"))]
    errors = np.abs(np.array(values) - table["Total"].head(40).to_numpy())
    assert np.median(errors) < 0.15 * table["Total"].std(), errors  # in the target's units (std 120), not z-scores
    with pytest.raises(InputError, match="unknown column\\(s\\) 'Colour'. Fix: use the run's columns: #, HP"):
        predictor.predict_rows([{"Colour": "blue"}])
    with pytest.raises(InputError, match="is not a row. Fix: give a JSON object"):
        predictor.predict_rows(["HP=60"])

    rows.head(3).to_csv(tmp_path / "rows.csv", index=False)
    assert main(["--home", str(home), "predict", result["run_id"], "--input-file", str(tmp_path / "rows.csv"),
                 "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [round(x["value"], 3) for x in lines] == [round(v, 3) for v in values[:3]]
    assert main(["--home", str(home), "predict", result["run_id"], "--text", '{"HP": 200, "Attack": 200}',
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] > np.median(values)  # stronger stats, higher Total


def test_cli_adds_a_table_and_reports_a_bad_one(home, tmp_path, capsys):
    from engine.cli import main

    assert main(["--home", str(home), "fetch", "csv", "--from", str(write(tmp_path, "t.csv", GOOD))]) == 0
    assert main(["--home", str(home), "fetch", "csv", "--from", str(write(tmp_path, "b.csv", b"\xff\xfe\x00"))]) == 2
    assert "is not UTF-8" in capsys.readouterr().err
    assert csvdata.tables(home) == ["t"]
    assert os.path.getsize(csvdata.folder(home) / "t.csv") == len(GOOD)
