"""Attacks through a checkpoint from outside (an upload on Predict, `predict --checkpoint`): it may not make
the server read its files, and the sizes it declares cannot make the server allocate gigabytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import access
from engine.config.run_config import make_config
from engine.features import MeanVectors
from engine.features.pixels import FlatPixels
from engine.models import build_model
from engine.predict import predictor as predictor_module
from engine.predict.predictor import Predictor
from engine.training import checkpoint

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-XYZ"
CLASSES = ["business", "science/tech", "entertainment", "health"]


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "private" / "secrets.toml"
    path.parent.mkdir()
    path.write_text(f'teacher_password = "{SECRET}"\nother = 1\n')
    return path


def news_checkpoint(features: str = "glove") -> dict:
    """A news MLP on mean GloVe vectors, as NN Lab checkpoints it (50 inputs, 4 classes)."""
    cfg = make_config(dataset="news", model="mlp", features=features,
                      model_args={"layers": 1, "width": 8, "input_norm": False})
    spec = {"input_dim": 50, "num_outputs": 4, "classes": CLASSES, "task": "classification", "dataset": "news",
            "kind": "text"}
    net = build_model(cfg.model, cfg.model_args, spec)
    return {"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": MeanVectors(features).state(),
            "spec": spec, "epoch": 1}


def crafted(tmp_path, ckpt: dict, name: str = "crafted.pt") -> Path:
    path = tmp_path / name
    checkpoint.save(path, ckpt)
    return path


def test_cli_predict_refuses_a_checkpoint_whose_featurizer_names_a_server_file(tmp_path, home, secret_file):
    ckpt = news_checkpoint()
    ckpt["featurizer"]["source"] = f"word2vec:{secret_file}"
    path = crafted(tmp_path, ckpt)
    out = subprocess.run([sys.executable, "-m", "engine", "predict", "--checkpoint", str(path), "--text",
                          "Fed raises interest rates"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert SECRET not in out.stdout + out.stderr
    assert "word vectors this server does not offer" in out.stderr


@pytest.mark.parametrize("where", ["featurizer source", "config features", "model init_vectors", "token vectors"])
def test_every_vectors_field_of_a_checkpoint_is_checked(tmp_path, home, secret_file, where, monkeypatch):
    opened = []
    monkeypatch.setattr("engine.features.vectors.load_word2vec", lambda *a, **k: opened.append(a))
    ckpt = news_checkpoint()
    bad = f"word2vec:{secret_file}"
    if where == "featurizer source":
        ckpt["featurizer"]["source"] = bad
    elif where == "config features":
        ckpt["config"]["features"] = bad
    elif where == "model init_vectors":
        ckpt["config"]["model_args"]["init_vectors"] = bad
    else:
        ckpt["featurizer"] = {"kind": "token_ids", "vocab": ["a"], "normalizer": 1, "vectors": bad}
    with pytest.raises(checkpoint.CheckpointError, match="does not offer") as err:
        Predictor.from_checkpoint(crafted(tmp_path, ckpt), home)
    assert SECRET not in str(err.value) and not opened


def test_an_allowed_folder_lets_a_checkpoint_name_its_word2vec_file(tmp_path, home, monkeypatch):
    vectors = tmp_path / "vectors" / "small.txt"
    vectors.parent.mkdir()
    vectors.write_text("2 3\nhello 1 2 3\nworld 4 5 6\n")
    source = f"word2vec:{vectors}"
    with pytest.raises(access.AccessError):
        access.check_vectors_source(source, home)
    monkeypatch.setenv("NNLAB_ALLOWED_DIRS", str(vectors.parent))
    access.check_vectors_source(source, home)  # no error
    with pytest.raises(access.AccessError):  # a path that climbs out of the allowed folder
        access.check_vectors_source(f"word2vec:{vectors.parent}/../private/x.txt", home)


def test_allowed_dirs_come_from_settings_json(tmp_path, home, monkeypatch):
    monkeypatch.delenv("NNLAB_ALLOWED_DIRS", raising=False)
    assert access.allowed_dirs(home) == []
    (home / "settings.json").write_text(f'{{"allowed_dirs": ["{tmp_path / "data"}"]}}')
    assert access.allowed_dirs(home) == [(tmp_path / "data").resolve()]
    assert access.check_server_path(tmp_path / "data" / "news", home) == (tmp_path / "data" / "news").resolve()
    with pytest.raises(access.AccessError, match="allowed_dirs"):
        access.check_server_path("/etc/shadow", home)


def test_a_checkpoint_declaring_a_huge_input_is_refused_before_a_model_is_built(tmp_path, home, monkeypatch):
    ckpt = news_checkpoint()
    ckpt["spec"]["input_dim"] = 65536
    built = []
    monkeypatch.setattr(predictor_module, "build_model", lambda *a, **k: built.append(a))
    with pytest.raises(checkpoint.CheckpointError, match="input_dim=65536"):
        Predictor.from_checkpoint(crafted(tmp_path, ckpt), home)
    assert built == []
    assert (tmp_path / "crafted.pt").stat().st_size < 20_000  # a few bytes claimed a gigabyte


def test_a_checkpoint_declaring_a_huge_image_is_refused_before_a_model_is_built(tmp_path, home, monkeypatch):
    cfg = make_config(dataset="digits", model="mlp", model_args={"layers": 1, "width": 8})
    spec = {"input_dim": 64, "num_outputs": 10, "classes": [str(i) for i in range(10)], "task": "classification",
            "kind": "image", "image_shape": [8, 8]}
    net = build_model(cfg.model, cfg.model_args, spec)
    ckpt = {"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": FlatPixels((8, 8)).state(),
            "spec": spec, "epoch": 1}
    assert Predictor.from_checkpoint(crafted(tmp_path, ckpt, "ok.pt"), home).kind == "image"  # the honest one works
    ckpt["featurizer"]["shape"] = [4000, 4000]
    ckpt["spec"].update(input_dim=16_000_000, image_shape=[4000, 4000])
    built = []
    monkeypatch.setattr(predictor_module, "build_model", lambda *a, **k: built.append(a))
    with pytest.raises(checkpoint.CheckpointError, match="image side"):
        Predictor.from_checkpoint(crafted(tmp_path, ckpt), home)
    assert built == []


def test_a_spec_that_disagrees_with_its_featurizer_is_refused(tmp_path, home):
    ckpt = news_checkpoint()
    ckpt["spec"]["input_dim"] = 300  # within bounds, but GloVe gives 50
    with pytest.raises(checkpoint.CheckpointError, match="featurizer gives 50"):
        Predictor.from_checkpoint(crafted(tmp_path, ckpt), home)


def test_a_server_file_given_as_checkpoint_is_refused_without_quoting_it(tmp_path, home, secret_file):
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load(secret_file)
    assert SECRET not in str(err.value)
    pickled = tmp_path / "pickled.pt"  # a pickle whose text names the secret: refused, not quoted
    pickled.write_bytes(b"\x80\x04\x95" + SECRET.encode() * 10)
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load(pickled)
    assert SECRET not in str(err.value)


def test_the_honest_checkpoint_still_predicts(tmp_path, home):
    out = Predictor.from_checkpoint(crafted(tmp_path, news_checkpoint(), "honest.pt"), home).predict_texts(
        ["Fed raises interest rates"])
    assert out[0]["label"] in CLASSES
    assert np.isclose(sum(out[0]["probs"].values()), 1.0, atol=1e-4)


def test_export_refuses_a_checkpoint_naming_a_server_file(tmp_path, home, secret_file):
    from engine.predict.export import source_from_checkpoint

    ckpt = news_checkpoint()
    ckpt["featurizer"]["source"] = f"word2vec:{secret_file}"
    with pytest.raises(checkpoint.CheckpointError, match="does not offer") as err:
        source_from_checkpoint(crafted(tmp_path, ckpt), home)
    assert SECRET not in str(err.value)


def test_weights_that_disagree_with_the_spec_are_refused_before_the_real_build(tmp_path, home, monkeypatch):
    ckpt = news_checkpoint()
    ckpt["config"]["model_args"]["width"] = 4096  # within the option's range, but the weights are 8 wide
    built = []
    monkeypatch.setattr(predictor_module, "build_model", lambda *a, **k: built.append(a))
    with pytest.raises(checkpoint.CheckpointError, match="shape"):
        Predictor.from_checkpoint(crafted(tmp_path, ckpt), home)
    assert built == []
