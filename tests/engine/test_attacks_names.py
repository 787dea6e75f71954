"""Nothing from outside becomes a path: run ids, study names and link parameters are checked against a strict
pattern before they touch the filesystem."""

from __future__ import annotations

import pytest

from engine.config.run_config import make_config
from engine.jobs.store import RunStore, new_run_id
from engine.paths import check_name, check_run_id, run_dir, runs_dir

BAD_NAMES = ["/tmp/evil", "../evil", "a/../../b", "..", ".hidden", "", "x" * 65, "a b", "evil\n", "a\\b", "é"]


@pytest.mark.parametrize("value", BAD_NAMES + ["250101-120000-AB12", "x", "250101-120000-ab12/.."])
def test_run_dir_refuses_anything_but_a_run_id(home, value):
    RunStore(home)
    before = sorted(p.name for p in runs_dir(home).iterdir())
    with pytest.raises(ValueError, match="not a run id"):
        run_dir(value, home)
    assert sorted(p.name for p in runs_dir(home).iterdir()) == before
    assert not (home.parent / "evil").exists() and not (home / "evil").exists()


def test_new_run_ids_pass_the_check(home):
    for _ in range(20):
        assert check_run_id(new_run_id()) and run_dir(new_run_id(), home).is_dir()


@pytest.mark.parametrize("value", BAD_NAMES)
def test_check_name_refuses_paths_and_odd_names(value):
    with pytest.raises(ValueError, match="letters, digits"):
        check_name("study", value)


@pytest.mark.parametrize("value", ["digits-mlp-250101-120000-ab12", "my_study.v2", "A"])
def test_check_name_keeps_ordinary_names(value):
    assert check_name("study", value) == value


def test_a_traversing_study_name_writes_nothing_outside_the_home(home, tmp_path):
    from engine import tune

    target = tmp_path / "evil"
    with pytest.raises(ValueError, match="study name"):
        tune.tune(make_config(dataset="digits", model="mlp", epochs=1), 1, home=home, study_name=str(target))
    assert not target.exists() and not list(tmp_path.glob("evil*"))
    assert tune.study_names(home) == []

